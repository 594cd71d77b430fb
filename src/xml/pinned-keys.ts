/**
 * Pinned certificates as node:crypto `KeyObject`s (R-SAML-10): a certificate is parsed once
 * and its public key cached by the SHA-256 fingerprint of its DER, so verifying a signature
 * never parses a certificate. Looking a certificate up costs a base64 decode and a hash.
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SsoError } from '../saml/sso-error.js';

/** Enough for every organisation's (≤ 3) certificates on one instance; oldest dropped first. */
const MAX_CACHED_KEYS = 10_000;
const cache = new Map<string, KeyObject>();

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function notACertificate(reason: string): SsoError {
  return new SsoError('SSO_CONFIG', `pinned certificate unusable: ${reason}`);
}

/**
 * The DER bytes of one certificate given as PEM (exactly one CERTIFICATE block), bare base64
 * (as in `ds:X509Certificate` or metadata), or DER / PEM bytes.
 */
export function certificateDer(certificate: string | Uint8Array): Buffer {
  if (typeof certificate !== 'string') {
    const bytes = Buffer.from(certificate.buffer, certificate.byteOffset, certificate.byteLength);
    // DER starts with a SEQUENCE tag; anything else is taken as PEM text.
    if (bytes[0] === 0x30) return Buffer.from(bytes);
    return certificateDer(bytes.toString('latin1'));
  }
  const blocks = [...certificate.matchAll(PEM_CERTIFICATE)];
  let base64: string;
  if (blocks.length > 1) throw notACertificate('more than one certificate in PEM');
  if (blocks.length === 1) base64 = blocks[0]![1]!.replace(/\s+/g, '');
  else if (certificate.includes('-----')) throw notACertificate('PEM block is not a CERTIFICATE');
  else base64 = certificate.replace(/\s+/g, '');
  if (base64.length === 0 || !BASE64.test(base64)) throw notACertificate('not base64');
  return Buffer.from(base64, 'base64');
}

/** Lower-case hex SHA-256 of the certificate's DER: the cache key and the R-CERT-3 fingerprint. */
export function certificateFingerprint(certificate: string | Uint8Array): string {
  return createHash('sha256').update(certificateDer(certificate)).digest('hex');
}

/**
 * The public key of a pinned certificate, parsed on first use and cached by fingerprint.
 * Throws `SsoError('SSO_CONFIG')` when the input is not one well-formed X.509 certificate.
 */
export function getPinnedKey(certificate: string | Uint8Array): KeyObject {
  const der = certificateDer(certificate);
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const cached = cache.get(fingerprint);
  if (cached) return cached;

  let key: KeyObject;
  try {
    key = new X509Certificate(der).publicKey;
  } catch (err) {
    throw notACertificate(err instanceof Error ? err.message : String(err));
  }
  if (cache.size >= MAX_CACHED_KEYS) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(fingerprint, key);
  return key;
}

/** Number of cached keys (for tests and metrics). */
export function pinnedKeyCacheSize(): number {
  return cache.size;
}

/** Empties the cache (tests; a key is immutable, so production never needs it). */
export function clearPinnedKeyCache(): void {
  cache.clear();
}
