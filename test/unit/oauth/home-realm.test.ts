import assert from 'node:assert/strict';
import { emailDomain, realmHint, renderInteractionProblem, renderRealmPage } from '../../../src/oauth/home-realm.js';

describe('oauth/home-realm', () => {
  it('takes the domain of plain e-mail addresses, lower-cased', () => {
    assert.equal(emailDomain('jane@Acme.COM'), 'acme.com');
    assert.equal(emailDomain('  j.doe+tag@sub.acme.co.uk '), 'sub.acme.co.uk');
    for (const bad of ['', 'jane', 'jane@', '@acme.com', 'jane@acme', 'jane@-acme.com', 'a b@acme.com', 'jane@acme.com>', '"x"@acme.com', 'x@acme..com', 42, undefined, `${'a'.repeat(250)}@acme.com`]) {
      assert.equal(emailDomain(bad), undefined, String(bad));
    }
  });

  it('prefers the org parameter, then the login_hint domain', () => {
    assert.deepEqual(realmHint({ org: ' Acme.com ', login_hint: 'x@other.com' }), { kind: 'org', slug: 'acme.com' });
    assert.deepEqual(realmHint({ login_hint: 'x@Other.com' }), { kind: 'domain', domain: 'other.com' });
    assert.deepEqual(realmHint({ login_hint: 'not an email' }), { kind: 'none' });
    assert.deepEqual(realmHint({ org: '', login_hint: undefined }), { kind: 'none' });
  });

  it('escapes everything it writes into the page', () => {
    const html = renderRealmPage({
      action: '/oauth/interaction/a"b/discover',
      csrfToken: 'tok"en',
      clientName: '<script>alert(1)</script>',
      email: '"><img src=x>',
      problem: '<b>bad</b>',
    });
    assert.ok(!html.includes('<script>alert'));
    assert.ok(!html.includes('<img'));
    assert.ok(!html.includes('<b>bad'));
    assert.match(html, /name="csrf" value="tok&#34;en"/);
    assert.match(html, /action="\/oauth\/interaction\/a&#34;b\/discover"/);
    assert.ok(!/<script/i.test(html.replace(/&#60;script/g, '')), 'no script at all');
    assert.ok(!renderInteractionProblem('<i>x</i>').includes('<i>'));
  });
});
