import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrations/index.js';

/**
 * The engines every store and flow suite runs on: SQLite always, PostgreSQL whenever
 * TEST_DATABASE_URL is set. Each `open()` makes a fresh database the suite owns and drops.
 */
export interface TestDatabase {
  handle: DatabaseHandle;
  url: string;
  drop(): Promise<void>;
}

export interface TestEngine {
  name: 'sqlite' | 'postgres';
  open(opts?: { migrate?: boolean }): Promise<TestDatabase>;
}

const sqliteEngine: TestEngine = {
  name: 'sqlite',
  async open({ migrate = true } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedbridge-test-'));
    const url = `sqlite:${path.join(dir, 'test.db')}`;
    const handle = openDatabase(url);
    if (migrate) await migrateToLatest(handle.db, handle.dialect);
    return {
      handle,
      url,
      drop: async () => {
        await handle.close().catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function postgresEngine(baseUrl: string): TestEngine {
  return {
    name: 'postgres',
    async open({ migrate = true } = {}) {
      const name = `fedbridge_test_${crypto.randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const u = new URL(baseUrl);
      u.pathname = `/${name}`;
      const url = u.toString();
      const handle = openDatabase(url);
      if (migrate) await migrateToLatest(handle.db, handle.dialect);
      return {
        handle,
        url,
        drop: async () => {
          await handle.close().catch(() => {});
          const c = new pg.Client({ connectionString: baseUrl });
          await c.connect();
          try {
            await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          } finally {
            await c.end();
          }
        },
      };
    },
  };
}

export function testEngines(): TestEngine[] {
  const pgUrl = process.env.TEST_DATABASE_URL;
  return pgUrl ? [sqliteEngine, postgresEngine(pgUrl)] : [sqliteEngine];
}

export const sqlite = sqliteEngine;

/** PostgreSQL only, for tests of real concurrency; undefined when not configured. */
export function postgresOrUndefined(): TestEngine | undefined {
  const pgUrl = process.env.TEST_DATABASE_URL;
  return pgUrl ? postgresEngine(pgUrl) : undefined;
}
