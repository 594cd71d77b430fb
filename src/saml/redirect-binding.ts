/**
 * SAML 2.0 HTTP-Redirect binding (saml-bindings-2.0-os §3.4): DEFLATE (raw) + base64 +
 * URL-encoding, with the query-string signature of §3.4.4.1 over
 * `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as the octets appear in the URL.
 *
 * Decoding verifies the signature over the raw, still URL-encoded parameters as received —
 * never over values we decoded and encoded again, because two encoders may disagree on
 * which characters to escape and the signer signed its own octets.
 */
import { type KeyObject, createPrivateKey, sign, verify } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SsoError } from './sso-error.js';
import { DSIG_ALG } from './namespaces.js';

export type RedirectMessageKind = 'SAMLRequest' | 'SAMLResponse';

interface QuerySignatureAlgorithm {
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  keyType: 'rsa' | 'ec';
  weak: boolean;
}

/** Query-string signature algorithms we produce and accept; SHA-1 only when the caller allows it. */
const QUERY_SIGNATURE_ALGORITHMS: ReadonlyMap<string, QuerySignatureAlgorithm> = new Map([
  [DSIG_ALG.rsaSha256, { hash: 'sha256', keyType: 'rsa', weak: false }],
  [DSIG_ALG.rsaSha384, { hash: 'sha384', keyType: 'rsa', weak: false }],
  [DSIG_ALG.rsaSha512, { hash: 'sha512', keyType: 'rsa', weak: false }],
  [DSIG_ALG.ecdsaSha256, { hash: 'sha256', keyType: 'ec', weak: false }],
  [DSIG_ALG.ecdsaSha384, { hash: 'sha384', keyType: 'ec', weak: false }],
  [DSIG_ALG.ecdsaSha512, { hash: 'sha512', keyType: 'ec', weak: false }],
  [DSIG_ALG.rsaSha1, { hash: 'sha1', keyType: 'rsa', weak: true }],
]);

export interface EncodeRedirectInput {
  /** The IdP endpoint; an existing query string is kept and our parameters appended. */
  endpoint: string;
  /** The protocol message XML (AuthnRequest, LogoutRequest, LogoutResponse). */
  message: string;
  kind: RedirectMessageKind;
  relayState?: string | undefined;
  /** When given, the query string is signed (§3.4.4.1). */
  signingKey?: KeyObject | string | undefined;
  /** XML-DSig signature algorithm URI; default RSA-SHA256. */
  sigAlg?: string | undefined;
}

/** Returns the full URL to redirect the browser to. */
export function encodeRedirect(input: EncodeRedirectInput): string {
  const url = new URL(input.endpoint);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('redirect endpoint must be an http(s) URL');
  }
  const encodedMessage = encodeURIComponent(deflateRawSync(Buffer.from(input.message, 'utf8')).toString('base64'));
  let query = `${input.kind}=${encodedMessage}`;
  if (input.relayState !== undefined) query += `&RelayState=${encodeURIComponent(input.relayState)}`;

  if (input.signingKey !== undefined) {
    const sigAlg = input.sigAlg ?? DSIG_ALG.rsaSha256;
    const algorithm = QUERY_SIGNATURE_ALGORITHMS.get(sigAlg);
    if (!algorithm || algorithm.weak) throw new TypeError(`unsupported signature algorithm for signing: ${sigAlg}`);
    const key = typeof input.signingKey === 'string' ? createPrivateKey(input.signingKey) : input.signingKey;
    if (key.type !== 'private') throw new TypeError('signingKey must be a private key');
    if (key.asymmetricKeyType !== algorithm.keyType) {
      throw new TypeError(`signingKey is ${key.asymmetricKeyType ?? 'unknown'} but ${sigAlg} needs ${algorithm.keyType}`);
    }
    query += `&SigAlg=${encodeURIComponent(sigAlg)}`;
    // XML-DSig ECDSA signatures are r||s (RFC 4051 §3.3), not DER.
    const signature = sign(algorithm.hash, Buffer.from(query, 'utf8'), { key, dsaEncoding: 'ieee-p1363' });
    query += `&Signature=${encodeURIComponent(signature.toString('base64'))}`;
  }

  // Keep the endpoint's own query string byte for byte (re-serializing it through
  // URLSearchParams could change its encoding) and any fragment after our parameters.
  const hashAt = input.endpoint.indexOf('#');
  const base = hashAt === -1 ? input.endpoint : input.endpoint.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : input.endpoint.slice(hashAt);
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${query}${fragment}`;
}

export interface DecodeRedirectOptions {
  /**
   * Keys of the sender. When given (even empty), a valid query signature by one of them is
   * required; when absent, nothing is verified and the result says `verified: false`.
   */
  verifyKeys?: readonly KeyObject[] | undefined;
  /** Accept RSA-SHA1 query signatures (org setting `allowSha1`). */
  allowSha1?: boolean | undefined;
  /** Cap on the inflated message, against DEFLATE bombs. Default 256 KiB. */
  maxMessageBytes?: number | undefined;
}

export interface DecodedRedirect {
  kind: RedirectMessageKind;
  /**
   * The inflated XML, not yet parsed: the caller must parse it with parseXmlStrict
   * (src/xml/strict-parser.ts), never with a permissive parser.
   */
  xml: string;
  relayState?: string;
  sigAlg?: string;
  /** True only when a signature was required and verified with one of `verifyKeys`. */
  verified: boolean;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
const BINDING_PARAMETERS = new Set(['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature']);

function malformed(reason: string): SsoError {
  return new SsoError('SSO_MALFORMED', reason);
}

/** Percent-decoding for base64 values: a literal `+` can only be a base64 `+`, never a space. */
function decodeBase64Parameter(name: string, raw: string): Buffer {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw malformed(`${name} is not valid percent-encoding`);
  }
  // Some senders wrap base64 at 76 columns; line breaks carry no data.
  text = text.replace(/\r?\n/g, '');
  if (text === '' || !BASE64.test(text)) throw malformed(`${name} is not valid base64`);
  return Buffer.from(text, 'base64');
}

/** Form-style percent-decoding (`+` is a space) for RelayState and SigAlg. */
function decodeFormParameter(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw malformed(`${name} is not valid percent-encoding`);
  }
}

/**
 * Decodes (and, with `verifyKeys`, verifies) an HTTP-Redirect binding message.
 * @param rawQuery the query string exactly as received (with or without the leading `?`),
 *   e.g. `req.originalUrl.slice(req.originalUrl.indexOf('?'))` — not Express's parsed `req.query`.
 */
export function decodeRedirect(rawQuery: string, options: DecodeRedirectOptions = {}): DecodedRedirect {
  const query = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
  const raw = new Map<string, string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    if (!BINDING_PARAMETERS.has(name)) continue; // other parameters belong to the endpoint, not the binding
    // A repeated parameter makes "the" signed value ambiguous between us and the signer.
    if (raw.has(name)) throw malformed(`duplicate ${name} parameter`);
    raw.set(name, value);
  }

  const hasRequest = raw.has('SAMLRequest');
  const hasResponse = raw.has('SAMLResponse');
  if (hasRequest === hasResponse) throw malformed('exactly one of SAMLRequest or SAMLResponse is required');
  const kind: RedirectMessageKind = hasRequest ? 'SAMLRequest' : 'SAMLResponse';
  const rawMessage = raw.get(kind)!;
  const rawRelayState = raw.get('RelayState');
  const rawSigAlg = raw.get('SigAlg');
  const rawSignature = raw.get('Signature');

  let verified = false;
  let sigAlg: string | undefined;
  if (rawSigAlg !== undefined) sigAlg = decodeFormParameter('SigAlg', rawSigAlg);

  if (options.verifyKeys !== undefined) {
    if (rawSigAlg === undefined || rawSignature === undefined || sigAlg === undefined) {
      throw new SsoError('SSO_SIGNATURE', 'redirect message is not signed');
    }
    const algorithm = QUERY_SIGNATURE_ALGORITHMS.get(sigAlg);
    if (!algorithm) throw new SsoError('SSO_SIGNATURE', `unsupported SigAlg ${sigAlg}`);
    if (algorithm.weak && !options.allowSha1) throw new SsoError('SSO_WEAK_ALGORITHM', `SigAlg ${sigAlg} is not allowed`);
    let signature: Buffer;
    try {
      signature = decodeBase64Parameter('Signature', rawSignature);
    } catch {
      throw new SsoError('SSO_SIGNATURE', 'Signature is not valid base64');
    }
    // §3.4.4.1: the signed octets are the parameters in this fixed order, as they were encoded.
    let signed = `${kind}=${rawMessage}`;
    if (rawRelayState !== undefined) signed += `&RelayState=${rawRelayState}`;
    signed += `&SigAlg=${rawSigAlg}`;
    const signedBytes = Buffer.from(signed, 'utf8');
    verified = options.verifyKeys.some((key) => {
      if (key.asymmetricKeyType !== algorithm.keyType) return false;
      try {
        return verify(algorithm.hash, signedBytes, { key, dsaEncoding: 'ieee-p1363' }, signature);
      } catch {
        return false;
      }
    });
    if (!verified) throw new SsoError('SSO_SIGNATURE', 'query signature does not verify with any trusted key');
  }

  const deflated = decodeBase64Parameter(kind, rawMessage);
  const maxOutputLength = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let xml: string;
  try {
    xml = inflateRawSync(deflated, { maxOutputLength }).toString('utf8');
  } catch {
    throw malformed(`${kind} is not valid DEFLATE data or inflates beyond ${maxOutputLength} bytes`);
  }

  const result: DecodedRedirect = { kind, xml, verified };
  if (rawRelayState !== undefined) result.relayState = decodeFormParameter('RelayState', rawRelayState);
  if (sigAlg !== undefined) result.sigAlg = sigAlg;
  return result;
}
