import assert from 'node:assert/strict';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

const DAY = 86_400_000;

function gauge(text: string, kind: string, state: string): number {
  const m = new RegExp(`^fedbridge_certificates_expiring\\{kind="${kind}",state="${state}"\\} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `metric for ${kind}/${state} present`);
  return Number(m[1]);
}

for (const engine of testEngines()) {
  describe(`certificate expiry metric (R-CERT-2) [${engine.name}]`, () => {
    let t: TestApp;
    const auth = () => ({ Authorization: `Bearer ${t.superKey}` });
    before(async () => {
      t = await startTestApp({ engine });
      await request(t.app).post('/api/v1/orgs').set(auth()).send({ slug: 'metrics.com', name: 'M', ssoEnabled: true }).expect(201);
      await request(t.app)
        .post('/api/v1/orgs/metrics.com/service-certificates')
        .set(auth())
        .send({ alias: 'sp', validityDays: 90 })
        .expect(201);
    });
    after(() => t.close());

    it('counts a service certificate as expiring soon, then expired, as time passes', async () => {
      const scrape = async () => (await request(t.app).get('/metrics').expect(200)).text;
      let text = await scrape();
      assert.equal(gauge(text, 'service', 'expiring_soon'), 0);
      assert.equal(gauge(text, 'service', 'expired'), 0);
      t.clock.advance(70 * DAY);
      text = await scrape();
      assert.equal(gauge(text, 'service', 'expiring_soon'), 1);
      assert.equal(gauge(text, 'service', 'expired'), 0);
      t.clock.advance(30 * DAY);
      text = await scrape();
      assert.equal(gauge(text, 'service', 'expiring_soon'), 0);
      assert.equal(gauge(text, 'service', 'expired'), 1);
      assert.equal(gauge(text, 'org', 'expired'), 0);
    });
  });
}
