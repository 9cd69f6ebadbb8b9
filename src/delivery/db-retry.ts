import { postgresError } from '../database/pg-error';

/**
 * SQLSTATEs and socket errors of a server that restarts, fails over or is briefly unreachable
 * (class 08 connection exceptions, 57P01-03 shutdown and start-up, too many connections) and of a
 * transaction Postgres rolled back to let another through: running the statement again is safe.
 */
const TRANSIENT = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '40001',
  '40P01',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * What pg says when a connection dies under a query or is used after it died, and what TypeORM
 * says when a transaction's connection died under it: the query runner releases itself on the
 * connection's 'error' event, so the transaction's next statement finds it released
 * ("Query runner already released", "… provided by a query runner was already released").
 * Errors without a code.
 */
const CONNECTION_LOST = /Connection terminated|connection error|not queryable|Connection ended|already released/i;

export function isTransientDbError(e: unknown): boolean {
  const pg = postgresError(e);
  if (pg && (pg.code.startsWith('08') || TRANSIENT.has(pg.code))) return true;
  return e instanceof Error && CONNECTION_LOST.test(e.message);
}

/**
 * Runs `work` until it succeeds or fails for a reason other than a transient database error,
 * waiting 250 ms, 500 ms, … up to 2 s between attempts. `giveUp` is asked after each failure:
 * a stopping process must not wait for Postgres forever.
 */
export async function retryTransient<T>(work: () => Promise<T>, giveUp: () => boolean, onRetry: (e: Error, attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (!isTransientDbError(e) || giveUp()) throw e;
      onRetry(e as Error, attempt);
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** (attempt - 1), 2_000)));
    }
  }
}
