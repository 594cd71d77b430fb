import crypto from 'node:crypto';
import type { AppContext } from '../app-context.js';
import { recordAudit } from '../store/audit.js';
import { onUniqueViolation } from '../store/database.js';
import {
  findClaimedDomains,
  findOrgBySlug,
  insertOrg,
  listOrgs,
  updateOrg,
  type Org,
  type OrgChanges,
} from '../store/orgs.js';
import { ApiError } from './api-error.js';
import { createOrgSchema, patchOrgSchema } from './org-schemas.js';
import { authorize, type Principal } from './principal.js';
import { parseInput } from './validation.js';

/** The org as the API shows it (Appendix A). */
export function orgView(org: Org) {
  return {
    id: org.id,
    slug: org.slug,
    name: org.name,
    domains: org.domains,
    ssoEnabled: org.ssoEnabled,
    delegatedAuthOrg: org.delegatedAuthOrg,
    imLoggingEnabled: org.imLoggingEnabled,
  };
}

/**
 * Resolves `:org` for a principal. Non-super callers get 403 for any org but their own,
 * existing or not, so keys cannot probe which orgs exist.
 */
export async function loadOrgFor(ctx: AppContext, principal: Principal, slug: string): Promise<Org> {
  const org = await findOrgBySlug(ctx.database.db, slug.toLowerCase());
  if (principal.role !== 'super' && (!org || org.id !== principal.orgId)) {
    throw ApiError.forbidden('this API key belongs to another organisation');
  }
  if (!org) throw ApiError.notFound(`organisation ${slug}`);
  return org;
}

async function assertDomainsFree(ctx: AppContext, domains: string[], exceptOrgId?: string): Promise<void> {
  const taken = await findClaimedDomains(ctx.database.db, domains, exceptOrgId);
  if (taken.length > 0) {
    throw ApiError.conflict(`domain ${taken.join(', ')} already belongs to another organisation`, 'domains');
  }
}

export async function createOrg(ctx: AppContext, principal: Principal, body: unknown): Promise<Org> {
  authorize(principal, 'operator');
  const input = parseInput(createOrgSchema, body);
  // The slug is the primary domain, so it is always one of the org's domains.
  const domains = [...new Set([input.slug, ...input.domains])];
  await assertDomainsFree(ctx, domains);
  const now = ctx.clock.now();
  return onUniqueViolation(async () => {
    return await ctx.database.db.transaction().execute(async (trx) => {
      const org = await insertOrg(trx, {
        id: crypto.randomUUID(),
        slug: input.slug,
        name: input.name,
        domains,
        ssoEnabled: input.ssoEnabled ?? false,
        delegatedAuthOrg: input.delegatedAuthOrg ?? false,
        imLoggingEnabled: input.imLoggingEnabled ?? false,
        createdAt: now,
      });
      await recordAudit(
        trx,
        { orgId: org.id, actor: principal.actor, action: 'org.create', target: `org:${org.slug}`, details: { after: orgView(org) } },
        now,
      );
      return org;
    });
  }, () => ApiError.conflict(`an organisation or domain ${input.slug} already exists`, 'slug'));
}

export async function listOrgsFor(ctx: AppContext, principal: Principal): Promise<Org[]> {
  if (principal.role === 'super') return listOrgs(ctx.database.db);
  return listOrgs(ctx.database.db, { ids: principal.orgId ? [principal.orgId] : [] });
}

export async function patchOrg(ctx: AppContext, principal: Principal, slug: string, body: unknown): Promise<Org> {
  const org = await loadOrgFor(ctx, principal, slug);
  authorize(principal, 'org:configure', org.id);
  const input = parseInput(patchOrgSchema, body);
  if (input.ssoEnabled !== undefined || input.delegatedAuthOrg !== undefined) {
    authorize(principal, 'org:superFlags', org.id);
  }
  const changes: OrgChanges = { ...input };
  if (input.domains) {
    changes.domains = [...new Set([org.slug, ...input.domains])];
    await assertDomainsFree(ctx, changes.domains, org.id);
  }
  const before = orgView(org);
  const after = { ...before, ...changes };
  const changedKeys = (Object.keys(changes) as (keyof OrgChanges)[]).filter(
    (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  if (changedKeys.length === 0) return org; // nothing changed: no write, no audit entry
  const now = ctx.clock.now();
  await onUniqueViolation(async () => {
    await ctx.database.db.transaction().execute(async (trx) => {
      await updateOrg(trx, org.id, changes, now);
      await recordAudit(
        trx,
        {
          orgId: org.id,
          actor: principal.actor,
          action: 'org.update',
          target: `org:${org.slug}`,
          details: {
            before: Object.fromEntries(changedKeys.map((k) => [k, before[k]])),
            after: Object.fromEntries(changedKeys.map((k) => [k, after[k]])),
          },
        },
        now,
      );
    });
  }, () => ApiError.conflict('a domain already belongs to another organisation', 'domains'));
  return (await findOrgBySlug(ctx.database.db, org.slug))!;
}
