/**
 * Reads an uploaded organisation certificate (R-CERT-2) and describes a stored one
 * (R-CERT-3). Every refusal is a CertificateInputError('certificate', …) whose message tells
 * the administrator what the file actually is ("a private key", "a certificate signing
 * request", "two certificates", …) instead of an ASN.1 or OpenSSL error.
 *
 * node's X509Certificate does the real parsing; a small DER walk (x509-der.ts) identifies
 * the structure first and reads the fields X509Certificate does not expose.
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CertificateInputError } from './certificate-input-error.js';
import {
  DerError,
  TAG,
  childrenOf,
  contentOf,
  decodeOid,
  decodeSmallInteger,
  decodeTime,
  encodingOf,
  readNodeHeader,
  readNodeWithin,
} from './x509-der.js';
import type { DerNode } from './x509-der.js';

export interface ParsedCertificateUpload {
  /** The certificate exactly as encoded (the bytes that are fingerprinted). */
  der: Buffer;
  /** Canonical PEM: one CERTIFICATE block, 64-column base64, LF line ends. */
  pem: string;
}

export type CertificateKeyType = 'RSA' | 'EC';
export type CertificateCurve = 'P-256' | 'P-384';

export interface CertificateDetails {
  /** 1, 2 or 3 (X.509 v3 is what everyone uses). */
  version: number;
  /** Upper-case hex without separators, as OpenSSL's `-serial` prints it. */
  serialNumber: string;
  /** OpenSSL's name (e.g. `sha256WithRSAEncryption`, `ecdsa-with-SHA256`), or the dotted OID when unknown. */
  signatureAlgorithm: string;
  signatureAlgorithmOid: string;
  /** Distinguished names as `CN=…, O=…`, in encoding order. */
  issuer: string;
  subject: string;
  /** ISO 8601. */
  validFrom: string;
  validTo: string;
  keyType: CertificateKeyType;
  /** RSA modulus bits, or the EC curve size (256 / 384). */
  keySize: number;
  curve?: CertificateCurve;
  /** Colon-separated upper-case hex of the digest of the DER. */
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  /** Base64 of the SubjectPublicKeyInfo DER, as encoded in the certificate. */
  subjectPublicKeyInfo: string;
  /** `now` is after validTo. */
  expired: boolean;
  /** `now` is before validFrom. */
  notYetValid: boolean;
  /** Not expired, but validTo is within 30 days of `now`. */
  expiresSoon: boolean;
  /** RSA key under 2048 bits, or an MD2/MD4/MD5/SHA-1 signature. */
  weak: boolean;
  /** Why `weak` is true, in words for the console; empty when it is not. */
  weakReasons: string[];
}

export const EXPIRES_SOON_MS = 30 * 86_400_000;
/** Far above any real certificate (a few KB); refuse archives and other large files early. */
export const MAX_CERTIFICATE_FILE_BYTES = 64 * 1024;

const ACCEPTED_KEYS = 'accepted keys are RSA 2048, 3072 or 4096 bits (1024 is accepted but flagged weak) and EC P-256 or P-384';
const ACCEPTED_RSA_SIZES = new Set([1024, 2048, 3072, 4096]);
const CURVES: Readonly<Record<string, { curve: CertificateCurve; size: number }>> = {
  prime256v1: { curve: 'P-256', size: 256 },
  secp384r1: { curve: 'P-384', size: 384 },
};
const CURVE_LABELS: Readonly<Record<string, string>> = { secp521r1: 'P-521', secp224r1: 'P-224', prime192v1: 'P-192' };
const KEY_TYPE_LABELS: Readonly<Record<string, string>> = {
  dsa: 'DSA',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
  x25519: 'X25519',
  x448: 'X448',
  dh: 'Diffie-Hellman',
  'rsa-pss': 'RSA-PSS',
};

/** Signature algorithm OIDs, named as OpenSSL names them. */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, { name: string; weakDigest?: string }>> = {
  '1.2.840.113549.1.1.2': { name: 'md2WithRSAEncryption', weakDigest: 'MD2' },
  '1.2.840.113549.1.1.3': { name: 'md4WithRSAEncryption', weakDigest: 'MD4' },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', weakDigest: 'MD5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', weakDigest: 'SHA-1' },
  '1.3.14.3.2.29': { name: 'sha1WithRSA', weakDigest: 'SHA-1' },
  '1.2.840.113549.1.1.10': { name: 'rsassaPss' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', weakDigest: 'SHA-1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512' },
  '1.2.840.10040.4.3': { name: 'dsa-with-SHA1', weakDigest: 'SHA-1' },
  '2.16.840.1.101.3.4.3.2': { name: 'dsa-with-SHA256' },
  '1.3.101.112': { name: 'ED25519' },
  '1.3.101.113': { name: 'ED448' },
};

const OID_PKCS7 = '1.2.840.113549.1.7';

/**
 * Accepts one X.509 certificate as PEM text (CRLF or LF, surrounding text and whitespace
 * allowed), raw DER, or bare base64 of the DER; refuses everything else.
 */
export function parseCertificateUpload(input: string | Buffer): ParsedCertificateUpload {
  const der = extractDer(input);
  const x509 = openCertificate(der);
  keyOf(x509); // refuses unsupported key types and sizes
  readCertificateFields(der); // OpenSSL parses lazily: a malformed validity or version is only noticed here
  return { der, pem: derToPem(der) };
}

/** The details shown by the console and the API for a certificate accepted earlier. */
export function describeCertificate(der: Buffer, now: number): CertificateDetails {
  const x509 = openCertificate(der);
  const key = keyOf(x509);
  const fields = readCertificateFields(der);

  const validFrom = fields.notBefore;
  const validTo = fields.notAfter;
  const expired = now > validTo;
  const known = SIGNATURE_ALGORITHMS[fields.signatureAlgorithmOid];
  const weakReasons: string[] = [];
  if (key.keyType === 'RSA' && key.keySize < 2048) weakReasons.push(`${key.keySize}-bit RSA key`);
  if (known?.weakDigest) weakReasons.push(`${known.weakDigest} signature`);

  const details: CertificateDetails = {
    version: fields.version,
    serialNumber: x509.serialNumber.toUpperCase(),
    signatureAlgorithm: known?.name ?? fields.signatureAlgorithmOid,
    signatureAlgorithmOid: fields.signatureAlgorithmOid,
    issuer: formatName(x509.issuer),
    subject: formatName(x509.subject),
    validFrom: new Date(validFrom).toISOString(),
    validTo: new Date(validTo).toISOString(),
    keyType: key.keyType,
    keySize: key.keySize,
    sha1Fingerprint: fingerprint('sha1', der),
    sha256Fingerprint: fingerprint('sha256', der),
    subjectPublicKeyInfo: fields.subjectPublicKeyInfo.toString('base64'),
    expired,
    notYetValid: now < validFrom,
    expiresSoon: !expired && validTo - now <= EXPIRES_SOON_MS,
    weak: weakReasons.length > 0,
    weakReasons,
  };
  if (key.curve) details.curve = key.curve;
  return details;
}

/** The `.cer` export (R-CERT-3): PEM text or the DER bytes. Never anything but the certificate. */
export function exportCertificate(der: Buffer, format: 'pem' | 'der'): Buffer {
  if (format === 'der') return Buffer.from(der);
  if (format === 'pem') return Buffer.from(derToPem(der), 'ascii');
  throw new CertificateInputError('format', 'export format must be pem or der');
}

export function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

// ---------------------------------------------------------------------------------------
// From upload to DER

function refuse(message: string): never {
  throw new CertificateInputError('certificate', message);
}

function extractDer(input: string | Buffer): Buffer {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) refuse('no certificate was uploaded');
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_CERTIFICATE_FILE_BYTES) {
    refuse(`the file is too large to be a certificate (${size} bytes; at most ${MAX_CERTIFICATE_FILE_BYTES})`);
  }
  const text = typeof input === 'string' ? input : textOf(input);
  if (text === null) return checkDerShape(input as Buffer);
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') refuse('the file is empty');
  if (trimmed.includes('-----BEGIN')) return derFromPem(trimmed);
  const base64 = trimmed.replace(/\s+/g, '');
  if (isStrictBase64(base64)) return checkDerShape(Buffer.from(base64, 'base64'));
  refuse('this is not a certificate: the file is neither a PEM certificate ("-----BEGIN CERTIFICATE-----") nor a DER-encoded certificate');
}

/** The text of a buffer that holds only printable ASCII (a PEM or base64 file), else null (binary: DER). */
function textOf(buf: Buffer): string | null {
  let text: string;
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    text = buf.subarray(2).toString('utf16le'); // a PEM saved as UTF-16 by a Windows editor
  } else if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    text = buf.subarray(3).toString('latin1'); // UTF-8 byte-order mark
  } else {
    text = buf.toString('latin1');
  }
  return /^[\t\n\r\x20-\x7e]*$/.test(text) ? text : null;
}

function isStrictBase64(text: string): boolean {
  return text.length > 0 && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}

const PRIVATE_KEY_MESSAGE = 'this file holds a private key, not a certificate — upload the certificate only';

/** What a PEM label means, for every label that is not a certificate. */
function pemLabelRefusal(label: string): string | null {
  if (label === 'CERTIFICATE' || label === 'X509 CERTIFICATE') return null;
  if (label.includes('PRIVATE KEY')) return PRIVATE_KEY_MESSAGE;
  if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST') {
    return 'this file holds a certificate signing request (CSR), not a certificate — upload the certificate the CA issued';
  }
  if (label === 'PKCS7' || label === 'CMS') {
    return 'this file is a PKCS#7 bundle (.p7b), not a single certificate — export the IdP signing certificate on its own as .cer/.crt';
  }
  if (label === 'PKCS12') return 'this file is a PKCS#12 (.pfx/.p12) archive, which holds a private key — upload the certificate only';
  if (label === 'TRUSTED CERTIFICATE') {
    return 'this file uses OpenSSL\'s "TRUSTED CERTIFICATE" format — export it as a plain certificate ("BEGIN CERTIFICATE")';
  }
  if (label.includes('PUBLIC KEY')) return 'this file holds a bare public key, not a certificate — upload the X.509 certificate';
  if (label === 'X509 CRL') return 'this file holds a certificate revocation list (CRL), not a certificate';
  if (label === 'ATTRIBUTE CERTIFICATE') return 'this file holds an attribute certificate, not an X.509 public-key certificate';
  return `this file holds "${label}" data, not a certificate`;
}

function derFromPem(text: string): Buffer {
  const blocks: { label: string; body: string }[] = [];
  const begin = /-----BEGIN ([^\r\n-]*)-----/g;
  let match: RegExpExecArray | null;
  while ((match = begin.exec(text)) !== null) {
    const label = match[1]!.trim();
    const endMarker = `-----END ${label}-----`;
    const endIndex = text.indexOf(endMarker, begin.lastIndex);
    const nextBegin = text.indexOf('-----BEGIN', begin.lastIndex);
    if (endIndex < 0 || (nextBegin >= 0 && nextBegin < endIndex)) {
      // Label first: an incomplete private key must still be called a private key.
      refuse(pemLabelRefusal(label) ?? 'the PEM certificate is incomplete: its "-----END CERTIFICATE-----" line is missing (the file may be truncated)');
    }
    blocks.push({ label, body: text.slice(begin.lastIndex, endIndex) });
    begin.lastIndex = endIndex + endMarker.length;
  }
  // A private key anywhere in the file is refused first: it must not be stored or echoed.
  if (blocks.some((b) => pemLabelRefusal(b.label) === PRIVATE_KEY_MESSAGE)) refuse(PRIVATE_KEY_MESSAGE);
  for (const block of blocks) {
    const refusal = pemLabelRefusal(block.label);
    if (refusal) refuse(refusal);
  }
  if (blocks.length === 0) refuse('the PEM data has no "-----BEGIN CERTIFICATE-----" line');
  if (blocks.length > 1) {
    refuse(`this file holds ${blocks.length} certificates; upload exactly one — the IdP's signing certificate, not a chain`);
  }
  const body = blocks[0]!.body;
  if (/^[ \t]*[A-Za-z-]+:/m.test(body)) refuse('the PEM certificate has unexpected header lines');
  const base64 = body.replace(/\s+/g, '');
  if (base64 === '') refuse('the PEM certificate block is empty');
  if (!isStrictBase64(base64)) refuse('the PEM certificate is damaged: its body is not valid base64 (the file may be truncated or edited)');
  return checkDerShape(Buffer.from(base64, 'base64'));
}

/**
 * Makes sure the DER holds exactly one certificate, and names what it holds otherwise.
 * Returns a copy, so the caller's buffer can be reused.
 */
function checkDerShape(der: Buffer): Buffer {
  if (der.length === 0) refuse('the file is empty');
  // Every structure we can name is a SEQUENCE; anything else is not worth decoding further.
  if (der[0] !== TAG.SEQUENCE) {
    refuse('this is not a certificate: the file is neither a PEM certificate nor a DER-encoded X.509 certificate');
  }
  let top: DerNode;
  try {
    top = readNodeHeader(der, 0);
  } catch (error) {
    refuseDer(error);
  }
  if (top.end > der.length) {
    refuse('the certificate is truncated: the file ends before the certificate does (was the upload or copy cut short?)');
  }
  let kind: StructureKind;
  try {
    kind = identify(der, top);
  } catch (error) {
    refuseDer(error);
  }
  if (kind !== 'certificate') refuse(STRUCTURE_REFUSALS[kind]);
  if (top.end < der.length) {
    if (followedByAnotherCertificate(der, top.end)) {
      refuse('this file holds more than one certificate; upload exactly one — the IdP\'s signing certificate, not a chain');
    }
    refuse('the file has unexpected data after the certificate');
  }
  return Buffer.from(der);
}

function refuseDer(error: unknown): never {
  if (error instanceof DerError) {
    if (error.kind === 'truncated') {
      refuse('the certificate is truncated: the file ends before the certificate does (was the upload or copy cut short?)');
    }
    refuse('this is not a well-formed X.509 certificate: its encoding is damaged');
  }
  throw error;
}

type StructureKind =
  | 'certificate'
  | 'csr'
  | 'crl'
  | 'pkcs7'
  | 'pkcs12'
  | 'private-key'
  | 'encrypted-private-key'
  | 'public-key'
  | 'unknown';

const STRUCTURE_REFUSALS: Readonly<Record<Exclude<StructureKind, 'certificate'>, string>> = {
  csr: 'this file holds a certificate signing request (CSR), not a certificate — upload the certificate the CA issued',
  crl: 'this file holds a certificate revocation list (CRL), not a certificate',
  pkcs7: 'this file is a PKCS#7 bundle (.p7b), not a single certificate — export the IdP signing certificate on its own as .cer/.crt',
  pkcs12: 'this file is a PKCS#12 (.pfx/.p12) archive, which holds a private key — upload the certificate only',
  'private-key': PRIVATE_KEY_MESSAGE,
  'encrypted-private-key': PRIVATE_KEY_MESSAGE,
  'public-key': 'this file holds a bare public key, not a certificate — upload the X.509 certificate',
  unknown: 'this is not a well-formed X.509 certificate',
};

/** Tells the common DER structures apart by their outline (RFC 5280, 2986, 5208, 5958, 7292, 2315). */
function identify(der: Buffer, top: DerNode): StructureKind {
  const kids = childrenOf(der, top);
  const tags = kids.map((k) => k.tag);
  const intValue = (node: DerNode | undefined): number | null =>
    node && node.tag === TAG.INTEGER ? decodeSmallInteger(contentOf(der, node)) : null;

  // PKCS#7 / CMS ContentInfo: { contentType OID, [0] content }
  if (tags[0] === TAG.OID) {
    return decodeOid(contentOf(der, kids[0]!)).startsWith(`${OID_PKCS7}.`) ? 'pkcs7' : 'unknown';
  }
  // Certificate, CSR and CRL: { tbs SEQUENCE, signatureAlgorithm SEQUENCE, signature BIT STRING }
  if (kids.length === 3 && tags[0] === TAG.SEQUENCE && tags[1] === TAG.SEQUENCE && tags[2] === TAG.BIT_STRING) {
    const tbs = childrenOf(der, kids[0]!);
    const t = tbs.map((k) => k.tag);
    // CertificationRequestInfo: { version INTEGER 0, subject, subjectPKInfo, [0] attributes }
    if (tbs.length === 4 && t[0] === TAG.INTEGER && t[1] === TAG.SEQUENCE && t[2] === TAG.SEQUENCE && t[3] === TAG.CONTEXT_0) {
      return 'csr';
    }
    // TBSCertificate: [0] version?, serial INTEGER, signature, issuer, validity, subject, SPKI, …
    const at = t[0] === TAG.CONTEXT_0 ? 1 : 0;
    if (
      t[at] === TAG.INTEGER &&
      t[at + 1] === TAG.SEQUENCE &&
      t[at + 2] === TAG.SEQUENCE &&
      t[at + 3] === TAG.SEQUENCE &&
      t[at + 4] === TAG.SEQUENCE &&
      t[at + 5] === TAG.SEQUENCE
    ) {
      return 'certificate';
    }
    // TBSCertList: version INTEGER?, signature, issuer, thisUpdate Time, …
    const crlAt = t[0] === TAG.INTEGER ? 1 : 0;
    if (t[crlAt] === TAG.SEQUENCE && t[crlAt + 1] === TAG.SEQUENCE && (t[crlAt + 2] === TAG.UTC_TIME || t[crlAt + 2] === TAG.GENERALIZED_TIME)) {
      return 'crl';
    }
    return 'unknown';
  }
  // PFX: { version INTEGER 3, authSafe ContentInfo, macData? }
  if (intValue(kids[0]) === 3 && tags[1] === TAG.SEQUENCE) {
    const authSafe = childrenOf(der, kids[1]!);
    if (authSafe[0]?.tag === TAG.OID && decodeOid(contentOf(der, authSafe[0])).startsWith(`${OID_PKCS7}.`)) return 'pkcs12';
  }
  const first = intValue(kids[0]);
  // PKCS#8 PrivateKeyInfo / OneAsymmetricKey: { version 0|1, algorithm SEQUENCE, privateKey OCTET STRING, … }
  if ((first === 0 || first === 1) && tags[1] === TAG.SEQUENCE && tags[2] === TAG.OCTET_STRING) return 'private-key';
  // SEC 1 ECPrivateKey: { version 1, privateKey OCTET STRING, … }
  if (first === 1 && tags[1] === TAG.OCTET_STRING) return 'private-key';
  // PKCS#1 RSAPrivateKey (9+ INTEGERs) and OpenSSL's DSA private key (6 INTEGERs), both starting with 0
  if (first === 0 && kids.length >= 6 && tags.every((tag) => tag === TAG.INTEGER)) return 'private-key';
  // EncryptedPrivateKeyInfo: { encryptionAlgorithm SEQUENCE, encryptedData OCTET STRING }
  if (kids.length === 2 && tags[0] === TAG.SEQUENCE && tags[1] === TAG.OCTET_STRING) return 'encrypted-private-key';
  // SubjectPublicKeyInfo: { algorithm SEQUENCE, subjectPublicKey BIT STRING }; PKCS#1 RSAPublicKey: { n, e }
  if (kids.length === 2 && tags[0] === TAG.SEQUENCE && tags[1] === TAG.BIT_STRING) return 'public-key';
  if (kids.length === 2 && tags[0] === TAG.INTEGER && tags[1] === TAG.INTEGER) return 'public-key';
  return 'unknown';
}

function followedByAnotherCertificate(der: Buffer, offset: number): boolean {
  try {
    const next = readNodeHeader(der, offset);
    if (next.tag !== TAG.SEQUENCE) return false;
    // A second certificate may itself be cut short; its outline is enough to name it.
    if (next.end > der.length) return true;
    return identify(der, next) === 'certificate';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Certificate contents

function openCertificate(der: Buffer): X509Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    refuse('this is not a well-formed X.509 certificate: its contents are damaged or use an unsupported encoding');
  }
  // X509Certificate stops after the first certificate; checkDerShape already refused trailing
  // data, and this catches a DER walk that disagrees with OpenSSL's.
  if (!x509.raw.equals(der)) refuse('this is not a well-formed X.509 certificate: its encoding is not canonical DER');
  return x509;
}

interface CertificateKey {
  keyType: CertificateKeyType;
  keySize: number;
  curve?: CertificateCurve;
}

/** The certificate's public key if it is one we accept (R-CERT-2), else a refusal naming it. */
function keyOf(x509: X509Certificate): CertificateKey {
  let key: KeyObject;
  try {
    key = x509.publicKey;
  } catch {
    refuse(`the certificate's public key type is not supported; ${ACCEPTED_KEYS}`);
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (!ACCEPTED_RSA_SIZES.has(bits)) refuse(`RSA keys of ${bits} bits are not supported; ${ACCEPTED_KEYS}`);
    return { keyType: 'RSA', keySize: bits };
  }
  if (type === 'ec') {
    const curveName = details.namedCurve;
    const curve = curveName ? CURVES[curveName] : undefined;
    if (!curve) {
      const label = curveName ? (CURVE_LABELS[curveName] ?? curveName) : 'explicit parameters';
      refuse(`EC keys on curve ${label} are not supported; ${ACCEPTED_KEYS}`);
    }
    return { keyType: 'EC', keySize: curve.size, curve: curve.curve };
  }
  const label = type ? (KEY_TYPE_LABELS[type] ?? type) : 'unknown';
  refuse(`${label} keys are not supported; ${ACCEPTED_KEYS}`);
}

interface CertificateFields {
  version: number;
  signatureAlgorithmOid: string;
  notBefore: number;
  notAfter: number;
  subjectPublicKeyInfo: Buffer;
}

/** The fields X509Certificate does not give us, read from the DER it already accepted. */
function readCertificateFields(der: Buffer): CertificateFields {
  try {
    const top = readNodeWithin(der, 0);
    const [tbsNode, sigAlgNode] = childrenOf(der, top);
    const tbs = childrenOf(der, tbsNode!);
    let version = 1;
    let at = 0;
    if (tbs[0]?.tag === TAG.CONTEXT_0) {
      const [versionInt] = childrenOf(der, tbs[0]);
      const v = versionInt?.tag === TAG.INTEGER ? decodeSmallInteger(contentOf(der, versionInt)) : null;
      if (v === null) throw new DerError('malformed', 'bad version');
      version = v + 1;
      at = 1;
    }
    const validity = childrenOf(der, tbs[at + 3]!);
    const [algorithmOid] = childrenOf(der, sigAlgNode!);
    if (algorithmOid?.tag !== TAG.OID || validity.length !== 2) throw new DerError('malformed', 'bad certificate');
    return {
      version,
      signatureAlgorithmOid: decodeOid(contentOf(der, algorithmOid)),
      notBefore: decodeTime(der, validity[0]!),
      notAfter: decodeTime(der, validity[1]!),
      subjectPublicKeyInfo: Buffer.from(encodingOf(der, tbs[at + 5]!)),
    };
  } catch (error) {
    if (error instanceof DerError) refuse('this is not a well-formed X.509 certificate: its encoding is damaged');
    throw error;
  }
}

/** node prints one RDN per line; the console shows them on one line like OpenSSL does. */
function formatName(name: string): string {
  return name.split('\n').filter((part) => part !== '').join(', ');
}

function fingerprint(algorithm: 'sha1' | 'sha256', der: Buffer): string {
  return createHash(algorithm).update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}
