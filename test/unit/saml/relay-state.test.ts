import assert from 'node:assert/strict';
import { RELAY_STATE_MAX_BYTES, isRelayStateHandle, newRelayStateHandle } from '../../../src/saml/relay-state.js';

describe('saml/relay-state', () => {
  it('is URL-safe and within the 80-byte limit of SAML bindings §3.4.3', () => {
    for (let i = 0; i < 100; i++) {
      const handle = newRelayStateHandle();
      assert.ok(Buffer.byteLength(handle, 'utf8') <= RELAY_STATE_MAX_BYTES);
      assert.match(handle, /^[A-Za-z0-9_-]+$/);
      assert.equal(encodeURIComponent(handle), handle);
      assert.ok(isRelayStateHandle(handle));
    }
  });

  it('carries at least 128 random bits', () => {
    const handle = newRelayStateHandle();
    assert.ok(Buffer.from(handle, 'base64url').length * 8 >= 128);
    // Distinct every time, and every bit position varies across a sample (no fixed bytes).
    const sample = Array.from({ length: 256 }, () => Buffer.from(newRelayStateHandle(), 'base64url'));
    assert.equal(new Set(sample.map((b) => b.toString('hex'))).size, sample.length);
    const bits = sample[0]!.length * 8;
    for (let bit = 0; bit < bits; bit++) {
      const ones = sample.filter((b) => (b[bit >> 3]! >> (7 - (bit & 7))) & 1).length;
      assert.ok(ones > 0 && ones < sample.length, `bit ${bit} never changes`);
    }
  });

  it('does not take a URL or a target for a handle', () => {
    for (const value of [undefined, '', '/app/home', 'https://app.example.com/', 'a'.repeat(31), 'a'.repeat(33), `${'a'.repeat(31)}=`]) {
      assert.equal(isRelayStateHandle(value), false, String(value));
    }
  });
});
