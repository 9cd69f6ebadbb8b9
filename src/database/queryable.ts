import type { DataSource } from 'typeorm';

/**
 * Anything that runs a query: the DataSource, an EntityManager inside a transaction, or a
 * QueryRunner. Repositories take one where the caller's transaction must include their statement.
 */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** The rows a statement returns (a SELECT, or an INSERT … RETURNING), as the caller's row type. */
export async function queryRows<T>(q: Queryable, sql: string, parameters: unknown[] = []): Promise<T[]> {
  return (await q.query(sql, parameters)) as T[];
}

/** An UPDATE or DELETE: TypeORM answers it with [returned rows, rows affected]. */
export async function changed<T = never>(q: Queryable, sql: string, parameters: unknown[] = []): Promise<{ rows: T[]; affected: number }> {
  const [returned, affected] = (await q.query(sql, parameters)) as [T[], number];
  return { rows: returned, affected };
}

/** An INSERT (without RETURNING): how many rows it added, asked of the driver on a connection of its own. */
export async function inserted(db: DataSource, sql: string, parameters: unknown[] = []): Promise<number> {
  const runner = db.createQueryRunner();
  try {
    return (await runner.query(sql, parameters, true)).affected ?? 0;
  } finally {
    await runner.release();
  }
}
