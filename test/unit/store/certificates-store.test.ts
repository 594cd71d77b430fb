import assert from 'node:assert/strict';
import { sql } from 'kysely';
import {
  activateCertificate,
  countCertificates,
  deleteInactiveCertificate,
  findCertificate,
  findCertificateByAlias,
  findOrgCertificateByFingerprint,
  hasActiveCertificate,
  insertOrgCertificate,
  insertServiceCertificate,
  listCertificates,
  listServiceKeyMaterial,
  lockOrgCertificates,
  type CertificateKind,
} from '../../../src/store/certificates.js';
import { isUniqueViolation } from '../../../src/store/database.js';
import { testEngines, type TestDatabase } from '../../support/databases.js';
import { insertTestOrg } from '../../support/fixtures.js';

/**
 * Store contract for certificates on every engine: the invariants R-CERT relies on are held
 * by the database itself (unique alias, unique fingerprint, at most one active row per org
 * and kind), not by the flows' JavaScript.
 */
for (const engine of testEngines()) {
  describe(`store contract: certificates [${engine.name}]`, () => {
    let t: TestDatabase;
    const T0 = 1_700_000_000_000;

    beforeEach(async () => {
      t = await engine.open();
      for (const slug of ['acme.com', 'beta.com']) {
        await insertTestOrg(t.handle.db, { id: `org-${slug}`, slug, createdAt: T0 });
      }
    });
    afterEach(() => t.drop());

    const base = (id: string, over: { orgId?: string; alias?: string; active?: boolean; fp?: string; at?: number } = {}) => ({
      id,
      orgId: over.orgId ?? 'org-acme.com',
      alias: over.alias ?? id,
      certificatePem: `PEM of ${id}`,
      fingerprintSha256: over.fp ?? `fp-${id}`,
      notAfter: T0 + 86_400_000,
      active: over.active ?? false,
      createdAt: over.at ?? T0,
    });
    const insert = (kind: CertificateKind, id: string, over: Parameters<typeof base>[1] = {}) =>
      kind === 'service'
        ? insertServiceCertificate(t.handle.db, { ...base(id, over), privateKeySealed: `sealed-${id}` })
        : insertOrgCertificate(t.handle.db, { ...base(id, over), source: 'upload' });

    for (const kind of ['service', 'org'] as const) {
      describe(`${kind} certificates`, () => {
        it('refuses a second active certificate in one org (partial unique index), allows it in another', async () => {
          await insert(kind, 'a', { active: true });
          await insert(kind, 'b');
          await insert(kind, 'c');
          await assert.rejects(insert(kind, 'd', { active: true }), (e) => isUniqueViolation(e));
          await insert(kind, 'x', { orgId: 'org-beta.com', active: true });
          // A direct UPDATE that would make two rows active is refused by the database too.
          const table = kind === 'service' ? 'service_certificates' : 'org_certificates';
          await assert.rejects(
            sql`update ${sql.table(table)} set active = 1 where id = 'b'`.execute(t.handle.db),
            (e) => isUniqueViolation(e),
          );
          assert.equal(await countCertificates(t.handle.db, kind, 'org-acme.com'), 3);
        });

        it('refuses a duplicate alias in one org, allows it in another', async () => {
          await insert(kind, 'a', { alias: 'idp' });
          await assert.rejects(insert(kind, 'b', { alias: 'idp' }), (e) => isUniqueViolation(e));
          await insert(kind, 'c', { alias: 'idp', orgId: 'org-beta.com' });
          assert.equal((await findCertificateByAlias(t.handle.db, kind, 'org-acme.com', 'idp'))?.id, 'a');
        });

        it('refuses an active flag other than 0 or 1', async () => {
          await insert(kind, 'a');
          const table = kind === 'service' ? 'service_certificates' : 'org_certificates';
          await assert.rejects(sql`update ${sql.table(table)} set active = 2 where id = 'a'`.execute(t.handle.db));
        });

        it('activates atomically: exactly one active afterwards, other orgs untouched', async () => {
          await insert(kind, 'a', { active: true, at: T0 });
          await insert(kind, 'b', { at: T0 + 1 });
          await insert(kind, 'c', { at: T0 + 2 });
          await insert(kind, 'x', { orgId: 'org-beta.com', active: true });
          await t.handle.db.transaction().execute(async (trx) => {
            await lockOrgCertificates(trx, t.handle.dialect, 'org-acme.com');
            assert.equal(await activateCertificate(trx, kind, 'org-acme.com', 'c'), true);
          });
          const list = await listCertificates(t.handle.db, kind, 'org-acme.com');
          assert.deepEqual(
            list.map((c) => [c.id, c.active]),
            [
              ['c', true],
              ['a', false],
              ['b', false],
            ],
          );
          assert.equal((await findCertificate(t.handle.db, kind, 'org-beta.com', 'x'))?.active, true);
          // Another org's certificate is not ours to activate: nothing changes.
          assert.equal(await activateCertificate(t.handle.db, kind, 'org-acme.com', 'x'), false);
          assert.equal((await findCertificate(t.handle.db, kind, 'org-beta.com', 'x'))?.active, true);
          assert.equal(await findCertificate(t.handle.db, kind, 'org-acme.com', 'x'), undefined);
        });

        it('deletes only inactive certificates', async () => {
          await insert(kind, 'a', { active: true });
          await insert(kind, 'b');
          assert.equal(await deleteInactiveCertificate(t.handle.db, kind, 'org-acme.com', 'a'), false);
          assert.equal(await deleteInactiveCertificate(t.handle.db, kind, 'org-beta.com', 'b'), false);
          assert.equal(await deleteInactiveCertificate(t.handle.db, kind, 'org-acme.com', 'b'), true);
          assert.deepEqual((await listCertificates(t.handle.db, kind, 'org-acme.com')).map((c) => c.id), ['a']);
        });

        it('reports whether an org has an active certificate', async () => {
          assert.equal(await hasActiveCertificate(t.handle.db, kind, 'org-acme.com'), false);
          await insert(kind, 'a');
          assert.equal(await hasActiveCertificate(t.handle.db, kind, 'org-acme.com'), false);
          await activateCertificate(t.handle.db, kind, 'org-acme.com', 'a');
          assert.equal(await hasActiveCertificate(t.handle.db, kind, 'org-acme.com'), true);
        });

        it('round-trips records with numbers and booleans on both engines', async () => {
          await insert(kind, 'a', { active: true });
          const found = await findCertificate(t.handle.db, kind, 'org-acme.com', 'a');
          assert.deepEqual(found, {
            ...base('a', { active: true }),
            kind,
            ...(kind === 'org' && { source: 'upload' }),
          });
          assert.equal(typeof found!.notAfter, 'number');
        });
      });
    }

    it('keeps the sealed private key out of certificate records and hands it to the key reader only', async () => {
      await insert('service', 'a', { active: true });
      await insert('service', 'b');
      const record = await findCertificate(t.handle.db, 'service', 'org-acme.com', 'a');
      assert.ok(!JSON.stringify(record).includes('sealed-'));
      assert.deepEqual(await listServiceKeyMaterial(t.handle.db, 'org-acme.com'), [
        { id: 'a', certificatePem: 'PEM of a', privateKeySealed: 'sealed-a', active: true },
        { id: 'b', certificatePem: 'PEM of b', privateKeySealed: 'sealed-b', active: false },
      ]);
    });

    it('stores an organisation certificate once per org (unique fingerprint)', async () => {
      await insert('org', 'a', { fp: 'same' });
      await assert.rejects(insert('org', 'b', { fp: 'same' }), (e) => isUniqueViolation(e));
      await insert('org', 'c', { fp: 'same', orgId: 'org-beta.com' });
      assert.equal((await findOrgCertificateByFingerprint(t.handle.db, 'org-acme.com', 'same'))?.id, 'a');
      assert.equal(await findOrgCertificateByFingerprint(t.handle.db, 'org-acme.com', 'other'), undefined);
    });

    it('refuses an unknown organisation certificate source', async () => {
      await assert.rejects(
        t.handle.db.insertInto('org_certificates').values({ ...rowOf(base('z')), source: 'email' }).execute(),
      );
    });

    it('takes the org lock inside a transaction without changing the org', async () => {
      const before = await t.handle.db.selectFrom('orgs').selectAll().where('id', '=', 'org-acme.com').executeTakeFirstOrThrow();
      await t.handle.db.transaction().execute((trx) => lockOrgCertificates(trx, t.handle.dialect, 'org-acme.com'));
      const after = await t.handle.db.selectFrom('orgs').selectAll().where('id', '=', 'org-acme.com').executeTakeFirstOrThrow();
      assert.deepEqual(after, before);
    });
  });
}

function rowOf(c: { id: string; orgId: string; alias: string; certificatePem: string; fingerprintSha256: string; notAfter: number; active: boolean; createdAt: number }) {
  return {
    id: c.id,
    org_id: c.orgId,
    alias: c.alias,
    certificate_pem: c.certificatePem,
    fingerprint_sha256: c.fingerprintSha256,
    not_after: c.notAfter,
    active: c.active ? 1 : 0,
    created_at: c.createdAt,
  };
}
