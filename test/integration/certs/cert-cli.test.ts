import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { runCli } from '../../support/processes.js';
import { OpensslWorkspace } from '../../unit/certs/openssl-fixtures.js';

/** `npm run cli -- cert …` as an operator runs it (R-ADM-4), against a fresh SQLite database. */
describe('cert CLI (R-ADM-4, R-CERT)', function () {
  this.timeout(180_000);
  let dir: string;
  let env: Record<string, string>;
  const ws = new OpensslWorkspace();

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-cert-cli-'));
    env = {
      DATABASE_URL: `sqlite:${dir}/db.sqlite`,
      FEDBRIDGE_CERTS_DIR: `${dir}/certs`,
      FEDBRIDGE_MASTER_KEY: crypto.randomBytes(32).toString('hex'),
    };
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    ws.cleanup();
  });

  const cli = (...args: string[]) => runCli(args, env);
  const ok = (...args: string[]) => {
    const r = cli(...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY|fbenc1/);
    return JSON.parse(r.stdout);
  };
  const rows = (table: string) => {
    const db = new BetterSqlite3(`${dir}/db.sqlite`, { readonly: true });
    try {
      return db.prepare(`select * from ${table} order by rowid`).all();
    } finally {
      db.close();
    }
  };

  it('generates, imports, lists, activates and removes certificates; refuses bad input with exit 1 and stores nothing', () => {
    ok('org', 'create', '--slug', 'cli.example', '--name', 'CLI', '--sso');

    const sp = ok('cert', 'generate', '--org', 'cli.example', '--alias', 'sp-1', '--days', '365');
    assert.equal(sp.active, true);
    assert.equal(sp.subject, 'CN=cli.example fedbridge SP, O=fedbridge');
    const sp2 = ok('cert', 'generate', '--org', 'cli.example', '--alias', 'sp-2', '--days', '90', '--key-size', '3072');
    assert.equal(sp2.keySize, 3072);
    assert.equal(sp2.active, false);

    const idp = ws.selfSigned('cli-idp', 'rsa:2048', { subject: '/CN=idp.cli.example' });
    const pemFile = path.join(dir, 'idp.pem');
    fs.writeFileSync(pemFile, idp.certPem);
    const imported = ok('cert', 'import', '--org', 'cli.example', '--alias', 'idp', '--file', pemFile);
    assert.equal(imported.subject, 'CN=idp.cli.example');
    assert.equal(imported.source, 'upload');
    assert.equal(imported.sha256Fingerprint, new X509Certificate(idp.certPem).fingerprint256);
    const derFile = path.join(dir, 'idp2.cer');
    fs.writeFileSync(derFile, ws.toDer(ws.selfSigned('cli-idp2', 'rsa:2048').certPem));
    ok('cert', 'import', '--org', 'cli.example', '--alias', 'idp-der', '--file', derFile);

    const both = ok('cert', 'list', '--org', 'cli.example');
    assert.deepEqual(both.serviceCertificates.map((c: { alias: string }) => c.alias), ['sp-1', 'sp-2']);
    assert.deepEqual(both.orgCertificates.map((c: { alias: string }) => c.alias), ['idp', 'idp-der']);

    const activated = ok('cert', 'activate', '--org', 'cli.example', '--kind', 'service', '--alias', 'sp-2');
    assert.equal(activated.active, true);
    const services = ok('cert', 'list', '--org', 'cli.example', '--kind', 'service');
    assert.deepEqual(services.map((c: { alias: string; active: boolean }) => [c.alias, c.active]), [
      ['sp-2', true],
      ['sp-1', false],
    ]);
    assert.deepEqual(ok('cert', 'remove', '--org', 'cli.example', '--kind', 'service', '--id', sp.id), { removed: sp.id });

    // The stored key is sealed.
    for (const row of rows('service_certificates') as Array<Record<string, unknown>>) {
      assert.match(String(row.private_key_sealed), /^fbenc1:/);
      assert.ok(!Object.values(row).some((v) => String(v).includes('PRIVATE KEY')));
    }

    const before = { service: rows('service_certificates'), org: rows('org_certificates'), audit: rows('audit_log') };
    const keyFile = path.join(dir, 'idp.key');
    fs.writeFileSync(keyFile, idp.keyPem);
    const refusals: Array<[string[], RegExp]> = [
      [['cert', 'import', '--org', 'cli.example', '--alias', 'key', '--file', keyFile], /certificate: this file holds a private key, not a certificate/],
      [['cert', 'import', '--org', 'cli.example', '--alias', 'none', '--file', path.join(dir, 'missing.pem')], /file: cannot read .*ENOENT/],
      [['cert', 'import', '--org', 'cli.example', '--alias', 'idp', '--file', pemFile], /alias "idp" already exists|already imported/],
      [['cert', 'generate', '--org', 'cli.example', '--alias', 'short', '--days', '89'], /validityDays: must be at least 90 days/],
      [['cert', 'generate', '--org', 'cli.example', '--alias', 'long', '--days', 'ten'], /validityDays: must be a whole number of days/],
      [['cert', 'generate', '--org', 'cli.example', '--alias', 'big', '--days', '365', '--key-size', '1024'], /keySize: must be 2048, 3072 or 4096/],
      [['cert', 'remove', '--org', 'cli.example', '--kind', 'service', '--alias', 'sp-2'], /"sp-2" is the active one and cannot be removed/],
      [['cert', 'activate', '--org', 'cli.example', '--kind', 'both', '--alias', 'sp-2'], /kind: must be service or org/],
      [['cert', 'activate', '--org', 'cli.example', '--kind', 'org', '--alias', 'nope'], /alias "nope" not found/],
      [['cert', 'list', '--org', 'missing.example'], /organisation missing.example not found/],
    ];
    for (const [args, message] of refusals) {
      const r = cli(...args);
      assert.equal(r.status, 1, `${args.join(' ')} → ${r.status} ${r.stdout}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
      assert.doesNotMatch(r.stderr, /PRIVATE KEY|MII/, 'the refused key is not echoed');
    }
    assert.deepEqual({ service: rows('service_certificates'), org: rows('org_certificates'), audit: rows('audit_log') }, before);
  });
});
