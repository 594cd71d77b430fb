import { sql } from 'kysely';
import type { Dialect, Executor } from './database.js';

/**
 * The subject of a token: an account (any org: the token's `sub` is the account id, unique
 * across orgs) with what the token service needs of its org. Read-only; accounts and orgs
 * are owned by their own repositories.
 */
export interface TokenSubject {
  accountId: string;
  orgId: string;
  orgSlug: string;
  uid: string;
  email: string;
  firstname: string;
  lastname: string;
  active: boolean;
  /** The org's stored SSO configuration (JSON text), or null when never configured. */
  ssoConfig: string | null;
}

export async function findTokenSubject(db: Executor, accountId: string): Promise<TokenSubject | undefined> {
  const row = await db
    .selectFrom('accounts')
    .innerJoin('orgs', 'orgs.id', 'accounts.org_id')
    .leftJoin('sso_configs', 'sso_configs.org_id', 'accounts.org_id')
    .select([
      'accounts.id as account_id',
      'accounts.org_id as org_id',
      'orgs.slug as org_slug',
      'accounts.uid as uid',
      'accounts.email as email',
      'accounts.firstname as firstname',
      'accounts.lastname as lastname',
      'accounts.status as status',
      'sso_configs.config as sso_config',
    ])
    .where('accounts.id', '=', accountId)
    .executeTakeFirst();
  return (
    row && {
      accountId: row.account_id,
      orgId: row.org_id,
      orgSlug: row.org_slug,
      uid: row.uid,
      email: row.email,
      firstname: row.firstname,
      lastname: row.lastname,
      active: row.status === 'active',
      ssoConfig: row.sso_config,
    }
  );
}

/**
 * Orgs whose stored SSO configuration names `idpEntityId` as its IdP (RFC 7522 grant: the
 * assertion's Issuer picks the org whose keys then verify it). JSON is read by the engine.
 */
export async function findOrgIdsByIdpEntityId(db: Executor, dialect: Dialect, idpEntityId: string): Promise<string[]> {
  const expr =
    dialect === 'postgres'
      ? sql<string>`(config::jsonb ->> 'idpEntityId')`
      : sql<string>`json_extract(config, '$.idpEntityId')`;
  const rows = await db.selectFrom('sso_configs').select('org_id').where(expr, '=', idpEntityId).orderBy('org_id').execute();
  return rows.map((r) => r.org_id);
}
