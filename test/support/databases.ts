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

/** Opens (and migrates) the database at `url`; `drop` closes it, then `remove` deletes it. */
async function openFresh(url: string, migrate: boolean, remove: () => void | Promise<void>): Promise<TestDatabase> {
  const handle = openDatabase(url);
  if (migrate) await migrateToLatest(handle.db, handle.dialect);
  return {
    handle,
    url,
    drop: async () => {
      await handle.close().catch(() => {});
      await remove();
    },
  };
}

const sqliteEngine: TestEngine = {
  name: 'sqlite',
  async open({ migrate = true } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedbridge-test-'));
    return openFresh(`sqlite:${path.join(dir, 'test.db')}`, migrate, () => fs.rmSync(dir, { recursive: true, force: true }));
  },
};

/** One statement on a connection of its own to the base database (a database cannot create or drop itself). */
async function adminQuery(baseUrl: string, statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

function postgresEngine(baseUrl: string): TestEngine {
  return {
    name: 'postgres',
    async open({ migrate = true } = {}) {
      const name = `fedbridge_test_${crypto.randomBytes(6).toString('hex')}`;
      await adminQuery(baseUrl, `CREATE DATABASE ${name}`);
      const u = new URL(baseUrl);
      u.pathname = `/${name}`;
      return openFresh(u.toString(), migrate, () => adminQuery(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
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
