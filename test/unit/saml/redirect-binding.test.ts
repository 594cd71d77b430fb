import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { buildAuthnRequest, newSamlId } from '../../../src/saml/authn-request.js';
import { decodeRedirect, encodeRedirect } from '../../../src/saml/redirect-binding.js';
import { DSIG_ALG } from '../../../src/saml/namespaces.js';
import { SsoError } from '../../../src/saml/sso-error.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const message = buildAuthnRequest({
  id: newSamlId(),
  issueInstant: Date.UTC(2026, 0, 1),
  destination: 'https://idp.example.com/sso',
  acsUrl: 'https://bridge.example.net/sso/example.com/saml/acs',
  spEntityId: 'https://bridge.example.net',
  nameIdFormat: 'persistent',
});

function queryOf(url: string): string {
  return url.slice(url.indexOf('?') + 1);
}

/** The raw `name=value` pairs of a query string, undecoded. */
function rawParams(query: string): Map<string, string> {
  return new Map(query.split('&').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

function expectSso(code: string, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof SsoError && e.code === code);
}

describe('saml/redirect-binding', () => {
  it('encodes as raw DEFLATE + base64 + URL-encoding (bindings §3.4.4.1)', () => {
    const url = encodeRedirect({ endpoint: 'https://idp.example.com/sso', message, kind: 'SAMLRequest', relayState: 'h/1 +&=' });
    const params = new URL(url).searchParams;
    const xml = inflateRawSync(Buffer.from(params.get('SAMLRequest')!, 'base64')).toString('utf8');
    assert.equal(xml, message);
    assert.equal(params.get('RelayState'), 'h/1 +&=');
    assert.equal(params.has('Signature'), false);
    assert.equal(params.has('SigAlg'), false);
  });

  it('signs SAMLRequest=…&RelayState=…&SigAlg=… exactly as the octets appear in the URL', () => {
    const url = encodeRedirect({
      endpoint: 'https://idp.example.com/sso',
      message,
      kind: 'SAMLRequest',
      relayState: 'abc_-DEF',
      signingKey: rsa.privateKey,
    });
    const query = queryOf(url);
    // Parameter order is fixed by the binding.
    assert.deepEqual([...rawParams(query).keys()], ['SAMLRequest', 'RelayState', 'SigAlg', 'Signature']);
    const signedPart = query.slice(0, query.indexOf('&Signature='));
    const signature = Buffer.from(decodeURIComponent(rawParams(query).get('Signature')!), 'base64');
    assert.equal(decodeURIComponent(rawParams(query).get('SigAlg')!), DSIG_ALG.rsaSha256);
    assert.ok(verify('sha256', Buffer.from(signedPart), rsa.publicKey, signature));
    // A different key, or one changed byte, does not verify.
    assert.equal(verify('sha256', Buffer.from(signedPart), otherRsa.publicKey, signature), false);
    assert.equal(verify('sha256', Buffer.from(signedPart.replace('abc_', 'abd_')), rsa.publicKey, signature), false);
  });

  it('signs without RelayState when there is none, and accepts a PEM key', () => {
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const query = queryOf(encodeRedirect({ endpoint: 'https://idp.example.com/sso', message, kind: 'SAMLRequest', signingKey: pem }));
    assert.deepEqual([...rawParams(query).keys()], ['SAMLRequest', 'SigAlg', 'Signature']);
    const decoded = decodeRedirect(query, { verifyKeys: [rsa.publicKey] });
    assert.equal(decoded.verified, true);
    assert.equal(decoded.relayState, undefined);
  });

  it('keeps an existing query string on the endpoint, byte for byte', () => {
    const url = encodeRedirect({ endpoint: 'https://idp.example.com/sso?tenant=a%20b&x=1', message, kind: 'SAMLRequest' });
    assert.ok(url.startsWith('https://idp.example.com/sso?tenant=a%20b&x=1&SAMLRequest='));
    const withQ = encodeRedirect({ endpoint: 'https://idp.example.com/sso?', message, kind: 'SAMLRequest' });
    assert.ok(withQ.startsWith('https://idp.example.com/sso?SAMLRequest='));
    const withFragment = encodeRedirect({ endpoint: 'https://idp.example.com/sso?a=1#frag', message, kind: 'SAMLRequest' });
    assert.match(withFragment, /^https:\/\/idp\.example\.com\/sso\?a=1&SAMLRequest=[^#]+#frag$/);
  });

  it('a signed URL on an endpoint with its own query round-trips and verifies', () => {
    const url = encodeRedirect({
      endpoint: 'https://idp.example.com/sso?tenant=a',
      message,
      kind: 'SAMLRequest',
      relayState: 'state',
      signingKey: rsa.privateKey,
    });
    const decoded = decodeRedirect(url.slice(url.indexOf('?')), { verifyKeys: [otherRsa.publicKey, rsa.publicKey] });
    assert.deepEqual(decoded, { kind: 'SAMLRequest', xml: message, relayState: 'state', sigAlg: DSIG_ALG.rsaSha256, verified: true });
  });

  it('signs and verifies ECDSA in the XML-DSig r||s form', () => {
    const url = encodeRedirect({
      endpoint: 'https://idp.example.com/slo',
      message,
      kind: 'SAMLResponse',
      signingKey: ec.privateKey,
      sigAlg: DSIG_ALG.ecdsaSha256,
    });
    const query = queryOf(url);
    const signature = Buffer.from(decodeURIComponent(rawParams(query).get('Signature')!), 'base64');
    assert.equal(signature.length, 64);
    assert.equal(decodeRedirect(query, { verifyKeys: [ec.publicKey] }).verified, true);
    assert.throws(() => encodeRedirect({ endpoint: 'https://x/', message, kind: 'SAMLRequest', signingKey: ec.privateKey }), TypeError);
  });

  it('refuses to sign with SHA-1 or a non-http endpoint', () => {
    assert.throws(
      () => encodeRedirect({ endpoint: 'https://x/', message, kind: 'SAMLRequest', signingKey: rsa.privateKey, sigAlg: DSIG_ALG.rsaSha1 }),
      TypeError,
    );
    assert.throws(() => encodeRedirect({ endpoint: 'javascript:alert(1)', message, kind: 'SAMLRequest' }), TypeError);
  });

  describe('decodeRedirect', () => {
    function signedQuery(relayState?: string, key: KeyObject = rsa.privateKey): string {
      return queryOf(encodeRedirect({ endpoint: 'https://sp.example/slo', message, kind: 'SAMLRequest', relayState, signingKey: key }));
    }

    it('verifies over the raw query, not re-encoded values', () => {
      // Encode RelayState with an encoder that escapes differently from encodeURIComponent
      // ('!' and '*' percent-encoded, space as '+'), as another SAML stack might.
      const encoded = encodeURIComponent(deflateRawSync(Buffer.from(message)).toString('base64'));
      const relay = 'a!b*c d';
      const rawRelay = 'a%21b%2Ac+d';
      const sigAlg = encodeURIComponent(DSIG_ALG.rsaSha256);
      const signed = `SAMLRequest=${encoded}&RelayState=${rawRelay}&SigAlg=${sigAlg}`;
      const signature = encodeURIComponent(sign('sha256', Buffer.from(signed), rsa.privateKey).toString('base64'));
      const decoded = decodeRedirect(`?${signed}&Signature=${signature}`, { verifyKeys: [rsa.publicKey] });
      assert.equal(decoded.verified, true);
      assert.equal(decoded.relayState, relay);
      // Re-encoding the decoded value would have produced other octets and failed.
      assert.notEqual(encodeURIComponent(relay), rawRelay);
    });

    it('ignores unrelated parameters and their position', () => {
      const query = signedQuery('r');
      const decoded = decodeRedirect(`foo=bar&${query}&x=%ZZ`, { verifyKeys: [rsa.publicKey] });
      assert.equal(decoded.verified, true);
      assert.equal(decoded.xml, message);
    });

    const tampered: Array<[string, (q: string) => string]> = [
      ['changed RelayState', (q) => q.replace('RelayState=state', 'RelayState=other')],
      ['removed RelayState', (q) => q.replace('&RelayState=state', '')],
      ['changed SigAlg', (q) => q.replace(encodeURIComponent(DSIG_ALG.rsaSha256), encodeURIComponent(DSIG_ALG.rsaSha512))],
      ['changed message', (q) => {
        const params = rawParams(q);
        const other = encodeURIComponent(deflateRawSync(Buffer.from(message.replace('persistent', 'transient'))).toString('base64'));
        return q.replace(params.get('SAMLRequest')!, other);
      }],
      ['changed signature', (q) => {
        const sig = rawParams(q).get('Signature')!;
        const bytes = Buffer.from(decodeURIComponent(sig), 'base64');
        bytes[10] = bytes[10]! ^ 1;
        return q.replace(sig, encodeURIComponent(bytes.toString('base64')));
      }],
    ];
    for (const [name, tamper] of tampered) {
      it(`rejects a ${name} (SSO_SIGNATURE)`, () => {
        const query = signedQuery('state');
        assert.equal(decodeRedirect(query, { verifyKeys: [rsa.publicKey] }).verified, true);
        expectSso('SSO_SIGNATURE', () => decodeRedirect(tamper(query), { verifyKeys: [rsa.publicKey] }));
      });
    }

    it('rejects a signature by an untrusted key', () => {
      expectSso('SSO_SIGNATURE', () => decodeRedirect(signedQuery('s', otherRsa.privateKey), { verifyKeys: [rsa.publicKey] }));
      expectSso('SSO_SIGNATURE', () => decodeRedirect(signedQuery('s'), { verifyKeys: [] }));
    });

    it('requires a signature when keys are given, and reports unverified otherwise', () => {
      const unsigned = queryOf(encodeRedirect({ endpoint: 'https://sp/', message, kind: 'SAMLRequest', relayState: 'x' }));
      expectSso('SSO_SIGNATURE', () => decodeRedirect(unsigned, { verifyKeys: [rsa.publicKey] }));
      const stripped = signedQuery('x').replace(/&Signature=[^&]*/, '');
      expectSso('SSO_SIGNATURE', () => decodeRedirect(stripped, { verifyKeys: [rsa.publicKey] }));
      const decoded = decodeRedirect(signedQuery('x'));
      assert.equal(decoded.verified, false);
      assert.equal(decoded.xml, message);
    });

    it('refuses RSA-SHA1 unless allowSha1, and unknown algorithms', () => {
      const encoded = encodeURIComponent(deflateRawSync(Buffer.from(message)).toString('base64'));
      const make = (sigAlg: string, hash: string) => {
        const signed = `SAMLRequest=${encoded}&SigAlg=${encodeURIComponent(sigAlg)}`;
        return `${signed}&Signature=${encodeURIComponent(sign(hash, Buffer.from(signed), rsa.privateKey).toString('base64'))}`;
      };
      const sha1 = make(DSIG_ALG.rsaSha1, 'sha1');
      expectSso('SSO_WEAK_ALGORITHM', () => decodeRedirect(sha1, { verifyKeys: [rsa.publicKey] }));
      assert.equal(decodeRedirect(sha1, { verifyKeys: [rsa.publicKey], allowSha1: true }).verified, true);
      expectSso('SSO_SIGNATURE', () => decodeRedirect(make('http://www.w3.org/2000/09/xmldsig#hmac-sha1', 'sha1'), { verifyKeys: [rsa.publicKey] }));
      // A key of the wrong type for the SigAlg does not verify (no RSA key used as ECDSA).
      // (node:crypto would verify this r||s ECDSA signature: the hash name does not fix the key type.)
      const signed = `SAMLRequest=${encoded}&SigAlg=${encodeURIComponent(DSIG_ALG.rsaSha256)}`;
      const ecSig = sign('sha256', Buffer.from(signed), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      assert.ok(verify('sha256', Buffer.from(signed), { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, ecSig));
      const confused = `${signed}&Signature=${encodeURIComponent(ecSig.toString('base64'))}`;
      expectSso('SSO_SIGNATURE', () => decodeRedirect(confused, { verifyKeys: [ec.publicKey] }));
    });

    it('refuses duplicated binding parameters', () => {
      const query = signedQuery('state');
      expectSso('SSO_MALFORMED', () => decodeRedirect(`${query}&RelayState=other`, { verifyKeys: [rsa.publicKey] }));
      expectSso('SSO_MALFORMED', () => decodeRedirect(`${query}&SAMLRequest=abcd`));
      expectSso('SSO_MALFORMED', () => decodeRedirect(`${query}&SAMLResponse=abcd`));
      expectSso('SSO_MALFORMED', () => decodeRedirect('RelayState=x'));
    });

    it('refuses bad base64, bad DEFLATE and DEFLATE bombs', () => {
      expectSso('SSO_MALFORMED', () => decodeRedirect('SAMLRequest=%%%'));
      expectSso('SSO_MALFORMED', () => decodeRedirect('SAMLRequest=ab$d'));
      expectSso('SSO_MALFORMED', () => decodeRedirect(`SAMLRequest=${encodeURIComponent(Buffer.from('not deflate at all').toString('base64'))}`));
      const bomb = encodeURIComponent(deflateRawSync(Buffer.alloc(2 * 1024 * 1024, 0x20)).toString('base64'));
      expectSso('SSO_MALFORMED', () => decodeRedirect(`SAMLRequest=${bomb}`));
      const small = encodeURIComponent(deflateRawSync(Buffer.from(message)).toString('base64'));
      expectSso('SSO_MALFORMED', () => decodeRedirect(`SAMLRequest=${small}`, { maxMessageBytes: 100 }));
    });

    it('reads a literal + in base64 as +, not as a space', () => {
      const b64 = deflateRawSync(Buffer.from(message)).toString('base64');
      assert.ok(b64.includes('+') || b64.includes('/'));
      const decoded = decodeRedirect(`SAMLRequest=${b64.replace(/\//g, '%2F')}`);
      assert.equal(decoded.xml, message);
    });
  });
});
