import type { Generated } from 'kysely';
import type { AccountsTables } from './schema-accounts.js';
import type { CertificateTables } from './schema-certificates.js';
import type { MetadataTables } from './schema-metadata.js';
import type { OAuthTables } from './schema-oauth.js';
import type { SamlTables } from './schema-saml.js';

/**
 * Row types of every table, as Kysely sees them. Booleans are stored as 0/1 integers and
 * timestamps as epoch milliseconds (bigint) so one schema serves SQLite and PostgreSQL.
 * Each concern adds its tables in its own interface and extends Database here.
 */
export interface OrgsTable {
  id: string;
  slug: string;
  name: string;
  domains: string; // JSON array
  sso_enabled: number;
  delegated_auth_org: number;
  im_logging_enabled: number;
  /** Bumped on every change of the org, its configuration or certificates, so caches can tell they are stale. */
  version: number;
  created_at: number;
  updated_at: number;
}

export interface OrgDomainsTable {
  domain: string;
  org_id: string;
}

export interface AdminsTable {
  id: string;
  email: string;
  name: string;
  role: string; // super | orgAdmin | userAdmin
  org_id: string | null;
  password_hash: string | null;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  key_hash: string;
  prefix: string;
  label: string;
  role: string;
  org_id: string | null;
  admin_id: string | null;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: number;
  org_id: string | null;
  actor: string;
  action: string;
  target: string;
  details: string; // JSON
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface FoundationTables {
  orgs: OrgsTable;
  org_domains: OrgDomainsTable;
  admins: AdminsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  meta: MetaTable;
}

export interface Database extends FoundationTables, SamlTables, AccountsTables, CertificateTables, OAuthTables, MetadataTables {}
