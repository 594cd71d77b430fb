import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchMetadataDocument, metadataUrlProblem, type FetchMetadataOptions } from '../../../../src/saml/metadata-fetcher.js';
import { MetadataInputError } from '../../../../src/saml/metadata/metadata-input-error.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MetadataInputError, String(err));
    assert.equal(err.field, 'url');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('metadata fetcher (R-SAML-7: timeout, size limit, https, resolved-address check)', () => {
  let server: http.Server;
  let port: number;
  let handler: Handler;
  let requests: number;
  const BODY = '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>';

  before(async () => {
    server = http.createServer((req, res) => {
      requests++;
      handler(req, res);
    });
    port = await listen(server);
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    requests = 0;
    handler = (_req, res) => res.end(BODY);
  });

  const lab: FetchMetadataOptions = { allowPrivate: true };

  it('fetches from an allow-listed private address (plain http only there)', async () => {
    const r = await fetchMetadataDocument(`http://127.0.0.1:${port}/md.xml`, lab);
    assert.equal(r.body.toString(), BODY);
  });

  it('refuses private, loopback and link-local targets by the RESOLVED address unless allow-listed, before connecting', async () => {
    await refused(fetchMetadataDocument(`https://127.0.0.1:${port}/md.xml`, { allowPrivate: false }), /resolves to 127\.0\.0\.1.*FEDBRIDGE_METADATA_ALLOW_PRIVATE/);
    await refused(
      fetchMetadataDocument('https://idp.example.com/md.xml', { allowPrivate: false, resolve: async () => [{ address: '169.254.169.254', family: 4 }] }),
      /resolves to 169\.254\.169\.254/,
    );
    // A name with one public and one private address: refused (either could be connected to).
    await refused(
      fetchMetadataDocument('https://idp.example.com/md.xml', {
        allowPrivate: false,
        resolve: async () => [
          { address: '93.184.216.34', family: 4 },
          { address: '10.0.0.5', family: 4 },
        ],
      }),
      /10\.0\.0\.5/,
    );
    await refused(fetchMetadataDocument('https://[::1]/md.xml', { allowPrivate: false }), /resolves to ::1/);
    assert.equal(requests, 0, 'nothing reached the private server');
  });

  it('https only; plain http refused on the open internet even when private targets are allowed', async () => {
    await refused(fetchMetadataDocument(`http://127.0.0.1:${port}/md.xml`, { allowPrivate: false }), /must be an https URL/);
    await refused(
      fetchMetadataDocument('http://idp.example.com/md.xml', { allowPrivate: true, resolve: async () => [{ address: '93.184.216.34', family: 4 }] }),
      /plain http is allowed only/,
    );
    for (const bad of ['ftp://idp.example/md', 'file:///etc/passwd', 'https://user:pw@idp.example/md', 'not a url', 'javascript:alert(1)']) {
      assert.ok(metadataUrlProblem(bad, true), bad);
    }
    assert.equal(requests, 0);
  });

  it('connects to the checked address: the resolver is asked once (no DNS rebinding between check and connect)', async () => {
    let asked = 0;
    const r = await fetchMetadataDocument(`http://metadata.lab.test:${port}/md.xml`, {
      allowPrivate: true,
      resolve: async () => {
        asked++;
        return asked === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '203.0.113.1', family: 4 }];
      },
    });
    assert.equal(r.body.toString(), BODY);
    assert.equal(asked, 1);
  });

  it('size limit: by Content-Length and while streaming', async () => {
    handler = (_req, res) => {
      res.setHeader('content-length', String(2 * 1024 * 1024));
      res.end();
    };
    await refused(fetchMetadataDocument(`http://127.0.0.1:${port}/big`, lab), /larger than 1048576 bytes/);
    handler = (_req, res) => {
      res.write(Buffer.alloc(600 * 1024, 0x20));
      res.end(Buffer.alloc(600 * 1024, 0x20));
    };
    await refused(fetchMetadataDocument(`http://127.0.0.1:${port}/chunked`, lab), /larger than 1048576 bytes/);
  });

  it('timeout for the whole exchange', async () => {
    handler = () => {}; // never answers
    const started = Date.now();
    await refused(fetchMetadataDocument(`http://127.0.0.1:${port}/slow`, { ...lab, timeoutMs: 200 }), /no complete answer within 200 ms/);
    assert.ok(Date.now() - started < 5000);
  });

  it('HTTP errors and redirects (followed at most three times, each target checked again)', async () => {
    handler = (_req, res) => {
      res.statusCode = 404;
      res.end('no');
    };
    await refused(fetchMetadataDocument(`http://127.0.0.1:${port}/missing`, lab), /answered HTTP 404/);

    handler = (req, res) => {
      const n = Number(/\/hop(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
      res.statusCode = 302;
      res.setHeader('location', n >= 2 ? '/final' : `/hop${n + 1}`);
      if (req.url === '/final') {
        res.statusCode = 200;
        res.end(BODY);
        return;
      }
      res.end();
    };
    assert.equal((await fetchMetadataDocument(`http://127.0.0.1:${port}/hop0`, lab)).url, `http://127.0.0.1:${port}/final`);

    handler = (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/again');
      res.end();
    };
    await refused(fetchMetadataDocument(`http://127.0.0.1:${port}/loop`, lab), /more than 3 redirects/);

    // Each redirect target is checked like the first URL: here, plain http to a public address.
    handler = (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://public.example.net/md.xml');
      res.end();
    };
    await refused(
      fetchMetadataDocument(`http://127.0.0.1:${port}/r`, {
        allowPrivate: true,
        resolve: async (host) => [{ address: host === 'public.example.net' ? '93.184.216.34' : '127.0.0.1', family: 4 }],
      }),
      /plain http is allowed only/,
    );
  });

  it('https with certificate verification against the host NAME while connecting to the pinned address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-subj', '/CN=metadata.lab.test', '-addext', 'subjectAltName=DNS:metadata.lab.test', '-days', '2',
      ], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const tls = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_req, res) => res.end(BODY));
      const tlsPort = await listen(tls);
      try {
        const resolve = async () => [{ address: '127.0.0.1', family: 4 }];
        const r = await fetchMetadataDocument(`https://metadata.lab.test:${tlsPort}/md.xml`, { allowPrivate: true, resolve, ca: cert });
        assert.equal(r.body.toString(), BODY);
        // Without trusting that certificate the TLS handshake fails: nothing is accepted unverified.
        await refused(fetchMetadataDocument(`https://metadata.lab.test:${tlsPort}/md.xml`, { allowPrivate: true, resolve }), /cannot fetch the metadata/);
        // The same server under another name does not match its certificate.
        await refused(
          fetchMetadataDocument(`https://other.lab.test:${tlsPort}/md.xml`, { allowPrivate: true, resolve, ca: cert }),
          /cannot fetch the metadata: ERR_TLS_CERT_ALTNAME_INVALID/,
        );
      } finally {
        await new Promise<void>((r) => tls.close(() => r()));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
