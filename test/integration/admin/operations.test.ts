/**
 * Operational promises of the foundation (R-OPS-3, R-ADM-1, R-CERT-2) that the feature suites
 * do not cover: readiness follows the database, the API's body limit and security headers,
 * weak and expired organisation certificates accepted but flagged, and a bootstrap that
 * several instances may run at once.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { bootstrapSuperAdmin } from '../../../src/admin/api-key-service.js';
import { createApp, createContext } from '../../../src/app.js';
import { masterKeyFrom } from '../../../src/crypto/master-key.js';
import { countSuperAdmins } from '../../../src/store/admins.js';
import { openDatabase } from '../../../src/store/database.js';
import { testEngines } from '../../support/databases.js';
import { auth } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { OpensslWorkspace } from '../../unit/certs/openssl-fixtures.js';

const DAY = 86_400_000;

for (const engine of testEngines()) {
  describe(`operations [${engine.name}]`, function () {
    this.timeout(60_000);
    let t: TestApp;
    let ws: OpensslWorkspace;
    before(async () => {
      t = await startTestApp({ engine, env: { FEDBRIDGE_BODY_LIMIT_KB: '16' } });
      ws = new OpensslWorkspace();
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'ops.example', name: 'Ops', ssoEnabled: true }).expect(201);
    });
    after(async () => {
      ws.cleanup();
      await t.close();
    });

    it('refuses an API body over FEDBRIDGE_BODY_LIMIT_KB with 413 problem+json and changes nothing', async () => {
      const before = await t.ctx.database.db.selectFrom('orgs').selectAll().execute();
      const r = await request(t.app)
        .post('/api/v1/orgs')
        .set(auth(t.superKey))
        .send({ slug: 'big.example', name: 'x'.repeat(20 * 1024) });
      assert.equal(r.status, 413);
      assert.equal(r.type, 'application/problem+json');
      assert.deepEqual(await t.ctx.database.db.selectFrom('orgs').selectAll().execute(), before);
    });

    it('sends security headers on API answers', async () => {
      const r = await request(t.app).get('/api/v1/orgs').set(auth(t.superKey)).expect(200);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
      assert.equal(r.headers['x-powered-by'], undefined);
    });

    it('accepts a 1024-bit and an expired organisation certificate, flagged in the answer and the details', async () => {
      const weak = ws.selfSigned('weak', 'rsa:1024');
      const created = await request(t.app)
        .post('/api/v1/orgs/ops.example/certificates')
        .set(auth(t.superKey))
        .send({ alias: 'weak', certificate: weak.certPem.toString() })
        .expect(201);
      assert.equal(created.body.weak, true);
      assert.equal(created.body.keySize, 1024);
      assert.ok(created.body.weakReasons.length > 0);

      const shortLived = ws.selfSigned('short', 'rsa:2048', { days: 1 });
      const second = await request(t.app)
        .post('/api/v1/orgs/ops.example/certificates')
        .set(auth(t.superKey))
        .send({ alias: 'short', certificate: shortLived.certPem.toString() })
        .expect(201);
      assert.equal(second.body.expired, false);
      assert.equal(second.body.expiresSoon, true);
      t.clock.set(Date.now() + 3 * DAY);
      const details = await request(t.app).get(`/api/v1/orgs/ops.example/certificates/${second.body.id}`).set(auth(t.superKey)).expect(200);
      assert.equal(details.body.expired, true);
      assert.equal(details.body.weak, false);
    });

    // Several instances share a database only on PostgreSQL (R-OPS-2); SQLite is one instance.
    if (engine.name === 'postgres') it('lets several instances bootstrap the first super administrator at once', async () => {
      const fresh = await engine.open();
      try {
        const key = crypto.randomBytes(32).toString('base64url');
        const config = { ...t.ctx.config, databaseUrl: fresh.url, bootstrapAdminKey: key };
        const masterKey = masterKeyFrom(crypto.randomBytes(32), 'environment');
        // Separate database handles stand in for separate instances.
        const handles = [fresh.handle, openDatabase(fresh.url), openDatabase(fresh.url)];
        try {
          const contexts = await Promise.all(handles.map((database) => createContext({ config, database, masterKey, logger: t.ctx.logger })));
          const outcomes = await Promise.all(contexts.map((c) => bootstrapSuperAdmin(c)));
          assert.equal(outcomes.filter((o) => o === 'created-from-environment').length, 1, outcomes.join());
          assert.equal(outcomes.filter((o) => o === 'exists').length, 2);
          assert.equal(await countSuperAdmins(fresh.handle.db), 1);
          const row = await fresh.handle.db.selectFrom('api_keys').select('prefix').executeTakeFirstOrThrow();
          assert.ok(!key.startsWith(row.prefix), 'no part of a chosen key is stored');
        } finally {
          await Promise.all(handles.slice(1).map((h) => h.close()));
        }
      } finally {
        await fresh.drop();
      }
    });

    it('answers /readyz 503 while the database is unreachable', async () => {
      const fresh = await engine.open();
      const { app } = await createApp({
        config: { ...t.ctx.config, databaseUrl: fresh.url },
        database: fresh.handle,
        masterKey: masterKeyFrom(crypto.randomBytes(32), 'environment'),
        logger: t.ctx.logger,
      });
      await request(app).get('/readyz').expect(200);
      await fresh.drop(); // closes the handle and, on PostgreSQL, drops the database
      const r = await request(app).get('/readyz');
      assert.equal(r.status, 503);
      assert.equal(r.body.status, 'unavailable');
      await request(app).get('/healthz').expect(200);
    });
  });
}
