import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The master key (R-CERT-4) protects every private key and token-signing key at rest.
 * It comes from FEDBRIDGE_MASTER_KEY or, by default, from `<certsDir>/master.key`, created
 * with mode 0600 on first start. Losing it makes stored keys unreadable, by design.
 */
export interface MasterKey {
  readonly key: Buffer;
  /** Short public id of the key, stored beside ciphertexts to detect a wrong key early. */
  readonly kid: string;
  readonly source: 'environment' | 'file';
}

export function decodeMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error('master key must be 32 bytes (64 hex characters or base64)');
  return key;
}

export function masterKeyFrom(key: Buffer, source: MasterKey['source']): MasterKey {
  const kid = crypto.createHash('sha256').update('fedbridge-master-key-id').update(key).digest('hex').slice(0, 12);
  return { key, kid, source };
}

export function loadMasterKey(opts: { configured: string | undefined; certsDir: string }): MasterKey {
  if (opts.configured) return masterKeyFrom(decodeMasterKey(opts.configured), 'environment');
  const file = path.resolve(opts.certsDir, 'master.key');
  if (fs.existsSync(file)) return masterKeyFrom(decodeMasterKey(fs.readFileSync(file, 'utf8')), 'file');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = crypto.randomBytes(32);
  // 'wx' so two instances starting together never overwrite each other's key.
  try {
    fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return masterKeyFrom(decodeMasterKey(fs.readFileSync(file, 'utf8')), 'file');
    }
    throw err;
  }
  return masterKeyFrom(key, 'file');
}
