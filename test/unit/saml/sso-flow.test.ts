/**
 * The pure parts of the sign-in flow: the ACS URL, the target policy of an org (R-SAML-5) and
 * where an IdP-initiated Response sends the browser (R-SAML-4).
 */
import assert from 'node:assert/strict';
import { effectiveSsoConfig } from '../../../src/saml/sso-config.js';
import { acsUrlFor, idpInitiatedTargetCandidate, targetPolicyFor } from '../../../src/saml/sso-flow.js';
import { resolveSafeTarget } from '../../../src/saml/target-policy.js';

const PUBLIC_URL = 'https://sp.fedbridge.test';

describe('SSO flow (pure parts)', () => {
  it('builds the ACS URL of an org', () => {
    assert.equal(acsUrlFor(PUBLIC_URL, 'acme.example'), 'https://sp.fedbridge.test/sso/acme.example/saml/acs');
  });

  describe('targetPolicyFor', () => {
    const config = effectiveSsoConfig({ defaultTargetUrl: 'https://portal.acme.example/home' }, { publicUrl: PUBLIC_URL });
    const policy = targetPolicyFor(PUBLIC_URL, config);
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'https://portal.acme.example/home'],
      ['https://portal.acme.example/reports?q=1', 'https://portal.acme.example/reports?q=1'],
      ['https://sp.fedbridge.test/oauth/authorize?x=1', 'https://sp.fedbridge.test/oauth/authorize?x=1'],
      ['/oauth/authorize', '/oauth/authorize'],
      ['https://evil.example/', 'https://portal.acme.example/home'],
      ['//evil.example/', 'https://portal.acme.example/home'],
      ['javascript:alert(1)', 'https://portal.acme.example/home'],
      ['https://portal.acme.example.evil.example/', 'https://portal.acme.example/home'],
    ];
    for (const [candidate, expected] of cases) {
      it(`${JSON.stringify(candidate)} → ${expected}`, () => assert.equal(resolveSafeTarget(candidate, policy), expected));
    }
    it('defaults to the service root without a default target URL', () => {
      const bare = targetPolicyFor(PUBLIC_URL, effectiveSsoConfig({}, { publicUrl: PUBLIC_URL }));
      assert.equal(resolveSafeTarget('https://evil.example', bare), 'https://sp.fedbridge.test/');
    });
  });

  describe('idpInitiatedTargetCandidate', () => {
    const cases: Array<[string, string | null, string | undefined, Record<string, unknown>, string | undefined]> = [
      ['param in the ACS query', 'TARGET', 'ignored', { TARGET: 'https://a.example/x' }, 'https://a.example/x'],
      ['param in RelayState as a query', 'TARGET', 'TARGET=https%3A%2F%2Fa.example%2Fx&y=1', {}, 'https://a.example/x'],
      ['param in RelayState with a leading ?', 'TARGET', '?TARGET=/path', {}, '/path'],
      ['RelayState a URL, param set', 'TARGET', 'https://a.example/x?TARGET=https://evil.example', {}, 'https://a.example/x?TARGET=https://evil.example'],
      ['RelayState a path, param set', 'TARGET', '/inbox?TARGET=x', {}, '/inbox?TARGET=x'],
      ['RelayState without the param', 'TARGET', 'other=1', {}, 'other=1'],
      ['no param configured: the RelayState itself', null, 'https://a.example/x', { TARGET: 'https://b.example' }, 'https://a.example/x'],
      ['nothing at all', 'TARGET', undefined, {}, undefined],
      ['a repeated query param is not a string', 'TARGET', undefined, { TARGET: ['a', 'b'] }, undefined],
    ];
    for (const [name, param, relayState, query, expected] of cases) {
      it(name, () => assert.equal(idpInitiatedTargetCandidate(param, relayState, query), expected));
    }
  });
});
