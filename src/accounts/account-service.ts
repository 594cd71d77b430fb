/**
 * Administration of accounts (R-ACC-6, R-ACC-7) for the API, the console and the CLI. Every
 * change writes exactly one audit entry in its own transaction; refusals change nothing.
 *
 * Who may do what (beyond the `users:manage` capability):
 * - only a super or organisation administrator may create administrators or change roles;
 * - a user administrator manages member accounts only (it may not edit, deactivate or
 *   reactivate an orgAdmin or userAdmin account — that would be a way to take one over).
 *
 * Primary administrator (R-ACC-6, guide: "Primary Administrators cannot be deactivated"): the
 * org's last active orgAdmin account. It can be neither deactivated nor demoted while it is the
 * last one — promote or reactivate another orgAdmin first. The guard is a condition of the SQL
 * update, taken under an org lock, so two concurrent requests cannot deactivate the last two.
 */
import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AppContext } from '../app-context.js';
import { ApiError } from '../admin/api-error.js';
import { authorize, type Principal } from '../admin/principal.js';
import { parseInput } from '../admin/validation.js';
import {
  findAccountByEmail,
  findAccountById,
  findAccountBySsoId,
  findAccountByUid,
  insertAccount,
  lockOrgAccounts,
  searchAccounts,
  setAccountStatus,
  updateAccount,
  type Account,
  type AccountChanges,
} from '../store/accounts.js';
import { recordAudit } from '../store/audit.js';
import { onUniqueViolation, type Dialect, type Executor } from '../store/database.js';
import type { Org } from '../store/orgs.js';
import type { Database } from '../store/schema.js';
import { emitAccountDeactivated } from './account-events.js';
import type { AccountRole, AccountStatus } from './provisioning-rules.js';
import {
  createAccountSchema,
  patchAccountSchema,
  searchAccountsSchema,
  type PatchAccountInput,
} from './users-schemas.js';

/** The account as the API shows it (Appendix A). */
export function accountView(a: Account) {
  return {
    id: a.id,
    uid: a.uid,
    email: a.email,
    firstname: a.firstname,
    lastname: a.lastname,
    status: a.status,
    role: a.role,
    ssoId: a.ssoId,
    attributes: a.attributes,
    updateTimeStamp: a.updateTimeStamp === null ? null : new Date(a.updateTimeStamp).toISOString(),
    createdAt: new Date(a.createdAt).toISOString(),
    updatedAt: new Date(a.updatedAt).toISOString(),
  };
}
export type AccountView = ReturnType<typeof accountView>;

export interface AccountPage {
  items: AccountView[];
  page: number;
  pageSize: number;
  total: number;
}

/** 403 unless the principal may give `role` (administrators are made by org admins or supers only). */
export function assertMayAssignRole(principal: Principal, role: AccountRole): void {
  if (role !== 'member' && principal.role !== 'super' && principal.role !== 'orgAdmin') {
    throw ApiError.forbidden('only an organisation administrator may create administrators or change roles');
  }
}

/** 403 when a user administrator reaches for an administrator's account. */
export function assertMayManageAccount(principal: Principal, account: Pick<Account, 'role'>): void {
  if (principal.role === 'userAdmin' && account.role !== 'member') {
    throw ApiError.forbidden('a user administrator may only manage member accounts');
  }
}

/** The 409 for a uid, e-mail or ssoid another account of the org holds, naming the field; null when free. */
export async function findIdentifierConflict(
  db: Executor,
  orgId: string,
  fields: { uid?: string; email?: string; ssoId?: string | null },
  exceptId?: string,
): Promise<ApiError | null> {
  const taken = (a: Account | undefined) => a !== undefined && a.id !== exceptId;
  if (fields.uid !== undefined && taken(await findAccountByUid(db, orgId, fields.uid))) {
    return ApiError.conflict(`uid ${fields.uid} is already used by another account`, 'uid');
  }
  if (fields.email !== undefined && taken(await findAccountByEmail(db, orgId, fields.email))) {
    return ApiError.conflict(`e-mail ${fields.email} is already used by another account`, 'email');
  }
  if (fields.ssoId != null && taken(await findAccountBySsoId(db, orgId, fields.ssoId))) {
    return ApiError.conflict('this ssoId is already bound to another account', 'ssoId');
  }
  return null;
}

async function loadAccount(ctx: AppContext, org: Org, id: string): Promise<Account> {
  const account = await findAccountById(ctx.database.db, org.id, id);
  if (!account) throw ApiError.notFound(`account ${id}`);
  return account;
}

export async function searchAccountsFor(ctx: AppContext, principal: Principal, org: Org, query: unknown): Promise<AccountPage> {
  authorize(principal, 'users:manage', org.id);
  const input = parseInput(searchAccountsSchema, query);
  const { items, total } = await searchAccounts(ctx.database.db, org.id, input);
  return { items: items.map(accountView), page: input.page, pageSize: input.pageSize, total };
}

export async function getAccountFor(ctx: AppContext, principal: Principal, org: Org, id: string): Promise<Account> {
  authorize(principal, 'users:manage', org.id);
  return loadAccount(ctx, org, id);
}

/** For the CLI: an account by id, else by uid, else by e-mail. */
export async function findAccountByRef(ctx: AppContext, principal: Principal, org: Org, ref: string): Promise<Account> {
  authorize(principal, 'users:manage', org.id);
  const db = ctx.database.db;
  const account =
    (await findAccountById(db, org.id, ref)) ?? (await findAccountByUid(db, org.id, ref)) ?? (await findAccountByEmail(db, org.id, ref));
  if (!account) throw ApiError.notFound(`account ${ref}`);
  return account;
}

export async function createAccountFor(ctx: AppContext, principal: Principal, org: Org, body: unknown): Promise<Account> {
  authorize(principal, 'users:manage', org.id);
  const input = parseInput(createAccountSchema(org.domains), body);
  assertMayAssignRole(principal, input.role);
  const db = ctx.database.db;
  const conflict = await findIdentifierConflict(db, org.id, input);
  if (conflict) throw conflict;
  const attributes = Object.fromEntries(
    Object.entries(input.attributes ?? {}).filter((e): e is [string, string] => e[1] !== null),
  );
  const now = ctx.clock.now();
  const account: Omit<Account, 'updatedAt'> = {
    id: crypto.randomUUID(),
    orgId: org.id,
    uid: input.uid,
    email: input.email,
    firstname: input.firstname,
    lastname: input.lastname,
    status: input.status,
    role: input.role,
    ssoId: input.ssoId ?? null,
    attributes,
    updateTimeStamp: input.updateTimeStamp ?? null,
    createdAt: now,
  };
  return onUniqueViolation(async () => {
    return await db.transaction().execute(async (trx) => {
      const created = await insertAccount(trx, account);
      await recordAudit(
        trx,
        { orgId: org.id, actor: principal.actor, action: 'account.create', target: `account:${created.id}`, details: { after: auditState(created) } },
        now,
      );
      return created;
    });
  }, async () => (await findIdentifierConflict(db, org.id, input)) ?? ApiError.conflict('the account changed concurrently; retry'));
}

/** What an audit entry shows of an account: everything but timestamps (nothing here is secret). */
function auditState(a: Account) {
  const { id: _id, orgId: _org, createdAt: _c, updatedAt: _u, ...rest } = a;
  return rest;
}

export interface AccountDiff {
  changes: AccountChanges;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** The changes a patch makes to `account` (empty when none), with before/after of the changed fields. */
export function diffAccount(account: Account, input: PatchAccountInput): AccountDiff {
  const changes: AccountChanges = {};
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const key of ['uid', 'email', 'firstname', 'lastname', 'role', 'ssoId', 'updateTimeStamp'] as const) {
    const value = input[key];
    if (value === undefined || value === account[key]) continue;
    (changes as Record<string, unknown>)[key] = value;
    before[key] = account[key];
    after[key] = value;
  }
  if (input.attributes !== undefined) {
    const merged: Record<string, string> = { ...account.attributes };
    const attrBefore: Record<string, string | null> = {};
    const attrAfter: Record<string, string | null> = {};
    for (const [name, value] of Object.entries(input.attributes)) {
      const old = account.attributes[name] ?? null;
      if (value === old) continue;
      if (value === null) delete merged[name];
      else merged[name] = value;
      attrBefore[name] = old;
      attrAfter[name] = value;
    }
    if (Object.keys(attrAfter).length > 0) {
      changes.attributes = merged;
      before.attributes = attrBefore;
      after.attributes = attrAfter;
    }
  }
  // The store derives the name search from both names, so they travel together.
  if (changes.firstname !== undefined || changes.lastname !== undefined) {
    changes.firstname ??= account.firstname;
    changes.lastname ??= account.lastname;
  }
  return { changes, before, after };
}

export async function patchAccountFor(ctx: AppContext, principal: Principal, org: Org, id: string, body: unknown): Promise<Account> {
  authorize(principal, 'users:manage', org.id);
  const account = await loadAccount(ctx, org, id);
  assertMayManageAccount(principal, account);
  const input = parseInput(patchAccountSchema(org.domains), body);
  if (input.role !== undefined && input.role !== account.role) assertMayAssignRole(principal, input.role);
  const diff = diffAccount(account, input);
  if (Object.keys(diff.after).length === 0) return account; // nothing changed: no write, no audit entry
  const db = ctx.database.db;
  const conflict = await findIdentifierConflict(db, org.id, diff.changes, account.id);
  if (conflict) throw conflict;
  const now = ctx.clock.now();
  const demotesAdmin = diff.changes.role !== undefined && account.role === 'orgAdmin';
  await onUniqueViolation(async () => {
    await db.transaction().execute(async (trx) => {
      if (demotesAdmin) await lockOrgAccounts(trx, ctx.database.dialect, org.id);
      const changed = await updateAccount(trx, org.id, account.id, diff.changes, now, { keepActiveOrgAdmin: demotesAdmin });
      if (!changed) {
        if (!(await findAccountById(trx, org.id, account.id))) throw ApiError.notFound(`account ${id}`);
        throw primaryAdminConflict('demoted', 'role');
      }
      await recordAudit(
        trx,
        { orgId: org.id, actor: principal.actor, action: 'account.update', target: `account:${account.id}`, details: { before: diff.before, after: diff.after } },
        now,
      );
    });
  }, async () => (await findIdentifierConflict(db, org.id, diff.changes, account.id)) ?? ApiError.conflict('the account changed concurrently; retry'));
  return loadAccount(ctx, org, account.id);
}

function primaryAdminConflict(verb: string, field?: string): ApiError {
  return ApiError.conflict(
    `the organisation's only active administrator (its primary administrator) cannot be ${verb}; make another account orgAdmin first`,
    field,
  );
}

/**
 * Deactivates inside `trx`: guards the primary administrator, then runs the deactivation hooks
 * (session and token revocation) in the same transaction. Returns false when already inactive.
 * @throws ApiError 409 for the primary administrator, 404 when the account is gone.
 */
export async function deactivateInTransaction(
  trx: Transaction<Database>,
  dialect: Dialect,
  orgId: string,
  accountId: string,
  now: number,
): Promise<boolean> {
  await lockOrgAccounts(trx, dialect, orgId);
  const changed = await setAccountStatus(trx, orgId, accountId, 'inactive', now, { keepActiveOrgAdmin: true });
  if (!changed) {
    const current = await findAccountById(trx, orgId, accountId);
    if (!current) throw ApiError.notFound(`account ${accountId}`);
    if (current.status === 'inactive') return false;
    throw primaryAdminConflict('deactivated');
  }
  await emitAccountDeactivated(trx, { orgId, accountId, now });
  return true;
}

/** R-ACC-6: the account can no longer sign in, and its sessions and tokens are revoked at once. */
export function deactivateAccount(ctx: AppContext, principal: Principal, org: Org, id: string): Promise<Account> {
  return changeStatus(ctx, principal, org, id, 'inactive');
}

export function reactivateAccount(ctx: AppContext, principal: Principal, org: Org, id: string): Promise<Account> {
  return changeStatus(ctx, principal, org, id, 'active');
}

/** One audit entry when the status changes; none when it already was `to` (or changed meanwhile). */
async function changeStatus(ctx: AppContext, principal: Principal, org: Org, id: string, to: AccountStatus): Promise<Account> {
  authorize(principal, 'users:manage', org.id);
  const account = await loadAccount(ctx, org, id);
  assertMayManageAccount(principal, account);
  if (account.status === to) return account;
  const now = ctx.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    const changed =
      to === 'inactive'
        ? await deactivateInTransaction(trx, ctx.database.dialect, org.id, account.id, now)
        : await setAccountStatus(trx, org.id, account.id, 'active', now);
    if (!changed) return;
    await recordAudit(
      trx,
      {
        orgId: org.id,
        actor: principal.actor,
        action: to === 'inactive' ? 'account.deactivate' : 'account.reactivate',
        target: `account:${account.id}`,
        details: { uid: account.uid, before: { status: account.status }, after: { status: to } },
      },
      now,
    );
  });
  return loadAccount(ctx, org, account.id);
}
