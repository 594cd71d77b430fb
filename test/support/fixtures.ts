/**
 * Fixtures the store, flow and API suites share: orgs written straight to the store, API
 * keys made through the admin API, and the audit count that "exactly one entry" checks read.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Executor } from '../../src/store/database.js';
import { insertOrg, type Org } from '../../src/store/orgs.js';
import type { TestApp } from './test-app.js';

export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

export type TestOrg = Pick<Org, 'id' | 'slug' | 'createdAt'> & Partial<Omit<Org, 'version' | 'updatedAt'>>;

/** An SSO-enabled org (name and only domain = its slug unless given) inserted through the store. */
export function insertTestOrg(db: Executor, org: TestOrg): Promise<Org> {
  return insertOrg(db, {
    name: org.slug,
    domains: [org.slug],
    ssoEnabled: true,
    delegatedAuthOrg: false,
    imLoggingEnabled: false,
    ...org,
  });
}

/** A new API key of `role` for the org `slug`, made by the super admin; the label defaults to the role. */
export async function createApiKey(t: TestApp, slug: string, role: string, label = role): Promise<string> {
  const r = await request(t.app).post(`/api/v1/orgs/${slug}/api-keys`).set(auth(t.superKey)).send({ role, label });
  assert.equal(r.status, 201, `api key: ${JSON.stringify(r.body)}`);
  return r.body.key as string;
}

/** The accounts and the audit log, to prove a refused request changed neither. */
export async function accountsAndAudit(t: TestApp) {
  const db = t.ctx.database.db;
  return {
    accounts: await db.selectFrom('accounts').selectAll().orderBy('id').execute(),
    audit: await db.selectFrom('audit_log').selectAll().orderBy('seq').execute(),
  };
}

export async function auditCount(t: TestApp): Promise<number> {
  const r = await t.ctx.database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}
