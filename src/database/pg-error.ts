import { QueryFailedError } from 'typeorm';

export interface PostgresError {
  /** SQLSTATE, e.g. 23505. */
  code: string;
  constraint?: string;
}

/**
 * What Postgres said about a failed statement, whether the error came through TypeORM (wrapped in a
 * QueryFailedError) or straight from pg (a COPY on the query runner's connection); null otherwise.
 */
export function postgresError(e: unknown): PostgresError | null {
  const raw = (e instanceof QueryFailedError ? e.driverError : e) as { code?: unknown; constraint?: unknown } | null;
  if (!raw || typeof raw !== 'object' || typeof raw.code !== 'string') return null;
  return { code: raw.code, constraint: typeof raw.constraint === 'string' ? raw.constraint : undefined };
}
