/**
 * R-OPS-3 for the token service: rate limits on the token, authorize and sign-in endpoints,
 * and clean answers when something of ours fails.
 */
import assert from 'node:assert/strict';
import { oauthService } from '../../../src/oauth/oauth-service.js';
import { testEngines } from '../../support/databases.js';
import { refresh, startHarness, type Harness } from './oauth-harness.js';

for (const engine of testEngines()) {
  describe(`OAuth rate limits and failures [${engine.name}]`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(engine, { env: { FEDBRIDGE_RATE_LIMIT: '3' } });
    });
    after(() => h.close());

    it('limits the token endpoint per client address with an RFC 6749-shaped 429', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await refresh(h, 'fbc_x', 'y')).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      const limited = await refresh(h, 'fbc_x', 'y');
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error, 'slow_down');
      assert.ok(limited.headers.get('retry-after') || limited.headers.get('ratelimit'), 'tells when to retry');
      // Discovery is not limited.
      for (let i = 0; i < 5; i++) assert.equal((await fetch(`${h.base}/.well-known/openid-configuration`)).status, 200);
    });

    it('answers a failure of its own with a JSON server_error, without internals', async () => {
      assert.equal((await fetch(`${h.base}/.well-known/jwks.json`)).status, 200);
      const db = h.t.ctx.database.db;
      // Keys unreadable (wrong master key, corrupted row) and a key-set change that forces a rebuild.
      await db.updateTable('oauth_signing_keys').set({ private_jwk_sealed: 'fbenc1:broken:x:y' }).execute();
      await db
        .insertInto('oauth_signing_keys')
        .values({ kid: 'extra', alg: 'ES256', public_jwk: '{}', private_jwk_sealed: 'fbenc1:broken:x:y', status: 'previous', created_at: 0, retired_at: h.t.clock.now() })
        .execute();
      oauthService(h.t.ctx).keyCheckIntervalMs = 0;
      const r = await fetch(`${h.base}/.well-known/jwks.json`);
      assert.equal(r.status, 500);
      const text = await r.text();
      assert.equal(JSON.parse(text).error, 'server_error');
      assert.ok(!text.includes('fbenc1') && !text.includes('at '), 'no internals');
      assert.match(h.t.logs.text(), /OAuth request failed/);
    });
  });
}
