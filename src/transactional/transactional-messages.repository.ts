import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changed, Queryable, queryRows } from '../database/queryable';

export type TransactionalStatus = 'queued' | 'submitting' | 'sent' | 'failed' | 'unknown' | 'skipped';

export interface TransactionalRow {
  id: string;
  mailing_id: string;
  template_id: string;
  template_version: number;
  subscriber_id: string;
  to_email: string;
  subject: string | null;
  from_name: string | null;
  from_email: string | null;
  data: Record<string, unknown>;
  idempotency_key: string | null;
  request_hash: string;
  status: TransactionalStatus;
  attempts: number;
  next_attempt_at: Date;
  smtp_response: string | null;
  claimed_by: string | null;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
}

export type NewTransactional = Pick<
  TransactionalRow,
  | 'mailing_id'
  | 'template_id'
  | 'template_version'
  | 'subscriber_id'
  | 'to_email'
  | 'subject'
  | 'from_name'
  | 'from_email'
  | 'data'
  | 'idempotency_key'
  | 'request_hash'
>;

/** What one SMTP attempt left: a final status, or `queued` again with the time of the next attempt. */
export interface TransactionalOutcome {
  status: 'sent' | 'failed' | 'queued';
  response: string;
  retryAt: Date | null;
}

/** The only SQL on `transactional_messages`. */
@Injectable()
export class TransactionalMessagesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The new row, or — when its idempotency key is taken (also by a request racing this one: the
   * unique index decides) — nothing; the caller then reads the row that holds the key.
   */
  async insert(q: Queryable, m: NewTransactional): Promise<string | null> {
    const [row] = await queryRows<{ id: string }>(
      q,
      `INSERT INTO transactional_messages
         (mailing_id, template_id, template_version, subscriber_id, to_email, subject, from_name, from_email, data, idempotency_key, request_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        m.mailing_id,
        m.template_id,
        m.template_version,
        m.subscriber_id,
        m.to_email,
        m.subject,
        m.from_name,
        m.from_email,
        m.data,
        m.idempotency_key,
        m.request_hash,
      ],
    );
    return row?.id ?? null;
  }

  async byKey(key: string): Promise<TransactionalRow | undefined> {
    const [row] = await queryRows<TransactionalRow>(this.db, `SELECT * FROM transactional_messages WHERE idempotency_key = $1`, [key]);
    return row;
  }

  async find(id: string): Promise<TransactionalRow | undefined> {
    const [row] = await queryRows<TransactionalRow>(this.db, `SELECT * FROM transactional_messages WHERE id = $1`, [id]);
    return row;
  }

  /** Message counts of a mailing by status. */
  async counts(mailingId: string): Promise<{ status: TransactionalStatus; n: number }[]> {
    return queryRows(this.db, `SELECT status, count(*)::int AS n FROM transactional_messages WHERE mailing_id = $1 GROUP BY status`, [mailingId]);
  }

  /**
   * queued → submitting under the run's token, just before SMTP. Only one caller gets the row back:
   * a duplicate job, or one re-created by the reconciler, finds it no longer queued.
   */
  async claim(id: string, run: string): Promise<boolean> {
    const { affected } = await changed(
      this.db,
      `UPDATE transactional_messages SET status = 'submitting', claimed_by = $2, attempts = attempts + 1, updated_at = now()
       WHERE id = $1 AND status = 'queued'`,
      [id, run],
    );
    return affected === 1;
  }

  /** A queued message settled without SMTP: `skipped` (its address may no longer get mail) or `failed` (it cannot be built). */
  async settle(id: string, status: 'skipped' | 'failed', reason: string): Promise<void> {
    await this.db.query(`UPDATE transactional_messages SET status = $2, smtp_response = $3, updated_at = now() WHERE id = $1 AND status = 'queued'`, [
      id,
      status,
      reason,
    ]);
  }

  /** The outcome of the run's SMTP attempt; nothing if the row is no longer the run's (reaped as unknown). */
  async record(q: Queryable, id: string, run: string, o: TransactionalOutcome): Promise<boolean> {
    const { affected } = await changed(
      q,
      `UPDATE transactional_messages
       SET status = $3, smtp_response = $4, claimed_by = NULL, updated_at = now(),
           sent_at = CASE WHEN $3 = 'sent' THEN now() END, next_attempt_at = COALESCE($5, next_attempt_at)
       WHERE id = $1 AND claimed_by = $2 AND status = 'submitting'`,
      [id, run, o.status, o.response.slice(0, 1000), o.retryAt],
    );
    return affected === 1;
  }

  /** Workers holding rows in `submitting`. */
  async claimTokens(): Promise<string[]> {
    const rows = await queryRows<{ claimed_by: string }>(
      this.db,
      `SELECT DISTINCT claimed_by FROM transactional_messages WHERE status = 'submitting' AND claimed_by IS NOT NULL`,
    );
    return rows.map((r) => r.claimed_by);
  }

  /** Rows of these tokens were in an SMTP transaction when their run ended: maybe delivered, so `unknown`. */
  async markUnknown(tokens: string[]): Promise<number> {
    const { affected } = await changed(
      this.db,
      `UPDATE transactional_messages SET status = 'unknown', smtp_response = 'worker stopped during the SMTP transaction', updated_at = now()
       WHERE status = 'submitting' AND claimed_by = ANY($1::text[])`,
      [tokens],
    );
    return affected;
  }

  /** Queued rows due for at least `graceMs`: their job may be lost (a crash between commit and enqueue, a Redis flush). */
  async overdue(graceMs: number, limit: number): Promise<{ id: string; next_attempt_at: Date }[]> {
    return queryRows(
      this.db,
      `SELECT id, next_attempt_at FROM transactional_messages
       WHERE status = 'queued' AND next_attempt_at < now() - make_interval(secs => $1::double precision / 1000)
       ORDER BY next_attempt_at LIMIT $2`,
      [graceMs, limit],
    );
  }

  /** GDPR erase: the address and the personal data of the person's messages go. */
  async forget(q: Queryable, subscriberId: string): Promise<void> {
    await q.query(`UPDATE transactional_messages SET to_email = '', data = '{}', updated_at = now() WHERE subscriber_id = $1`, [subscriberId]);
  }

  async ofSubscriber(subscriberId: string): Promise<TransactionalRow[]> {
    return queryRows(this.db, `SELECT * FROM transactional_messages WHERE subscriber_id = $1 ORDER BY created_at`, [subscriberId]);
  }
}
