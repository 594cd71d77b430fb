import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import type { AccountRole, AccountStatus, ExistingAccount } from '../accounts/provisioning-rules.js';
import type { Dialect, Executor } from './database.js';
import type { Database } from './schema.js';
import type { AccountsTable } from './schema-accounts.js';

/** An account as stored: what the provisioning rules see, plus its org and timestamps. */
export interface Account extends ExistingAccount {
  orgId: string;
  createdAt: number;
  updatedAt: number;
}

export type NewAccount = Omit<Account, 'updatedAt'>;

/** Fields an update may set; status has its own conditional update (setAccountStatus). */
export type AccountChanges = Partial<
  Pick<Account, 'uid' | 'email' | 'firstname' | 'lastname' | 'role' | 'ssoId' | 'attributes' | 'updateTimeStamp'>
>;

export interface AccountSearch {
  /** Exact match, case-insensitive. */
  uid?: string;
  /** Exact match, case-insensitive. */
  email?: string;
  /** Substring of uid, e-mail or "firstname lastname", case-insensitive. */
  q?: string;
  status?: AccountStatus;
  /** 1-based. */
  page: number;
  pageSize: number;
}

/**
 * The form uniqueness and search compare: NFC so composed and decomposed accents are one
 * account, lower-cased in JavaScript so both engines store the same bytes.
 */
export function normalizeAccountKey(value: string): string {
  return value.trim().normalize('NFC').toLowerCase();
}

function nameNorm(firstname: string, lastname: string): string {
  return normalizeAccountKey(`${firstname} ${lastname}`);
}

function toAccount(r: Selectable<AccountsTable>): Account {
  return {
    id: r.id,
    orgId: r.org_id,
    uid: r.uid,
    email: r.email,
    firstname: r.firstname,
    lastname: r.lastname,
    status: r.status as AccountStatus,
    role: r.role as AccountRole,
    ssoId: r.sso_id,
    attributes: JSON.parse(r.attributes) as Record<string, string>,
    updateTimeStamp: r.update_time_stamp,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** @throws a unique violation (isUniqueViolation) when the uid, e-mail or ssoid is taken in the org. */
export async function insertAccount(db: Executor, a: NewAccount): Promise<Account> {
  await db
    .insertInto('accounts')
    .values({
      id: a.id,
      org_id: a.orgId,
      uid: a.uid,
      uid_norm: normalizeAccountKey(a.uid),
      email: a.email,
      email_norm: normalizeAccountKey(a.email),
      firstname: a.firstname,
      lastname: a.lastname,
      name_norm: nameNorm(a.firstname, a.lastname),
      status: a.status,
      role: a.role,
      sso_id: a.ssoId,
      attributes: JSON.stringify(a.attributes),
      update_time_stamp: a.updateTimeStamp,
      created_at: a.createdAt,
      updated_at: a.createdAt,
    })
    .execute();
  return { ...a, updatedAt: a.createdAt };
}

/** Scoped to the org: an id from another org is "not found". */
export async function findAccountById(db: Executor, orgId: string, id: string): Promise<Account | undefined> {
  const row = await db.selectFrom('accounts').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row && toAccount(row);
}

export async function findAccountByUid(db: Executor, orgId: string, uid: string): Promise<Account | undefined> {
  const row = await db
    .selectFrom('accounts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('uid_norm', '=', normalizeAccountKey(uid))
    .executeTakeFirst();
  return row && toAccount(row);
}

export async function findAccountByEmail(db: Executor, orgId: string, email: string): Promise<Account | undefined> {
  const row = await db
    .selectFrom('accounts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('email_norm', '=', normalizeAccountKey(email))
    .executeTakeFirst();
  return row && toAccount(row);
}

/**
 * Exact match: an ssoid is an opaque IdP identifier (often base64, where case matters), so
 * folding case could join two different people.
 */
export async function findAccountBySsoId(db: Executor, orgId: string, ssoId: string): Promise<Account | undefined> {
  const row = await db
    .selectFrom('accounts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('sso_id', '=', ssoId)
    .executeTakeFirst();
  return row && toAccount(row);
}

/**
 * R-ACC-2 lookup by NameID: the account whose uid is the NameID, else the one whose e-mail is.
 * The uid wins when both exist, because the uid is the account's identifier.
 */
export async function findAccountByNameId(db: Executor, orgId: string, nameId: string): Promise<Account | undefined> {
  return (await findAccountByUid(db, orgId, nameId)) ?? (await findAccountByEmail(db, orgId, nameId));
}

/** Accounts holding any of these ids, uids, e-mails or ssoids (for imports); inputs are chunked. */
export async function findAccountsByKeys(
  db: Executor,
  orgId: string,
  keys: { ids?: string[]; uids?: string[]; emails?: string[]; ssoIds?: string[] },
): Promise<Account[]> {
  const found = new Map<string, Account>();
  const run = async (column: 'id' | 'uid_norm' | 'email_norm' | 'sso_id', values: string[]) => {
    const unique = [...new Set(values)];
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await db
        .selectFrom('accounts')
        .selectAll()
        .where('org_id', '=', orgId)
        .where(column, 'in', unique.slice(i, i + 500))
        .execute();
      for (const r of rows) found.set(r.id, toAccount(r));
    }
  };
  await run('id', keys.ids ?? []);
  await run('uid_norm', (keys.uids ?? []).map(normalizeAccountKey));
  await run('email_norm', (keys.emails ?? []).map(normalizeAccountKey));
  await run('sso_id', keys.ssoIds ?? []);
  return [...found.values()];
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function searchAccounts(
  db: Executor,
  orgId: string,
  s: AccountSearch,
): Promise<{ items: Account[]; total: number }> {
  let q = db.selectFrom('accounts').where('org_id', '=', orgId);
  if (s.uid !== undefined) q = q.where('uid_norm', '=', normalizeAccountKey(s.uid));
  if (s.email !== undefined) q = q.where('email_norm', '=', normalizeAccountKey(s.email));
  if (s.status !== undefined) q = q.where('status', '=', s.status);
  if (s.q !== undefined && s.q.trim() !== '') {
    // Both sides are lower-cased already; LIKE is then case-insensitive on both engines.
    const pattern = `%${escapeLike(normalizeAccountKey(s.q))}%`;
    q = q.where((eb) =>
      eb.or([
        sql<boolean>`${eb.ref('uid_norm')} like ${pattern} escape '\\'`,
        sql<boolean>`${eb.ref('email_norm')} like ${pattern} escape '\\'`,
        sql<boolean>`${eb.ref('name_norm')} like ${pattern} escape '\\'`,
      ]),
    );
  }
  const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const rows = await q
    .selectAll()
    .orderBy('uid_norm')
    .orderBy('id')
    .limit(s.pageSize)
    .offset((s.page - 1) * s.pageSize)
    .execute();
  return { items: rows.map(toAccount), total: Number(n) };
}

/** The org's accounts in uid order, `limit` at a time after `afterUid` (keyset paging, for exports). */
export async function listAccountsAfter(db: Executor, orgId: string, afterUid: string | null, limit: number): Promise<Account[]> {
  let q = db.selectFrom('accounts').selectAll().where('org_id', '=', orgId);
  if (afterUid !== null) q = q.where('uid_norm', '>', normalizeAccountKey(afterUid));
  return (await q.orderBy('uid_norm').limit(limit).execute()).map(toAccount);
}

/**
 * SQL guard of the primary-administrator rule: the row is not an active orgAdmin, or another
 * active orgAdmin remains in its org.
 */
function keepsAnActiveOrgAdmin(eb: ExpressionBuilder<Database, 'accounts'>) {
  return eb.or([
    eb('accounts.role', '!=', 'orgAdmin'),
    eb('accounts.status', '!=', 'active'),
    eb.exists(
      eb
        .selectFrom('accounts as other')
        .select('other.id')
        .whereRef('other.org_id', '=', 'accounts.org_id')
        .whereRef('other.id', '!=', 'accounts.id')
        .where('other.role', '=', 'orgAdmin')
        .where('other.status', '=', 'active'),
    ),
  ]);
}

export interface UpdateGuards {
  /** Only while the account is active (SSO never updates a deactivated account). */
  ifActive?: boolean;
  /** Only when the stored updateTimeStamp is null or older than this (R-ACC-4, race-free). */
  ifUpdateTimeStampBefore?: number;
  /** Refuse (no row changed) when this would remove the org's last active orgAdmin. */
  keepActiveOrgAdmin?: boolean;
}

/**
 * Conditional update; returns whether the row changed (false: not found in the org, or a guard
 * failed). `firstname` and `lastname` are given together or not at all.
 * @throws a unique violation when the new uid, e-mail or ssoid is taken.
 */
export async function updateAccount(
  db: Executor,
  orgId: string,
  id: string,
  changes: AccountChanges,
  now: number,
  guards: UpdateGuards = {},
): Promise<boolean> {
  // name_norm is derived from both names, so a change of one must carry the other.
  if ((changes.firstname === undefined) !== (changes.lastname === undefined)) {
    throw new Error('updateAccount: firstname and lastname change together');
  }
  let q = db
    .updateTable('accounts')
    .set({
      ...(changes.uid !== undefined && { uid: changes.uid, uid_norm: normalizeAccountKey(changes.uid) }),
      ...(changes.email !== undefined && { email: changes.email, email_norm: normalizeAccountKey(changes.email) }),
      ...(changes.firstname !== undefined && { firstname: changes.firstname }),
      ...(changes.lastname !== undefined && { lastname: changes.lastname }),
      ...(changes.firstname !== undefined && changes.lastname !== undefined && { name_norm: nameNorm(changes.firstname, changes.lastname) }),
      ...(changes.role !== undefined && { role: changes.role }),
      ...(changes.ssoId !== undefined && { sso_id: changes.ssoId }),
      ...(changes.attributes !== undefined && { attributes: JSON.stringify(changes.attributes) }),
      ...(changes.updateTimeStamp !== undefined && { update_time_stamp: changes.updateTimeStamp }),
      updated_at: now,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id);
  if (guards.ifActive) q = q.where('status', '=', 'active');
  const before = guards.ifUpdateTimeStampBefore;
  if (before !== undefined) {
    q = q.where((eb) => eb.or([eb('update_time_stamp', 'is', null), eb('update_time_stamp', '<', before)]));
  }
  if (guards.keepActiveOrgAdmin) q = q.where(keepsAnActiveOrgAdmin);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Sets the status when it differs; returns whether the row changed. With keepActiveOrgAdmin a
 * deactivation of the org's last active orgAdmin changes nothing.
 */
export async function setAccountStatus(
  db: Executor,
  orgId: string,
  id: string,
  status: AccountStatus,
  now: number,
  guards: { keepActiveOrgAdmin?: boolean } = {},
): Promise<boolean> {
  let q = db
    .updateTable('accounts')
    .set({ status, updated_at: now })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', '!=', status);
  if (guards.keepActiveOrgAdmin) q = q.where(keepsAnActiveOrgAdmin);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function countActiveOrgAdmins(db: Executor, orgId: string): Promise<number> {
  const { n } = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .where('role', '=', 'orgAdmin')
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(n);
}

/**
 * Serializes changes to an org's administrators inside a transaction. SQLite transactions are
 * already serial; on PostgreSQL (READ COMMITTED) two concurrent deactivations of the last two
 * orgAdmins would each see the other still active, so they queue on the org row instead.
 */
export async function lockOrgAccounts(db: Executor, dialect: Dialect, orgId: string): Promise<void> {
  if (dialect !== 'postgres') return;
  await db.selectFrom('orgs').select('id').where('id', '=', orgId).forUpdate().execute();
}
