import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows, changed, type Queryable } from '../database/queryable';
import type { SuppressionReason } from './audience.entities';

export interface SuppressionRow {
  email: string | null;
  email_hash: Buffer;
  reason: SuppressionReason;
  note: string | null;
  created_at: Date;
  ts: string;
}

/** `suppressions` (keyed by email_hash(), so erased addresses stay blocked without being kept) and `bounce_counts`. */
@Injectable()
export class SuppressionsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Idempotent: an address already suppressed keeps its first reason, except that an erase forgets the address. */
  async suppress(q: Queryable, entries: { email: string; reason: SuppressionReason; note: string | null }[]): Promise<void> {
    await q.query(
      `INSERT INTO suppressions (email_hash, email, reason, note)
       SELECT email_hash(t.email), CASE WHEN t.reason = 'erased' THEN NULL ELSE t.email END, t.reason, t.note
       FROM unnest($1::text[], $2::text[], $3::text[]) AS t(email, reason, note)
       ON CONFLICT (email_hash) DO UPDATE
         SET email = CASE WHEN EXCLUDED.reason = 'erased' THEN NULL ELSE suppressions.email END,
             reason = CASE WHEN EXCLUDED.reason = 'erased' THEN 'erased' ELSE suppressions.reason END`,
      [entries.map((e) => e.email), entries.map((e) => e.reason), entries.map((e) => e.note)],
    );
  }

  async find(q: Queryable, email: string): Promise<SuppressionRow | undefined> {
    const [row] = await queryRows<SuppressionRow>(q, `SELECT *, created_at::text AS ts FROM suppressions WHERE email_hash = email_hash($1)`, [email]);
    return row;
  }

  page(after: { createdAt: string; id: string } | null, limit: number): Promise<SuppressionRow[]> {
    return this.db.query(
      `SELECT *, created_at::text AS ts FROM suppressions
       WHERE $1::timestamptz IS NULL OR (created_at, encode(email_hash, 'hex')) > ($1::timestamptz, $2)
       ORDER BY created_at, email_hash LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, limit],
    );
  }

  /** true when there was one to remove. */
  async delete(email: string): Promise<boolean> {
    const { affected } = await changed(this.db, `DELETE FROM suppressions WHERE email_hash = email_hash($1)`, [email]);
    return affected > 0;
  }

  /** Adds these soft bounces (an address may repeat) and answers each address's count now. */
  countSoftBounces(q: Queryable, emails: string[]): Promise<{ email: string; soft: number }[]> {
    return queryRows<{ email: string; soft: number }>(
      q,
      `WITH t AS (SELECT email, email_hash(email) AS h, count(*) AS n FROM unnest($1::text[]) AS email GROUP BY email),
       counted AS (
         INSERT INTO bounce_counts AS b (email_hash, soft, last_at) SELECT h, n, now() FROM t
         ON CONFLICT (email_hash) DO UPDATE SET soft = b.soft + EXCLUDED.soft, last_at = now()
         RETURNING b.email_hash, b.soft
       )
       SELECT t.email, counted.soft FROM counted JOIN t ON t.h = counted.email_hash`,
      [emails],
    );
  }

  async forgetBounces(q: Queryable, email: string): Promise<void> {
    await q.query(`DELETE FROM bounce_counts WHERE email_hash = email_hash($1)`, [email]);
  }
}
