import assert from 'node:assert/strict';
import request from 'supertest';
import { generateServiceCertificate } from '../../../src/certs/x509-generator.js';
import { lockOrgCertificates, type CertificateKind } from '../../../src/store/certificates.js';
import { findOrgBySlug } from '../../../src/store/orgs.js';
import { postgresOrUndefined, sqlite, type TestEngine } from '../../support/databases.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { auth, newOrg } from './cert-fixtures.js';

/**
 * R-CERT "at most three, exactly one active" under concurrent requests. On PostgreSQL the
 * requests really run at once through the connection pool, so only the org-row lock and the
 * partial unique index keep the invariants; on SQLite the same requests run too (the driver
 * serialises transactions), to show the flows neither deadlock nor fail there.
 */
const pg = postgresOrUndefined();
const engines: Array<[string, TestEngine | undefined]> = [
  ['postgres', pg],
  ['sqlite', sqlite],
];

/** IdP-like certificates, made by our generator (fast; the key is thrown away). */
const idpCertificates = (n: number, now: number) =>
  Array.from({ length: n }, (_, i) => generateServiceCertificate({ commonName: `idp${i}.example.com`, validityDays: 365, now }).certificatePem);

for (const [name, engine] of engines) {
  describe(`concurrent certificate changes [${name}]`, function () {
    this.timeout(180_000);
    let t: TestApp;

    before(async function () {
      if (!engine) {
        // Real concurrency needs a server with several connections.
        console.log('    (skipped: set TEST_DATABASE_URL=postgres://… to run the concurrency tests on PostgreSQL)');
        this.skip();
      }
      t = await startTestApp({ engine });
    });
    after(async () => {
      await t?.close();
    });

    const activeCount = async (kind: CertificateKind, slug: string) => {
      const org = (await findOrgBySlug(t.ctx.database.db, slug))!;
      const table = kind === 'service' ? 'service_certificates' : 'org_certificates';
      const rows = await t.ctx.database.db.selectFrom(table).select(['id', 'active']).where('org_id', '=', org.id).execute();
      return { total: rows.length, active: rows.filter((r) => Number(r.active) === 1).map((r) => r.id) };
    };

    if (name === 'postgres') {
      it('the org lock makes a second transaction of the same org wait, and only that org', async () => {
        const a = (await findOrgBySlug(t.ctx.database.db, (await newOrg(t)).slug))!;
        const b = (await findOrgBySlug(t.ctx.database.db, (await newOrg(t)).slug))!;
        const db = t.ctx.database.db;
        const events: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let locked!: () => void;
        const firstLocked = new Promise<void>((r) => (locked = r));
        const first = db.transaction().execute(async (trx) => {
          await lockOrgCertificates(trx, 'postgres', a.id);
          events.push('first locked');
          locked();
          await held;
          events.push('first commits');
        });
        await firstLocked;
        const second = db.transaction().execute(async (trx) => {
          await lockOrgCertificates(trx, 'postgres', a.id);
          events.push('second locked');
        });
        try {
          await db.transaction().execute((trx) => lockOrgCertificates(trx, 'postgres', b.id)); // another org: no wait
          await new Promise((r) => setTimeout(r, 300));
          assert.deepEqual(events, ['first locked'], 'the second transaction waits for the first');
        } finally {
          release();
          await Promise.all([first, second]);
        }
        assert.deepEqual(events, ['first locked', 'first commits', 'second locked']);
      });
    }

    for (const [kind, path] of [
      ['service', 'service-certificates'],
      ['org', 'certificates'],
    ] as Array<[CertificateKind, string]>) {
      const body = (alias: string, certificate: string) =>
        kind === 'service' ? { alias, validityDays: 365 } : { alias, certificate };

      it(`${kind}: concurrent activations always leave exactly one active certificate`, async () => {
        const { slug, key } = await newOrg(t);
        const certs = idpCertificates(3, t.clock.now());
        const ids: string[] = [];
        for (const [i, pem] of certs.entries()) {
          ids.push((await request(t.app).post(`/api/v1/orgs/${slug}/${path}`).set(auth(key)).send(body(`c${i}`, pem)).expect(201)).body.id);
        }
        for (let round = 0; round < 15; round++) {
          const order = round % 2 === 0 ? ids : [...ids].reverse();
          const answers = await Promise.all(
            [...order, ...order].map((id) => request(t.app).post(`/api/v1/orgs/${slug}/${path}/${id}/activate`).set(auth(key))),
          );
          assert.deepEqual(answers.map((r) => r.status), answers.map(() => 200), JSON.stringify(answers.map((r) => r.body.detail)));
          const state = await activeCount(kind, slug);
          assert.equal(state.total, 3);
          assert.equal(state.active.length, 1, `round ${round}: ${JSON.stringify(state)}`);
        }
      });

      it(`${kind}: concurrent inserts never exceed three, and the first one alone is active`, async () => {
        const { slug, key } = await newOrg(t);
        const certs = idpCertificates(6, t.clock.now());
        const answers = await Promise.all(
          certs.map((pem, i) => request(t.app).post(`/api/v1/orgs/${slug}/${path}`).set(auth(key)).send(body(`n${i}`, pem))),
        );
        const statuses = answers.map((r) => r.status).sort();
        assert.deepEqual(statuses, [201, 201, 201, 409, 409, 409], JSON.stringify(answers.map((r) => r.body.detail)));
        for (const r of answers.filter((x) => x.status === 409)) assert.match(r.body.detail, /the limit is 3/);
        const created = answers.filter((r) => r.status === 201).map((r) => r.body as { id: string; active: boolean });
        assert.equal(created.filter((c) => c.active).length, 1, 'exactly one of the concurrent first inserts became active');
        const state = await activeCount(kind, slug);
        assert.equal(state.total, 3);
        assert.deepEqual(state.active, created.filter((c) => c.active).map((c) => c.id));
      });
    }
  });
}
