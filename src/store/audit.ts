import type { Executor } from './database.js';

export interface AuditEntryInput {
  orgId: string | null;
  actor: string;
  action: string;
  target: string;
  /** Before/after values; callers pass only non-secret fields. */
  details: Record<string, unknown>;
}

export interface AuditEntry {
  seq: number;
  at: string;
  orgId: string | null;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/** Written inside the same transaction as the change it records. */
export async function recordAudit(db: Executor, entry: AuditEntryInput, now: number): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: now,
      org_id: entry.orgId,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      details: JSON.stringify(entry.details),
    })
    .execute();
}

export async function listAudit(
  db: Executor,
  filter: { orgId?: string | null; since?: number; limit: number },
): Promise<AuditEntry[]> {
  let q = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(filter.limit);
  if (filter.orgId !== undefined) q = filter.orgId === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', filter.orgId);
  if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
  const rows = await q.execute();
  return rows.map((r) => ({
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    orgId: r.org_id,
    actor: r.actor,
    action: r.action,
    target: r.target,
    details: JSON.parse(r.details) as Record<string, unknown>,
  }));
}
