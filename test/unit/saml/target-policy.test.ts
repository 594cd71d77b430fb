import assert from 'node:assert/strict';
import { checkTarget, resolveSafeTarget, type TargetPolicy } from '../../../src/saml/target-policy.js';

const policy: TargetPolicy = {
  allowedOrigins: ['https://good.com', 'https://app.partner.org:8443'],
  defaultTarget: 'https://portal.example.com/home',
  serviceOrigin: 'https://bridge.example.net',
};
const DEFAULT = policy.defaultTarget;

describe('saml/target-policy (R-SAML-5)', () => {
  const accepted: Array<[string, string]> = [
    ['/app/home', '/app/home'],
    ['/', '/'],
    ['/a?b=c&d=%2F%2Fe#frag', '/a?b=c&d=%2F%2Fe#frag'],
    // Still a path on our origin: the browser resolves it to https://bridge.example.net//evil.com.
    ['/..//evil.com', '/..//evil.com'],
    ['/%2F%2Fevil.com', '/%2F%2Fevil.com'],
    ['/%5Cevil.com', '/%5Cevil.com'],
    ['https://good.com/x?y=1', 'https://good.com/x?y=1'],
    ['https://good.com', 'https://good.com/'],
    ['HTTPS://GOOD.COM/Path', 'https://good.com/Path'],
    ['https://good.com:443/x', 'https://good.com/x'],
    ['https://app.partner.org:8443/cb', 'https://app.partner.org:8443/cb'],
    ['https://bridge.example.net/oauth/done', 'https://bridge.example.net/oauth/done'],
    // The default target's origin is allowed too (SPEC R-SAML-5).
    ['https://portal.example.com/other', 'https://portal.example.com/other'],
  ];
  for (const [candidate, expected] of accepted) {
    it(`accepts ${JSON.stringify(candidate)}`, () => {
      assert.equal(resolveSafeTarget(candidate, policy), expected);
    });
  }

  const refused: string[] = [
    '//evil.com',
    '//evil.com/path',
    '///evil.com',
    '/\\evil.com',
    '\\/evil.com',
    '\\\\evil.com',
    '/\t/evil.com',
    '/\n/evil.com',
    '\t/x',
    ' /x',
    '/x ',
    '/x\u0000',
    '/x\u007f',
    'https://evil.com',
    'https://evil.com/https://good.com',
    'https://good.com.evil.com',
    'https://good.com@evil.com',
    'https://good.com:x@evil.com',
    'https://user@good.com/',
    'https://user:pass@good.com/',
    'https://good.com%40evil.com',
    'https://good.com\\@evil.com',
    'https://good.com.',
    'https://good.com:444/',
    'http://good.com/',
    'https://xn--gd-uiaa.com/', // gööd.com, a look-alike
    'https://gооd.com/', // Cyrillic o's
    'https:evil.com',
    'https:/good.com',
    'https:%2F%2Fevil.com',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'javascript://good.com/%0Aalert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'ftp://good.com/',
    'file:///etc/passwd',
    'evil.com',
    'good.com/path',
    '%2F%2Fevil.com',
    '%2Fapp',
    '.',
    '?x=1',
    '#frag',
    '',
    `/${'a'.repeat(3000)}`,
  ];
  for (const candidate of refused) {
    it(`refuses ${JSON.stringify(candidate)} for the default`, () => {
      assert.equal(resolveSafeTarget(candidate, policy), DEFAULT);
      assert.equal(checkTarget(candidate, policy), undefined);
    });
  }

  it('uses the default when no candidate is given', () => {
    assert.equal(resolveSafeTarget(undefined, policy), DEFAULT);
  });

  it('never returns something a browser would read as another host', () => {
    for (const candidate of [...accepted.map(([c]) => c), ...refused]) {
      const target = resolveSafeTarget(candidate, policy);
      const resolved = new URL(target, policy.serviceOrigin);
      const allowed = new Set(['https://good.com', 'https://app.partner.org:8443', 'https://bridge.example.net', 'https://portal.example.com']);
      assert.ok(allowed.has(resolved.origin), `${JSON.stringify(candidate)} → ${target}`);
      assert.ok(!target.startsWith('//') && !target.includes('\\'), target);
    }
  });

  it('ignores malformed entries in the allowed list instead of matching everything', () => {
    const loose: TargetPolicy = { ...policy, allowedOrigins: ['', '*', 'null', 'not a url', 'javascript:alert(1)'] };
    assert.equal(resolveSafeTarget('https://evil.com/', loose), DEFAULT);
    assert.equal(resolveSafeTarget('javascript:alert(1)', loose), DEFAULT);
  });

  it('compares allowed origins in normalized form', () => {
    const mixed: TargetPolicy = { ...policy, allowedOrigins: ['HTTPS://Good.COM:443/some/path'] };
    assert.equal(resolveSafeTarget('https://good.com/a', mixed), 'https://good.com/a');
    const onlyHttp: TargetPolicy = { ...policy, allowedOrigins: ['http://good.com'] };
    assert.equal(resolveSafeTarget('http://good.com/a', onlyHttp), 'http://good.com/a');
    assert.equal(resolveSafeTarget('https://good.com/a', onlyHttp), DEFAULT);
  });
});
