import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * In CI (.ci/run sets CI and TEST_DATABASE_URL) every engine and every real peer must be
 * there: a suite that silently skipped PostgreSQL or an interop peer would prove less than
 * it claims. Outside CI these checks do not apply.
 */
describe('CI runs everything it claims to', () => {
  before(function () {
    if (!process.env.CI) this.skip();
  });

  it('runs the store and flow suites on PostgreSQL too', () => {
    assert.match(process.env.TEST_DATABASE_URL ?? '', /^postgres(ql)?:\/\//, 'TEST_DATABASE_URL must point at PostgreSQL in CI');
  });

  for (const [tool, args] of [
    ['openssl', ['version']],
    ['xmllint', ['--version']],
    ['xmlsec1', ['--version']],
    ['php', ['--version']],
  ] as const) {
    it(`has ${tool} for the interop and schema tests`, () => {
      const r = spawnSync(tool, [...args], { encoding: 'utf8' });
      assert.equal(r.error, undefined, `${tool} is missing`);
      assert.equal(r.status, 0);
    });
  }
});
