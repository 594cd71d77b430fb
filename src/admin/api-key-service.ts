import crypto from 'node:crypto';
import { z } from 'zod';
import type { AppContext } from '../app-context.js';
import { hashSecret, newSecret } from '../crypto/secret-token.js';
import {
  countSuperAdmins,
  findActiveApiKeyByHash,
  findApiKey,
  insertAdmin,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  touchApiKey,
  type AdminRole,
  type ApiKeyRecord,
} from '../store/admins.js';
import { recordAudit } from '../store/audit.js';
import type { Executor } from '../store/database.js';
import type { Org } from '../store/orgs.js';
import { ApiError } from './api-error.js';
import { authorize, type Principal } from './principal.js';
import { parseInput } from './validation.js';

/** API keys are shown once at creation and stored only as a SHA-256 hash (R-ADM-2). */
export const API_KEY_PREFIX = 'fbk_';

export function apiKeyView(k: ApiKeyRecord) {
  return {
    id: k.id,
    prefix: k.prefix,
    label: k.label,
    role: k.role,
    createdBy: k.createdBy,
    createdAt: new Date(k.createdAt).toISOString(),
    lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
    revoked: k.revokedAt !== null,
  };
}

async function storeNewKey(
  db: Executor,
  input: { role: AdminRole; orgId: string | null; adminId: string | null; label: string; createdBy: string; plaintext?: string },
  now: number,
): Promise<{ record: ApiKeyRecord; key: string }> {
  const key = input.plaintext ?? newSecret(API_KEY_PREFIX);
  const record: ApiKeyRecord = {
    id: crypto.randomUUID(),
    // An operator-chosen key (bootstrap) shows no part of itself; generated keys show their start.
    prefix: input.plaintext ? 'chosen' : key.slice(0, 8),
    label: input.label,
    role: input.role,
    orgId: input.orgId,
    adminId: input.adminId,
    createdBy: input.createdBy,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
  };
  await insertApiKey(db, { ...record, keyHash: hashSecret(key) });
  return { record, key };
}

const createKeySchema = z
  .object({
    role: z.enum(['orgAdmin', 'userAdmin'], { error: 'must be orgAdmin or userAdmin' }),
    label: z.string().trim().min(1, 'must not be empty').max(100),
  })
  .strict();

export async function createOrgApiKey(ctx: AppContext, principal: Principal, org: Org, body: unknown) {
  authorize(principal, 'org:configure', org.id);
  const input = parseInput(createKeySchema, body);
  const now = ctx.clock.now();
  return ctx.database.db.transaction().execute(async (trx) => {
    const created = await storeNewKey(
      trx,
      { role: input.role, orgId: org.id, adminId: null, label: input.label, createdBy: principal.actor },
      now,
    );
    await recordAudit(
      trx,
      {
        orgId: org.id,
        actor: principal.actor,
        action: 'apiKey.create',
        target: `apiKey:${created.record.id}`,
        details: { after: apiKeyView(created.record) },
      },
      now,
    );
    return created;
  });
}

export async function listOrgApiKeys(ctx: AppContext, principal: Principal, org: Org) {
  authorize(principal, 'org:configure', org.id);
  return listApiKeys(ctx.database.db, org.id);
}

export async function revokeOrgApiKey(ctx: AppContext, principal: Principal, org: Org, id: string): Promise<void> {
  authorize(principal, 'org:configure', org.id);
  const key = await findApiKey(ctx.database.db, org.id, id);
  if (!key) throw ApiError.notFound(`API key ${id}`);
  const now = ctx.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    if (!(await revokeApiKey(trx, id, now))) return; // already revoked: nothing changes
    await recordAudit(
      trx,
      { orgId: org.id, actor: principal.actor, action: 'apiKey.revoke', target: `apiKey:${id}`, details: { before: apiKeyView(key) } },
      now,
    );
  });
}

/** Looks up a presented bearer key; undefined when unknown or revoked. */
export async function authenticateApiKey(ctx: AppContext, presented: string): Promise<Principal | undefined> {
  if (!presented.startsWith(API_KEY_PREFIX) && presented.length < 32) return undefined;
  const record = await findActiveApiKeyByHash(ctx.database.db, hashSecret(presented));
  if (!record) return undefined;
  const now = ctx.clock.now();
  // Coarse last-use tracking: one write per key per minute at most, off the hot path.
  if (record.lastUsedAt === null || now - record.lastUsedAt > 60_000) {
    void touchApiKey(ctx.database.db, record.id, now).catch(() => {});
  }
  return { actor: `apikey:${record.id}`, role: record.role, orgId: record.orgId };
}

const createAdminSchema = z
  .object({
    email: z.email({ error: 'must be an e-mail address' }),
    name: z.string().trim().min(1).max(200).optional(),
    role: z.enum(['super', 'orgAdmin', 'userAdmin']),
    orgId: z.string().nullable(),
  })
  .strict()
  .refine((a) => (a.role === 'super') === (a.orgId === null), {
    message: 'a super administrator has no org; org and user administrators need one',
    path: ['org'],
  });

/**
 * Creates an administrator with a first API key (CLI and bootstrap, R-ADM-1). `plaintextKey`
 * lets FEDBRIDGE_BOOTSTRAP_ADMIN_KEY choose the key for automation.
 */
export async function createAdministrator(
  ctx: AppContext,
  actor: string,
  body: unknown,
  plaintextKey?: string,
): Promise<{ adminId: string; key: string }> {
  const input = parseInput(createAdminSchema, body);
  const now = ctx.clock.now();
  const adminId = crypto.randomUUID();
  try {
    return await ctx.database.db.transaction().execute(async (trx) => {
      await insertAdmin(trx, {
        id: adminId,
        email: input.email.toLowerCase(),
        name: input.name ?? input.email,
        role: input.role,
        orgId: input.orgId,
        createdAt: now,
      });
      const { record, key } = await storeNewKey(
        trx,
        { role: input.role, orgId: input.orgId, adminId, label: `${input.email} (initial key)`, createdBy: actor, ...(plaintextKey && { plaintext: plaintextKey }) },
        now,
      );
      await recordAudit(
        trx,
        {
          orgId: input.orgId,
          actor,
          action: 'admin.create',
          target: `admin:${adminId}`,
          details: { after: { email: input.email, role: input.role, apiKeyId: record.id } },
        },
        now,
      );
      return { adminId, key };
    });
  } catch (err) {
    const e = err as { code?: string };
    if (e.code === '23505' || e.code?.startsWith('SQLITE_CONSTRAINT')) {
      throw ApiError.conflict(`an administrator with e-mail ${input.email} or this key already exists`, 'email');
    }
    throw err;
  }
}

export type BootstrapOutcome = 'exists' | 'created-from-environment' | 'needs-admin';

/** R-ADM-1: create the first super administrator from FEDBRIDGE_BOOTSTRAP_ADMIN_KEY, once. */
export async function bootstrapSuperAdmin(ctx: AppContext): Promise<BootstrapOutcome> {
  if ((await countSuperAdmins(ctx.database.db)) > 0) return 'exists';
  const key = ctx.config.bootstrapAdminKey;
  if (!key) return 'needs-admin';
  try {
    await createAdministrator(
      ctx,
      'bootstrap',
      { email: 'bootstrap@fedbridge.local', name: 'Bootstrap super administrator', role: 'super', orgId: null },
      key,
    );
  } catch (err) {
    // Several instances starting together: one creates the administrator, the others find it.
    if (err instanceof ApiError && err.status === 409 && (await countSuperAdmins(ctx.database.db)) > 0) return 'exists';
    throw err;
  }
  return 'created-from-environment';
}

export const BOOTSTRAP_HINT =
  'No super administrator exists yet. Create one with:\n' +
  '  npm run cli -- admin create --super --email you@example.com\n' +
  'or start once with FEDBRIDGE_BOOTSTRAP_ADMIN_KEY=<a random key of 32+ characters>.';
