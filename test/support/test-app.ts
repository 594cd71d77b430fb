import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../../src/app.js';
import type { AppContext } from '../../src/app-context.js';
import { createAdministrator } from '../../src/admin/api-key-service.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { REDACTED_PATHS } from '../../src/logger.js';
import type { TestDatabase, TestEngine } from './databases.js';
import { sqlite } from './databases.js';

/** Captures every log line the app writes, so tests can assert no secret was logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestApp {
  app: Express;
  ctx: AppContext;
  clock: ManualClock;
  logs: LogCapture;
  superKey: string;
  database: TestDatabase;
  close(): Promise<void>;
}

export const TEST_PUBLIC_URL = 'https://sp.fedbridge.test';

/** Builds the real app over a fresh database of `engine`, with a manual clock and captured logs. */
export async function startTestApp(
  opts: { engine?: TestEngine; env?: Record<string, string>; clock?: ManualClock; config?: Partial<Config> } = {},
): Promise<TestApp> {
  const database = await (opts.engine ?? sqlite).open();
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
  const logs = new LogCapture();
  const config: Config = {
    ...loadConfig({
      FEDBRIDGE_PUBLIC_URL: TEST_PUBLIC_URL,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'debug',
      FEDBRIDGE_RATE_LIMIT: '0',
      ...opts.env,
    }),
    ...opts.config,
  };
  const logger = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, logs);
  const { app, ctx } = await createApp({
    config,
    clock,
    logger,
    database: database.handle,
    masterKey: masterKeyFrom(crypto.randomBytes(32), 'environment'),
  });
  const { key: superKey } = await createAdministrator(ctx, 'test', {
    email: 'operator@fedbridge.test',
    role: 'super',
    orgId: null,
  });
  return { app, ctx, clock, logs, superKey, database, close: () => database.drop() };
}
