import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { auth, createApiKey } from '../../support/fixtures.js';
import { REPO_ROOT, runCli } from '../../support/processes.js';
import { startTestApp, TEST_PUBLIC_URL, type TestApp } from '../../support/test-app.js';

/** Rows a refused request must leave untouched. */
async function snapshot(t: TestApp) {
  const db = t.ctx.database.db;
  return {
    orgs: await db.selectFrom('orgs').selectAll().orderBy('id').execute(),
    ssoConfigs: await db.selectFrom('sso_configs').selectAll().orderBy('org_id').execute(),
    audit: await db.selectFrom('audit_log').selectAll().orderBy('seq').execute(),
  };
}

async function orgVersion(t: TestApp, slug: string): Promise<number> {
  const r = await t.ctx.database.db.selectFrom('orgs').select('version').where('slug', '=', slug).executeTakeFirstOrThrow();
  return r.version;
}

async function auditOf(t: TestApp, slug: string) {
  const org = await t.ctx.database.db.selectFrom('orgs').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
  return t.ctx.database.db.selectFrom('audit_log').selectAll().where('org_id', '=', org.id).orderBy('seq').execute();
}

/** A SAML 2.0 configuration that works. */
const GOOD = {
  protocol: 'saml2',
  spInitiated: true,
  idpInitiated: true,
  idpInitiatedTargetParam: 'TARGET',
  idpEntityId: 'https://idp.acme.com/saml',
  ssoLoginUrl: 'https://idp.acme.com/sso',
  ssoLoginBinding: 'post',
  nameIdFormat: 'emailAddress',
  defaultTargetUrl: 'https://portal.acme.com/',
  errorUrl: 'https://help.acme.com/sso-error?lang=en',
  autoAccountCreation: true,
  attributeMap: { 'urn:oid:0.9.2342.19200300.100.1.3': 'email' },
};

for (const engine of testEngines()) {
  describe(`admin API: Federated Web SSO configuration [${engine.name}]`, () => {
    let t: TestApp;
    let acmeKey: string;
    let acmeUserKey: string;
    let betaKey: string;

    before(async () => {
      t = await startTestApp({ engine });
      for (const [slug, flags] of [
        ['acme.com', { ssoEnabled: true }],
        ['beta.com', { ssoEnabled: true }],
        ['plain.com', {}],
        ['partner.com', { delegatedAuthOrg: true }],
      ] as const) {
        await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug, name: slug, ...flags }).expect(201);
      }
      const key = (slug: string, role: string) => createApiKey(t, slug, role, `${slug} ${role}`);
      acmeKey = await key('acme.com', 'orgAdmin');
      acmeUserKey = await key('acme.com', 'userAdmin');
      betaKey = await key('beta.com', 'orgAdmin');
    });
    after(() => t.close());

    it('shows the defaults for an org never configured, to any reader of the org', async () => {
      for (const k of [betaKey, t.superKey]) {
        const r = await request(t.app).get('/api/v1/orgs/beta.com/sso').set(auth(k)).expect(200);
        assert.equal(r.body.spEntityId, TEST_PUBLIC_URL);
      }
      const r = await request(t.app).get('/api/v1/orgs/acme.com/sso').set(auth(acmeUserKey)).expect(200);
      assert.equal(r.body.protocol, 'saml2');
      assert.equal(r.body.spEntityId, TEST_PUBLIC_URL);
      assert.equal(r.body.clockSkewSeconds, 180);
      assert.equal(r.body.maxSessionSeconds, 43200);
      assert.equal(r.body.refreshTokenTtlSeconds, 5_184_000);
      assert.equal(r.body.wsfedRealm, 'urn:federation:webex');
      assert.equal(r.body.allowSha1, false);
      assert.equal(r.body.trustAllCertificates, false);
      assert.equal(r.body.idpEntityId, null);
      assert.equal(Object.keys(r.body).length, 27);
    });

    it('saves a working configuration: one audit entry with the changed fields, version bumped', async () => {
      const versionBefore = await orgVersion(t, 'acme.com');
      const auditBefore = (await auditOf(t, 'acme.com')).length;
      const r = await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send(GOOD).expect(200);
      assert.equal(r.body.idpEntityId, GOOD.idpEntityId);
      assert.equal(r.body.spEntityId, TEST_PUBLIC_URL, 'the default SP entity id is kept explicitly');
      const shown = await request(t.app).get('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).expect(200);
      assert.deepEqual(shown.body, r.body);

      assert.equal(await orgVersion(t, 'acme.com'), versionBefore + 1);
      const audit = await auditOf(t, 'acme.com');
      assert.equal(audit.length, auditBefore + 1);
      const entry = audit.at(-1)!;
      assert.equal(entry.action, 'sso.update');
      assert.equal(entry.target, 'sso:acme.com');
      assert.match(entry.actor, /^apikey:/);
      const details = JSON.parse(entry.details);
      assert.deepEqual(Object.keys(details.after).sort(), [
        'attributeMap', 'autoAccountCreation', 'defaultTargetUrl', 'errorUrl', 'idpEntityId', 'idpInitiated',
        'idpInitiatedTargetParam', 'nameIdFormat', 'ssoLoginBinding', 'ssoLoginUrl',
      ]);
      assert.equal(details.before.idpEntityId, null);
      assert.equal(details.after.idpEntityId, GOOD.idpEntityId);
      assert.equal('clockSkewSeconds' in details.after, false, 'unchanged fields are not in the entry');
    });

    it('keeps the fields a PUT leaves out, and writes nothing when nothing changes', async () => {
      await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send(GOOD).expect(200);
      const version = await orgVersion(t, 'acme.com');
      const before = await snapshot(t);
      const same = await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send({ idpEntityId: GOOD.idpEntityId }).expect(200);
      assert.equal(same.body.ssoLoginUrl, GOOD.ssoLoginUrl);
      assert.deepEqual(await snapshot(t), before, 'a no-op PUT writes nothing');
      assert.equal(await orgVersion(t, 'acme.com'), version);

      const r = await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send({ clockSkewSeconds: 60, errorUrl: '' }).expect(200);
      assert.equal(r.body.clockSkewSeconds, 60);
      assert.equal(r.body.errorUrl, null, '"" clears an optional field');
      assert.equal(r.body.idpEntityId, GOOD.idpEntityId);
      assert.deepEqual(r.body.attributeMap, GOOD.attributeMap);
      const entry = (await auditOf(t, 'acme.com')).at(-1)!;
      assert.deepEqual(JSON.parse(entry.details), {
        before: { errorUrl: GOOD.errorUrl, clockSkewSeconds: 180 },
        after: { errorUrl: null, clockSkewSeconds: 60 },
      });
      assert.equal(await orgVersion(t, 'acme.com'), version + 1);
    });

    it('refuses a configuration that cannot work with 422 naming the field, and changes nothing', async () => {
      await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send(GOOD).expect(200);
      const cases: Array<[unknown, string]> = [
        [{ colour: 'red' }, 'colour'],
        [{ idpEntityID: 'urn:x' }, 'idpEntityID'],
        [['idpEntityId'], 'body'],
        [{ protocol: 'saml1' }, 'protocol'],
        [{ spInitiated: 'true' }, 'spInitiated'],
        [{ idpEntityId: '' }, 'idpEntityId'],
        [{ idpEntityId: 'not a uri' }, 'idpEntityId'],
        [{ ssoLoginUrl: null }, 'ssoLoginUrl'],
        [{ ssoLoginUrl: 'http://idp.acme.com/sso' }, 'ssoLoginUrl'],
        [{ ssoLoginUrl: 'ftp://idp.acme.com/sso' }, 'ssoLoginUrl'],
        [{ ssoLoginUrl: 'https://u:p@idp.acme.com/sso' }, 'ssoLoginUrl'],
        [{ ssoLoginUrl: 'https://idp.acme.com/sso#frag' }, 'ssoLoginUrl'],
        [{ ssoLoginBinding: 'soap' }, 'ssoLoginBinding'],
        [{ nameIdFormat: 'transient' }, 'nameIdFormat'],
        [{ spEntityId: 'fedbridge' }, 'spEntityId'],
        [{ spInitiated: false, idpEntityId: null }, 'idpEntityId'],
        [{ idpInitiatedTargetParam: 'TARGET=x' }, 'idpInitiatedTargetParam'],
        [{ authnRequestSigned: true, authnRequestDestination: null }, 'authnRequestDestination'],
        [{ authnRequestSigned: true, authnRequestDestination: 'https://idp.acme.com/sso' }, 'authnRequestSigned'],
        [{ authnRequestDestination: 'http://idp.acme.com/sso' }, 'authnRequestDestination'],
        [{ authnContextClassRef: 'password' }, 'authnContextClassRef'],
        [{ defaultTargetUrl: '/home' }, 'defaultTargetUrl'],
        [{ errorUrl: 'javascript:alert(1)' }, 'errorUrl'],
        [{ singleLogout: true, logoutUrl: null }, 'logoutUrl'],
        [{ logoutUrl: 'http://idp.acme.com/logout' }, 'logoutUrl'],
        [{ clockSkewSeconds: 601 }, 'clockSkewSeconds'],
        [{ clockSkewSeconds: -1 }, 'clockSkewSeconds'],
        [{ maxSessionSeconds: 0 }, 'maxSessionSeconds'],
        [{ refreshTokenTtlSeconds: 'sixty days' }, 'refreshTokenTtlSeconds'],
        [{ protocol: 'wsfed' }, 'federationServiceUri'],
        [{ protocol: 'wsfed', federationServiceUri: 'urn:adfs', ssoLoginUrl: null }, 'ssoLoginUrl'],
        [{ wsfedRealm: 'webex' }, 'wsfedRealm'],
        [{ federationServiceUri: 'adfs' }, 'federationServiceUri'],
        [{ attributeMap: { mail: 'e-mail' } }, 'attributeMap.mail'],
        [{ attributeMap: { role: 'orgAdmin' } }, 'attributeMap.role'],
        [{ attributeMap: 'email' }, 'attributeMap'],
        [{ allowSha1: 1 }, 'allowSha1'],
        [{ trustAllCertificates: null }, 'trustAllCertificates'],
      ];
      const before = await snapshot(t);
      for (const [body, field] of cases) {
        const r = await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send(body as object);
        assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.type, 'application/problem+json');
        assert.ok(
          r.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body)} should name ${field}: ${JSON.stringify(r.body.errors)}`,
        );
      }
      assert.deepEqual(await snapshot(t), before);
    });

    it('signs AuthnRequests only with an active service certificate in the org', async () => {
      const body = { authnRequestSigned: true, authnRequestDestination: 'https://idp.acme.com/sso' };
      const refused = await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send(body).expect(422);
      assert.match(refused.body.detail, /active service certificate/);
      const org = await t.ctx.database.db.selectFrom('orgs').select('id').where('slug', '=', 'acme.com').executeTakeFirstOrThrow();
      const beta = await t.ctx.database.db.selectFrom('orgs').select('id').where('slug', '=', 'beta.com').executeTakeFirstOrThrow();
      const cert = (orgId: string, id: string, active: number) => ({
        id,
        org_id: orgId,
        alias: id,
        certificate_pem: 'placeholder',
        private_key_sealed: 'placeholder',
        fingerprint_sha256: id,
        not_after: t.clock.now() + 86_400_000,
        active,
        created_at: t.clock.now(),
      });
      // Another org's active certificate and an inactive one of this org do not count.
      await t.ctx.database.db.insertInto('service_certificates').values([cert(beta.id, 'beta-cert', 1), cert(org.id, 'old', 0)]).execute();
      await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send(body).expect(422);
      await t.ctx.database.db.insertInto('service_certificates').values(cert(org.id, 'current', 1)).execute();
      const ok = await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send(body).expect(200);
      assert.equal(ok.body.authnRequestSigned, true);
      await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeKey)).send({ authnRequestSigned: false }).expect(200);
    });

    it('answers 403 when the org’s SSO options do not include Federated Web SSO, even to a super administrator', async () => {
      const before = await snapshot(t);
      for (const slug of ['plain.com', 'partner.com']) {
        for (const r of [
          await request(t.app).get(`/api/v1/orgs/${slug}/sso`).set(auth(t.superKey)),
          await request(t.app).put(`/api/v1/orgs/${slug}/sso`).set(auth(t.superKey)).send(GOOD),
        ]) {
          assert.equal(r.status, 403, slug);
          assert.equal(r.type, 'application/problem+json');
          assert.match(r.body.detail, /Federated Web SSO configuration is not available .* not an SSO organisation/);
        }
      }
      assert.deepEqual(await snapshot(t), before);
    });

    it('answers 403 to another org’s key and to a user administrator, and changes nothing', async () => {
      const before = await snapshot(t);
      await request(t.app).get('/api/v1/orgs/acme.com/sso').set(auth(betaKey)).expect(403);
      await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(betaKey)).send(GOOD).expect(403);
      await request(t.app).put('/api/v1/orgs/beta.com/sso').set(auth(acmeKey)).send(GOOD).expect(403);
      await request(t.app).put('/api/v1/orgs/nonexistent.com/sso').set(auth(acmeKey)).send(GOOD).expect(403);
      const r = await request(t.app).put('/api/v1/orgs/acme.com/sso').set(auth(acmeUserKey)).send({ clockSkewSeconds: 1 });
      assert.equal(r.status, 403);
      await request(t.app).put('/api/v1/orgs/acme.com/sso').send(GOOD).expect(401);
      assert.deepEqual(await snapshot(t), before);
    });

    it('serializes concurrent saves of one org: every change lands, one audit entry each', async () => {
      const version = await orgVersion(t, 'beta.com');
      const auditBefore = (await auditOf(t, 'beta.com')).length;
      await request(t.app).put('/api/v1/orgs/beta.com/sso').set(auth(betaKey)).send({ ...GOOD, idpEntityId: 'urn:beta' }).expect(200);
      const skews = [10, 20, 30, 40, 50];
      const results = await Promise.all(
        skews.map((s, i) =>
          request(t.app)
            .put('/api/v1/orgs/beta.com/sso')
            .set(auth(betaKey))
            .send(i % 2 === 0 ? { clockSkewSeconds: s } : { maxSessionSeconds: 3600 + s }),
        ),
      );
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200]);
      const final = await request(t.app).get('/api/v1/orgs/beta.com/sso').set(auth(betaKey)).expect(200);
      assert.equal(final.body.idpEntityId, 'urn:beta');
      // Each merge saw the previous one: the last writer of each field is in the stored row.
      assert.ok([10, 30, 50].includes(final.body.clockSkewSeconds));
      assert.ok([3620, 3640].includes(final.body.maxSessionSeconds));
      const audit = await auditOf(t, 'beta.com');
      assert.equal(audit.length - auditBefore, 1 + 5);
      // Replaying the entries in order: each one's "before" is what the previous one left.
      const state: Record<string, unknown> = { clockSkewSeconds: 180, maxSessionSeconds: 43200 };
      for (const entry of audit.slice(-5)) {
        const { before: b, after: a } = JSON.parse(entry.details) as { before: Record<string, unknown>; after: Record<string, unknown> };
        for (const k of Object.keys(b)) assert.deepEqual(b[k], state[k], `lost update on ${k}`);
        Object.assign(state, a);
      }
      assert.equal(final.body.clockSkewSeconds, state.clockSkewSeconds);
      assert.equal(final.body.maxSessionSeconds, state.maxSessionSeconds);
      assert.equal(await orgVersion(t, 'beta.com'), version + 6);
    });
  });
}

describe('operator CLI: sso show / sso set (R-SAML-1, R-ADM-4)', function () {
  this.timeout(90_000);
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-sso-cli-'));
    env = { DATABASE_URL: `sqlite:${dir}/db.sqlite`, FEDBRIDGE_CERTS_DIR: `${dir}/certs`, FEDBRIDGE_PUBLIC_URL: 'https://sso.example.net' };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('shows, sets from a file or standard input, and refuses bad input with exit 1', () => {
    assert.equal(runCli(['org', 'create', '--slug', 'acme.com', '--name', 'Acme', '--sso'], env).status, 0);
    const shown = runCli(['sso', 'show', 'acme.com'], env);
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).spEntityId, 'https://sso.example.net');

    const file = path.join(dir, 'sso.json');
    fs.writeFileSync(file, JSON.stringify(GOOD));
    const set = runCli(['sso', 'set', 'acme.com', '--json', file], env);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(JSON.parse(set.stdout).idpEntityId, GOOD.idpEntityId);

    const stdin = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/index.ts', 'sso', 'set', 'acme.com', '--json', '-'], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      input: JSON.stringify({ clockSkewSeconds: 30 }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(stdin.status, 0, stdin.stderr);
    assert.equal(JSON.parse(stdin.stdout).clockSkewSeconds, 30);
    assert.equal(JSON.parse(stdin.stdout).idpEntityId, GOOD.idpEntityId);

    const bad = runCli(['sso', 'set', 'acme.com', '--json', file.replace('sso.json', 'missing.json')], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /cannot read/);
    fs.writeFileSync(file, '{"ssoLoginUrl": "http://idp.acme.com/sso"}');
    const invalid = runCli(['sso', 'set', 'acme.com', '--json', file], env);
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /ssoLoginUrl: must use https/);
    assert.doesNotMatch(invalid.stderr, /at .*\.ts:\d+/, 'no stack trace');
    fs.writeFileSync(file, '{"ssoLoginUrl": ');
    assert.match(runCli(['sso', 'set', 'acme.com', '--json', file], env).stderr, /not valid JSON/);
    assert.equal(JSON.parse(runCli(['sso', 'show', 'acme.com'], env).stdout).ssoLoginUrl, GOOD.ssoLoginUrl);
  });
});
