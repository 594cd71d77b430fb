import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../support/processes.js';

describe('user CLI (R-ADM-4, R-ACC-7)', function () {
  this.timeout(120_000);
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-user-cli-'));
    env = { DATABASE_URL: `sqlite:${dir}/db.sqlite`, FEDBRIDGE_CERTS_DIR: `${dir}/certs` };
    assert.equal(runCli(['org', 'create', '--slug', 'acme.com', '--name', 'Acme'], env).status, 0);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates, imports, lists and deactivates; a bad file exits 1 naming its line and imports nothing', () => {
    const c = runCli(['user', 'create', '--org', 'acme.com', '--uid', 'jdoe', '--email', 'jdoe@acme.com', '--firstname', 'John', '--lastname', 'Doe'], env);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).role, 'member');

    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'uid,email,firstname,lastname\nann,ann@acme.com,Ann,A\nbea,bea@evil.com,Bea,B\n');
    const b = runCli(['user', 'import', '--org', 'acme.com', bad], env);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /line 3, email: must be in one of the organisation's domains/);
    assert.doesNotMatch(b.stderr, /at .*\.ts:\d+/, 'no stack trace');

    // UTF-16LE with BOM, as the guide allows.
    const good = path.join(dir, 'good.csv');
    fs.writeFileSync(good, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('uid,email,firstname,lastname\nann,ann@acme.com,Änn,A\n', 'utf16le')]));
    const g = runCli(['user', 'import', '--org', 'acme.com', good], env);
    assert.equal(g.status, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout).created, 1);

    const d = runCli(['user', 'deactivate', '--org', 'acme.com', 'JDoe@acme.com'], env);
    assert.equal(d.status, 0, d.stderr);
    assert.equal(JSON.parse(d.stdout).status, 'inactive');

    const l = runCli(['user', 'list', '--org', 'acme.com', '--status', 'active'], env);
    assert.equal(l.status, 0, l.stderr);
    const page = JSON.parse(l.stdout);
    assert.deepEqual([page.total, page.items[0].firstname], [1, 'Änn']);
  });
});
