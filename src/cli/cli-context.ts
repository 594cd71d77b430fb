import type { AppContext } from '../app-context.js';
import { createContext } from '../app.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { ApiError } from '../admin/api-error.js';
import { loadOrgFor } from '../admin/org-service.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import type { Org } from '../store/orgs.js';

/**
 * Runs one CLI action with a fresh context (migrated database) and closes it afterwards.
 * Errors print one clear line (with field errors) and exit non-zero; no stack traces.
 */
export async function withContext(action: (ctx: AppContext) => Promise<void>): Promise<void> {
  let ctx: AppContext | undefined;
  try {
    const config = loadConfig();
    ctx = await createContext({ config, logger: createLogger(process.env.LOG_LEVEL ?? 'warn') });
    await action(ctx);
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`error: ${err.detail}\n`);
      for (const e of err.errors.slice(1)) process.stderr.write(`  ${e.field}: ${e.message}\n`);
    } else {
      process.stderr.write(`error: ${(err as Error).message}\n`);
    }
    process.exitCode = 1;
  } finally {
    await ctx?.database.close();
  }
}

/** `withContext` for a command about one organisation: the org is loaded (404 when unknown) first. */
export function withOrg(slug: string, action: (ctx: AppContext, org: Org) => Promise<void>): Promise<void> {
  return withContext(async (ctx) => action(ctx, await loadOrgFor(ctx, CLI_PRINCIPAL, slug)));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Parses `true/false` flag values for updates. */
export function parseBool(value: string): boolean {
  if (/^(true|yes|1|on)$/i.test(value)) return true;
  if (/^(false|no|0|off)$/i.test(value)) return false;
  throw new ApiError(422, `expected true or false, got ${value}`);
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}
