import assert from 'node:assert/strict';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { auditCount, auth, createApiKey } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

/** Rows that must stay untouched when a request is refused. */
async function snapshot(t: TestApp) {
  const db = t.ctx.database.db;
  return {
    orgs: await db.selectFrom('orgs').selectAll().orderBy('id').execute(),
    domains: await db.selectFrom('org_domains').selectAll().orderBy('domain').execute(),
    keys: await db.selectFrom('api_keys').selectAll().orderBy('id').execute(),
    audit: await db.selectFrom('audit_log').selectAll().orderBy('seq').execute(),
  };
}

for (const engine of testEngines()) {
  describe(`admin API: organisations, keys, audit [${engine.name}]`, () => {
    let t: TestApp;
    let orgKey: string;
    let userAdminKey: string;
    let otherKey: string;

    before(async () => {
      t = await startTestApp({ engine });
      const a = await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'acme.com', name: 'Acme', domains: ['acme.org'] });
      assert.equal(a.status, 201, JSON.stringify(a.body));
      const b = await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'beta.com', name: 'Beta' });
      assert.equal(b.status, 201);
      orgKey = await createApiKey(t, 'acme.com', 'orgAdmin', 'acme admin');
      userAdminKey = await createApiKey(t, 'acme.com', 'userAdmin', 'acme users');
      otherKey = await createApiKey(t, 'beta.com', 'orgAdmin', 'beta admin');
      assert.match(orgKey, /^fbk_/);
    });
    after(() => t.close());

    it('creates, lists and patches organisations', async () => {
      const created = await request(t.app).get('/api/v1/orgs/acme.com').set(auth(t.superKey)).expect(200);
      assert.deepEqual(
        { ...created.body, id: undefined },
        { id: undefined, slug: 'acme.com', name: 'Acme', domains: ['acme.com', 'acme.org'], ssoEnabled: false, delegatedAuthOrg: false, imLoggingEnabled: false },
      );
      const list = await request(t.app).get('/api/v1/orgs').set(auth(t.superKey)).expect(200);
      assert.deepEqual(list.body.map((o: { slug: string }) => o.slug), ['acme.com', 'beta.com']);
      const patched = await request(t.app).patch('/api/v1/orgs/acme.com').set(auth(orgKey)).send({ name: 'Acme Inc.' }).expect(200);
      assert.equal(patched.body.name, 'Acme Inc.');
      const flags = await request(t.app).patch('/api/v1/orgs/acme.com').set(auth(t.superKey)).send({ ssoEnabled: true }).expect(200);
      assert.equal(flags.body.ssoEnabled, true);
    });

    it('an org admin sees only its own organisation in the list', async () => {
      const list = await request(t.app).get('/api/v1/orgs').set(auth(orgKey)).expect(200);
      assert.deepEqual(list.body.map((o: { slug: string }) => o.slug), ['acme.com']);
    });

    it('refuses a super-only flag from an org admin with 403 and changes nothing', async () => {
      const before = await snapshot(t);
      for (const body of [{ ssoEnabled: false }, { delegatedAuthOrg: true }, { name: 'x', ssoEnabled: true }]) {
        const r = await request(t.app).patch('/api/v1/orgs/acme.com').set(auth(orgKey)).send(body);
        assert.equal(r.status, 403);
        assert.equal(r.type, 'application/problem+json');
        assert.match(r.body.detail, /super administrator/);
      }
      assert.deepEqual(await snapshot(t), before);
    });

    it('answers 401 without a key or with an unknown key', async () => {
      for (const headers of [{}, auth('fbk_unknownunknownunknownunknownunknown'), { Authorization: 'Basic abc' }]) {
        const r = await request(t.app).get('/api/v1/orgs').set(headers);
        assert.equal(r.status, 401);
        assert.equal(r.type, 'application/problem+json');
      }
    });

    it('answers 403 when an org admin of A touches B, existing or not', async () => {
      for (const [method, path] of [
        ['get', '/api/v1/orgs/beta.com'],
        ['patch', '/api/v1/orgs/beta.com'],
        ['get', '/api/v1/orgs/beta.com/audit'],
        ['post', '/api/v1/orgs/beta.com/api-keys'],
        ['get', '/api/v1/orgs/nonexistent.com'],
      ] as const) {
        const r = await request(t.app)[method](path).set(auth(orgKey)).send({ name: 'hijack', role: 'orgAdmin', label: 'x' });
        assert.equal(r.status, 403, `${method} ${path}`);
      }
      const beta = await request(t.app).get('/api/v1/orgs/beta.com').set(auth(otherKey)).expect(200);
      assert.equal(beta.body.name, 'Beta');
    });

    it('keeps a user administrator to reading its org', async () => {
      await request(t.app).get('/api/v1/orgs/acme.com').set(auth(userAdminKey)).expect(200);
      await request(t.app).patch('/api/v1/orgs/acme.com').set(auth(userAdminKey)).send({ name: 'x' }).expect(403);
      await request(t.app).post('/api/v1/orgs/acme.com/api-keys').set(auth(userAdminKey)).send({ role: 'orgAdmin', label: 'x' }).expect(403);
      await request(t.app).post('/api/v1/orgs').set(auth(orgKey)).send({ slug: 'new.com', name: 'New' }).expect(403);
    });

    it('refuses invalid bodies with 422 naming the field, and changes nothing', async () => {
      const cases: Array<[string, string, unknown, string]> = [
        ['post', '/api/v1/orgs', { slug: 'not a domain', name: 'X' }, 'slug'],
        ['post', '/api/v1/orgs', { slug: 'ok.com' }, 'name'],
        ['post', '/api/v1/orgs', { slug: 'ok.com', name: 'X', domains: ['bad domain'] }, 'domains.0'],
        ['post', '/api/v1/orgs', { slug: 'ok.com', name: 'X', ssoEnabled: 'yes' }, 'ssoEnabled'],
        ['post', '/api/v1/orgs', { slug: 'ok.com', name: 'X', colour: 'red' }, 'body'],
        ['patch', '/api/v1/orgs/acme.com', { name: '' }, 'name'],
        ['patch', '/api/v1/orgs/acme.com', { domains: 'acme.com' }, 'domains'],
        ['post', '/api/v1/orgs/acme.com/api-keys', { role: 'super', label: 'x' }, 'role'],
        ['post', '/api/v1/orgs/acme.com/api-keys', { role: 'orgAdmin' }, 'label'],
      ];
      const before = await snapshot(t);
      for (const [method, path, body, field] of cases) {
        const r = await (request(t.app) as any)[method](path).set(auth(t.superKey)).send(body);
        assert.equal(r.status, 422, `${path} ${JSON.stringify(body)} → ${r.status}`);
        assert.equal(r.type, 'application/problem+json');
        assert.ok(
          r.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body)} should name ${field}: ${JSON.stringify(r.body.errors)}`,
        );
      }
      const bad = await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).set('Content-Type', 'application/json').send('{"slug":');
      assert.equal(bad.status, 400);
      assert.deepEqual(await snapshot(t), before);
    });

    it('refuses a duplicate slug or a domain claimed by another org with 409', async () => {
      const before = await snapshot(t);
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'acme.com', name: 'Dup' }).expect(409);
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'gamma.com', name: 'G', domains: ['acme.org'] }).expect(409);
      await request(t.app).patch('/api/v1/orgs/beta.com').set(auth(t.superKey)).send({ domains: ['acme.org'] }).expect(409);
      assert.deepEqual(await snapshot(t), before);
    });

    it('writes exactly one audit entry for every change, none for reads or no-ops', async () => {
      let n = await auditCount(t);
      const step = async (fn: () => Promise<unknown>, expected: number) => {
        await fn();
        const now = await auditCount(t);
        assert.equal(now - n, expected);
        n = now;
      };
      await step(() => request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'delta.com', name: 'Delta' }).expect(201), 1);
      await step(() => request(t.app).patch('/api/v1/orgs/delta.com').set(auth(t.superKey)).send({ name: 'Delta 2', domains: ['delta.net'] }).expect(200), 1);
      await step(() => request(t.app).patch('/api/v1/orgs/delta.com').set(auth(t.superKey)).send({ name: 'Delta 2' }).expect(200), 0);
      let keyId = '';
      await step(async () => {
        keyId = (await request(t.app).post('/api/v1/orgs/delta.com/api-keys').set(auth(t.superKey)).send({ role: 'orgAdmin', label: 'k' }).expect(201)).body.id;
      }, 1);
      await step(() => request(t.app).delete(`/api/v1/orgs/delta.com/api-keys/${keyId}`).set(auth(t.superKey)).expect(204), 1);
      await step(() => request(t.app).get('/api/v1/orgs/delta.com').set(auth(t.superKey)).expect(200), 0);
      const audit = await request(t.app).get('/api/v1/orgs/delta.com/audit').set(auth(t.superKey)).expect(200);
      assert.deepEqual(audit.body.map((e: { action: string }) => e.action), ['apiKey.revoke', 'apiKey.create', 'org.update', 'org.create']);
      const update = audit.body[2];
      assert.deepEqual(update.details.before, { name: 'Delta', domains: ['delta.com'] });
      assert.deepEqual(update.details.after, { name: 'Delta 2', domains: ['delta.com', 'delta.net'] });
      assert.match(update.actor, /^apikey:/);
      assert.ok(!Number.isNaN(Date.parse(update.at)));
    });

    it('shows an API key once, stores only its hash, and a revoked key stops working', async () => {
      const created = await request(t.app).post('/api/v1/orgs/acme.com/api-keys').set(auth(t.superKey)).send({ role: 'orgAdmin', label: 'once' }).expect(201);
      const { key, id } = created.body;
      await request(t.app).get('/api/v1/orgs/acme.com').set(auth(key)).expect(200);
      const list = await request(t.app).get('/api/v1/orgs/acme.com/api-keys').set(auth(t.superKey)).expect(200);
      assert.ok(list.body.some((k: { id: string }) => k.id === id));
      assert.ok(!JSON.stringify(list.body).includes(key));
      const rows = await t.ctx.database.db.selectFrom('api_keys').selectAll().execute();
      for (const row of rows) assert.ok(!Object.values(row).some((v) => typeof v === 'string' && v.includes(key)));
      const audit = await request(t.app).get('/api/v1/orgs/acme.com/audit').set(auth(t.superKey)).expect(200);
      assert.ok(!JSON.stringify(audit.body).includes(key));
      await request(t.app).delete(`/api/v1/orgs/acme.com/api-keys/${id}`).set(auth(orgKey)).expect(204);
      await request(t.app).get('/api/v1/orgs/acme.com').set(auth(key)).expect(401);
    });

    it('serves the SSO related options of the matrix', async () => {
      const set = (flags: object) => request(t.app).patch('/api/v1/orgs/beta.com').set(auth(t.superKey)).send(flags).expect(200);
      const options = async () => (await request(t.app).get('/api/v1/orgs/beta.com/sso-options').set(auth(otherKey)).expect(200)).body.options;
      await set({ ssoEnabled: false, delegatedAuthOrg: false });
      assert.deepEqual(await options(), ['partnerDelegatedAuth']);
      await set({ ssoEnabled: true });
      assert.deepEqual(await options(), ['federatedWebSso', 'orgCertificates', 'serviceCertificates', 'partnerDelegatedAuth']);
      await set({ delegatedAuthOrg: true });
      assert.deepEqual(await options(), ['federatedWebSso', 'orgCertificates', 'serviceCertificates', 'partnerDelegatedAuth']);
      await set({ ssoEnabled: false });
      assert.deepEqual(await options(), ['orgCertificates', 'partnerWebSso']);
    });

    it('never writes a key or an Authorization header to the logs', async () => {
      const text = t.logs.text();
      assert.ok(t.logs.lines.length > 5, 'requests were logged');
      for (const secret of [t.superKey, orgKey, userAdminKey, otherKey]) assert.ok(!text.includes(secret));
      assert.ok(!/Bearer fbk_/.test(text));
    });

    it('answers problem+json 404 for unknown API routes and carries a request id', async () => {
      const r = await request(t.app).get('/api/v1/nope').set(auth(t.superKey)).expect(404);
      assert.equal(r.type, 'application/problem+json');
      assert.ok(r.headers['x-request-id']);
      assert.equal(r.body.requestId, r.headers['x-request-id']);
    });
  });
}
