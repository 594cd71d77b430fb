import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, runCli, startServer, waitFor } from '../support/processes.js';

/**
 * `npm start` as a newcomer runs it: a fresh directory, nothing configured. The server must
 * create its SQLite database and master key, print the bootstrap hint, answer /healthz, and
 * stop cleanly on SIGTERM.
 */
describe('starting fedbridge from nothing (R-OPS-1, R-ADM-1)', function () {
  this.timeout(90_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-start-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves /healthz, prints the bootstrap hint, creates its files and stops on SIGTERM', async () => {
    const port = await freePort();
    const s = startServer({ PORT: String(port), DATABASE_URL: '', FEDBRIDGE_CERTS_DIR: '', LOG_LEVEL: 'info' }, dir);
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200);
      assert.match(s.output(), /npm run cli -- admin create --super/);
      assert.ok(fs.existsSync(path.join(dir, 'data', 'fedbridge.db')), 'SQLite database under data/');
      const keyFile = path.join(dir, 'certs', 'master.key');
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /fedbridge_http_requests_total/);
    } finally {
      s.child.kill('SIGTERM');
    }
    assert.equal(await s.exited, 0);
    assert.match(s.output(), /"msg":"stopped"/);
  });

  it('creates the first super administrator from FEDBRIDGE_BOOTSTRAP_ADMIN_KEY, once, without logging it', async () => {
    const port = await freePort();
    const key = crypto.randomBytes(32).toString('base64url');
    const env = { PORT: String(port), DATABASE_URL: `sqlite:${dir}/db.sqlite`, FEDBRIDGE_CERTS_DIR: `${dir}/certs`, FEDBRIDGE_BOOTSTRAP_ADMIN_KEY: key };
    const s = startServer(env, dir);
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200);
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/orgs`, { headers: { Authorization: `Bearer ${key}` } });
      assert.equal(r.status, 200);
      assert.doesNotMatch(s.output(), /admin create --super/);
    } finally {
      s.child.kill('SIGTERM');
    }
    await s.exited;
    assert.ok(!s.output().includes(key), 'the bootstrap key never reaches the output');
    // A second start with another key must not create a second super administrator.
    const other = crypto.randomBytes(32).toString('base64url');
    const s2 = startServer({ ...env, FEDBRIDGE_BOOTSTRAP_ADMIN_KEY: other }, dir);
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200);
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/orgs`, { headers: { Authorization: `Bearer ${other}` } });
      assert.equal(r.status, 401);
    } finally {
      s2.child.kill('SIGTERM');
    }
    await s2.exited;
  });

  it('stops with one clear line naming a bad variable', async () => {
    const s = startServer({ PORT: 'eighty', DATABASE_URL: `sqlite:${dir}/db.sqlite`, FEDBRIDGE_CERTS_DIR: `${dir}/certs` }, dir);
    assert.equal(await s.exited, 2);
    const lines = s.output().trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^fedbridge: invalid configuration: PORT /);
  });
});

describe('operator CLI (R-ADM-4)', function () {
  this.timeout(90_000);
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-cli-'));
    env = { DATABASE_URL: `sqlite:${dir}/db.sqlite`, FEDBRIDGE_CERTS_DIR: `${dir}/certs` };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('migrates, creates an org, a super admin and an org key; refuses bad input with exit 1', () => {
    const m = runCli(['migrate'], env);
    assert.equal(m.status, 0, m.stderr);
    assert.equal(JSON.parse(m.stdout).status, 'up to date');

    const o = runCli(['org', 'create', '--slug', 'Acme.com', '--name', 'Acme', '--domain', 'acme.org', '--sso'], env);
    assert.equal(o.status, 0, o.stderr);
    assert.deepEqual(JSON.parse(o.stdout).domains, ['acme.com', 'acme.org']);
    assert.equal(JSON.parse(o.stdout).ssoEnabled, true);

    const u = runCli(['org', 'update', 'acme.com', '--delegated', 'true'], env);
    assert.equal(JSON.parse(u.stdout).delegatedAuthOrg, true);

    const a = runCli(['admin', 'create', '--super', '--email', 'op@acme.com'], env);
    assert.equal(a.status, 0, a.stderr);
    assert.match(JSON.parse(a.stdout).apiKey, /^fbk_/);

    const k = runCli(['api-key', 'create', '--org', 'acme.com', '--label', 'ci', '--role', 'userAdmin'], env);
    assert.equal(k.status, 0, k.stderr);
    assert.equal(JSON.parse(k.stdout).role, 'userAdmin');

    const bad = runCli(['org', 'create', '--slug', 'not a domain', '--name', 'X'], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /slug: must be a domain name/);
    assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/, 'no stack trace');

    const list = runCli(['org', 'list'], env);
    assert.deepEqual(JSON.parse(list.stdout).map((x: { slug: string }) => x.slug), ['acme.com']);
  });
});
