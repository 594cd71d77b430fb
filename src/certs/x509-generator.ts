/**
 * Generates a service certificate (R-CERT-1): a self-signed X.509 v3 certificate with an
 * RSA key, signed with SHA-256. node:crypto makes the key and the signature (fast, native);
 * node-forge only assembles the ASN.1, because node:crypto cannot build certificates. The
 * private key never enters forge.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';
import { CertificateInputError } from './certificate-input-error.js';

export type ServiceKeySize = 2048 | 3072 | 4096;

export const SERVICE_KEY_SIZES: readonly ServiceKeySize[] = [2048, 3072, 4096];
export const MIN_VALIDITY_DAYS = 90;
export const MAX_VALIDITY_DAYS = 3652;
/** The organisation name every service certificate carries. */
export const SERVICE_CERTIFICATE_ORGANIZATION = 'fedbridge';

export interface ServiceCertificateRequest {
  /** The subject and issuer CN, e.g. the org slug or the certificate alias. */
  commonName: string;
  /** 90 … 3652 whole days. */
  validityDays: number;
  /** RSA modulus length; 2048 by default. */
  keySize?: ServiceKeySize;
  /** Milliseconds since the epoch, from the injected Clock. */
  now: number;
}

export interface GeneratedServiceCertificate {
  certificatePem: string;
  /** PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the caller encrypts it at rest (R-CERT-4). */
  privateKeyPem: string;
}

const DAY_MS = 86_400_000;
/** Backdated so a relying party whose clock runs a little behind accepts it at once. */
const NOT_BEFORE_BACKDATE_MS = 5 * 60_000;
/** RFC 5280 ub-common-name. */
const MAX_COMMON_NAME_LENGTH = 64;

const oidSha256WithRsa = forge.pki.oids['sha256WithRSAEncryption']!;

export function generateServiceCertificate(request: ServiceCertificateRequest): GeneratedServiceCertificate {
  const { commonName, validityDays, now } = request;
  const keySize = request.keySize ?? 2048;
  checkCommonName(commonName);
  if (!Number.isInteger(validityDays) || validityDays < MIN_VALIDITY_DAYS || validityDays > MAX_VALIDITY_DAYS) {
    throw new CertificateInputError(
      'validityDays',
      `validity must be a whole number of days from ${MIN_VALIDITY_DAYS} to ${MAX_VALIDITY_DAYS}`,
    );
  }
  if (!SERVICE_KEY_SIZES.includes(keySize)) {
    throw new CertificateInputError('keySize', 'key size must be 2048, 3072 or 4096 bits');
  }
  if (!Number.isFinite(now)) throw new RangeError('now must be a finite number of milliseconds');

  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: keySize, publicExponent: 0x10001 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  const cert = forge.pki.createCertificate();
  cert.version = 2; // zero-based: 2 means X.509 v3
  cert.serialNumber = randomSerialHex();
  // Whole seconds: UTCTime/GeneralizedTime carry no milliseconds, so what we report is what is encoded.
  cert.validity.notBefore = new Date(floorToSecond(now - NOT_BEFORE_BACKDATE_MS));
  cert.validity.notAfter = new Date(floorToSecond(now + validityDays * DAY_MS));
  const name: forge.pki.CertificateField[] = [
    // UTF8String so any alias works (PrintableString forbids '_', '@', non-ASCII, …).
    { shortName: 'CN', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class },
    { shortName: 'O', value: SERVICE_CERTIFICATE_ORGANIZATION, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, dataEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);

  // What forge's cert.sign() does, with node:crypto doing the RSA operation.
  cert.signatureOid = oidSha256WithRsa;
  cert.siginfo.algorithmOid = oidSha256WithRsa;
  const tbs = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.tbsCertificate = tbs;
  cert.signature = sign('sha256', tbsDer, privateKey).toString('binary');
  const certificatePem = forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');

  // Guard against a forge regression: the certificate must carry the key we generated.
  const certKey = createPublicKey(certificatePem).export({ type: 'spki', format: 'der' });
  if (!certKey.equals(publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new Error('generated certificate does not carry the generated public key');
  }

  return {
    certificatePem,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** getTBSCertificate exists in node-forge but is missing from its type definitions. */
interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

function checkCommonName(commonName: string): void {
  if (typeof commonName !== 'string' || commonName.trim() === '') {
    throw new CertificateInputError('commonName', 'the certificate name must not be empty');
  }
  if ([...commonName].length > MAX_COMMON_NAME_LENGTH) {
    throw new CertificateInputError('commonName', `the certificate name must be at most ${MAX_COMMON_NAME_LENGTH} characters`);
  }
  if (/[\u0000-\u001f\u007f]/.test(commonName)) {
    throw new CertificateInputError('commonName', 'the certificate name must not contain control characters');
  }
}

/**
 * A random positive 128-bit serial (CA/B Forum asks for ≥ 64 bits of entropy), as the
 * minimal two's-complement hex forge writes verbatim into the INTEGER: a 00 octet is
 * prepended when the top bit is set (else the serial would be negative), and leading zero
 * octets are dropped (DER requires the shortest encoding).
 */
export function randomSerialHex(): string {
  for (;;) {
    let bytes = randomBytes(16);
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0 && (bytes[start + 1]! & 0x80) === 0) start++;
    bytes = bytes.subarray(start);
    if (bytes.length === 1 && bytes[0] === 0) continue; // zero is not a valid serial
    const hex = bytes.toString('hex');
    return (bytes[0]! & 0x80) !== 0 ? `00${hex}` : hex;
  }
}

function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
