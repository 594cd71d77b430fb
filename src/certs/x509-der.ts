/**
 * A minimal DER reader: just enough to tell what kind of structure an uploaded file holds
 * and to read the certificate fields node's X509Certificate does not expose (version,
 * signature algorithm, raw validity, raw SubjectPublicKeyInfo). It reads tag/length/value
 * triples and nothing more, so it works the same for RSA and EC certificates (node-forge's
 * certificate parser only understands RSA keys).
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
} as const;

/** One DER element: offsets into the buffer it was read from. */
export interface DerNode {
  /** The identifier octet (only low-tag-number form is supported). */
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just after the last content octet (may exceed the buffer: see `truncated`). */
  readonly end: number;
}

/** Why a buffer is not well-formed DER: it stops early, or its bytes make no sense. */
export class DerError extends Error {
  override readonly name = 'DerError';
  constructor(
    readonly kind: 'truncated' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the element starting at `offset`. The element's declared end may lie beyond
 * `limit`; callers that need the whole value check `node.end <= limit` (`readNodeWithin`).
 */
export function readNodeHeader(buf: Buffer, offset: number, limit = buf.length): DerNode {
  if (offset >= limit) throw new DerError('truncated', 'no data where an element was expected');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('malformed', 'high-tag-number form is not expected here');
  if (offset + 1 >= limit) throw new DerError('truncated', 'data ends inside an element header');
  const first = buf[offset + 1]!;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    // 0x80 is BER's indefinite length, which DER forbids; more than 4 length octets would
    // describe a value larger than any certificate file we accept.
    if (count === 0) throw new DerError('malformed', 'indefinite length is not allowed in DER');
    if (count > 4) throw new DerError('malformed', 'element length is implausibly large');
    if (offset + 2 + count > limit) throw new DerError('truncated', 'data ends inside an element length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
    contentStart = offset + 2 + count;
  }
  return { tag, start: offset, contentStart, end: contentStart + length };
}

/** Reads one element that must fit entirely before `limit`. */
export function readNodeWithin(buf: Buffer, offset: number, limit = buf.length): DerNode {
  const node = readNodeHeader(buf, offset, limit);
  if (node.end > limit) throw new DerError('truncated', 'data ends inside an element value');
  return node;
}

/** The elements inside a constructed element; they must fill it exactly. */
export function childrenOf(buf: Buffer, parent: DerNode): DerNode[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('malformed', 'a primitive element has no children');
  const children: DerNode[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readNodeWithin(buf, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function contentOf(buf: Buffer, node: DerNode): Buffer {
  return buf.subarray(node.contentStart, node.end);
}

export function encodingOf(buf: Buffer, node: DerNode): Buffer {
  return buf.subarray(node.start, node.end);
}

/** Dotted-decimal form of an OBJECT IDENTIFIER's content octets. */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new DerError('malformed', 'empty object identifier');
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i]!;
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    } else if (i === content.length - 1) {
      throw new DerError('malformed', 'object identifier ends inside an arc');
    }
  }
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

/** A small non-negative INTEGER (versions, counters); null when it does not fit. */
export function decodeSmallInteger(content: Buffer): number | null {
  if (content.length === 0 || content.length > 4 || (content[0]! & 0x80) !== 0) return null;
  return content.reduce((acc, byte) => acc * 256 + byte, 0);
}

/** Milliseconds since the epoch of a UTCTime or GeneralizedTime element (RFC 5280 §4.1.2.5). */
export function decodeTime(buf: Buffer, node: DerNode): number {
  const text = contentOf(buf, node).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === TAG.UTC_TIME) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!match) throw new DerError('malformed', `bad UTCTime ${JSON.stringify(text)}`);
    const yy = Number(match[1]);
    // RFC 5280: YY >= 50 means 19YY, otherwise 20YY.
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === TAG.GENERALIZED_TIME) {
    // Fractional seconds are not allowed by RFC 5280 but appear in the wild; ignore them.
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
    if (!match) throw new DerError('malformed', `bad GeneralizedTime ${JSON.stringify(text)}`);
    year = Number(match[1]);
  } else {
    throw new DerError('malformed', 'expected a time');
  }
  const [, , month, day, hour, minute, second] = match.map(Number) as number[];
  return Date.UTC(year, month! - 1, day, hour, minute, second);
}
