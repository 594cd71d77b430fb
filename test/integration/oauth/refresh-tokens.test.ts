/**
 * R-OAUTH-4 refresh tokens: opaque and hashed at rest, 60-day default lifetime (org
 * configurable), rotation on every use, reuse detection that revokes the family, exactly one
 * winner among concurrent refreshes, and refusals with RFC 6749 error codes.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { REFRESH_REUSE_GRACE_MS } from '../../../src/oauth/storage-adapter.js';
import { testEngines } from '../../support/databases.js';
import {
  createAccount,
  createSamlSession,
  exchangeCookie,
  NATIVE_CLIENT,
  refresh,
  registerClient,
  startHarness,
  type Harness,
} from './oauth-harness.js';

const DAY = 24 * 3600 * 1000;

for (const engine of testEngines()) {
  describe(`OAuth refresh tokens [${engine.name}]`, () => {
    let h: Harness;
    let accountId: string;
    let clientId: string;
    let otherClientId: string;

    before(async () => {
      h = await startHarness(engine);
      accountId = await createAccount(h, { email: 'jane@acme.com' });
      ({ clientId } = await registerClient(h, NATIVE_CLIENT));
      ({ clientId: otherClientId } = await registerClient(h, { ...NATIVE_CLIENT, name: 'Other app' }));
    });
    after(() => h.close());

    async function newFamily(forClient = clientId): Promise<string> {
      const { cookie } = await createSamlSession(h, accountId);
      const r = await exchangeCookie(h, forClient, cookie);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.refresh_token as string;
    }

    it('is opaque, 256 bits or more, and stored only as its SHA-256', async () => {
      const rt = await newFamily();
      assert.match(rt, /^[A-Za-z0-9_-]{43,}$/);
      assert.equal(rt.split('.').length, 1, 'not a JWT');
      const rows = await h.t.ctx.database.db.selectFrom('oauth_artifacts').selectAll().execute();
      const hash = crypto.createHash('sha256').update(rt).digest('hex');
      const row = rows.find((r) => r.model === 'RefreshToken' && r.id_hash === hash);
      assert.ok(row, 'found by hash');
      for (const r of rows) {
        assert.ok(!JSON.stringify(r).includes(rt), `${r.model} row holds the token in clear`);
      }
      assert.equal((await refresh(h, clientId, rt)).status, 200);
      assert.ok(!h.t.logs.text().includes(rt), 'never logged');
      assert.ok(!h.t.logs.text().includes(rt.slice(0, 20)));
    });

    it('lives 60 days by default and the org setting otherwise', async () => {
      const rt = await newFamily();
      const hash = crypto.createHash('sha256').update(rt).digest('hex');
      const row = await h.t.ctx.database.db.selectFrom('oauth_artifacts').selectAll().where('id_hash', '=', hash).executeTakeFirstOrThrow();
      assert.equal(Number(row.expires_at) - Number(row.created_at), 60 * DAY);

      // A day before the end it still works; after the end it is refused.
      const late = await newFamily();
      h.t.clock.advance(59 * DAY);
      const ok = await refresh(h, clientId, late);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const rotated = ok.body.refresh_token as string;
      h.t.clock.advance(DAY + 1000);
      // The rotated token inherits what was left of the family's lifetime.
      const expired = await refresh(h, clientId, rotated);
      assert.equal(expired.status, 400);
      assert.equal(expired.body.error, 'invalid_grant');
    });

    it('follows the org refreshTokenTtlSeconds', async () => {
      const put = await request(h.t.app)
        .put('/api/v1/orgs/acme.com/sso')
        .set('Authorization', `Bearer ${h.t.superKey}`)
        .send({ refreshTokenTtlSeconds: 7200, spInitiated: false, idpInitiated: false });
      assert.ok([200, 204].includes(put.status), `${put.status} ${JSON.stringify(put.body)}`);
      try {
        const rt = await newFamily();
        const hash = crypto.createHash('sha256').update(rt).digest('hex');
        const row = await h.t.ctx.database.db.selectFrom('oauth_artifacts').selectAll().where('id_hash', '=', hash).executeTakeFirstOrThrow();
        assert.equal(Number(row.expires_at) - Number(row.created_at), 7200 * 1000);
        h.t.clock.advance(7201 * 1000);
        assert.equal((await refresh(h, clientId, rt)).body.error, 'invalid_grant');
      } finally {
        await h.t.ctx.database.db.deleteFrom('sso_configs').where('org_id', '=', h.org.id).execute();
      }
    });

    it('rotates on every use, and reuse of a rotated token revokes the whole family', async () => {
      const rt1 = await newFamily();
      const r2 = await refresh(h, clientId, rt1);
      assert.equal(r2.status, 200);
      const rt2 = r2.body.refresh_token as string;
      assert.notEqual(rt2, rt1);

      // Past the grace for concurrent retries, presenting the rotated token is reuse.
      h.t.clock.advance(REFRESH_REUSE_GRACE_MS);
      const reused = await refresh(h, clientId, rt1);
      assert.equal(reused.status, 400);
      assert.equal(reused.body.error, 'invalid_grant');
      // The legitimate holder's newer token died with the family.
      const after = await refresh(h, clientId, rt2);
      assert.equal(after.status, 400);
      assert.equal(after.body.error, 'invalid_grant');
    });

    it('lets exactly one of 20 concurrent refreshes of one token succeed', async () => {
      const rt = await newFamily();
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(h, clientId, rt)));
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, `successes: ${ok.length}; statuses ${results.map((r) => r.status).join(',')}`);
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 400);
        assert.equal(r.body.error, 'invalid_grant');
      }
      // The token itself is consumed exactly once in the database.
      const hash = crypto.createHash('sha256').update(rt).digest('hex');
      const row = await h.t.ctx.database.db.selectFrom('oauth_artifacts').select('consumed_at').where('id_hash', '=', hash).executeTakeFirst();
      // Consumed once; the losers, within the retry grace, did not revoke the family…
      assert.ok(row !== undefined && row.consumed_at !== null);
      // …so the token the winner received keeps working.
      const next = await refresh(h, clientId, ok[0]!.body.refresh_token as string);
      assert.equal(next.status, 200, JSON.stringify(next.body));
    });

    it('refuses a rotated token presented again within the retry grace without revoking the family', async () => {
      const rt1 = await newFamily();
      const r2 = await refresh(h, clientId, rt1);
      assert.equal(r2.status, 200);
      const again = await refresh(h, clientId, rt1);
      assert.equal(again.status, 400);
      assert.equal(again.body.error, 'invalid_grant');
      assert.equal((await refresh(h, clientId, r2.body.refresh_token as string)).status, 200);
    });

    it('refuses tampered, unknown and foreign-client tokens with invalid_grant', async () => {
      const rt = await newFamily();
      const flipped = rt.slice(0, -1) + (rt.endsWith('A') ? 'B' : 'A');
      for (const token of [flipped, 'x'.repeat(43), `${rt}x`]) {
        const r = await refresh(h, clientId, token);
        assert.equal(r.status, 400, token);
        assert.equal(r.body.error, 'invalid_grant');
      }
      const foreign = await refresh(h, otherClientId, rt);
      assert.equal(foreign.status, 400);
      assert.equal(foreign.body.error, 'invalid_grant');
      // …and the rightful client can still use it: a foreign attempt is not a reuse.
      assert.equal((await refresh(h, clientId, rt)).status, 200);
    });

    it('refuses an unknown client with invalid_client and a missing token with invalid_request', async () => {
      const rt = await newFamily();
      const unknown = await refresh(h, 'fbc_unknown', rt);
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error, 'invalid_client');
      const missing = await refresh(h, clientId, '');
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, 'invalid_request');
    });

    it('is refused once the account is deactivated (R-ACC-6), and OAuth sessions end with it', async () => {
      const victim = await createAccount(h, { email: 'leaver@acme.com' });
      const { cookie } = await createSamlSession(h, victim);
      const rt = (await exchangeCookie(h, clientId, cookie)).body.refresh_token as string;
      const r = await request(h.t.app)
        .post(`/api/v1/orgs/acme.com/users/${victim}/deactivate`)
        .set('Authorization', `Bearer ${h.t.superKey}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const refused = await refresh(h, clientId, rt);
      assert.equal(refused.body.error, 'invalid_grant');
      const left = await h.t.ctx.database.db.selectFrom('oauth_artifacts').select('model').where('account_id', '=', victim).execute();
      assert.deepEqual(left, []);
    });
  });
}
