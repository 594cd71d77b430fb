import type { Selectable } from 'kysely';
import type { Executor } from './database.js';
import type { OAuthClientsTable } from './schema-oauth.js';

/** A registered OAuth client (R-OAUTH-1). The secret is never stored, only its SHA-256. */
export type OAuthClientType = 'public' | 'confidential';

export interface OAuthClientRecord {
  id: string;
  name: string;
  type: OAuthClientType;
  redirectUris: string[];
  grantTypes: string[];
  scopes: string[];
  createdBy: string;
  createdAt: number;
}

export interface OAuthClientWithSecret extends OAuthClientRecord {
  secretHash: string | null;
}

function toRecord(row: Selectable<OAuthClientsTable>): OAuthClientWithSecret {
  return {
    id: row.id,
    name: row.name,
    type: row.type as OAuthClientType,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as string[],
    scopes: JSON.parse(row.scopes) as string[],
    secretHash: row.secret_hash,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

function withoutSecret(c: OAuthClientWithSecret): OAuthClientRecord {
  const { secretHash: _secretHash, ...rest } = c;
  return rest;
}

export async function insertOAuthClient(db: Executor, c: OAuthClientRecord & { secretHash: string | null }): Promise<void> {
  await db
    .insertInto('oauth_clients')
    .values({
      id: c.id,
      name: c.name,
      type: c.type,
      redirect_uris: JSON.stringify(c.redirectUris),
      grant_types: JSON.stringify(c.grantTypes),
      scopes: JSON.stringify(c.scopes),
      secret_hash: c.secretHash,
      created_by: c.createdBy,
      created_at: c.createdAt,
    })
    .execute();
}

/** For client authentication only: includes the secret hash. */
export async function findOAuthClientWithSecret(db: Executor, id: string): Promise<OAuthClientWithSecret | undefined> {
  const row = await db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

export async function findOAuthClient(db: Executor, id: string): Promise<OAuthClientRecord | undefined> {
  const c = await findOAuthClientWithSecret(db, id);
  return c && withoutSecret(c);
}

export async function listOAuthClients(db: Executor): Promise<OAuthClientRecord[]> {
  const rows = await db.selectFrom('oauth_clients').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => withoutSecret(toRecord(r)));
}

/** Deletes the client; true when it existed. */
export async function deleteOAuthClient(db: Executor, id: string): Promise<boolean> {
  const r = await db.deleteFrom('oauth_clients').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Origins of every registered http(s) redirect URI: R-SAML-5 lets a sign-in land on them
 * (the SAML target policy adds them to an org's allowed origins).
 */
export async function listRedirectOrigins(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('oauth_clients').select('redirect_uris').execute();
  const origins = new Set<string>();
  for (const r of rows) {
    for (const uri of JSON.parse(r.redirect_uris) as string[]) {
      try {
        const u = new URL(uri);
        if (u.protocol === 'https:' || u.protocol === 'http:') origins.add(u.origin);
      } catch {
        // stored URIs were validated on registration; skip anything unexpected
      }
    }
  }
  return [...origins].sort();
}
