/**
 * Shared pieces of the metadata integration tests: org setup through the API, snapshots of
 * everything an import may change (to prove a refusal changed nothing), and a tiny HTTP
 * server whose document a test can swap (a followed metadata URL).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { auth, createApiKey } from '../../support/fixtures.js';
import type { TestApp } from '../../support/test-app.js';

export { auth } from '../../support/fixtures.js';

export function sample(name: string): string {
  return readFileSync(new URL(`../../../metadata/${name}`, import.meta.url), 'utf8');
}

let counter = 0;

/** A new SSO organisation (slug) and an org-admin key for it. */
export async function newOrg(t: TestApp, opts: { ssoEnabled?: boolean } = {}): Promise<{ slug: string; key: string; id: string }> {
  const slug = `md${++counter}-${crypto.randomBytes(3).toString('hex')}.example`;
  const created = await request(t.app)
    .post('/api/v1/orgs')
    .set(auth(t.superKey))
    .send({ slug, name: `Metadata ${counter}`, domains: [], ssoEnabled: opts.ssoEnabled ?? true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const key = await createApiKey(t, slug, 'orgAdmin', 'metadata');
  return { slug, key, id: created.body.id as string };
}

export async function generateServiceCertificate(t: TestApp, slug: string, key: string, alias = 'sp'): Promise<{ id: string; pem: string }> {
  const r = await request(t.app).post(`/api/v1/orgs/${slug}/service-certificates`).set(auth(key)).send({ alias, validityDays: 365 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const pem = await request(t.app).get(`/api/v1/orgs/${slug}/service-certificates/${r.body.id}/export`).set(auth(key)).buffer(true).parse(text);
  return { id: r.body.id as string, pem: String(pem.body) };
}

/** supertest parser keeping the body as text whatever its type. */
export const text = ((res: http.IncomingMessage, cb: (err: Error | null, body: string) => void) => {
  let data = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (data += chunk));
  res.on('end', () => cb(null, data));
}) as unknown as Parameters<request.Test['parse']>[0];

/** Everything a metadata import can change for `orgId`. */
export async function snapshot(t: TestApp, orgId: string) {
  const db = t.ctx.database.db;
  return {
    org: await db.selectFrom('orgs').selectAll().where('id', '=', orgId).execute(),
    sso: await db.selectFrom('sso_configs').selectAll().where('org_id', '=', orgId).execute(),
    certificates: await db.selectFrom('org_certificates').selectAll().where('org_id', '=', orgId).orderBy('id').execute(),
    source: await db.selectFrom('metadata_sources').selectAll().where('org_id', '=', orgId).execute(),
    audit: await db.selectFrom('audit_log').selectAll().where('org_id', '=', orgId).orderBy('seq').execute(),
  };
}

export async function auditEntries(t: TestApp, orgId: string) {
  return t.ctx.database.db.selectFrom('audit_log').selectAll().where('org_id', '=', orgId).orderBy('seq').execute();
}

/** A metadata server on 127.0.0.1 whose answer a test sets. */
export class MetadataServer {
  private server!: http.Server;
  port = 0;
  status = 200;
  body = '';
  hits = 0;

  async start(): Promise<this> {
    this.server = http.createServer((_req, res) => {
      this.hits++;
      res.statusCode = this.status;
      res.setHeader('content-type', 'application/samlmetadata+xml');
      res.end(this.body);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/metadata.xml'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
