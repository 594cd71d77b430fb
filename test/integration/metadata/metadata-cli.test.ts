import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { runCli } from '../../support/processes.js';
import { validateWithXsd } from '../../unit/saml/metadata/xml-schema.js';

const SAMPLES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../metadata');

/** `npm run cli -- metadata …` as an operator runs it (R-ADM-4), against a fresh SQLite database. */
describe('metadata CLI (R-ADM-4, R-SAML-7, R-SAML-8)', function () {
  this.timeout(180_000);
  let dir: string;
  let env: Record<string, string>;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-metadata-cli-'));
    env = {
      DATABASE_URL: `sqlite:${dir}/db.sqlite`,
      FEDBRIDGE_CERTS_DIR: `${dir}/certs`,
      FEDBRIDGE_MASTER_KEY: crypto.randomBytes(32).toString('hex'),
    };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => runCli(args, env);
  const ok = (...args: string[]) => {
    const r = cli(...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const count = (table: string) => {
    const db = new BetterSqlite3(`${dir}/db.sqlite`, { readonly: true });
    try {
      return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('imports IdP metadata from a file, shows its source, exports SP metadata (signed), refuses bad input with exit 1', () => {
    ok('org', 'create', '--slug', 'md-cli.example', '--name', 'CLI', '--sso');
    const imported = JSON.parse(ok('metadata', 'import', 'md-cli.example', '--file', path.join(SAMPLES, 'adfs-federationmetadata.xml')));
    assert.equal(imported.entityId, 'http://adfs.example.com/adfs/services/trust');
    assert.equal(imported.certificatesImported.length, 2);
    const source = JSON.parse(ok('metadata', 'source', 'md-cli.example'));
    assert.equal(source.following, false);
    assert.equal(source.singleLogoutService.location, 'https://adfs.example.com/adfs/ls/');

    const audit = count('audit_log');
    const certs = count('org_certificates');
    const bad = cli('metadata', 'import', 'md-cli.example', '--file', path.join(SAMPLES, 'federation-aggregate.xml'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /choose one with \?entityId=/);
    const both = cli('metadata', 'import', 'md-cli.example', '--file', 'x', '--url', 'https://idp.example/md');
    assert.equal(both.status, 1);
    assert.match(both.stderr, /exactly one of --file or --url/);
    const privateUrl = cli('metadata', 'import', 'md-cli.example', '--url', 'https://127.0.0.1/md');
    assert.equal(privateUrl.status, 1);
    assert.match(privateUrl.stderr, /private, loopback or reserved/);
    assert.equal(count('audit_log'), audit, 'refusals wrote nothing');
    assert.equal(count('org_certificates'), certs);
    const notFollowing = cli('metadata', 'refresh', 'md-cli.example');
    assert.equal(notFollowing.status, 1);
    assert.match(notFollowing.stderr, /does not follow a metadata URL/);

    const unsigned = ok('metadata', 'export', 'md-cli.example');
    assert.ok(validateWithXsd(unsigned, 'saml-schema-metadata-2.0.xsd').ok);
    const noKey = cli('metadata', 'export', 'md-cli.example', '--signed');
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /no active service certificate/);
    ok('cert', 'generate', '--org', 'md-cli.example', '--alias', 'sp', '--days', '365');
    const out = path.join(dir, 'sp.xml');
    ok('metadata', 'export', 'md-cli.example', '--signed', '--out', out);
    const signed = fs.readFileSync(out, 'utf8');
    assert.match(signed, /<ds:Signature/);
    assert.ok(validateWithXsd(signed, 'saml-schema-metadata-2.0.xsd').ok);
    assert.doesNotMatch(signed, /PRIVATE KEY/);
  });
});
