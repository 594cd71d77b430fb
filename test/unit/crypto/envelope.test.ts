import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnvelopeError, open, seal } from '../../../src/crypto/envelope.js';
import { decodeMasterKey, loadMasterKey, masterKeyFrom } from '../../../src/crypto/master-key.js';

describe('envelope encryption (R-CERT-4)', () => {
  const master = masterKeyFrom(crypto.randomBytes(32), 'environment');
  const secret = '-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n';

  it('round-trips and never contains the plaintext', () => {
    const sealed = seal(master, secret, 'service-cert:1');
    assert.ok(!sealed.includes('PRIVATE KEY'));
    assert.ok(sealed.startsWith(`fbenc1:${master.kid}:`));
    assert.equal(open(master, sealed, 'service-cert:1').toString('utf8'), secret);
  });

  it('uses a fresh data key and IV each time', () => {
    assert.notEqual(seal(master, secret, 'a'), seal(master, secret, 'a'));
  });

  it('refuses another record (associated data), another master key, and any tampering', () => {
    const sealed = seal(master, secret, 'service-cert:1');
    assert.throws(() => open(master, sealed, 'service-cert:2'), EnvelopeError);
    const other = masterKeyFrom(crypto.randomBytes(32), 'environment');
    assert.throws(() => open(other, sealed, 'service-cert:1'), /configured master key/);
    const parts = sealed.split(':');
    const body = parts[3]!.split('.');
    const ct = Buffer.from(body[2]!, 'base64url');
    ct[0]! ^= 1;
    body[2] = ct.toString('base64url');
    parts[3] = body.join('.');
    assert.throws(() => open(master, parts.join(':'), 'service-cert:1'), EnvelopeError);
    assert.throws(() => open(master, 'garbage', 'x'), EnvelopeError);
  });
});

describe('master key', () => {
  it('decodes hex and base64, refuses other lengths', () => {
    const k = crypto.randomBytes(32);
    assert.deepEqual(decodeMasterKey(k.toString('hex')), k);
    assert.deepEqual(decodeMasterKey(k.toString('base64')), k);
    assert.throws(() => decodeMasterKey(crypto.randomBytes(16).toString('hex')));
  });

  it('creates a 0600 key file on first start and reuses it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-mk-'));
    try {
      const certsDir = path.join(dir, 'certs');
      const a = loadMasterKey({ configured: undefined, certsDir });
      const stat = fs.statSync(path.join(certsDir, 'master.key'));
      assert.equal(stat.mode & 0o777, 0o600);
      const b = loadMasterKey({ configured: undefined, certsDir });
      assert.deepEqual(a.key, b.key);
      assert.equal(a.source, 'file');
      const env = loadMasterKey({ configured: crypto.randomBytes(32).toString('hex'), certsDir });
      assert.equal(env.source, 'environment');
      assert.notDeepEqual(env.key, a.key);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
