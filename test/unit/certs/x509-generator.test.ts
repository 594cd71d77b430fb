import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { CertificateInputError } from '../../../src/certs/certificate-input-error.js';
import { childrenOf, contentOf, readNodeWithin } from '../../../src/certs/x509-der.js';
import { generateServiceCertificate, randomSerialHex } from '../../../src/certs/x509-generator.js';
import type { ServiceKeySize } from '../../../src/certs/x509-generator.js';
import { describeCertificate, exportCertificate, parseCertificateUpload } from '../../../src/certs/x509-parser.js';
import { OpensslWorkspace, opensslField, opensslText } from './openssl-fixtures.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0, 789);
const DAY = 86_400_000;

function refusedOn(field: string, fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CertificateInputError, `expected CertificateInputError, got ${String(error)}`);
    assert.equal(error.field, field);
    return true;
  });
}

describe('certs/x509-generator', () => {
  let ws: OpensslWorkspace;
  // One 2048-bit certificate shared by the read-only checks (key generation is the slow part).
  const generated = generateServiceCertificate({ commonName: 'acme-sso', validityDays: 365, now: NOW });
  const der = parseCertificateUpload(generated.certificatePem).der;

  before(() => {
    ws = new OpensslWorkspace();
  });
  after(() => ws.cleanup());

  describe('the certificate', () => {
    it('is a v3, sha256WithRSAEncryption, self-signed certificate that OpenSSL reads as specified', () => {
      const text = opensslText(ws, generated.certificatePem);
      assert.match(text, /Version: 3 \(0x2\)/);
      assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
      assert.match(text, /Issuer: CN = acme-sso, O = fedbridge\n/);
      assert.match(text, /Subject: CN = acme-sso, O = fedbridge\n/);
      assert.match(text, /Public-Key: \(2048 bit\)/);
      assert.match(text, /Exponent: 65537 \(0x10001\)/);
      assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
      assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment, Data Encipherment\n/);
      assert.match(text, /X509v3 Subject Key Identifier: *\n\s+[0-9A-F]{2}(:[0-9A-F]{2}){19}\n/);
      // Nothing we did not ask for (no keyCertSign, no extended usages).
      assert.doesNotMatch(text, /Certificate Sign|Extended Key Usage|CA:TRUE/);
      // Self-signed with its own key, as OpenSSL and node both see it.
      const x509 = new X509Certificate(generated.certificatePem);
      assert.equal(x509.verify(x509.publicKey), true);
      assert.equal(x509.subject, x509.issuer);
    });

    it('has a subject key identifier that is the SHA-1 of the public key (RFC 5280 method 1)', () => {
      const text = opensslText(ws, generated.certificatePem);
      const ski = /X509v3 Subject Key Identifier: *\n\s+([0-9A-F:]+)\n/.exec(text)?.[1];
      const spki = createPublicKey(generated.certificatePem).export({ type: 'spki', format: 'der' });
      const [, bitString] = childrenOf(spki, readNodeWithin(spki, 0));
      const keyBits = contentOf(spki, bitString!).subarray(1); // skip the unused-bits octet
      const expected = createHash('sha1').update(keyBits).digest('hex').toUpperCase().match(/../g)!.join(':');
      assert.equal(ski, expected);
    });

    it('reports the same details as OpenSSL: serial, validity, fingerprints, key', () => {
      const details = describeCertificate(der, NOW);
      assert.equal(details.version, 3);
      assert.equal(details.signatureAlgorithm, 'sha256WithRSAEncryption');
      assert.equal(details.subject, 'CN=acme-sso, O=fedbridge');
      assert.equal(details.issuer, 'CN=acme-sso, O=fedbridge');
      assert.equal(details.keyType, 'RSA');
      assert.equal(details.keySize, 2048);
      assert.equal(details.weak, false);
      assert.equal(details.expired, false);
      assert.equal(details.serialNumber, opensslField(ws, generated.certificatePem, '-serial'));
      assert.equal(details.sha256Fingerprint, opensslField(ws, generated.certificatePem, '-fingerprint', '-sha256'));
      // notBefore = now − 5 min, notAfter = now + validityDays, both to the second.
      assert.equal(details.validFrom, '2026-01-15T11:55:00.000Z');
      assert.equal(details.validTo, '2027-01-15T12:00:00.000Z');
      assert.equal(opensslField(ws, generated.certificatePem, '-startdate'), 'Jan 15 11:55:00 2026 GMT');
      assert.equal(opensslField(ws, generated.certificatePem, '-enddate'), 'Jan 15 12:00:00 2027 GMT');
    });

    it('has a random, positive serial of at most 128 bits, different every time', () => {
      const a = new X509Certificate(generated.certificatePem).serialNumber;
      const b = new X509Certificate(generateServiceCertificate({ commonName: 'x', validityDays: 90, now: NOW }).certificatePem)
        .serialNumber;
      assert.notEqual(a, b);
      assert.ok(BigInt(`0x${a}`) > 0n && BigInt(`0x${a}`) < 2n ** 128n);
      assert.doesNotMatch(opensslText(ws, generated.certificatePem), /Serial Number: \(Negative\)/);
    });

    it('encodes serials as minimal positive DER integers (sign octet only when the top bit is set)', () => {
      let sawPadded = false;
      for (let i = 0; i < 2000; i++) {
        const hex = randomSerialHex();
        const bytes = Buffer.from(hex, 'hex');
        assert.equal(hex.length % 2, 0);
        assert.ok(bytes.length >= 1 && bytes.length <= 17);
        if (bytes[0] === 0) {
          // A leading zero octet is allowed only as the sign octet of a value whose top bit is set.
          assert.ok(bytes.length > 1 && (bytes[1]! & 0x80) !== 0, hex);
          sawPadded = true;
        } else {
          assert.equal(bytes[0]! & 0x80, 0, `negative serial ${hex}`);
        }
        assert.ok(BigInt(`0x${hex}`) > 0n);
      }
      assert.ok(sawPadded, 'about half the serials need a sign octet');
    });
  });

  describe('the private key', () => {
    it('is unencrypted PKCS#8 that matches the certificate: its signatures verify with the exported certificate', () => {
      assert.match(generated.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      const privateKey = createPrivateKey(generated.privateKeyPem);
      assert.equal(new X509Certificate(generated.certificatePem).checkPrivateKey(privateKey), true);
      const data = Buffer.from('<samlp:AuthnRequest ID="_1"/>');
      const signature = sign('sha256', data, privateKey);
      for (const format of ['pem', 'der'] as const) {
        const exported = exportCertificate(der, format);
        const publicKey = new X509Certificate(exported).publicKey;
        assert.equal(verify('sha256', data, publicKey, signature), true, format);
        assert.equal(verify('sha256', Buffer.from('tampered'), publicKey, signature), false, format);
      }
    });

    it('is not the key of another generated certificate', () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const signature = sign('sha256', Buffer.from('x'), other);
      assert.equal(verify('sha256', Buffer.from('x'), new X509Certificate(generated.certificatePem).publicKey, signature), false);
      assert.equal(new X509Certificate(generated.certificatePem).checkPrivateKey(other), false);
    });
  });

  describe('key sizes', () => {
    for (const keySize of [3072, 4096] as ServiceKeySize[]) {
      it(`generates ${keySize}-bit keys`, function () {
        this.timeout(60_000);
        const result = generateServiceCertificate({ commonName: 'big', validityDays: 90, now: NOW, keySize });
        const details = describeCertificate(parseCertificateUpload(result.certificatePem).der, NOW);
        assert.equal(details.keySize, keySize);
        assert.match(opensslText(ws, result.certificatePem), new RegExp(`Public-Key: \\(${keySize} bit\\)`));
        assert.equal(createPrivateKey(result.privateKeyPem).asymmetricKeyDetails?.modulusLength, keySize);
      });
    }

    it('refuses any other key size', () => {
      for (const keySize of [1024, 2047, 8192, 0]) {
        refusedOn('keySize', () =>
          generateServiceCertificate({ commonName: 'x', validityDays: 90, now: NOW, keySize: keySize as ServiceKeySize }),
        );
      }
    });
  });

  describe('validity', () => {
    it('accepts 90 and 3652 days and encodes exactly that validity', () => {
      for (const validityDays of [90, 3652]) {
        const { certificatePem } = generateServiceCertificate({ commonName: 'v', validityDays, now: NOW });
        const details = describeCertificate(parseCertificateUpload(certificatePem).der, NOW);
        assert.equal(Date.parse(details.validTo), Math.floor((NOW + validityDays * DAY) / 1000) * 1000);
        assert.equal(Date.parse(details.validFrom), Math.floor((NOW - 5 * 60_000) / 1000) * 1000);
      }
    });

    it('refuses 89 and 3653 days, fractions, and non-numbers', () => {
      for (const validityDays of [89, 3653, 0, -90, 90.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        refusedOn('validityDays', () => generateServiceCertificate({ commonName: 'v', validityDays, now: NOW }));
      }
      refusedOn('validityDays', () =>
        generateServiceCertificate({ commonName: 'v', validityDays: '365' as unknown as number, now: NOW }),
      );
    });

    it('encodes dates from 2050 on as GeneralizedTime, read back correctly', () => {
      const now = Date.UTC(2045, 5, 1);
      const { certificatePem } = generateServiceCertificate({ commonName: 'far', validityDays: 3652, now });
      const details = describeCertificate(parseCertificateUpload(certificatePem).der, now);
      assert.equal(details.validTo, new Date(now + 3652 * DAY).toISOString());
      assert.equal(opensslField(ws, certificatePem, '-enddate'), 'Jun  1 00:00:00 2055 GMT');
    });
  });

  describe('common name', () => {
    it('accepts any printable name, including non-ASCII, and encodes it as UTF-8', () => {
      const { certificatePem } = generateServiceCertificate({ commonName: 'Zürich_org @ sso', validityDays: 90, now: NOW });
      assert.equal(opensslField(ws, certificatePem, '-subject', '-nameopt', 'utf8'), 'CN=Zürich_org @ sso, O=fedbridge');
      assert.match(ws.run(['asn1parse', '-in', ws.write(certificatePem)]).toString(), /UTF8STRING\s+:Zürich_org @ sso/);
      const details = describeCertificate(parseCertificateUpload(certificatePem).der, NOW);
      assert.equal(details.subject, 'CN=Zürich_org @ sso, O=fedbridge');
    });

    it('refuses empty, over-long and control-character names', () => {
      for (const commonName of ['', '   ', 'x'.repeat(65), 'a\nb', 'a\u0000b']) {
        refusedOn('commonName', () => generateServiceCertificate({ commonName, validityDays: 90, now: NOW }));
      }
      // 64 characters is the RFC 5280 upper bound, and allowed.
      generateServiceCertificate({ commonName: 'x'.repeat(64), validityDays: 90, now: NOW });
    });
  });
});
