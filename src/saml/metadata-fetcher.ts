/**
 * Fetches an IdP metadata document by URL (R-SAML-7) without becoming a tool for reaching
 * the operator's network:
 * - https only; plain http only when the operator allow-lists private addresses
 *   (`FEDBRIDGE_METADATA_ALLOW_PRIVATE`) AND the host resolves to non-public addresses only
 *   (a lab or intranet IdP), never to the open internet where it could be tampered with;
 * - the host name is resolved once, every address checked (address-policy.ts), and the
 *   connection made to the checked address (pinned), so DNS rebinding between check and
 *   connect cannot redirect it;
 * - a deadline for the whole exchange, a size limit enforced while reading, at most three
 *   redirects, each checked like the first URL; no credentials in URLs, no cookies.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from './metadata/address-policy.js';
import { MetadataInputError } from './metadata/metadata-input-error.js';

export const METADATA_MAX_BYTES = 1024 * 1024;
export const METADATA_FETCH_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;
const MAX_URL_LENGTH = 2048;

export type ResolveHost = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface FetchMetadataOptions {
  /** Operator allow-list for private targets (`ctx.config.metadataAllowPrivate`). */
  allowPrivate: boolean;
  timeoutMs?: number;
  maxBytes?: number;
  /** Name resolution (tests); default the system resolver. */
  resolve?: ResolveHost;
  /** Extra trusted CAs (tests serving https with their own CA). */
  ca?: string | string[];
}

export interface FetchedMetadata {
  body: Buffer;
  /** The URL the document finally came from (after redirects). */
  url: string;
  contentType: string | undefined;
}

function refuse(message: string): MetadataInputError {
  return new MetadataInputError(message, 'url');
}

const defaultResolve: ResolveHost = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Syntax checks of a metadata URL, before any network use. */
export function metadataUrlProblem(value: string, allowPrivate: boolean): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  if (/[\u0000-\u0020\u007f-\u009f]/.test(value)) return 'must not contain spaces or control characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://idp.example.com/metadata.xml';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowPrivate)) return 'must be an https URL';
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  if (!url.hostname) return 'must name a host';
  return undefined;
}

interface Target {
  url: URL;
  address: string;
  family: number;
}

async function resolveTarget(raw: string, opts: FetchMetadataOptions): Promise<Target> {
  const problem = metadataUrlProblem(raw, opts.allowPrivate);
  if (problem) throw refuse(`the metadata URL ${problem}`);
  const url = new URL(raw);
  url.hash = '';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (opts.resolve ?? defaultResolve)(host);
    } catch (err) {
      throw refuse(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (addresses.length === 0) throw refuse(`cannot resolve ${host}: no address`);
  const nonPublic = addresses.filter((a) => !isPublicAddress(a.address));
  if (nonPublic.length > 0 && !opts.allowPrivate) {
    throw refuse(
      `${host} resolves to ${nonPublic[0]!.address}, a private, loopback or reserved address; ` +
        'metadata is fetched only from public addresses unless the operator sets FEDBRIDGE_METADATA_ALLOW_PRIVATE',
    );
  }
  if (url.protocol === 'http:' && nonPublic.length !== addresses.length) {
    throw refuse('plain http is allowed only for hosts on the allow-listed private network; use https');
  }
  return { url, address: addresses[0]!.address, family: addresses[0]!.family };
}

/** A lookup that answers the pinned, already checked address, whatever the resolver says now. */
function pinnedLookup(target: Target): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
}

function requestOnce(
  target: Target,
  opts: FetchMetadataOptions,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ status: number; location?: string; body: Buffer; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const client = target.url.protocol === 'https:' ? https : http;
    const req = client.request(
      target.url,
      {
        method: 'GET',
        lookup: pinnedLookup(target),
        signal,
        headers: {
          accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1',
          'user-agent': 'fedbridge-metadata-fetcher',
        },
        ...(opts.ca !== undefined && client === https ? { ca: opts.ca } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          resolve({ status, ...(res.headers.location ? { location: res.headers.location } : {}), body: Buffer.alloc(0), contentType: undefined });
          return;
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          res.destroy();
          reject(refuse(`the metadata document is larger than ${maxBytes} bytes`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(refuse(`the metadata document is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks), contentType: res.headers['content-type'] }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Fetches `url` under the rules of the module comment. Throws MetadataInputError (field
 * `url`) with a reason an administrator can act on.
 */
export async function fetchMetadataDocument(rawUrl: string, opts: FetchMetadataOptions): Promise<FetchedMetadata> {
  const timeoutMs = opts.timeoutMs ?? METADATA_FETCH_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? METADATA_MAX_BYTES;
  const signal = AbortSignal.timeout(timeoutMs);
  let current = rawUrl;
  try {
    for (let hop = 0; ; hop++) {
      const target = await resolveTarget(current, opts);
      const res = await requestOnce(target, opts, maxBytes, signal);
      if (res.status >= 300 && res.status < 400) {
        if (!res.location) throw refuse(`${target.url.origin} answered ${res.status} without a Location`);
        if (hop >= MAX_REDIRECTS) throw refuse(`more than ${MAX_REDIRECTS} redirects`);
        current = new URL(res.location, target.url).toString();
        continue;
      }
      if (res.status !== 200) throw refuse(`${target.url.origin} answered HTTP ${res.status}`);
      return { body: res.body, url: target.url.toString(), contentType: res.contentType };
    }
  } catch (err) {
    if (err instanceof MetadataInputError) throw err;
    if (signal.aborted) throw refuse(`no complete answer within ${timeoutMs} ms`);
    const e = err as NodeJS.ErrnoException;
    throw refuse(`cannot fetch the metadata: ${e.code ?? e.message}`);
  }
}
