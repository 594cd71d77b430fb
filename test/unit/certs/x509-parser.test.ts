import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { CertificateInputError } from '../../../src/certs/certificate-input-error.js';
import { generateServiceCertificate } from '../../../src/certs/x509-generator.js';
import { describeCertificate, exportCertificate, parseCertificateUpload } from '../../../src/certs/x509-parser.js';
import { OpensslWorkspace, opensslField, opensslText } from './openssl-fixtures.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 2, 1);

/** Asserts the upload is refused with a CertificateInputError on `certificate` whose message matches. */
function assertRefused(input: string | Buffer, message: RegExp, label = ''): void {
  assert.throws(
    () => parseCertificateUpload(input),
    (error: unknown) => {
      assert.ok(error instanceof CertificateInputError, `${label}: expected CertificateInputError, got ${String(error)}`);
      assert.equal(error.field, 'certificate');
      assert.match(error.message, message, label);
      return true;
    },
  );
}

/** Parses or refuses politely: anything but a CertificateInputError escaping is a bug. */
function parseOrRefuse(input: Buffer): 'accepted' | 'refused' {
  try {
    parseCertificateUpload(input);
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof CertificateInputError, `unexpected ${String(error)}`);
    return 'refused';
  }
}

const PRIVATE_KEY = /^this file holds a private key, not a certificate — upload the certificate only$/;

/**
 * A certificate around an arbitrary-size RSA modulus. The modulus is random (not a product
 * of primes): only its size matters to the parser, and a real 8192-bit key takes too long.
 */
function certificateWithRsaModulusBits(bits: number): string {
  const signer = forge.pki.privateKeyFromPem(
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  const modulus = randomBytes(bits / 8);
  modulus[0]! |= 0x80;
  modulus[modulus.length - 1]! |= 0x01;
  const cert = forge.pki.createCertificate();
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(NOW - DAY);
  cert.validity.notAfter = new Date(NOW + 365 * DAY);
  cert.setSubject([{ shortName: 'CN', value: `rsa-${bits}` }]);
  cert.setIssuer([{ shortName: 'CN', value: 'signer' }]);
  cert.publicKey = forge.pki.setRsaPublicKey(
    new forge.jsbn.BigInteger(modulus.toString('hex'), 16),
    new forge.jsbn.BigInteger('65537', 10),
  );
  cert.sign(signer, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

describe('certs/x509-parser', () => {
  let ws: OpensslWorkspace;
  let rsa: { certPem: Buffer; keyPem: Buffer; der: Buffer };
  let ecP256: { certPem: Buffer; keyPem: Buffer };
  let ecP384: { certPem: Buffer; keyPem: Buffer };

  before(() => {
    ws = new OpensslWorkspace();
    const made = ws.selfSigned('idp', 'rsa:2048', { subject: '/C=US/O=Acme, Inc./CN=idp.example.com' });
    rsa = { ...made, der: ws.toDer(made.certPem) };
    ecP256 = ws.selfSigned('ec256', 'ec', { pkeyopt: ['ec_paramgen_curve:P-256'] });
    ecP384 = ws.selfSigned('ec384', 'ec', { pkeyopt: ['ec_paramgen_curve:P-384'], digest: 'sha384' });
  });
  after(() => ws.cleanup());

  describe('accepted encodings', () => {
    it('PEM with LF, CRLF, surrounding whitespace, explanatory text, a BOM, or UTF-16', () => {
      const pem = rsa.certPem.toString();
      const inputs: Record<string, string | Buffer> = {
        'PEM string': pem,
        'PEM buffer': rsa.certPem,
        'CRLF PEM': pem.replace(/\n/g, '\r\n'),
        'surrounding whitespace': `\n\n   \t${pem}\n\n  \r\n`,
        'openssl -text output before the PEM': ws.run(['x509', '-in', ws.write(rsa.certPem), '-text']),
        'UTF-8 BOM (buffer)': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), rsa.certPem]),
        'BOM (string)': `\uFEFF${pem}`,
        'UTF-16LE with BOM': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(pem, 'utf16le')]),
        'raw DER': rsa.der,
        'base64 of the DER, one line': rsa.der.toString('base64'),
        'base64 of the DER, wrapped with CRLF': rsa.der.toString('base64').replace(/.{1,76}/g, '$&\r\n'),
        'legacy X509 CERTIFICATE label': pem.replace(/CERTIFICATE-----/g, 'X509 CERTIFICATE-----'),
      };
      for (const [label, input] of Object.entries(inputs)) {
        const parsed = parseCertificateUpload(input);
        assert.ok(parsed.der.equals(rsa.der), label);
        assert.equal(parsed.pem, pem, label); // canonical PEM is what openssl writes
      }
    });

    it('returns a copy of the DER, not a view of the caller\'s buffer', () => {
      const input = Buffer.from(rsa.der);
      const parsed = parseCertificateUpload(input);
      input.fill(0);
      assert.ok(parsed.der.equals(rsa.der));
    });
  });

  describe('refused inputs, each with a message a person understands', () => {
    it('empty input', () => {
      for (const input of ['', '   \r\n\t ', Buffer.alloc(0), Buffer.from('\n\n')]) assertRefused(input, /the file is empty/);
    });

    it('random bytes and random text', () => {
      for (let i = 0; i < 50; i++) {
        const bytes = randomBytes(16 + i * 40);
        if (i % 2 === 0) bytes[0] = 0x30; // looks like a SEQUENCE at first glance
        assertRefused(bytes, /not a (well-formed X\.509 )?certificate|truncated|unexpected data/, `random #${i}`);
      }
      assertRefused('hello, this is my certificate', /^this is not a certificate: the file is neither a PEM certificate/);
      assertRefused(Buffer.from([0x02, 0x01, 0x05]), /^this is not a certificate/); // a lone INTEGER
    });

    it('truncated DER, at every length', () => {
      assertRefused(rsa.der.subarray(0, rsa.der.length - 1), /^the certificate is truncated/);
      assertRefused(rsa.der.subarray(0, 200), /^the certificate is truncated/);
      for (let length = 1; length < rsa.der.length; length++) {
        assert.equal(parseOrRefuse(rsa.der.subarray(0, length)), 'refused', `prefix of ${length} bytes`);
      }
    });

    it('truncated PEM and base64', () => {
      const pem = rsa.certPem.toString();
      assertRefused(pem.slice(0, pem.indexOf('-----END')), /END CERTIFICATE.* missing/);
      assertRefused(pem.slice(0, pem.length / 2), /END CERTIFICATE.* missing/);
      // Whole base64 lines lost from the middle: the DER inside is cut short or garbled.
      const lines = pem.split('\n');
      assertRefused([...lines.slice(0, 5), ...lines.slice(8)].join('\n'), /truncated|damaged|not a well-formed/);
      // A line cut mid-way breaks the base64 itself.
      assertRefused(pem.replace(/\n[A-Za-z0-9+/]{64}\n/, (line) => `${line.slice(0, 40)}\n`), /base64|truncated|damaged/);
      const base64 = rsa.der.toString('base64');
      assertRefused(base64.slice(0, 400), /truncated/);
    });

    it('a private key, in any encoding, alone or next to the certificate', () => {
      const pkcs8 = rsa.keyPem;
      const pkcs1 = ws.run(['pkey', '-in', ws.write(pkcs8), '-traditional']);
      const sec1 = ws.run(['pkey', '-in', ws.write(ecP256.keyPem), '-traditional']);
      const encrypted = ws.run(['pkey', '-in', ws.write(pkcs8), '-aes256', '-passout', 'pass:secret']);
      assert.match(pkcs1.toString(), /BEGIN RSA PRIVATE KEY/);
      assert.match(sec1.toString(), /BEGIN EC PRIVATE KEY/);
      assert.match(encrypted.toString(), /BEGIN ENCRYPTED PRIVATE KEY/);
      const inputs: Record<string, string | Buffer> = {
        'PKCS#8 PEM': pkcs8,
        'PKCS#1 PEM': pkcs1,
        'SEC1 PEM': sec1,
        'encrypted PKCS#8 PEM': encrypted,
        'certificate then key': Buffer.concat([rsa.certPem, pkcs8]),
        'key then certificate': Buffer.concat([pkcs1, rsa.certPem]),
        'key without END line': pkcs8.toString().replace(/-----END[^]*$/, ''),
        'PKCS#8 DER': ws.run(['pkey', '-in', ws.write(pkcs8), '-outform', 'DER']),
        'PKCS#1 DER': ws.run(['rsa', '-in', ws.write(pkcs8), '-outform', 'DER', '-traditional']),
        'SEC1 DER': ws.run(['ec', '-in', ws.write(ecP256.keyPem), '-outform', 'DER']),
        'encrypted PKCS#8 DER': ws.run(['pkcs8', '-topk8', '-in', ws.write(pkcs8), '-outform', 'DER', '-passout', 'pass:x']),
        'PKCS#8 DER as base64 text': ws.run(['pkey', '-in', ws.write(pkcs8), '-outform', 'DER']).toString('base64'),
      };
      for (const [label, input] of Object.entries(inputs)) assertRefused(input, PRIVATE_KEY, label);
    });

    it('a certificate signing request (PEM and DER)', () => {
      ws.run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=csr', '-keyout', 'csr.key', '-out', 'csr.pem']);
      const csrPem = ws.read('csr.pem');
      assert.match(csrPem.toString(), /BEGIN CERTIFICATE REQUEST/);
      const csrDer = ws.run(['req', '-in', 'csr.pem', '-outform', 'DER']);
      for (const input of [csrPem, csrDer, csrDer.toString('base64')]) {
        assertRefused(input, /^this file holds a certificate signing request \(CSR\), not a certificate/);
      }
    });

    it('a PKCS#7 bundle (PEM and DER) and a PKCS#12 archive', () => {
      const p7Pem = ws.run(['crl2pkcs7', '-nocrl', '-certfile', ws.write(rsa.certPem)]);
      const p7Der = ws.run(['crl2pkcs7', '-nocrl', '-certfile', ws.write(rsa.certPem), '-outform', 'DER']);
      assertRefused(p7Pem, /PKCS#7 bundle \(\.p7b\), not a single certificate/);
      assertRefused(p7Der, /PKCS#7 bundle \(\.p7b\), not a single certificate/);
      const p12 = ws.run([
        'pkcs12', '-export', '-in', ws.write(rsa.certPem), '-inkey', ws.write(rsa.keyPem), '-passout', 'pass:x',
      ]);
      assertRefused(p12, /PKCS#12 \(\.pfx\/\.p12\) archive, which holds a private key/);
      assertRefused(p12.toString('base64'), /PKCS#12/);
    });

    it('two certificates in one file (PEM chain, concatenated DER, base64 of both)', () => {
      const twoPem = Buffer.concat([rsa.certPem, ecP256.certPem]);
      assertRefused(twoPem, /this file holds 2 certificates; upload exactly one/);
      assertRefused(Buffer.concat([twoPem, ecP384.certPem]), /holds 3 certificates/);
      const twoDer = Buffer.concat([rsa.der, ws.toDer(ecP256.certPem)]);
      assertRefused(twoDer, /more than one certificate; upload exactly one/);
      assertRefused(twoDer.toString('base64'), /more than one certificate/);
      assertRefused(Buffer.concat([rsa.der, rsa.der.subarray(0, 50)]), /more than one certificate/);
      assertRefused(Buffer.concat([rsa.der, Buffer.from('garbage')]), /unexpected data after the certificate/);
    });

    it('a bare public key, an OpenSSL trusted certificate, and unknown PEM blocks', () => {
      const spkiPem = createPublicKey(rsa.keyPem).export({ type: 'spki', format: 'pem' });
      const spkiDer = createPublicKey(rsa.keyPem).export({ type: 'spki', format: 'der' });
      assertRefused(spkiPem, /bare public key, not a certificate/);
      assertRefused(spkiDer, /bare public key, not a certificate/);
      const trusted = ws.run(['x509', '-in', ws.write(rsa.certPem), '-trustout', '-addtrust', 'serverAuth']);
      assertRefused(trusted, /TRUSTED CERTIFICATE/);
      assertRefused('-----BEGIN DH PARAMETERS-----\nMAA=\n-----END DH PARAMETERS-----\n', /holds "DH PARAMETERS" data/);
      assertRefused('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', /block is empty/);
      assertRefused('-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n', /not valid base64/);
    });

    it('damaged certificate contents', () => {
      const damaged = Buffer.from(rsa.der);
      // The notBefore UTCTime: make it something that is not a time.
      const at = damaged.indexOf(Buffer.from([0x17, 0x0d])) + 2;
      damaged.write('XXXXXXXXXXXXX', at, 'latin1');
      assertRefused(damaged, /not a well-formed X\.509 certificate/);
      // Flip bytes all over: never anything but a polite refusal (or a still-valid certificate).
      for (let i = 0; i < rsa.der.length; i += 3) {
        const flipped = Buffer.from(rsa.der);
        flipped[i] = flipped[i]! ^ 0xff;
        parseOrRefuse(flipped);
      }
    });
  });

  describe('key types and sizes', () => {
    it('refuses RSA keys other than 1024/2048/3072/4096 bits', function () {
      this.timeout(60_000);
      for (const bits of [512, 1536]) {
        const { certPem } = ws.selfSigned(`rsa${bits}`, `rsa:${bits}`);
        assertRefused(certPem, new RegExp(`^RSA keys of ${bits} bits are not supported; accepted keys are RSA 2048, 3072 or 4096`));
      }
      for (const bits of [2056, 8192]) {
        assertRefused(certificateWithRsaModulusBits(bits), new RegExp(`^RSA keys of ${bits} bits are not supported`));
      }
      // The same construction with an accepted size is accepted: the refusals above are about size.
      assert.equal(describeCertificate(parseCertificateUpload(certificateWithRsaModulusBits(3072)).der, NOW).keySize, 3072);
    });

    it('refuses EC curves other than P-256/P-384', () => {
      for (const [curve, label] of [['P-521', 'P-521'], ['secp256k1', 'secp256k1']] as const) {
        const { certPem } = ws.selfSigned(`ec-${curve}`, 'ec', { pkeyopt: [`ec_paramgen_curve:${curve}`] });
        assertRefused(certPem, new RegExp(`^EC keys on curve ${label} are not supported; accepted keys are`));
      }
    });

    it('refuses Ed25519, Ed448, DSA and RSA-PSS keys', () => {
      assertRefused(ws.selfSigned('ed25519', 'ed25519').certPem, /^Ed25519 keys are not supported; accepted keys are/);
      assertRefused(ws.selfSigned('ed448', 'ed448').certPem, /^Ed448 keys are not supported/);
      ws.run(['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:2048', '-out', 'dsa-params.pem']);
      assertRefused(ws.selfSigned('dsa', 'dsa:dsa-params.pem').certPem, /^DSA keys are not supported/);
      assertRefused(ws.selfSigned('pss', 'rsa-pss', { pkeyopt: ['rsa_keygen_bits:2048'] }).certPem, /^RSA-PSS keys are not supported/);
    });

    it('accepts RSA 1024 and flags it weak; flags SHA-1 signatures weak', () => {
      const sha256 = ws.selfSigned('rsa1024', 'rsa:1024', { digest: 'sha256' }).certPem;
      const d1 = describeCertificate(parseCertificateUpload(sha256).der, NOW);
      assert.equal(d1.keySize, 1024);
      assert.equal(d1.weak, true);
      assert.deepEqual(d1.weakReasons, ['1024-bit RSA key']);

      const sha1 = ws.selfSigned('rsa2048sha1', 'rsa:2048', { digest: 'sha1' }).certPem;
      const d2 = describeCertificate(parseCertificateUpload(sha1).der, NOW);
      assert.equal(d2.signatureAlgorithm, 'sha1WithRSAEncryption');
      assert.equal(d2.weak, true);
      assert.deepEqual(d2.weakReasons, ['SHA-1 signature']);

      const d3 = describeCertificate(rsa.der, NOW);
      assert.equal(d3.weak, false);
      assert.deepEqual(d3.weakReasons, []);
    });

    it('accepts EC P-256 and P-384 with the right details', () => {
      for (const [made, curve, size, sigalg] of [
        [ecP256, 'P-256', 256, 'ecdsa-with-SHA256'],
        [ecP384, 'P-384', 384, 'ecdsa-with-SHA384'],
      ] as const) {
        const { der } = parseCertificateUpload(made.certPem);
        const d = describeCertificate(der, NOW);
        assert.equal(d.keyType, 'EC');
        assert.equal(d.keySize, size);
        assert.equal(d.curve, curve);
        assert.equal(d.signatureAlgorithm, sigalg);
        assert.equal(d.version, 3);
        assert.equal(d.weak, false);
        assert.equal(d.sha256Fingerprint, opensslField(ws, made.certPem, '-fingerprint', '-sha256'));
        assert.equal(d.sha1Fingerprint, opensslField(ws, made.certPem, '-fingerprint', '-sha1'));
        assert.equal(d.serialNumber, opensslField(ws, made.certPem, '-serial'));
        assert.equal(d.subjectPublicKeyInfo, createPublicKey(made.keyPem).export({ type: 'spki', format: 'der' }).toString('base64'));
        assert.match(opensslText(ws, made.certPem), new RegExp(`NIST CURVE: ${curve}`));
      }
    });
  });

  describe('describeCertificate', () => {
    it('reports what OpenSSL reports for an IdP certificate', () => {
      const d = describeCertificate(rsa.der, NOW);
      const x509 = new X509Certificate(rsa.der);
      assert.equal(d.version, 3);
      assert.equal(d.serialNumber, opensslField(ws, rsa.certPem, '-serial'));
      assert.equal(d.signatureAlgorithm, 'sha256WithRSAEncryption');
      assert.equal(d.signatureAlgorithmOid, '1.2.840.113549.1.1.11');
      assert.equal(d.subject, 'C=US, O=Acme\\, Inc., CN=idp.example.com');
      assert.equal(d.issuer, d.subject);
      assert.equal(new Date(d.validFrom).getTime(), Date.parse(opensslField(ws, rsa.certPem, '-startdate')));
      assert.equal(new Date(d.validTo).getTime(), Date.parse(opensslField(ws, rsa.certPem, '-enddate')));
      assert.equal(d.validFrom, new Date(x509.validFrom).toISOString());
      assert.equal(d.keyType, 'RSA');
      assert.equal(d.keySize, 2048);
      assert.equal(d.curve, undefined);
      assert.equal(d.sha1Fingerprint, opensslField(ws, rsa.certPem, '-fingerprint', '-sha1'));
      assert.equal(d.sha256Fingerprint, opensslField(ws, rsa.certPem, '-fingerprint', '-sha256'));
      assert.match(d.sha256Fingerprint, /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
      const pubkeyPem = ws.run(['x509', '-in', ws.write(rsa.certPem), '-noout', '-pubkey']).toString();
      assert.equal(d.subjectPublicKeyInfo, pubkeyPem.replace(/-----[^-]+-----|\s/g, ''));
    });

    it('reports version 1 for a certificate without extensions', () => {
      ws.run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=v1', '-keyout', 'v1.key', '-out', 'v1.csr']);
      ws.run(['x509', '-req', '-in', 'v1.csr', '-signkey', 'v1.key', '-days', '30', '-out', 'v1.pem']);
      assert.match(opensslText(ws, ws.read('v1.pem')), /Version: 1 \(0x0\)/);
      assert.equal(describeCertificate(parseCertificateUpload(ws.read('v1.pem')).der, Date.now()).version, 1);
    });

    it('accepts an expired certificate and flags it; flags one expiring within 30 days', () => {
      const issuedAt = Date.UTC(2024, 0, 1);
      const { certificatePem } = generateServiceCertificate({ commonName: 'old', validityDays: 90, now: issuedAt });
      const { der } = parseCertificateUpload(certificatePem); // expired, yet accepted
      const validTo = issuedAt + 90 * DAY;

      const expired = describeCertificate(der, validTo + 1000);
      assert.equal(expired.expired, true);
      assert.equal(expired.expiresSoon, false);

      const inTenDays = describeCertificate(der, validTo - 10 * DAY);
      assert.equal(inTenDays.expired, false);
      assert.equal(inTenDays.expiresSoon, true);

      assert.equal(describeCertificate(der, validTo - 30 * DAY).expiresSoon, true);
      assert.equal(describeCertificate(der, validTo - 31 * DAY).expiresSoon, false);
      assert.equal(describeCertificate(der, validTo).expired, false); // valid through its last second

      const beforeStart = describeCertificate(der, issuedAt - DAY);
      assert.equal(beforeStart.notYetValid, true);
      assert.equal(describeCertificate(der, issuedAt).notYetValid, false);
    });

    it('flags an openssl-made certificate that expires in 10 days', () => {
      const { certPem } = ws.selfSigned('short', 'rsa:2048', { days: 10 });
      const d = describeCertificate(parseCertificateUpload(certPem).der, Date.now());
      assert.equal(d.expiresSoon, true);
      assert.equal(d.expired, false);
      assert.equal(describeCertificate(rsa.der, Date.now()).expiresSoon, false); // 365 days
    });

    it('refuses bytes that are not a certificate', () => {
      assert.throws(() => describeCertificate(randomBytes(100), NOW), CertificateInputError);
    });
  });

  describe('exportCertificate', () => {
    it('exports PEM and DER that OpenSSL reads, and never a private key', () => {
      const pem = exportCertificate(rsa.der, 'pem');
      const der = exportCertificate(rsa.der, 'der');
      assert.equal(pem.toString(), rsa.certPem.toString());
      assert.ok(der.equals(rsa.der));
      assert.match(opensslText(ws, der, 'DER'), /Subject: C = US, O = "?Acme, Inc\."?, CN = idp.example.com/);
      assert.equal(opensslField(ws, pem, '-fingerprint', '-sha256'), describeCertificate(rsa.der, NOW).sha256Fingerprint);
      assert.doesNotMatch(pem.toString(), /PRIVATE/);
      // The DER export is a copy: changing it does not change what the caller stored.
      der.fill(0);
      assert.ok(exportCertificate(rsa.der, 'der').equals(parseCertificateUpload(rsa.certPem).der));
    });

    it('refuses an unknown format', () => {
      assert.throws(
        () => exportCertificate(rsa.der, 'p12' as 'pem'),
        (error: unknown) => error instanceof CertificateInputError && error.field === 'format',
      );
    });
  });
});
