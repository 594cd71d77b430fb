/**
 * R-SAML-5: registered OAuth redirect origins are allowed targets; any other origin is
 * dropped for the default target, never stored or followed.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { startSamlScenario, type SamlScenario } from '../../support/saml-scenario.js';

describe('sign-in targets on registered OAuth redirect origins (R-SAML-5)', function () {
  this.timeout(60_000);
  let s: SamlScenario;
  before(async () => {
    s = await startSamlScenario();
  });
  after(() => s.close());

  const storedTarget = async (requestId: string) =>
    (await s.t.ctx.database.db.selectFrom('authn_requests').select('target').where('id', '=', requestId).executeTakeFirstOrThrow()).target;

  it('keeps a target on a client redirect origin only once the client is registered', async () => {
    const target = 'https://app.partner.example/after-login?x=1';
    const before = await s.startLogin(target);
    assert.equal(await storedTarget(before.requestId), null, 'unknown origin dropped');

    await request(s.t.app)
      .post('/api/v1/clients')
      .set({ Authorization: `Bearer ${s.t.superKey}` })
      .send({ name: 'Partner web app', type: 'confidential', redirectUris: ['https://app.partner.example/cb'], grantTypes: ['authorization_code'], scopes: ['openid'] })
      .expect(201);
    const after = await s.startLogin(target);
    assert.equal(await storedTarget(after.requestId), target);

    const evil = await s.startLogin('https://app.partner.example.evil.com/x');
    assert.equal(await storedTarget(evil.requestId), null);
  });
});
