import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { SendOutcome } from '../campaigns/campaign-sends';
import { changed, Queryable, queryRows } from '../database/queryable';

export type JourneyMessageStatus = 'queued' | 'sending' | 'submitting' | 'sent' | 'failed' | 'unknown' | 'skipped';

export interface NewJourneyMessage {
  enrolmentId: string;
  seq: number;
  journeyId: string;
  version: number;
  stepId: string;
  mailingId: string;
  subscriberId: string;
  transactional: boolean;
}

export interface ClaimedJourneyMessage {
  id: string;
  enrolment_id: string;
  journey_id: string;
  version: number;
  step_id: string;
  mailing_id: string;
  subscriber_id: string;
  transactional: boolean;
  attempts: number;
}

/** One journey message's SMTP outcome, as campaigns record theirs. */
export type JourneySendOutcome = SendOutcome;

/**
 * `journey_messages`: the mail of send steps, sent like campaign messages — claimed by a run
 * (`sending`), re-checked and marked `submitting` just before SMTP, then settled. A message is
 * `submitting` only while its SMTP transaction may be under way; a run that dies leaves it
 * `unknown`, never sent twice.
 */
@Injectable()
export class JourneyMessagesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** In the engine's transaction: one message per send step execution (the unique key makes a repeat a no-op). */
  async insert(q: Queryable, m: NewJourneyMessage[]): Promise<void> {
    if (!m.length) return;
    await q.query(
      `INSERT INTO journey_messages (enrolment_id, seq, journey_id, version, step_id, mailing_id, subscriber_id, transactional)
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::int[], $5::text[], $6::uuid[], $7::uuid[], $8::bool[])
       ON CONFLICT (enrolment_id, seq) DO NOTHING`,
      [
        m.map((x) => x.enrolmentId),
        m.map((x) => x.seq),
        m.map((x) => x.journeyId),
        m.map((x) => x.version),
        m.map((x) => x.stepId),
        m.map((x) => x.mailingId),
        m.map((x) => x.subscriberId),
        m.map((x) => x.transactional),
      ],
    );
  }

  /** Send times of these people's journey mail since `since` (transactional steps are exempt from the cap). */
  recent(q: Queryable, subscriberIds: string[], since: Date): Promise<{ subscriber_id: string; at: Date }[]> {
    return queryRows(
      q,
      `SELECT subscriber_id, send_at AS at FROM journey_messages
       WHERE subscriber_id = ANY($1::uuid[]) AND send_at > $2 AND NOT transactional AND status NOT IN ('skipped', 'failed')`,
      [subscriberIds, since],
    );
  }

  /** Due queued messages, claimed for the run (FOR UPDATE SKIP LOCKED: runs never take the same row). */
  async claim(run: string, limit: number): Promise<ClaimedJourneyMessage[]> {
    const { rows } = await changed<ClaimedJourneyMessage>(
      this.db,
      `UPDATE journey_messages m SET status = 'sending', claimed_by = $1, updated_at = now()
       WHERE m.id IN (SELECT id FROM journey_messages WHERE status = 'queued' AND send_at <= now() ORDER BY send_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING m.id::text, m.enrolment_id, m.journey_id, m.version, m.step_id, m.mailing_id, m.subscriber_id, m.transactional, m.attempts`,
      [run, limit],
    );
    // RETURNING follows no order: oldest first, so that back-to-back steps of one person go out in order.
    return rows.sort((a, b) => Number(a.id) - Number(b.id));
  }

  /**
   * sending → submitting for those who may still get the mail, in one statement; the others are
   * skipped. Marketing mail (`lists`) needs a confirmed subscription to one of the lists and no
   * suppression (the audience's `audience_blocked`), and records the list it goes out for;
   * transactional mail was re-checked by the caller (`blocked`).
   */
  async markSubmitting(ids: string[], run: string, lists: string[] | null, blocked: string[]): Promise<Map<string, string | null>> {
    const rows = await queryRows<{ id: string; list_id: string | null }>(
      this.db,
      `WITH chunk AS (
         SELECT m.id, m.subscriber_id FROM journey_messages m WHERE m.id = ANY($1::bigint[]) AND m.claimed_by = $2 AND m.status = 'sending'
       ), blocked AS (
         SELECT subscriber_id FROM audience_blocked((SELECT array_agg(subscriber_id) FROM chunk), $3::uuid[]) WHERE $3::uuid[] IS NOT NULL
         UNION SELECT unnest($4::uuid[])
       ), listed AS (
         SELECT subscriber_id, list_id FROM audience_consenting_list((SELECT array_agg(subscriber_id) FROM chunk), $3::uuid[]) WHERE $3::uuid[] IS NOT NULL
       ), marked AS (
         UPDATE journey_messages m SET status = CASE WHEN b.subscriber_id IS NULL THEN 'submitting' ELSE 'skipped' END,
                claimed_by = CASE WHEN b.subscriber_id IS NULL THEN m.claimed_by END, list_id = l.list_id, updated_at = now(),
                smtp_response = CASE WHEN b.subscriber_id IS NULL THEN NULL ELSE 'no longer allowed: unsubscribed, suppressed or erased' END
         FROM chunk c LEFT JOIN blocked b ON b.subscriber_id = c.subscriber_id LEFT JOIN listed l ON l.subscriber_id = c.subscriber_id
         WHERE m.id = c.id
         RETURNING m.id, m.status, m.list_id
       )
       SELECT id::text, list_id FROM marked WHERE status = 'submitting'`,
      [ids, run, lists, blocked],
    );
    return new Map(rows.map((r) => [r.id, r.list_id]));
  }

  /** Outcomes in one statement, in the caller's transaction. */
  async record(q: Queryable, outcomes: JourneySendOutcome[], run: string): Promise<void> {
    await q.query(
      `UPDATE journey_messages m SET status = v.status, smtp_response = v.response, bounce = v.bounce, attempts = v.attempt,
         send_at = COALESCE(v.retry_at, m.send_at), sent_at = CASE WHEN v.status = 'sent' THEN now() END, claimed_by = NULL, updated_at = now()
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[]) AS v (id, status, response, bounce, attempt, retry_at)
       WHERE m.id = v.id AND m.id = ANY($1::bigint[]) AND m.claimed_by = $7 AND m.status = 'submitting'`,
      [
        outcomes.map((o) => o.id),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.response.slice(0, 1000)),
        outcomes.map((o) => o.bounce),
        outcomes.map((o) => o.attempt),
        outcomes.map((o) => o.retryAt),
        run,
      ],
    );
  }

  /**
   * What stopped runs still hold: merely claimed → queued again; handed to SMTP with no recorded
   * outcome (`submitting`) → unknown, since it may have been delivered.
   */
  async handBack(tokens: string[]): Promise<number> {
    const { affected } = await changed(
      this.db,
      `UPDATE journey_messages SET status = CASE WHEN status = 'submitting' THEN 'unknown' ELSE 'queued' END,
              smtp_response = CASE WHEN status = 'submitting' THEN 'the sending process stopped during the SMTP transaction' ELSE smtp_response END,
              claimed_by = NULL, updated_at = now()
       WHERE claimed_by = ANY($1::text[]) AND status IN ('sending', 'submitting')`,
      [tokens],
    );
    return affected;
  }

  /** Runs holding claims. */
  async claimTokens(): Promise<string[]> {
    const rows = await queryRows<{ claimed_by: string }>(
      this.db,
      `SELECT DISTINCT claimed_by FROM journey_messages WHERE status IN ('sending', 'submitting') AND claimed_by IS NOT NULL`,
    );
    return rows.map((r) => r.claimed_by);
  }

  /** When the next queued message falls due (null: none). */
  async nextDue(): Promise<Date | null> {
    const [row] = await queryRows<{ at: Date | null }>(this.db, `SELECT min(send_at) AS at FROM journey_messages WHERE status = 'queued'`);
    return row.at;
  }

  /** Message counts of a journey's send step mailings, by status. */
  counts(mailingIds: string[]): Promise<{ mailing_id: string; status: JourneyMessageStatus; n: number }[]> {
    return queryRows(
      this.db,
      `SELECT mailing_id, status, count(*)::int AS n FROM journey_messages WHERE mailing_id = ANY($1::uuid[]) GROUP BY mailing_id, status`,
      [mailingIds],
    );
  }

  /** The list a journey mail went out for (its unsubscribe link). */
  async listOf(mailingId: string, subscriberId: string): Promise<string | undefined> {
    const [row] = await queryRows<{ list_id: string | null }>(
      this.db,
      `SELECT list_id FROM journey_messages WHERE mailing_id = $1 AND subscriber_id = $2 AND list_id IS NOT NULL ORDER BY id DESC LIMIT 1`,
      [mailingId, subscriberId],
    );
    return row?.list_id ?? undefined;
  }

  /** Message counts by enrolment and step execution (an enrolment's history). */
  ofEnrolments(enrolmentIds: string[]): Promise<{ enrolment_id: string; seq: number; status: JourneyMessageStatus; sent_at: Date | null }[]> {
    return queryRows(this.db, `SELECT enrolment_id, seq, status, sent_at FROM journey_messages WHERE enrolment_id = ANY($1::uuid[])`, [enrolmentIds]);
  }
}
