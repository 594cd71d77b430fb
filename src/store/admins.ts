import type { Selectable } from 'kysely';
import type { Executor } from './database.js';
import type { ApiKeysTable } from './schema.js';

export type AdminRole = 'super' | 'orgAdmin' | 'userAdmin';

export interface Admin {
  id: string;
  email: string;
  name: string;
  role: AdminRole;
  orgId: string | null;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  prefix: string;
  label: string;
  role: AdminRole;
  orgId: string | null;
  adminId: string | null;
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

function toApiKey(r: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: r.id,
    prefix: r.prefix,
    label: r.label,
    role: r.role as AdminRole,
    orgId: r.org_id,
    adminId: r.admin_id,
    createdBy: r.created_by,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export async function insertAdmin(db: Executor, admin: Admin & { passwordHash?: string | null }): Promise<void> {
  await db
    .insertInto('admins')
    .values({
      id: admin.id,
      email: admin.email,
      name: admin.name,
      role: admin.role,
      org_id: admin.orgId,
      password_hash: admin.passwordHash ?? null,
      created_at: admin.createdAt,
    })
    .execute();
}

export async function countSuperAdmins(db: Executor): Promise<number> {
  const r = await db
    .selectFrom('admins')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'super')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertApiKey(db: Executor, key: ApiKeyRecord & { keyHash: string }): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      key_hash: key.keyHash,
      prefix: key.prefix,
      label: key.label,
      role: key.role,
      org_id: key.orgId,
      admin_id: key.adminId,
      created_by: key.createdBy,
      created_at: key.createdAt,
      last_used_at: null,
      revoked_at: null,
    })
    .execute();
}

export async function findActiveApiKeyByHash(db: Executor, keyHash: string): Promise<ApiKeyRecord | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('key_hash', '=', keyHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row && toApiKey(row);
}

export async function listApiKeys(db: Executor, orgId: string): Promise<ApiKeyRecord[]> {
  const rows = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('created_at')
    .execute();
  return rows.map(toApiKey);
}

export async function findApiKey(db: Executor, orgId: string, id: string): Promise<ApiKeyRecord | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toApiKey(row);
}

export async function revokeApiKey(db: Executor, id: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function touchApiKey(db: Executor, id: string, now: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
}
