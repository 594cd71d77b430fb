/**
 * The operator CLI of the token service (R-OAUTH-1, R-OAUTH-5, R-ADM-4), run as an operator
 * runs it (`npm run cli -- …` through tsx, a process of its own) against the database a
 * running app serves from:
 * - `client create|list|delete`: the secret is printed once and stored only as its SHA-256,
 *   `list` never shows it, `delete` removes the client; bad input exits 1 with one clear line;
 * - `oauth rotate-keys` (ES256, then `--alg RS256`): the running app picks the rotation up
 *   within its key-check interval, publishes the new and the previous keys, tokens signed
 *   before the rotation keep verifying with jose against the JWKS, and new tokens carry the
 *   new `kid`.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import pino from 'pino';
import request from 'supertest';
import { createAdministrator } from '../../../src/admin/api-key-service.js';
import { createApp } from '../../../src/app.js';
import { ManualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { hashSecret } from '../../../src/crypto/secret-token.js';
import { REDACTED_PATHS } from '../../../src/logger.js';
import { oauthService } from '../../../src/oauth/oauth-service.js';
import { testEngines, type TestDatabase } from '../../support/databases.js';
import { runCli, waitFor } from '../../support/processes.js';
import { LogCapture, TEST_PUBLIC_URL, type TestApp } from '../../support/test-app.js';
import { createAccount, createSamlSession, exchangeCookie, ISSUER, listen, postForm, refresh, TOKEN_EXCHANGE, type Harness } from './oauth-harness.js';

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function ok(r: CliResult): any {
  assert.equal(r.status, 0, `CLI failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** One clear line on stderr, exit 1, no stack trace, nothing on stdout. */
function refusedWithOneLine(r: CliResult, pattern: RegExp): void {
  assert.equal(r.status, 1, `expected exit 1, got ${r.status}: ${r.stdout}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /at .*\.(ts|js):\d+/, 'no stack trace');
}

for (const engine of testEngines()) {
  describe(`OAuth operator CLI [${engine.name}]`, function () {
    this.timeout(180_000);
    let dir: string;
    let database: TestDatabase;
    let env: Record<string, string>;
    let h: Harness;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-oauth-cli-'));
      // SQLite: a file the CLI process opens too; PostgreSQL: a fresh database.
      database = await engine.open();
      env = { DATABASE_URL: database.url, FEDBRIDGE_CERTS_DIR: path.join(dir, 'certs'), FEDBRIDGE_MASTER_KEY: '' };
      // The app in this process, over the same database and the same master key file as the CLI.
      const config = loadConfig({ ...env, FEDBRIDGE_PUBLIC_URL: TEST_PUBLIC_URL, FEDBRIDGE_RATE_LIMIT: '0', LOG_LEVEL: 'warn' });
      const logs = new LogCapture();
      // The CLI signs with the system clock; the app's clock is the real time too.
      const clock = new ManualClock(Date.now());
      const started = await createApp({
        config,
        clock,
        logger: pino({ level: 'warn', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, logs),
        database: database.handle,
      });
      const { key: superKey } = await createAdministrator(started.ctx, 'test', { email: 'operator@fedbridge.test', role: 'super', orgId: null });
      const t: TestApp = {
        app: started.app,
        ctx: started.ctx,
        clock,
        logs,
        superKey,
        database,
        close: async () => {
          await started.close();
          await database.drop();
        },
      };
      const org = await request(t.app).post('/api/v1/orgs').set('Authorization', `Bearer ${superKey}`).send({ slug: 'acme.com', name: 'Acme', ssoEnabled: true });
      assert.equal(org.status, 201, JSON.stringify(org.body));
      h = await listen(t, { id: org.body.id, slug: 'acme.com' }, { closeApp: true });
    });
    after(async () => {
      await h?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    async function clientRow(id: string) {
      return h.t.ctx.database.db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
    }

    it('client create prints the secret once, stores only its hash; list hides it; delete removes the client', async () => {
      const created = ok(
        runCli(['client', 'create', '--name', 'API gateway', '--type', 'confidential', '--grant-type', TOKEN_EXCHANGE, '--scope', 'openid'], env),
      );
      assert.match(created.clientId, /^fbc_/);
      assert.match(created.clientSecret, /^fbcs_[A-Za-z0-9_-]{20,}$/);
      assert.equal(created.type, 'confidential');
      const secret = created.clientSecret as string;

      // Only the SHA-256 is stored: not the secret, in no column, nor in the audit log.
      const row = await clientRow(created.clientId);
      assert.ok(row, 'the client is in the database the app serves from');
      assert.equal(row.secret_hash, hashSecret(secret));
      assert.ok(!JSON.stringify(row).includes(secret), 'the secret itself is not stored');
      const audit = await h.t.ctx.database.db.selectFrom('audit_log').selectAll().execute();
      assert.ok(audit.some((a) => a.action === 'client.create' && a.target === `client:${created.clientId}`), 'audited');
      assert.ok(!JSON.stringify(audit).includes(secret), 'the secret is not in the audit log');

      // The stored hash still authenticates the client at the running app (introspection of a junk token).
      const good = await postForm(h, '/oauth/introspect', { token: 'not-a-token' }, { clientId: created.clientId, clientSecret: secret });
      assert.equal(good.status, 200, JSON.stringify(good.body));
      assert.equal(good.body.active, false);
      const wrong = await postForm(h, '/oauth/introspect', { token: 'not-a-token' }, { clientId: created.clientId, clientSecret: `${secret}x` });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');

      // A public client gets no secret at all.
      const pub = ok(
        runCli(
          ['client', 'create', '--name', 'Desktop app', '--type', 'public', '--redirect-uri', 'http://127.0.0.1/callback', '--grant-type', 'authorization_code,refresh_token', '--scope', 'openid,offline_access'],
          env,
        ),
      );
      assert.equal(pub.clientSecret, undefined);
      assert.equal((await clientRow(pub.clientId))?.secret_hash, null);
      assert.deepEqual(pub.redirectUris, ['http://127.0.0.1/callback']);
      assert.deepEqual(pub.grantTypes, ['authorization_code', 'refresh_token']);

      // list: both clients, never a secret (nor its hash).
      const listed = runCli(['client', 'list'], env);
      const clients = ok(listed) as Array<Record<string, unknown>>;
      assert.deepEqual(clients.map((c) => c.clientId).sort(), [created.clientId, pub.clientId].sort());
      assert.ok(!listed.stdout.includes(secret), 'list does not show the secret');
      assert.ok(!listed.stdout.includes(hashSecret(secret)), 'list does not show the hash');
      assert.ok(clients.every((c) => !('clientSecret' in c) && !('secretHash' in c)));

      // delete: gone from the database and from the list; the app refuses the client from then on.
      assert.deepEqual(ok(runCli(['client', 'delete', created.clientId], env)), { deleted: created.clientId });
      assert.equal(await clientRow(created.clientId), undefined);
      assert.deepEqual((ok(runCli(['client', 'list'], env)) as Array<{ clientId: string }>).map((c) => c.clientId), [pub.clientId]);
      const after = await postForm(h, '/oauth/introspect', { token: 'not-a-token' }, { clientId: created.clientId, clientSecret: secret });
      assert.equal(after.status, 401);
      assert.equal(after.body.error, 'invalid_client');
    });

    it('bad input exits 1 with one clear line and changes nothing', async () => {
      const clientsBefore = await h.t.ctx.database.db.selectFrom('oauth_clients').selectAll().orderBy('id').execute();
      const keysBefore = await h.t.ctx.database.db.selectFrom('oauth_signing_keys').selectAll().orderBy('kid').execute();

      refusedWithOneLine(
        runCli(['client', 'create', '--name', 'X', '--type', 'private', '--grant-type', 'authorization_code', '--scope', 'openid'], env),
        /^error: type: must be public or confidential$/,
      );
      refusedWithOneLine(
        runCli(['client', 'create', '--name', 'X', '--type', 'public', '--redirect-uri', 'https://127.0.0.1/cb', '--grant-type', 'authorization_code', '--scope', 'openid'], env),
        /^error: redirectUris\.0: a claimed https redirect must not be on a loopback host$/,
      );
      // A missing flag is commander's usage error: its one error line first, then the usage (src/cli/index.ts showHelpAfterError).
      const missing = runCli(['client', 'create', '--name', 'X', '--grant-type', 'authorization_code'], env);
      assert.equal(missing.status, 1);
      assert.equal(missing.stdout, '');
      assert.equal(missing.stderr.split('\n')[0], "error: required option '--type <type>' not specified");
      refusedWithOneLine(runCli(['client', 'delete', 'fbc_doesnotexist'], env), /^error: .*fbc_doesnotexist.*not found/i);
      refusedWithOneLine(runCli(['oauth', 'rotate-keys', '--alg', 'HS256'], env), /^error: alg: must be one of ES256, RS256$/);

      assert.deepEqual(await h.t.ctx.database.db.selectFrom('oauth_clients').selectAll().orderBy('id').execute(), clientsBefore);
      assert.deepEqual(await h.t.ctx.database.db.selectFrom('oauth_signing_keys').selectAll().orderBy('kid').execute(), keysBefore);
    });

    it('oauth rotate-keys: the running app publishes new and previous keys; old tokens verify, new ones carry the new kid', async () => {
      // A rotation made by another process is seen within the key-check interval (lowered for the test).
      oauthService(h.t.ctx).keyCheckIntervalMs = 200;
      const jwksNow = async () => (await (await fetch(`${h.base}/.well-known/jwks.json`)).json()) as jose.JSONWebKeySet;
      const kids = async () => (await jwksNow()).keys.map((k) => k.kid!);

      const client = ok(
        runCli(['client', 'create', '--name', 'Desktop app', '--type', 'public', '--grant-type', `${TOKEN_EXCHANGE},refresh_token`, '--scope', 'openid,email,offline_access'], env),
      );
      const accountId = await createAccount(h, { email: 'jane@acme.com' });
      const { cookie } = await createSamlSession(h, accountId);
      const issue = async () => {
        const r = await exchangeCookie(h, client.clientId, cookie, { scope: 'openid email offline_access' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body as { access_token: string; refresh_token: string };
      };
      const verify = async (token: string, algorithms: string[]) =>
        jose.jwtVerify(token, jose.createLocalJWKSet(await jwksNow()), { issuer: ISSUER, audience: 'urn:fedbridge:api', typ: 'at+jwt', algorithms });

      const before = await issue();
      const k0 = jose.decodeProtectedHeader(before.access_token).kid!;
      assert.equal(jose.decodeProtectedHeader(before.access_token).alg, 'ES256');
      assert.deepEqual(await kids(), [k0]);
      await verify(before.access_token, ['ES256']);

      // Rotation 1 (ES256, the default).
      const r1 = ok(runCli(['oauth', 'rotate-keys'], env));
      const k1 = r1.current.kid as string;
      assert.notEqual(k1, k0);
      assert.equal(r1.current.alg, 'ES256');
      assert.deepEqual(r1.previous, [k0]);
      await waitFor(async () => (await kids()).includes(k1), 10_000);
      assert.deepEqual((await kids()).sort(), [k0, k1].sort(), 'the new and the previous key are published');
      await verify(before.access_token, ['ES256']);
      // The refresh token issued before the rotation still works; what it yields is signed with k1.
      const refreshed = await refresh(h, client.clientId, before.refresh_token);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.equal(jose.decodeProtectedHeader(refreshed.body.access_token).kid, k1);
      await verify(refreshed.body.access_token, ['ES256']);
      const afterFirst = await issue();
      assert.equal(jose.decodeProtectedHeader(afterFirst.access_token).kid, k1);

      // Rotation 2, to RS256.
      const r2 = ok(runCli(['oauth', 'rotate-keys', '--alg', 'RS256'], env));
      const k2 = r2.current.kid as string;
      assert.equal(r2.current.alg, 'RS256');
      assert.deepEqual([...r2.previous].sort(), [k0, k1].sort());
      await waitFor(async () => (await kids()).includes(k2), 10_000);
      const published = await jwksNow();
      assert.deepEqual(published.keys.map((k) => k.kid).sort(), [k0, k1, k2].sort());
      assert.equal(published.keys.find((k) => k.kid === k2)?.kty, 'RSA');
      assert.ok(published.keys.every((k) => k.d === undefined && k.p === undefined), 'no private parts published');
      // Tokens of both earlier keys still verify against the JWKS…
      await verify(before.access_token, ['ES256']);
      await verify(afterFirst.access_token, ['ES256']);
      // …and new ones are RS256 with the new kid.
      const afterSecond = await issue();
      const header = jose.decodeProtectedHeader(afterSecond.access_token);
      assert.equal(header.kid, k2);
      assert.equal(header.alg, 'RS256');
      const { payload } = await verify(afterSecond.access_token, ['RS256']);
      assert.equal(payload.sub, accountId);
      // A token claiming the new kid but signed with nothing of ours is refused.
      const [, body] = afterSecond.access_token.split('.');
      const forgedHead = Buffer.from(JSON.stringify({ ...header })).toString('base64url');
      await assert.rejects(verify(`${forgedHead}.${body}.${crypto.randomBytes(256).toString('base64url')}`, ['RS256']), (e: Error) => e.name === 'JWSSignatureVerificationFailed');

      // `oauth keys` lists them, public information only; each rotation audited once.
      const keys = runCli(['oauth', 'keys'], env);
      const listedKeys = ok(keys) as Array<{ kid: string; status: string; alg: string }>;
      assert.deepEqual(
        listedKeys.map((k) => `${k.kid}:${k.status}:${k.alg}`).sort(),
        [`${k0}:previous:ES256`, `${k1}:previous:ES256`, `${k2}:current:RS256`].sort(),
      );
      assert.doesNotMatch(keys.stdout, /"d"|sealed|private/i);
      const rotations = await h.t.ctx.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'oauth.signingKey.rotate').execute();
      assert.deepEqual(rotations.map((a) => a.target).sort(), [`signingKey:${k1}`, `signingKey:${k2}`].sort());
    });
  });
}
