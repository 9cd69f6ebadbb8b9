import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Queryable } from '../database/queryable';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import type { SuppressionReason } from './audience.entities';
import { CreateSuppressionDto, SuppressionDto } from './dto/suppression.dto';

interface SuppressionRow {
  email: string | null;
  email_hash: Buffer;
  reason: SuppressionReason;
  note: string | null;
  created_at: Date;
  ts: string;
}

/** The global do-not-mail list, keyed by email_hash() so erased addresses stay blocked without being kept. */
@Injectable()
export class SuppressionsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async add(dto: CreateSuppressionDto): Promise<SuppressionDto> {
    const email = normalizeEmail(dto.email)!;
    await this.suppress(this.db.manager, email, dto.reason ?? 'manual', dto.note ?? null);
    const [row]: SuppressionRow[] = await this.db.query(`SELECT *, created_at::text AS ts FROM suppressions WHERE email_hash = email_hash($1)`, [email]);
    return map(row);
  }

  suppress(q: Queryable, email: string, reason: SuppressionReason, note: string | null): Promise<void> {
    return this.suppressMany(q, [{ email, reason, note }]);
  }

  /**
   * The one way an address gets on the list, in the caller's transaction. Idempotent: an address
   * already suppressed keeps its first reason, except that an erase forgets the address.
   */
  async suppressMany(q: Queryable, entries: { email: string; reason: SuppressionReason; note: string | null }[]): Promise<void> {
    if (!entries.length) return;
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

  async list(q: PageQuery): Promise<Page<SuppressionDto>> {
    const after = decodeCursor(q.cursor);
    const rows: SuppressionRow[] = await this.db.query(
      `SELECT *, created_at::text AS ts FROM suppressions
       WHERE $1::timestamptz IS NULL OR (created_at, encode(email_hash, 'hex')) > ($1::timestamptz, $2)
       ORDER BY created_at, email_hash LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, q.limit + 1],
    );
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.email_hash.toString('hex') }), map);
  }

  async remove(emailInput: string): Promise<void> {
    const email = normalizeEmail(emailInput);
    if (!email) throw AppError.invalid('email', 'must be a valid e-mail address');
    const [, affected] = (await this.db.query(`DELETE FROM suppressions WHERE email_hash = email_hash($1)`, [email])) as [unknown, number];
    if (!affected) throw new AppError('not_found', `${email} is not suppressed`, [{ field: 'email', message: 'not on the suppression list' }]);
  }

  async reasonFor(tx: EntityManager, email: string): Promise<SuppressionReason | null> {
    const [row]: { reason: SuppressionReason }[] = await tx.query(`SELECT reason FROM suppressions WHERE email_hash = email_hash($1)`, [email]);
    return row?.reason ?? null;
  }
}

function map(r: SuppressionRow): SuppressionDto {
  return { email: r.email, emailHash: r.email_hash.toString('hex'), reason: r.reason, note: r.note, createdAt: r.created_at.toISOString() };
}
