import type { Selectable } from 'kysely';
import type { Executor } from './database.js';
import type { OrgsTable } from './schema.js';

export interface Org {
  id: string;
  slug: string;
  name: string;
  domains: string[];
  ssoEnabled: boolean;
  delegatedAuthOrg: boolean;
  imLoggingEnabled: boolean;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type OrgChanges = Partial<Pick<Org, 'name' | 'domains' | 'ssoEnabled' | 'delegatedAuthOrg' | 'imLoggingEnabled'>>;

function toOrg(row: Selectable<OrgsTable>): Org {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    domains: JSON.parse(row.domains) as string[],
    ssoEnabled: row.sso_enabled === 1,
    delegatedAuthOrg: row.delegated_auth_org === 1,
    imLoggingEnabled: row.im_logging_enabled === 1,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertOrg(db: Executor, org: Omit<Org, 'version' | 'updatedAt'>): Promise<Org> {
  await db
    .insertInto('orgs')
    .values({
      id: org.id,
      slug: org.slug,
      name: org.name,
      domains: JSON.stringify(org.domains),
      sso_enabled: org.ssoEnabled ? 1 : 0,
      delegated_auth_org: org.delegatedAuthOrg ? 1 : 0,
      im_logging_enabled: org.imLoggingEnabled ? 1 : 0,
      version: 1,
      created_at: org.createdAt,
      updated_at: org.createdAt,
    })
    .execute();
  await replaceOrgDomains(db, org.id, org.domains);
  return { ...org, version: 1, updatedAt: org.createdAt };
}

export async function findOrgBySlug(db: Executor, slug: string): Promise<Org | undefined> {
  const row = await db.selectFrom('orgs').selectAll().where('slug', '=', slug).executeTakeFirst();
  return row && toOrg(row);
}

export async function findOrgById(db: Executor, id: string): Promise<Org | undefined> {
  const row = await db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toOrg(row);
}

export async function listOrgs(db: Executor, filter: { ids?: string[] } = {}): Promise<Org[]> {
  let q = db.selectFrom('orgs').selectAll().orderBy('slug');
  if (filter.ids) {
    if (filter.ids.length === 0) return [];
    q = q.where('id', 'in', filter.ids);
  }
  return (await q.execute()).map(toOrg);
}

/** The org claiming a domain (home-realm discovery). A domain belongs to one org at most. */
export async function findOrgByDomain(db: Executor, domain: string): Promise<Org | undefined> {
  const row = await db
    .selectFrom('org_domains')
    .innerJoin('orgs', 'orgs.id', 'org_domains.org_id')
    .selectAll('orgs')
    .where('org_domains.domain', '=', domain.toLowerCase())
    .executeTakeFirst();
  return row && toOrg(row);
}

/** Domains already claimed by an org other than `exceptOrgId`. */
export async function findClaimedDomains(db: Executor, domains: string[], exceptOrgId?: string): Promise<string[]> {
  if (domains.length === 0) return [];
  let q = db.selectFrom('org_domains').select('domain').where('domain', 'in', domains);
  if (exceptOrgId) q = q.where('org_id', '!=', exceptOrgId);
  return (await q.execute()).map((r) => r.domain);
}

async function replaceOrgDomains(db: Executor, orgId: string, domains: string[]): Promise<void> {
  await db.deleteFrom('org_domains').where('org_id', '=', orgId).execute();
  if (domains.length > 0) {
    await db
      .insertInto('org_domains')
      .values(domains.map((domain) => ({ domain, org_id: orgId })))
      .execute();
  }
}

export async function updateOrg(db: Executor, id: string, changes: OrgChanges, now: number): Promise<void> {
  await db
    .updateTable('orgs')
    .set((eb) => ({
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.domains !== undefined && { domains: JSON.stringify(changes.domains) }),
      ...(changes.ssoEnabled !== undefined && { sso_enabled: changes.ssoEnabled ? 1 : 0 }),
      ...(changes.delegatedAuthOrg !== undefined && { delegated_auth_org: changes.delegatedAuthOrg ? 1 : 0 }),
      ...(changes.imLoggingEnabled !== undefined && { im_logging_enabled: changes.imLoggingEnabled ? 1 : 0 }),
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', id)
    .execute();
  if (changes.domains !== undefined) await replaceOrgDomains(db, id, changes.domains);
}

/** Marks the org's cached configuration and keys stale on every instance (ARCHITECTURE: caches). */
export async function bumpOrgVersion(db: Executor, id: string, now: number): Promise<void> {
  await db
    .updateTable('orgs')
    .set((eb) => ({ version: eb('version', '+', 1), updated_at: now }))
    .where('id', '=', id)
    .execute();
}
