import crypto from 'node:crypto';

/**
 * High-entropy secrets (API keys, session ids, refresh tokens) are stored only as SHA-256
 * hashes: with 256 random bits a fast hash is enough, and lookups stay indexable.
 */
export function newSecret(prefix: string, bytes = 32): string {
  return `${prefix}${crypto.randomBytes(bytes).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}
