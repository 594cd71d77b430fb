/**
 * Keeps followed IdP metadata fresh (R-SAML-7): a background schedule (the document's
 * cacheDuration / validUntil, else daily; see nextRefreshTime) and an immediate refresh when
 * a signature arrives from a key the org does not know — how an IdP's certificate rotation
 * reaches fedbridge with no administrator. A failed refresh keeps the last good copy (and the
 * certificates and configuration it produced), is counted in metrics, logged, written to the
 * audit log, and retried with backoff.
 *
 * Work is claimed in the database (conditional UPDATE of next_refresh_at), so with many
 * instances each due refresh runs once.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AppContext } from '../app-context.js';
import { ApiError } from '../admin/api-error.js';
import { recordAudit } from '../store/audit.js';
import { purgeExpiredLogoutRequests } from '../store/logout-requests.js';
import {
  claimMetadataRefresh,
  claimUnknownKeyRefresh,
  findMetadataSource,
  listDueMetadataSources,
  upsertMetadataSource,
} from '../store/metadata-sources.js';
import { findOrgById, type Org } from '../store/orgs.js';
import { fetchMetadataDocument } from './metadata-fetcher.js';
import {
  applyMetadata,
  fetchOptionsFor,
  nextRefreshTime,
  prepareMetadata,
  retryTime,
  type MetadataFlowDeps,
} from './metadata-import-flow.js';
import { loadSsoConfig } from './sso-config-service.js';

/** Audit-log actor of refreshes nobody asked for. */
export const METADATA_REFRESH_ACTOR = 'system:metadata-refresh';
/** At most one unknown-key refresh per org in this window (an attacker's stream of badly signed Responses must not make us hammer the IdP). */
export const UNKNOWN_KEY_REFRESH_INTERVAL_MS = 5 * 60_000;
/** How long a claimed refresh is ours before another instance may retry it (a crash mid-refresh). */
const CLAIM_LEASE_MS = 10 * 60_000;

export type RefreshReason = 'schedule' | 'unknown-key' | 'admin';

export interface MetadataRefreshResult {
  outcome: 'updated' | 'unchanged' | 'failed' | 'not-following' | 'rate-limited';
  /** The org's organisation certificates changed (the caller should reload its keys). */
  certificatesChanged: boolean;
  /** Why it failed. */
  error?: string;
}

interface RefreshMetrics {
  refreshes: Counter<'reason' | 'outcome'>;
  failing: Gauge<'org'>;
}

const metricsByRegistry = new WeakMap<Registry, RefreshMetrics>();

function metricsOf(registry: Registry): RefreshMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      refreshes: new Counter({
        name: 'fedbridge_metadata_refresh_total',
        help: 'IdP metadata refreshes by reason and outcome (updated, unchanged, failed)',
        labelNames: ['reason', 'outcome'],
        registers: [registry],
      }),
      failing: new Gauge({
        name: 'fedbridge_metadata_refresh_consecutive_failures',
        help: 'Consecutive failed refreshes of an org\'s followed IdP metadata (0 when the last one worked)',
        labelNames: ['org'],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

async function recordFailure(ctx: AppContext, org: Org, url: string, reason: RefreshReason, error: string): Promise<void> {
  const now = ctx.clock.now();
  const failures = await ctx.database.db.transaction().execute(async (trx) => {
    const source = await findMetadataSource(trx, org.id);
    if (!source || source.url !== url) return undefined; // no longer followed: nothing to report on
    const consecutiveFailures = source.consecutiveFailures + 1;
    await upsertMetadataSource(
      trx,
      org.id,
      { lastAttemptAt: now, lastError: error, lastErrorAt: now, consecutiveFailures, nextRefreshAt: retryTime(now, consecutiveFailures) },
      now,
    );
    await recordAudit(
      trx,
      {
        orgId: org.id,
        actor: METADATA_REFRESH_ACTOR,
        action: 'sso.metadata.refreshFailed',
        target: `sso:${org.slug}`,
        details: { url, reason, error, consecutiveFailures, lastGoodCopyFrom: source.fetchedAt ? new Date(source.fetchedAt).toISOString() : null },
      },
      now,
    );
    return consecutiveFailures;
  });
  if (failures === undefined) return;
  const m = metricsOf(ctx.metrics);
  m.refreshes.inc({ reason, outcome: 'failed' });
  m.failing.set({ org: org.slug }, failures);
  ctx.logger.warn({ org: org.slug, url, reason, error, consecutiveFailures: failures }, 'IdP metadata refresh failed; keeping the last good copy');
}

/**
 * Fetches the org's followed metadata now and applies it when it changed. Never throws for
 * a bad or unreachable document: that is a failed refresh, recorded as such.
 */
export async function refreshOrgMetadata(
  ctx: AppContext,
  orgId: string,
  reason: RefreshReason,
  deps: MetadataFlowDeps = {},
): Promise<MetadataRefreshResult> {
  const source = await findMetadataSource(ctx.database.db, orgId);
  const org = await findOrgById(ctx.database.db, orgId);
  if (!source?.url || !org) return { outcome: 'not-following', certificatesChanged: false };
  const url = source.url;
  const m = metricsOf(ctx.metrics);
  try {
    const { body } = await fetchMetadataDocument(url, fetchOptionsFor(ctx, deps));
    const { config } = await loadSsoConfig(ctx.database.db, org.id, ctx.config);
    const now = ctx.clock.now();
    const prepared = prepareMetadata(body, {
      entityId: source.entityId ?? undefined,
      signingCertificate: source.signingCertificate,
      allowSha1: config.allowSha1,
      now,
      follow: true,
    });
    if (prepared.documentSha256 === source.documentSha256) {
      // Same document: only the bookkeeping moves (an admin's later edits are not overwritten).
      await upsertMetadataSource(
        ctx.database.db,
        org.id,
        { fetchedAt: now, lastAttemptAt: now, lastError: null, lastErrorAt: null, consecutiveFailures: 0, nextRefreshAt: nextRefreshTime(now, prepared.meta) },
        now,
      );
      m.refreshes.inc({ reason, outcome: 'unchanged' });
      m.failing.set({ org: org.slug }, 0);
      return { outcome: 'unchanged', certificatesChanged: false };
    }
    const outcome = await ctx.database.db.transaction().execute(async (trx) => {
      const current = await findMetadataSource(trx, org.id);
      if (current?.url !== url) return undefined; // stopped or changed while we fetched
      return applyMetadata(trx, ctx, org, prepared, {
        url,
        entityId: source.entityId,
        actor: METADATA_REFRESH_ACTOR,
        action: 'sso.metadata.refresh',
      });
    });
    if (!outcome) return { outcome: 'not-following', certificatesChanged: false };
    m.refreshes.inc({ reason, outcome: 'updated' });
    m.failing.set({ org: org.slug }, 0);
    const certificatesChanged = outcome.result.certificatesImported.length > 0 || outcome.result.certificatesRemoved.length > 0;
    ctx.logger.info(
      { org: org.slug, url, reason, changed: Object.keys(outcome.result.changed), certificatesChanged },
      'IdP metadata refreshed',
    );
    return { outcome: 'updated', certificatesChanged };
  } catch (err) {
    // ApiError.detail names the field (e.g. "ssoLoginUrl: must use https"); others carry their message.
    const message = err instanceof ApiError ? err.detail : err instanceof Error ? err.message : String(err);
    try {
      await recordFailure(ctx, org, url, reason, message);
    } catch (recordErr) {
      ctx.logger.error({ err: recordErr, org: org.slug }, 'could not record a failed metadata refresh');
    }
    return { outcome: 'failed', certificatesChanged: false, error: message };
  }
}

/**
 * For the ACS (and every verifier of IdP signatures): call when a signature does not verify
 * with any of the org's trusted keys. When the org follows a metadata URL and no such refresh
 * ran in the last five minutes, the metadata is fetched at once; `certificatesChanged` tells
 * the caller that retrying with freshly loaded keys (the org version was bumped) may succeed.
 */
export async function refreshMetadataOnUnknownKey(
  ctx: AppContext,
  org: Pick<Org, 'id'>,
  deps: MetadataFlowDeps = {},
): Promise<MetadataRefreshResult> {
  const now = ctx.clock.now();
  const source = await findMetadataSource(ctx.database.db, org.id);
  if (!source?.url) return { outcome: 'not-following', certificatesChanged: false };
  if (!(await claimUnknownKeyRefresh(ctx.database.db, org.id, now, now - UNKNOWN_KEY_REFRESH_INTERVAL_MS))) {
    return { outcome: 'rate-limited', certificatesChanged: false };
  }
  return refreshOrgMetadata(ctx, org.id, 'unknown-key', deps);
}

export interface MetadataRefreshScheduler {
  /** Refreshes every due org now (what each timer tick does); returns how many were refreshed. */
  runDue(): Promise<number>;
  stop(): void;
}

/**
 * Starts the background refresh: every `intervalMs` (default a minute) the due orgs are
 * claimed and refreshed one after another. The timer is unref'd (it never keeps the process
 * alive) and stopped by the app's close().
 */
export function startMetadataRefreshScheduler(
  ctx: AppContext,
  opts: { intervalMs?: number; batch?: number; deps?: MetadataFlowDeps } = {},
): MetadataRefreshScheduler {
  let running: Promise<number> | undefined;
  let stopped = false;

  const runDue = async (): Promise<number> => {
    const now = ctx.clock.now();
    const due = await listDueMetadataSources(ctx.database.db, now, opts.batch ?? 10);
    let refreshed = 0;
    for (const { orgId, nextRefreshAt } of due) {
      if (stopped) break;
      if (!(await claimMetadataRefresh(ctx.database.db, orgId, nextRefreshAt, now + CLAIM_LEASE_MS))) continue;
      await refreshOrgMetadata(ctx, orgId, 'schedule', opts.deps);
      refreshed++;
    }
    await purgeExpiredLogoutRequests(ctx.database.db, now);
    return refreshed;
  };

  const tick = () => {
    if (running || stopped) return;
    running = runDue()
      .catch((err: unknown) => {
        if (!stopped) ctx.logger.error({ err }, 'metadata refresh round failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, opts.intervalMs ?? 60_000);
  timer.unref();

  return {
    runDue: () => {
      if (running) return running;
      running = runDue().finally(() => {
        running = undefined;
      });
      return running;
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
