import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ManualClock } from '../../../src/clock.js';
import { createStorageAdapter } from '../../../src/oauth/storage-adapter.js';
import { insertOAuthClient } from '../../../src/store/oauth-clients.js';
import { testEngines, type TestDatabase } from '../../support/databases.js';

const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

for (const engine of testEngines()) {
  describe(`oauth/storage-adapter [${engine.name}]`, () => {
    let tdb: TestDatabase;
    let Adapter: ReturnType<typeof createStorageAdapter>;
    const clock = new ManualClock(1_800_000_000_000);

    before(async () => {
      tdb = await engine.open();
      Adapter = createStorageAdapter({ db: tdb.handle.db, clock, clientMetadata: (c) => ({ client_id: c.id, hashed: c.secretHash }) });
    });
    after(() => tdb.drop());

    it('stores artifacts under the hash of their id, without the id, and gives the id back on read', async () => {
      const rt = new Adapter('RefreshToken');
      const id = 'refresh-token-value-0123456789abcdefghijklmnop';
      await rt.upsert(id, { jti: id, kind: 'RefreshToken', grantId: 'grant-1', accountId: 'acc', clientId: 'cli', iat: 1, exp: 2, consumed: 999 }, 60);
      const stored = await tdb.handle.db.selectFrom('oauth_artifacts').selectAll().where('model', '=', 'RefreshToken').executeTakeFirstOrThrow();
      assert.equal(stored.id_hash, sha(id));
      assert.equal(stored.grant_id_hash, sha('grant-1'));
      assert.equal(stored.account_id, 'acc');
      assert.equal(stored.client_id, 'cli');
      assert.equal(Number(stored.expires_at), clock.now() + 60_000);
      assert.ok(!stored.payload.includes(id), 'the id is not in the payload');
      assert.equal(JSON.parse(stored.payload).consumed, undefined, 'consumption is the database column, not the payload');
      const found = await rt.find(id);
      assert.equal(found?.jti, id);
      assert.equal(found?.consumed, undefined);
      assert.equal(await rt.find('other'), undefined);
    });

    it("keeps only a hash of the OAuth session id an interaction refers to", async () => {
      const i = new Adapter('Interaction');
      await i.upsert('uid-9', { jti: 'uid-9', session: { accountId: 'acc', uid: 'su', cookie: 'session-id-secret' }, params: { client_id: 'c' } }, 60);
      const stored = await tdb.handle.db.selectFrom('oauth_artifacts').selectAll().where('model', '=', 'Interaction').executeTakeFirstOrThrow();
      assert.ok(!stored.payload.includes('session-id-secret'));
      assert.equal((await i.find('uid-9'))?.session.cookieHash, sha('session-id-secret'));
    });

    it('consumes with a check-and-set and throws invalid_grant to the loser', async () => {
      const code = new Adapter('AuthorizationCode');
      await code.upsert('code-1', { jti: 'code-1', grantId: 'g' }, 60);
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => code.consume('code-1')));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) {
        assert.equal(o.reason.error, 'invalid_grant');
      }
      assert.equal((await code.find('code-1'))?.consumed, Math.floor(clock.now() / 1000));
    });

    it('expires by the injected clock', async () => {
      const s = new Adapter('Session');
      await s.upsert('sess-1', { jti: 'sess-1', uid: 'uid-1', accountId: 'acc' }, 10);
      assert.ok(await s.findByUid('uid-1'));
      clock.advance(10_000);
      assert.equal(await s.find('sess-1'), undefined);
      assert.equal(await s.findByUid('uid-1'), undefined);
    });

    it('revokes by grant and destroys by id', async () => {
      const at = new Adapter('AccessToken');
      await at.upsert('at-1', { jti: 'at-1', grantId: 'g2' }, 60);
      await at.upsert('at-2', { jti: 'at-2', grantId: 'g3' }, 60);
      await at.revokeByGrantId('g2');
      assert.equal(await at.find('at-1'), undefined);
      assert.ok(await at.find('at-2'));
      await at.destroy('at-2');
      assert.equal(await at.find('at-2'), undefined);
    });

    it('reads clients from the registry and never writes them', async () => {
      await insertOAuthClient(tdb.handle.db, { id: 'fbc_x', name: 'X', type: 'confidential', redirectUris: [], grantTypes: ['refresh_token'], scopes: ['openid'], createdBy: 't', createdAt: 0, secretHash: 'abc' });
      const clients = new Adapter('Client');
      assert.deepEqual(await clients.find('fbc_x'), { client_id: 'fbc_x', hashed: 'abc' });
      assert.equal(await clients.find('fbc_none'), undefined);
      await assert.rejects(clients.upsert('fbc_y', { client_id: 'fbc_y' }));
    });
  });
}
