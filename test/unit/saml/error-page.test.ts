/**
 * What a user sees after a failed sign-in (R-ERR-1): the error URL with `errorCode=` appended
 * without disturbing its own query, and the page — code, one sentence, correlation id, every
 * value escaped, nothing else.
 */
import assert from 'node:assert/strict';
import {
  SSO_ERROR_EXPLANATIONS,
  SSO_ERROR_STATUS,
  errorRedirectUrl,
  fillTemplate,
  renderSsoErrorPage,
} from '../../../src/saml/error-page.js';
import { SSO_ERROR_CODES } from '../../../src/saml/sso-error.js';

describe('SSO error page and error URL', () => {
  describe('errorRedirectUrl', () => {
    const cases: Array<[string, string]> = [
      ['https://help.acme.example/sso-error', 'https://help.acme.example/sso-error?errorCode=SSO_SIGNATURE'],
      ['https://help.acme.example/sso-error?lang=en', 'https://help.acme.example/sso-error?lang=en&errorCode=SSO_SIGNATURE'],
      ['https://help.acme.example/e?', 'https://help.acme.example/e?errorCode=SSO_SIGNATURE'],
      ['https://help.acme.example/e?a=1&', 'https://help.acme.example/e?a=1&errorCode=SSO_SIGNATURE'],
      // The existing query keeps its own encoding (%20 is not turned into +, ~ is not escaped).
      ['https://help.acme.example/e?q=a%20b&t=~x&u=%2F', 'https://help.acme.example/e?q=a%20b&t=~x&u=%2F&errorCode=SSO_SIGNATURE'],
      ['http://localhost:9000/err?x=1', 'http://localhost:9000/err?x=1&errorCode=SSO_SIGNATURE'],
    ];
    for (const [errorUrl, expected] of cases) {
      it(`${errorUrl} → ${expected}`, () => assert.equal(errorRedirectUrl(errorUrl, 'SSO_SIGNATURE'), expected));
    }
    it('keeps an existing errorCode parameter and adds ours after it (the last one is ours)', () => {
      const url = new URL(errorRedirectUrl('https://h.example/e?errorCode=OLD', 'SSO_REPLAY'));
      assert.deepEqual(url.searchParams.getAll('errorCode'), ['OLD', 'SSO_REPLAY']);
    });
  });

  it('has one explanation sentence and a 4xx status for every code', () => {
    for (const code of SSO_ERROR_CODES) {
      const sentence = SSO_ERROR_EXPLANATIONS[code];
      assert.match(sentence, /^[A-Z].*\.$/, code);
      assert.equal(sentence.split(/\.\s/).length, 1, `${code}: one sentence`);
      assert.ok([400, 401, 403].includes(SSO_ERROR_STATUS[code]), code);
    }
  });

  it('renders the code, its sentence, the detail and the correlation id', () => {
    const page = renderSsoErrorPage({ code: 'SSO_IDP_STATUS', detail: 'urn:oasis:names:tc:SAML:2.0:status:Responder', correlationId: 'req-12345678' });
    assert.match(page, /<dd id="error-code">SSO_IDP_STATUS<\/dd>/);
    assert.ok(page.includes(SSO_ERROR_EXPLANATIONS.SSO_IDP_STATUS));
    assert.match(page, /<dd id="error-detail">urn:oasis:names:tc:SAML:2\.0:status:Responder<\/dd>/);
    assert.match(page, /<dd id="correlation-id">req-12345678<\/dd>/);
    assert.doesNotMatch(page, /\{\{/);
  });

  it('escapes every value', () => {
    const page = renderSsoErrorPage({ code: 'SSO_MISSING_ATTRIBUTE', detail: '<script>alert("x")</script>&', correlationId: '"><img src=x>' });
    assert.doesNotMatch(page, /<script>|<img/);
    assert.ok(page.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'));
    assert.ok(page.includes('&quot;&gt;&lt;img src=x&gt;'));
  });

  it('renders a generic page without a code for an unexpected error', () => {
    const page = renderSsoErrorPage({ correlationId: 'req-abcdefgh' });
    assert.doesNotMatch(page, /SSO_[A-Z]/);
    assert.match(page, /req-abcdefgh/);
  });

  it('refuses a template slot it has no value for (a typo must not render blank)', () => {
    assert.throws(() => fillTemplate('<p>{{nope}}</p>', {}), /nope/);
    assert.equal(fillTemplate('<p>{{a}}{{a}}</p>', { a: '<&>' }), '<p>&lt;&amp;&gt;&lt;&amp;&gt;</p>');
  });
});
