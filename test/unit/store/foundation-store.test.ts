import assert from 'node:assert/strict';
import { countSuperAdmins, findActiveApiKeyByHash, insertAdmin, insertApiKey, revokeApiKey } from '../../../src/store/admins.js';
import { listAudit, recordAudit } from '../../../src/store/audit.js';
import { isUniqueViolation } from '../../../src/store/database.js';
import { migrateToLatest } from '../../../src/store/migrations/index.js';
import { findClaimedDomains, findOrgByDomain, findOrgBySlug, insertOrg, listOrgs, updateOrg } from '../../../src/store/orgs.js';
import { testEngines, type TestDatabase } from '../../support/databases.js';

/**
 * The store contract (the model is Dex's storage/conformance): the same assertions on
 * every engine, so SQLite and PostgreSQL cannot drift apart.
 */
for (const engine of testEngines()) {
  describe(`store contract: foundation [${engine.name}]`, () => {
    let t: TestDatabase;
    beforeEach(async () => {
      t = await engine.open();
    });
    afterEach(() => t.drop());

    const org = (slug: string, extra: string[] = []) => ({
      id: `id-${slug}`,
      slug,
      name: slug.toUpperCase(),
      domains: [slug, ...extra],
      ssoEnabled: false,
      delegatedAuthOrg: true,
      imLoggingEnabled: false,
      createdAt: 1_700_000_000_000,
    });

    it('migrations are idempotent', async () => {
      assert.deepEqual(await migrateToLatest(t.handle.db, t.handle.dialect), []);
    });

    it('round-trips an org with its flags, domains and timestamps', async () => {
      await insertOrg(t.handle.db, org('acme.com', ['acme.org']));
      const found = await findOrgBySlug(t.handle.db, 'acme.com');
      assert.deepEqual(found, { ...org('acme.com', ['acme.org']), version: 1, updatedAt: 1_700_000_000_000 });
      assert.equal(typeof found!.createdAt, 'number');
      assert.equal((await findOrgByDomain(t.handle.db, 'ACME.org'))?.slug, 'acme.com');
      assert.equal(await findOrgByDomain(t.handle.db, 'other.org'), undefined);
    });

    it('updates fields, bumps the version and replaces the domain index', async () => {
      await insertOrg(t.handle.db, org('acme.com', ['acme.org']));
      await updateOrg(t.handle.db, 'id-acme.com', { name: 'New', ssoEnabled: true, domains: ['acme.com', 'acme.net'] }, 1_800_000_000_000);
      const o = (await findOrgBySlug(t.handle.db, 'acme.com'))!;
      assert.equal(o.name, 'New');
      assert.equal(o.ssoEnabled, true);
      assert.equal(o.delegatedAuthOrg, true);
      assert.equal(o.version, 2);
      assert.equal(o.updatedAt, 1_800_000_000_000);
      assert.equal(await findOrgByDomain(t.handle.db, 'acme.org'), undefined);
      assert.equal((await findOrgByDomain(t.handle.db, 'acme.net'))?.slug, 'acme.com');
    });

    it('enforces unique slugs and one org per domain in the database', async () => {
      await insertOrg(t.handle.db, org('acme.com', ['shared.com']));
      await assert.rejects(insertOrg(t.handle.db, org('acme.com')), (e) => isUniqueViolation(e));
      await assert.rejects(
        insertOrg(t.handle.db, { ...org('beta.com', ['shared.com']) }),
        (e) => isUniqueViolation(e),
      );
      assert.deepEqual(await findClaimedDomains(t.handle.db, ['shared.com', 'free.com']), ['shared.com']);
      assert.deepEqual(await findClaimedDomains(t.handle.db, ['shared.com'], 'id-acme.com'), []);
    });

    it('rolls a failed transaction back completely', async () => {
      await assert.rejects(
        t.handle.db.transaction().execute(async (trx) => {
          await insertOrg(trx, org('acme.com'));
          await recordAudit(trx, { orgId: 'id-acme.com', actor: 'x', action: 'org.create', target: 'org', details: {} }, 1);
          await insertOrg(trx, org('acme.com'));
        }),
      );
      assert.deepEqual(await listOrgs(t.handle.db), []);
      assert.deepEqual(await listAudit(t.handle.db, { limit: 10 }), []);
    });

    it('finds API keys by hash only while not revoked, and revokes once', async () => {
      await insertAdmin(t.handle.db, { id: 'a1', email: 'op@x.test', name: 'Op', role: 'super', orgId: null, createdAt: 1 });
      assert.equal(await countSuperAdmins(t.handle.db), 1);
      await insertApiKey(t.handle.db, {
        id: 'k1', keyHash: 'h1', prefix: 'fbk_abcd', label: 'l', role: 'super', orgId: null, adminId: 'a1',
        createdBy: 'test', createdAt: 5, lastUsedAt: null, revokedAt: null,
      });
      assert.equal((await findActiveApiKeyByHash(t.handle.db, 'h1'))?.id, 'k1');
      assert.equal(await revokeApiKey(t.handle.db, 'k1', 6), true);
      assert.equal(await revokeApiKey(t.handle.db, 'k1', 7), false);
      assert.equal(await findActiveApiKeyByHash(t.handle.db, 'h1'), undefined);
    });

    it('orders the audit log by sequence, newest first, and filters by org and time', async () => {
      await insertOrg(t.handle.db, org('acme.com'));
      for (let i = 0; i < 5; i++) {
        await recordAudit(t.handle.db, { orgId: i % 2 ? 'id-acme.com' : null, actor: 'a', action: `act.${i}`, target: 't', details: { i } }, 1000);
      }
      const all = await listAudit(t.handle.db, { limit: 10 });
      assert.deepEqual(all.map((e) => e.action), ['act.4', 'act.3', 'act.2', 'act.1', 'act.0']);
      const acme = await listAudit(t.handle.db, { orgId: 'id-acme.com', limit: 10 });
      assert.deepEqual(acme.map((e) => e.details), [{ i: 3 }, { i: 1 }]);
      assert.deepEqual(await listAudit(t.handle.db, { since: 1001, limit: 10 }), []);
      assert.equal(all[0]!.at, new Date(1000).toISOString());
    });
  });
}
