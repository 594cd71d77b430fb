import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration from the environment (R-OPS-3)', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.publicUrl, 'http://localhost:8080');
    assert.equal(c.databaseUrl, 'sqlite:data/fedbridge.db');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.masterKey, undefined);
  });

  it('derives the public URL from PORT and strips a trailing slash', () => {
    assert.equal(loadConfig({ PORT: '9000' }).publicUrl, 'http://localhost:9000');
    assert.equal(loadConfig({ FEDBRIDGE_PUBLIC_URL: 'https://sso.example.com/' }).publicUrl, 'https://sso.example.com');
  });

  const bad: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ FEDBRIDGE_PUBLIC_URL: 'ftp://x.example' }, 'FEDBRIDGE_PUBLIC_URL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ FEDBRIDGE_MASTER_KEY: 'short' }, 'FEDBRIDGE_MASTER_KEY'],
    [{ FEDBRIDGE_BOOTSTRAP_ADMIN_KEY: 'tooshort' }, 'FEDBRIDGE_BOOTSTRAP_ADMIN_KEY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ FEDBRIDGE_RATE_LIMIT: '-1' }, 'FEDBRIDGE_RATE_LIMIT'],
  ];
  for (const [env, variable] of bad) {
    it(`refuses a bad ${variable} with one line naming it`, () => {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && e.message.includes(variable) && !e.message.includes('\n'),
      );
    });
  }
});
