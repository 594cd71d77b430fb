/**
 * Store contract of the token service on both engines: artifacts (check-and-set consumption,
 * expiry, grant families, revocation by sign-in or account), clients, signing keys (one
 * current key), and the JSON lookup of orgs by IdP entity id.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../../src/store/database.js';
import {
  consumeArtifact,
  destroyArtifactsOfAccount,
  destroyArtifactsOfClient,
  destroyArtifactsOfGrant,
  destroyGrants,
  findArtifact,
  findArtifactByUid,
  grantsOfAccount,
  grantsOfSamlSessions,
  linkGrantToSamlSession,
  purgeExpiredArtifacts,
  samlSessionOfGrant,
  upsertArtifact,
  type ArtifactRow,
} from '../../../src/store/oauth-artifacts.js';
import { deleteOAuthClient, findOAuthClient, findOAuthClientWithSecret, insertOAuthClient, listOAuthClients, listRedirectOrigins } from '../../../src/store/oauth-clients.js';
import { deleteRetiredSigningKeys, insertCurrentSigningKey, listSigningKeys, retireCurrentSigningKey, signingKeySetVersion } from '../../../src/store/oauth-signing-keys.js';
import { findOrgIdsByIdpEntityId, findTokenSubject } from '../../../src/store/oauth-subjects.js';
import type { Database } from '../../../src/store/schema.js';
import { upsertSsoConfig } from '../../../src/store/sso-configs.js';
import { testEngines, type TestDatabase } from '../../support/databases.js';
import { insertTestOrg } from '../../support/fixtures.js';

const h = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

function row(model: string, id: string, extra: Partial<ArtifactRow> = {}): ArtifactRow {
  return { model, idHash: h(id), payload: JSON.stringify({ kind: model }), grantIdHash: null, uidHash: null, accountId: null, clientId: null, expiresAt: null, ...extra };
}

for (const engine of testEngines()) {
  describe(`store: OAuth [${engine.name}]`, () => {
    let tdb: TestDatabase;
    let db: Kysely<Database>;

    before(async () => {
      tdb = await engine.open();
      db = tdb.handle.db;
    });
    after(() => tdb.drop());

    it('finds artifacts by hash until they expire, and by uid', async () => {
      await upsertArtifact(db, row('Session', 's1', { uidHash: h('u1'), expiresAt: 2000 }), 1000);
      assert.ok(await findArtifact(db, 'Session', h('s1'), 1999));
      assert.equal(await findArtifact(db, 'Session', h('s1'), 2000), undefined);
      assert.equal(await findArtifact(db, 'AccessToken', h('s1'), 1000), undefined, 'models do not mix');
      assert.equal((await findArtifactByUid(db, 'Session', h('u1'), 1500))?.idHash, h('s1'));
      assert.equal(await findArtifactByUid(db, 'Session', h('u1'), 2500), undefined);
    });

    it('keeps consumption, link and creation time across a re-save', async () => {
      await upsertArtifact(db, row('Grant', 'g-keep', { accountId: 'acc' }), 1000);
      await linkGrantToSamlSession(db, h('g-keep'), 'saml-1');
      await upsertArtifact(db, row('RefreshToken', 'rt-keep', { grantIdHash: h('g-keep') }), 1000);
      assert.equal(await consumeArtifact(db, 'RefreshToken', h('rt-keep'), 1500), true);
      await upsertArtifact(db, { ...row('RefreshToken', 'rt-keep', { grantIdHash: h('g-keep') }), payload: '{"v":2}' }, 3000);
      await upsertArtifact(db, { ...row('Grant', 'g-keep', { accountId: 'acc' }), payload: '{"v":2}' }, 3000);
      const rt = await findArtifact(db, 'RefreshToken', h('rt-keep'), 3000);
      assert.equal(rt?.payload, '{"v":2}');
      assert.equal(rt?.consumedAt, 1500);
      assert.equal(await samlSessionOfGrant(db, h('g-keep')), 'saml-1');
    });

    it('consumes once: of 20 concurrent attempts exactly one wins', async () => {
      await upsertArtifact(db, row('RefreshToken', 'rt-race'), 1000);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => consumeArtifact(db, 'RefreshToken', h('rt-race'), 2000 + i)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await consumeArtifact(db, 'RefreshToken', h('rt-race'), 3000), false);
      assert.equal(await consumeArtifact(db, 'RefreshToken', h('unknown'), 3000), false);
    });

    it('revokes by grant, per model or whole families, by sign-in and by account', async () => {
      for (const [g, saml, account] of [['gA', 'samlA', 'alice'], ['gB', 'samlB', 'alice'], ['gC', null, 'carol']] as const) {
        await upsertArtifact(db, row('Grant', g, { accountId: account }), 1000);
        if (saml) await linkGrantToSamlSession(db, h(g), saml);
        await upsertArtifact(db, row('RefreshToken', `rt-${g}`, { grantIdHash: h(g), accountId: account, clientId: 'c1' }), 1000);
        await upsertArtifact(db, row('AuthorizationCode', `code-${g}`, { grantIdHash: h(g), accountId: account, clientId: 'c1' }), 1000);
      }
      await upsertArtifact(db, row('Session', 'alice-browser', { accountId: 'alice' }), 1000);

      assert.equal(await destroyArtifactsOfGrant(db, 'AuthorizationCode', h('gA')), 1);
      assert.ok(await findArtifact(db, 'RefreshToken', h('rt-gA'), 1000), 'other models of the grant stay');

      assert.deepEqual(await grantsOfSamlSessions(db, ['samlA']), [h('gA')]);
      assert.equal(await destroyGrants(db, await grantsOfSamlSessions(db, ['samlA'])), 1);
      assert.equal(await findArtifact(db, 'RefreshToken', h('rt-gA'), 1000), undefined);
      assert.equal(await findArtifact(db, 'Grant', h('gA'), 1000), undefined);
      assert.ok(await findArtifact(db, 'RefreshToken', h('rt-gB'), 1000), 'the other sign-in keeps its family');

      assert.deepEqual((await grantsOfAccount(db, 'alice')).sort(), [h('gB')]);
      assert.ok((await destroyArtifactsOfAccount(db, 'alice')) >= 4);
      assert.equal(await findArtifact(db, 'Session', h('alice-browser'), 1000), undefined);
      assert.ok(await findArtifact(db, 'RefreshToken', h('rt-gC'), 1000), "carol's tokens stay");

      assert.equal(await destroyArtifactsOfClient(db, 'c1'), 2);
      assert.equal(await findArtifact(db, 'RefreshToken', h('rt-gC'), 1000), undefined);
    });

    it('purges what has expired', async () => {
      await upsertArtifact(db, row('Interaction', 'old', { expiresAt: 10 }), 1);
      await upsertArtifact(db, row('Interaction', 'forever'), 1);
      assert.ok((await purgeExpiredArtifacts(db, 100)) >= 1);
      assert.ok(await findArtifact(db, 'Interaction', h('forever'), 10 ** 13));
    });

    it('stores clients with their secret hash only, and lists redirect origins', async () => {
      await insertOAuthClient(db, { id: 'fbc_a', name: 'A', type: 'confidential', redirectUris: ['https://a.example/cb', 'https://a.example/other'], grantTypes: ['authorization_code'], scopes: ['openid'], createdBy: 'cli', createdAt: 1, secretHash: 'f'.repeat(64) });
      await insertOAuthClient(db, { id: 'fbc_b', name: 'B', type: 'public', redirectUris: ['http://127.0.0.1/cb', 'com.b.app:/cb'], grantTypes: ['authorization_code'], scopes: ['openid'], createdBy: 'cli', createdAt: 2, secretHash: null });
      assert.equal((await findOAuthClientWithSecret(db, 'fbc_a'))?.secretHash, 'f'.repeat(64));
      assert.equal((await findOAuthClient(db, 'fbc_a') as unknown as Record<string, unknown>).secretHash, undefined);
      assert.deepEqual((await listOAuthClients(db)).map((c) => c.id), ['fbc_a', 'fbc_b']);
      assert.deepEqual(await listRedirectOrigins(db), ['http://127.0.0.1', 'https://a.example']);
      assert.equal(await deleteOAuthClient(db, 'fbc_a'), true);
      assert.equal(await deleteOAuthClient(db, 'fbc_a'), false);
    });

    it('holds at most one current signing key, and retires and deletes by age', async () => {
      const key = (kid: string, at: number) => ({ kid, alg: 'ES256', publicJwk: '{}', privateJwkSealed: 'fbenc1:x', createdAt: at });
      await insertCurrentSigningKey(db, key('k1', 1));
      await assert.rejects(insertCurrentSigningKey(db, key('k2', 2)), (err) => isUniqueViolation(err));
      const v1 = await signingKeySetVersion(db);
      assert.equal(await retireCurrentSigningKey(db, 100), 'k1');
      await insertCurrentSigningKey(db, key('k2', 100));
      assert.notEqual(await signingKeySetVersion(db), v1);
      assert.deepEqual((await listSigningKeys(db)).map((k) => [k.kid, k.status]), [['k2', 'current'], ['k1', 'previous']]);
      assert.deepEqual(await deleteRetiredSigningKeys(db, 99), []);
      assert.deepEqual(await deleteRetiredSigningKeys(db, 100), ['k1']);
    });

    it('finds orgs by the IdP entity id inside their stored JSON configuration, and token subjects', async () => {
      await insertTestOrg(db, { id: 'o1', slug: 'one.com', name: 'One', createdAt: 1 });
      await insertTestOrg(db, { id: 'o2', slug: 'two.com', name: 'Two', createdAt: 1 });
      await upsertSsoConfig(db, 'o1', { idpEntityId: 'https://idp.one/"quoted"' }, 1);
      await upsertSsoConfig(db, 'o2', { idpEntityId: 'https://idp.two' }, 1);
      assert.deepEqual(await findOrgIdsByIdpEntityId(db, tdb.handle.dialect, 'https://idp.one/"quoted"'), ['o1']);
      assert.deepEqual(await findOrgIdsByIdpEntityId(db, tdb.handle.dialect, "https://idp.two' OR '1'='1"), []);
      assert.deepEqual(await findOrgIdsByIdpEntityId(db, tdb.handle.dialect, 'https://idp.none'), []);

      await db
        .insertInto('accounts')
        .values({ id: 'acc-1', org_id: 'o1', uid: 'jane', uid_norm: 'jane', email: 'jane@one.com', email_norm: 'jane@one.com', firstname: 'Jane', lastname: 'Doe', name_norm: 'jane doe', status: 'active', role: 'member', sso_id: null, attributes: '{}', update_time_stamp: null, created_at: 1, updated_at: 1 })
        .execute();
      const subject = await findTokenSubject(db, 'acc-1');
      assert.equal(subject?.orgSlug, 'one.com');
      assert.equal(subject?.active, true);
      assert.match(subject?.ssoConfig ?? '', /idp\.one/);
      assert.equal(await findTokenSubject(db, 'nobody'), undefined);
    });
  });
}
