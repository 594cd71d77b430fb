import crypto from 'node:crypto';
import type { MasterKey } from './master-key.js';

/**
 * Envelope encryption with AES-256-GCM (R-CERT-4): each secret gets its own random data
 * key, which is itself encrypted under the master key. The associated data binds a
 * ciphertext to its record (e.g. `service-cert:<id>`), so a ciphertext copied onto
 * another row does not decrypt.
 *
 * Format: `fbenc1:<kid>:<wrapIv>.<wrapTag>.<wrappedKey>:<iv>.<tag>.<ciphertext>` (base64url).
 */
const PREFIX = 'fbenc1';

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url')).join('.');
}

function gcmDecrypt(key: Buffer, packed: string, aad: Buffer): Buffer {
  const parts = packed.split('.');
  if (parts.length !== 3) throw new EnvelopeError('malformed ciphertext');
  const [iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
  if (iv.length !== 12 || tag.length !== 16) throw new EnvelopeError('malformed ciphertext');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch {
    throw new EnvelopeError('ciphertext does not authenticate (wrong key or associated data)');
  }
}

export function seal(master: MasterKey, plaintext: Buffer | string, associatedData: string): string {
  const aad = Buffer.from(associatedData, 'utf8');
  const dataKey = crypto.randomBytes(32);
  try {
    const wrapped = gcmEncrypt(master.key, dataKey, aad);
    const body = gcmEncrypt(dataKey, Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8'), aad);
    return `${PREFIX}:${master.kid}:${wrapped}:${body}`;
  } finally {
    dataKey.fill(0);
  }
}

export function open(master: MasterKey, sealed: string, associatedData: string): Buffer {
  const parts = sealed.split(':');
  if (parts.length !== 4 || parts[0] !== PREFIX) throw new EnvelopeError('not a fedbridge envelope');
  if (parts[1] !== master.kid) {
    throw new EnvelopeError(`sealed under master key ${parts[1]}, but the configured master key is ${master.kid}`);
  }
  const aad = Buffer.from(associatedData, 'utf8');
  const dataKey = gcmDecrypt(master.key, parts[2]!, aad);
  try {
    return gcmDecrypt(dataKey, parts[3]!, aad);
  } finally {
    dataKey.fill(0);
  }
}
