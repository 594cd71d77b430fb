/**
 * R-OAUTH-1 / Appendix A `/api/v1/clients`: operator-only registration, secrets shown once and
 * stored only as a hash, validation that names the field and changes nothing, one audit entry
 * per change, deletion revoking every token of the client.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { auth, createApiKey } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

const SAML2_BEARER = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

async function snapshot(t: TestApp) {
  const db = t.ctx.database.db;
  return {
    clients: await db.selectFrom('oauth_clients').selectAll().orderBy('id').execute(),
    audit: await db.selectFrom('audit_log').selectAll().orderBy('seq').execute(),
  };
}

async function auditOf(t: TestApp, action: string) {
  return t.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', action).execute();
}

for (const engine of testEngines()) {
  describe(`admin API: OAuth clients [${engine.name}]`, () => {
    let t: TestApp;
    let orgKey: string;
    const native = {
      name: 'Desktop',
      type: 'public',
      redirectUris: ['http://127.0.0.1/callback', 'com.acme.desktop:/oauth2redirect'],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'email', 'offline_access'],
    };

    before(async () => {
      t = await startTestApp({ engine });
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'acme.com', name: 'Acme' }).expect(201);
      orgKey = await createApiKey(t, 'acme.com', 'orgAdmin', 'x');
    });
    after(() => t.close());

    it('registers a public client without a secret, with one audit entry', async () => {
      const before = (await auditOf(t, 'client.create')).length;
      const r = await request(t.app).post('/api/v1/clients').set(auth(t.superKey)).send(native);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.match(r.body.clientId, /^fbc_/);
      assert.equal(r.body.clientSecret, undefined);
      assert.deepEqual(r.body.redirectUris, native.redirectUris);
      assert.equal(r.headers['cache-control'], 'no-store');
      const row = await t.ctx.database.db.selectFrom('oauth_clients').selectAll().where('id', '=', r.body.clientId).executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, null);
      const entries = await auditOf(t, 'client.create');
      assert.equal(entries.length, before + 1);
      assert.equal(entries.at(-1)!.target, `client:${r.body.clientId}`);
    });

    it('shows a confidential client its secret once and stores only the SHA-256', async () => {
      const r = await request(t.app)
        .post('/api/v1/clients')
        .set(auth(t.superKey))
        .send({ name: 'Gateway', type: 'confidential', grantTypes: [SAML2_BEARER], scopes: ['openid'] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const secret = r.body.clientSecret as string;
      assert.match(secret, /^fbcs_[A-Za-z0-9_-]{43}$/);
      const row = await t.ctx.database.db.selectFrom('oauth_clients').selectAll().where('id', '=', r.body.clientId).executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, crypto.createHash('sha256').update(secret).digest('hex'));
      // Nowhere in the database, the audit log or the listing.
      const everything = JSON.stringify(await snapshot(t));
      assert.ok(!everything.includes(secret));
      const list = await request(t.app).get('/api/v1/clients').set(auth(t.superKey)).expect(200);
      assert.ok(!JSON.stringify(list.body).includes(secret));
      const one = await request(t.app).get(`/api/v1/clients/${r.body.clientId}`).set(auth(t.superKey)).expect(200);
      assert.equal(one.body.clientSecret, undefined);
      assert.ok(!t.logs.text().includes(secret), 'never logged');
    });

    it('keeps clients to the operator: 403 for an org administrator, 401 without a key', async () => {
      const before = await snapshot(t);
      await request(t.app).post('/api/v1/clients').set(auth(orgKey)).send(native).expect(403);
      await request(t.app).get('/api/v1/clients').set(auth(orgKey)).expect(403);
      await request(t.app).delete('/api/v1/clients/fbc_x').set(auth(orgKey)).expect(403);
      await request(t.app).post('/api/v1/clients').send(native).expect(401);
      assert.deepEqual(await snapshot(t), before);
    });

    it('refuses invalid registrations with 422 naming the field, and changes nothing', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...native, name: '' }, 'name'],
        [{ ...native, type: 'spa' }, 'type'],
        [{ ...native, redirectUris: ['http://example.com/cb'] }, 'redirectUris.0'],
        [{ ...native, redirectUris: ['http://localhost/cb'] }, 'redirectUris.0'],
        [{ ...native, redirectUris: ['https://127.0.0.1/cb'] }, 'redirectUris.0'],
        [{ ...native, redirectUris: ['javascript:alert(1)'] }, 'redirectUris.0'],
        [{ ...native, redirectUris: ['myapp:/cb'] }, 'redirectUris.0'],
        [{ ...native, redirectUris: ['http://127.0.0.1/cb#frag'] }, 'redirectUris.0'],
        [{ ...native, redirectUris: [] }, 'redirectUris'],
        [{ ...native, redirectUris: ['http://127.0.0.1/cb', 'http://127.0.0.1/cb'] }, 'redirectUris'],
        [{ ...native, type: 'confidential', redirectUris: ['http://example.com/cb'] }, 'redirectUris.0'],
        [{ ...native, grantTypes: ['implicit'] }, 'grantTypes.0'],
        [{ ...native, grantTypes: ['client_credentials'] }, 'grantTypes.0'],
        [{ ...native, grantTypes: ['refresh_token'], redirectUris: [] }, 'grantTypes'],
        [{ ...native, grantTypes: [TOKEN_EXCHANGE], redirectUris: ['http://127.0.0.1/cb'], scopes: ['openid'] }, 'redirectUris'],
        [{ ...native, grantTypes: ['authorization_code'] }, 'scopes'],
        [{ ...native, scopes: ['open id'] }, 'scopes.0'],
        [{ ...native, scopes: [] }, 'scopes'],
        [{ ...native, colour: 'red' }, 'body'],
      ];
      const before = await snapshot(t);
      for (const [body, field] of cases) {
        const r = await request(t.app).post('/api/v1/clients').set(auth(t.superKey)).send(body);
        assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.type, 'application/problem+json');
        assert.ok(
          r.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body)}: expected field ${field}, got ${JSON.stringify(r.body.errors)}`,
        );
      }
      assert.deepEqual(await snapshot(t), before);
    });

    it('accepts the native redirect forms of RFC 8252 and https for confidential clients', async () => {
      await request(t.app)
        .post('/api/v1/clients')
        .set(auth(t.superKey))
        .send({ ...native, redirectUris: ['http://[::1]/cb', 'https://app.acme.com/oauth', 'com.acme.app:/cb'] })
        .expect(201);
      await request(t.app)
        .post('/api/v1/clients')
        .set(auth(t.superKey))
        .send({ ...native, type: 'confidential', redirectUris: ['https://portal.acme.com/cb', 'http://localhost:3000/cb'] })
        .expect(201);
    });

    it('deletes a client with its tokens, once, with one audit entry; unknown ids answer 404', async () => {
      const created = await request(t.app).post('/api/v1/clients').set(auth(t.superKey)).send(native).expect(201);
      const id = created.body.clientId as string;
      await t.ctx.database.db
        .insertInto('oauth_artifacts')
        .values({ model: 'RefreshToken', id_hash: 'h1', payload: '{}', grant_id_hash: 'g', uid_hash: null, account_id: 'a', client_id: id, saml_session_hash: null, expires_at: null, consumed_at: null, created_at: 0 })
        .execute();
      const before = (await auditOf(t, 'client.delete')).length;
      await request(t.app).delete(`/api/v1/clients/${id}`).set(auth(t.superKey)).expect(204);
      assert.equal((await auditOf(t, 'client.delete')).length, before + 1);
      assert.deepEqual(await t.ctx.database.db.selectFrom('oauth_artifacts').select('id_hash').where('client_id', '=', id).execute(), []);
      await request(t.app).get(`/api/v1/clients/${id}`).set(auth(t.superKey)).expect(404);
      await request(t.app).delete(`/api/v1/clients/${id}`).set(auth(t.superKey)).expect(404);
      assert.equal((await auditOf(t, 'client.delete')).length, before + 1);
    });
  });
}
