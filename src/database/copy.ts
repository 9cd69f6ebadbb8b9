import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { finished } from 'node:stream/promises';
import type { QueryRunner } from 'typeorm';

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const SPECIAL = /[\\\t\n\r]/;

/** A value as a field of COPY's text format: `\N` for null, and backslash, tab, newline and carriage return escaped. */
export function copyField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : String(v);
  return SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : s;
}

/**
 * `COPY target FROM STDIN` of rows already in COPY's text format (fields joined by tabs, each row
 * ended by a newline), on the query runner's connection and so inside its transaction.
 */
export async function copyInto(qr: QueryRunner, target: string, text: string): Promise<void> {
  const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
  stream.end(text);
  await finished(stream);
}
