import type { AdminRole } from '../store/admins.js';
import { ApiError } from './api-error.js';

/** Who is calling the admin API, CLI or console. */
export interface Principal {
  /** Audit-log name: `apikey:<id>`, `cli`, `bootstrap`, `admin:<id>`. */
  actor: string;
  role: AdminRole;
  /** The org an org or user administrator belongs to; null for super administrators. */
  orgId: string | null;
}

export const CLI_PRINCIPAL: Principal = { actor: 'cli', role: 'super', orgId: null };

/**
 * What an action needs. `org` actions are scoped to one org; the rest are operator-only.
 * - super: everything;
 * - orgAdmin: everything inside its org except the super-only flags;
 * - userAdmin: reading its org and managing its users (R-ADM-1).
 */
export type Capability =
  | 'operator' // create orgs, correlations, OAuth clients, super keys
  | 'org:read'
  | 'org:configure'
  | 'org:superFlags'
  | 'users:manage';

const ROLE_CAPABILITIES: Record<AdminRole, ReadonlySet<Capability>> = {
  super: new Set<Capability>(['operator', 'org:read', 'org:configure', 'org:superFlags', 'users:manage']),
  orgAdmin: new Set<Capability>(['org:read', 'org:configure', 'users:manage']),
  userAdmin: new Set<Capability>(['org:read', 'users:manage']),
};

export function hasCapability(p: Principal, capability: Capability): boolean {
  return ROLE_CAPABILITIES[p.role].has(capability);
}

/** Throws 403 unless the principal may do `capability`, in `orgId` when given. */
export function authorize(p: Principal, capability: Capability, orgId?: string): void {
  if (!hasCapability(p, capability)) {
    throw ApiError.forbidden(
      capability === 'org:superFlags'
        ? 'only a super administrator may set ssoEnabled or delegatedAuthOrg'
        : capability === 'operator'
          ? 'this action is reserved to super administrators'
          : `the ${p.role} role may not do this`,
    );
  }
  if (orgId !== undefined && p.role !== 'super' && p.orgId !== orgId) {
    throw ApiError.forbidden('this API key belongs to another organisation');
  }
}
