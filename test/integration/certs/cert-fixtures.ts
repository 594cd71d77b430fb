/**
 * Shared pieces of the certificate integration tests: organisations made through the API,
 * table snapshots to prove a refused request changed nothing, and a raw dump of every table
 * to prove no private key is stored in clear.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { sql } from 'kysely';
import request from 'supertest';
import { auth, createApiKey } from '../../support/fixtures.js';
import type { TestApp } from '../../support/test-app.js';

export { auth, auditCount } from '../../support/fixtures.js';

let orgCounter = 0;

/** A fresh organisation (so tests do not share certificate limits) and an org-admin key for it. */
export async function newOrg(
  t: TestApp,
  flags: { ssoEnabled?: boolean; delegatedAuthOrg?: boolean } = { ssoEnabled: true },
): Promise<{ slug: string; key: string }> {
  const slug = `org${++orgCounter}-${crypto.randomBytes(3).toString('hex')}.example`;
  const created = await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug, name: slug, ...flags });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { slug, key: await createApiKey(t, slug, 'orgAdmin', 'admin') };
}

/** Everything a refused certificate request must leave untouched. */
export async function snapshot(t: TestApp) {
  const db = t.ctx.database.db;
  return {
    orgs: await db.selectFrom('orgs').selectAll().orderBy('id').execute(),
    service: await db.selectFrom('service_certificates').selectAll().orderBy('id').execute(),
    org: await db.selectFrom('org_certificates').selectAll().orderBy('id').execute(),
    audit: await db.selectFrom('audit_log').selectAll().orderBy('seq').execute(),
  };
}

export async function orgVersion(t: TestApp, slug: string): Promise<number> {
  const r = await t.ctx.database.db.selectFrom('orgs').select('version').where('slug', '=', slug).executeTakeFirstOrThrow();
  return Number(r.version);
}

/** Every value of every row of every table of the database, as text (Buffers as base64 and hex too). */
export async function dumpAllTables(t: TestApp): Promise<{ tables: string[]; text: string }> {
  const db = t.ctx.database.db;
  const tables =
    t.ctx.database.dialect === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name)
      : (
          await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(db)
        ).rows.map((r) => r.name);
  const parts: string[] = [];
  for (const table of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
    for (const row of rows) {
      for (const value of Object.values(row)) {
        if (Buffer.isBuffer(value)) parts.push(value.toString('base64'), value.toString('hex'), value.toString('latin1'));
        else parts.push(String(value));
      }
    }
  }
  return { tables, text: parts.join('\n') };
}
