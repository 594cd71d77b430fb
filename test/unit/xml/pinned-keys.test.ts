import assert from 'node:assert/strict';
import { SsoError } from '../../../src/saml/sso-error.js';
import {
  certificateDer,
  certificateFingerprint,
  clearPinnedKeyCache,
  getPinnedKey,
  pinnedKeyCacheSize,
} from '../../../src/xml/pinned-keys.js';
import { generateTestSigningKey } from '../../support/xml-signing.js';
import type { TestSigningKey } from '../../support/xml-signing.js';

function refusedConfig(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SsoError);
    assert.equal(err.code, 'SSO_CONFIG');
    assert.match(err.reason, reason);
    return true;
  });
}

describe('xml/pinned-keys', () => {
  let rsa: TestSigningKey;
  let ec: TestSigningKey;
  before(() => {
    rsa = generateTestSigningKey({ type: 'rsa' });
    ec = generateTestSigningKey({ type: 'ec', curve: 'P-384' });
  });
  beforeEach(() => clearPinnedKeyCache());

  it('parses PEM, DER, PEM bytes and bare base64 (with line breaks) to one cached KeyObject', () => {
    const key = getPinnedKey(rsa.certPem);
    assert.equal(key.type, 'public');
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.ok(key.equals(rsa.publicKey));
    const wrapped = rsa.certBase64.replace(/(.{64})/g, '$1\n');
    for (const form of [rsa.certDer, Buffer.from(rsa.certPem), rsa.certBase64, wrapped, `\n  ${rsa.certPem}  \n`]) {
      assert.equal(getPinnedKey(form), key, 'same cached object, no second parse');
    }
    assert.equal(pinnedKeyCacheSize(), 1);
    assert.equal(getPinnedKey(ec.certPem).asymmetricKeyType, 'ec');
    assert.equal(pinnedKeyCacheSize(), 2);
  });

  it('fingerprints the DER with SHA-256', () => {
    assert.equal(certificateFingerprint(rsa.certPem), rsa.sha256Fingerprint);
    assert.deepEqual(certificateDer(rsa.certBase64), rsa.certDer);
  });

  it('refuses what is not exactly one certificate', () => {
    refusedConfig(() => getPinnedKey('not a certificate!'), /not base64/);
    refusedConfig(() => getPinnedKey(Buffer.from('aGVsbG8=', 'base64').toString('base64')), /pinned certificate unusable/);
    refusedConfig(() => getPinnedKey(rsa.certPem + ec.certPem), /more than one certificate/);
    refusedConfig(() => getPinnedKey(rsa.privateKeyPem), /not a CERTIFICATE/);
    refusedConfig(() => getPinnedKey(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])), /pinned certificate unusable/);
    assert.equal(pinnedKeyCacheSize(), 0);
  });
});
