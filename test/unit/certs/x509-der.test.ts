import assert from 'node:assert/strict';
import {
  DerError,
  childrenOf,
  decodeOid,
  decodeSmallInteger,
  decodeTime,
  readNodeHeader,
  readNodeWithin,
} from '../../../src/certs/x509-der.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex');

function assertDerError(kind: 'truncated' | 'malformed', fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => error instanceof DerError && error.kind === kind);
}

describe('certs/x509-der', () => {
  it('reads short and long lengths', () => {
    assert.deepEqual(readNodeHeader(hex('30 03 02 01 05'), 0), { tag: 0x30, start: 0, contentStart: 2, end: 5 });
    const long = Buffer.concat([hex('04 82 01 00'), Buffer.alloc(256)]);
    assert.deepEqual(readNodeWithin(long, 0), { tag: 0x04, start: 0, contentStart: 4, end: 260 });
  });

  it('refuses indefinite, oversized and high-tag-number headers as malformed', () => {
    assertDerError('malformed', () => readNodeHeader(hex('30 80 00 00'), 0));
    assertDerError('malformed', () => readNodeHeader(hex('30 85 01 02 03 04 05'), 0));
    assertDerError('malformed', () => readNodeHeader(hex('1f 81 01 00'), 0));
  });

  it('reports data that ends early as truncated', () => {
    assertDerError('truncated', () => readNodeHeader(hex('30'), 0));
    assertDerError('truncated', () => readNodeHeader(hex('30 82 01'), 0));
    assertDerError('truncated', () => readNodeWithin(hex('30 05 02 01'), 0));
    // A child that claims more than its parent holds.
    const parent = readNodeWithin(hex('30 03 02 05 00'), 0);
    assertDerError('truncated', () => childrenOf(hex('30 03 02 05 00'), parent));
  });

  it('decodes object identifiers, including large arcs', () => {
    assert.equal(decodeOid(hex('2a 86 48 86 f7 0d 01 01 0b')), '1.2.840.113549.1.1.11');
    assert.equal(decodeOid(hex('2a 86 48 ce 3d 04 03 02')), '1.2.840.10045.4.3.2');
    assert.equal(decodeOid(hex('2b 65 70')), '1.3.101.112');
    assert.equal(decodeOid(hex('88 37 03')), '2.999.3');
    assertDerError('malformed', () => decodeOid(hex('2a 86')));
    assertDerError('malformed', () => decodeOid(Buffer.alloc(0)));
  });

  it('decodes small non-negative integers only', () => {
    assert.equal(decodeSmallInteger(hex('02')), 2);
    assert.equal(decodeSmallInteger(hex('00 ff')), 255);
    assert.equal(decodeSmallInteger(hex('ff')), null); // negative
    assert.equal(decodeSmallInteger(hex('01 02 03 04 05')), null);
  });

  it('decodes UTCTime with the RFC 5280 century rule, and GeneralizedTime', () => {
    const time = (tag: number, text: string): number => {
      const buf = Buffer.concat([Buffer.from([tag, text.length]), Buffer.from(text, 'latin1')]);
      return decodeTime(buf, readNodeWithin(buf, 0));
    };
    assert.equal(time(0x17, '491231235959Z'), Date.UTC(2049, 11, 31, 23, 59, 59));
    assert.equal(time(0x17, '500101000000Z'), Date.UTC(1950, 0, 1));
    assert.equal(time(0x18, '20550601120000Z'), Date.UTC(2055, 5, 1, 12));
    assertDerError('malformed', () => time(0x17, '5001010000Z'));
    assertDerError('malformed', () => time(0x17, '500101000000+0100'));
    assertDerError('malformed', () => time(0x04, '500101000000Z'));
  });
});
