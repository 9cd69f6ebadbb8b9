import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const PG_SERVER = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** The migrated template of this run (set by global setup), so two runs at once never share or drop each other's. */
export const templateDb = (): string => process.env.EDM_TEST_TEMPLATE ?? 'edm_test_template';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function databaseUrl(name: string): string {
  return `${PG_SERVER}/${name}`;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function withAdmin<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: databaseUrl('postgres') });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** A fresh database copied from the migrated template: milliseconds, not a migration run. */
export async function createTestDatabase(): Promise<string> {
  const name = uniqueName('edm_test');
  await withAdmin(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${name} TEMPLATE ${templateDb()}`);
        return;
      } catch (e) {
        // Two test files copying the template at the same instant: try again.
        if (attempt > 20 || !/being accessed by other users/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  return name;
}

/** When a name made by uniqueName was made (ms), or NaN. */
export function createdAt(name: string): number {
  const m = /_([0-9a-z]{8,9})_[0-9a-f]{6}$/.exec(name);
  return m ? parseInt(m[1], 36) : NaN;
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
