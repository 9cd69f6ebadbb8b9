import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows, changed, inserted, type Queryable } from '../database/queryable';
import { SqlParams } from '../segments/segment-sql';

/** A claimed message: what its sending needs besides the recipient's profile. */
export interface ClaimedMessage {
  messageId: string;
  subscriberId: string;
  listId: string;
  attempts: number;
  /** Index into the campaign's variants; null without variants. */
  variant: number | null;
}

/** The SMTP outcome of one message, as the dispatcher records it. */
/** One message's SMTP outcome (see delivery's `afterFailure`). */
export interface SendOutcome {
  id: string;
  status: 'sent' | 'failed' | 'queued';
  response: string;
  bounce: 'hard' | 'soft' | null;
  attempt: number;
  retryAt: Date | null;
}

/**
 * `messages`: one row per recipient of a campaign, from the frozen audience to the SMTP outcome.
 * Claims are made under a dispatch run's token (`<worker>/<run>`), and every write of a run checks
 * it still holds the claim.
 */
@Injectable()
export class MessagesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Freezes the audience of subscribers in [fromId, toId) — the audience's published
   * `audience_recipients` — into messages, each with its send time and variant (see ./variants.ts:
   * u from md5 of the campaign and subscriber ids; the rest of an A/B test's audience `held`), in
   * subscriber order (the unique (campaign_id, subscriber_id) index then fills in order, not at
   * random). A rerun adds what is missing. Returns how many it added.
   */
  async freeze(
    campaignId: string,
    lists: string[],
    fromId: string,
    toId: string | null,
    narrowing: ((id: string, p: SqlParams) => string) | null,
  ): Promise<number> {
    const p = new SqlParams([campaignId, lists, fromId, toId]);
    const narrowed = narrowing ? `AND ${narrowing('r.subscriber_id', p)}` : '';
    return inserted(
      this.db,
      `INSERT INTO messages (campaign_id, subscriber_id, list_id, send_at, variant, status, ab_rest)
       SELECT $1, r.subscriber_id, r.list_id,
              CASE WHEN c.local_time
                   THEN (c.scheduled_at AT TIME ZONE 'UTC') AT TIME ZONE COALESCE(r.timezone, c.default_timezone)
                   ELSE COALESCE(c.scheduled_at, now()) END,
              CASE WHEN v.k IS NULL THEN NULL
                   WHEN v.share IS NULL THEN floor(h.u * v.k)
                   WHEN h.u < v.share THEN floor(h.u / v.share * v.k) END,
              CASE WHEN v.share IS NOT NULL AND h.u >= v.share THEN 'held' ELSE 'queued' END,
              CASE WHEN v.share IS NOT NULL AND h.u >= v.share THEN true END
       FROM audience_recipients($2::uuid[], $3::uuid, $4::uuid) r CROSS JOIN campaigns c
       CROSS JOIN LATERAL (SELECT jsonb_array_length(c.variants) AS k, (c.ab_test->>'testShare')::float8 AS share) v
       CROSS JOIN LATERAL (SELECT CASE WHEN v.k IS NULL THEN 0
                                  ELSE ('x' || left(md5(c.id::text || ':' || r.subscriber_id::text), 8))::bit(32)::bigint / 4294967296.0 END AS u) h
       WHERE c.id = $1 ${narrowed}
       ORDER BY r.subscriber_id
       ON CONFLICT (campaign_id, subscriber_id) DO NOTHING`,
      p.values,
    );
  }

  /** Whether the campaign has any message yet (an earlier start that stopped half-way). */
  async any(campaignId: string): Promise<boolean> {
    const [row]: { any: boolean }[] = await this.db.query(`SELECT EXISTS (SELECT 1 FROM messages WHERE campaign_id = $1) AS any`, [campaignId]);
    return row.any;
  }

  /** Messages by status, read index-only from messages_status_idx. */
  countsByStatus(ids: string[]): Promise<{ campaign_id: string; status: string; n: number }[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.query(`SELECT campaign_id, status, count(*)::int AS n FROM messages WHERE campaign_id = ANY($1::uuid[]) GROUP BY 1, 2`, [ids]);
  }

  /**
   * Of campaigns whose audience is frozen, the messages in every status but queued (and in flight):
   * sent and failed from the runs' tallies, the rare others (unknown, skipped, cancelled) from
   * messages_status_idx — one statement, one snapshot; a few rows whatever the campaigns' size.
   */
  liveCounts(ids: string[]): Promise<{ campaign_id: string; status: string; n: number }[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.query(
      `SELECT campaign_id, 'sent' AS status, sum(sent)::int AS n FROM message_outcomes WHERE campaign_id = ANY($1::uuid[]) GROUP BY 1
       UNION ALL
       SELECT campaign_id, 'failed', sum(failed)::int FROM message_outcomes WHERE campaign_id = ANY($1::uuid[]) GROUP BY 1
       UNION ALL
       SELECT campaign_id, status, count(*)::int FROM messages
       WHERE campaign_id = ANY($1::uuid[]) AND status = ANY('{unknown,skipped,cancelled}'::text[]) GROUP BY 1, 2`,
      [ids],
    );
  }

  async cancelQueued(q: Queryable, campaignId: string): Promise<void> {
    await q.query(`UPDATE messages SET status = 'cancelled', updated_at = now() WHERE campaign_id = $1 AND status IN ('queued', 'held')`, [campaignId]);
  }

  /** The rest of an A/B test's audience gets the winner and joins the queue; in the caller's transaction. */
  async releaseHeld(q: Queryable, campaignId: string, variant: number): Promise<number> {
    const { affected } = await changed(
      q,
      `UPDATE messages SET status = 'queued', variant = $2, send_at = GREATEST(send_at, now()), updated_at = now() WHERE campaign_id = $1 AND status = 'held'`,
      [campaignId, variant],
    );
    return affected;
  }

  /** Due messages, claimed for a run, in message order. */
  async claim(campaignId: string, run: string, limit: number): Promise<ClaimedMessage[]> {
    const { rows } = await changed<ClaimedMessage>(
      this.db,
      `WITH due AS (
         SELECT id FROM messages WHERE campaign_id = $1 AND status = 'queued' AND send_at <= now()
         ORDER BY send_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE messages m SET status = 'sending', claimed_by = $3, updated_at = now()
       FROM due WHERE m.id = due.id
       RETURNING m.id::text AS "messageId", m.subscriber_id AS "subscriberId", m.list_id AS "listId", m.attempts, m.variant`,
      [campaignId, limit, run],
    );
    return rows.sort((a, b) => Number(a.messageId) - Number(b.messageId));
  }

  /**
   * The moment before SMTP: the chunk becomes `submitting`, except messages whose recipient may no
   * longer receive mail for the campaign's lists (the audience's published `audience_blocked`:
   * suppressed, erased, or confirmed on none of them), which become `skipped`, and claims the reaper
   * took back (not this run's any more). Returns the ids to send.
   */
  async markSubmitting(ids: string[], run: string, lists: string[]): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `WITH chunk AS (
         SELECT m.id, m.subscriber_id FROM messages m WHERE m.id = ANY($1::bigint[]) AND m.claimed_by = $2 AND m.status = 'sending'
       ), blocked AS (
         SELECT subscriber_id FROM audience_blocked((SELECT array_agg(subscriber_id) FROM chunk), $3::uuid[])
       ), marked AS (
         UPDATE messages m SET status = CASE WHEN b.subscriber_id IS NULL THEN 'submitting' ELSE 'skipped' END,
                claimed_by = CASE WHEN b.subscriber_id IS NULL THEN m.claimed_by END, updated_at = now()
         FROM chunk c LEFT JOIN blocked b ON b.subscriber_id = c.subscriber_id
         WHERE m.id = c.id
         RETURNING m.id, m.status
       )
       SELECT id::text FROM marked WHERE status = 'submitting'`,
      [ids, run, lists],
    );
    return rows.map((r) => r.id);
  }

  /** Claims not sent: back to the queue (paused), or cancelled with their campaign. */
  async release(ids: string[], run: string, to: 'queued' | 'cancelled'): Promise<void> {
    await this.db.query(
      `UPDATE messages SET status = $3, claimed_by = NULL, updated_at = now() WHERE id = ANY($1::bigint[]) AND claimed_by = $2 AND status = 'sending'`,
      [ids, run, to],
    );
  }

  /**
   * Outcomes in one statement, in the caller's transaction, tallied in the run's row of
   * message_outcomes (see liveCounts). Run again after a lost reply it finds nothing `submitting`
   * under the run's claim, and tallies nothing.
   */
  async record(q: Queryable, outcomes: SendOutcome[], run: string, sentBy: string): Promise<void> {
    await q.query(
      `WITH recorded AS (
         UPDATE messages m SET status = v.status, smtp_response = v.response, bounce = v.bounce, attempts = v.attempt,
           send_at = COALESCE(v.retry_at, m.send_at), sent_at = CASE WHEN v.status = 'sent' THEN now() END,
           sent_by = CASE WHEN v.status = 'sent' THEN $8 END, claimed_by = NULL, updated_at = now()
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[]) AS v(id, status, response, bounce, attempt, retry_at)
         WHERE m.id = v.id AND m.claimed_by = $7 AND m.status = 'submitting'
         RETURNING m.campaign_id, m.status
       )
       INSERT INTO message_outcomes AS o (campaign_id, run, sent, failed)
       SELECT campaign_id, $7, count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed')
       FROM recorded WHERE status IN ('sent', 'failed') GROUP BY campaign_id
       ON CONFLICT (campaign_id, run) DO UPDATE SET sent = o.sent + EXCLUDED.sent, failed = o.failed + EXCLUDED.failed`,
      [
        outcomes.map((o) => o.id),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.response),
        outcomes.map((o) => o.bounce),
        outcomes.map((o) => o.attempt),
        outcomes.map((o) => o.retryAt),
        run,
        sentBy,
      ],
    );
  }

  /**
   * Everything a run still holds goes back to the queue, except messages handed to SMTP whose
   * outcome could not be recorded (`handed`): maybe delivered, so `unknown`. Returns how many moved.
   */
  async handBack(run: string, handed: string[]): Promise<number> {
    const { affected: n } = await changed(
      this.db,
      `UPDATE messages SET status = CASE WHEN status = 'submitting' AND id = ANY($2::bigint[]) THEN 'unknown' ELSE 'queued' END,
         smtp_response = CASE WHEN status = 'submitting' AND id = ANY($2::bigint[]) THEN 'the outcome of the SMTP transaction could not be recorded' ELSE smtp_response END,
         claimed_by = NULL, updated_at = now()
       WHERE claimed_by = $1 AND status IN ('sending', 'submitting')`,
      [run, handed],
    );
    return n;
  }

  /** The claim tokens messages are held under now. */
  async claimTokens(): Promise<string[]> {
    const rows: { claimed_by: string }[] = await this.db.query(
      `SELECT DISTINCT claimed_by FROM messages WHERE status IN ('sending', 'submitting') AND claimed_by IS NOT NULL`,
    );
    return rows.map((r) => r.claimed_by);
  }

  /** Claims nobody works on any more: `sending` back to the queue, `submitting` (maybe delivered) to `unknown`. */
  async reclaim(tokens: string[]): Promise<number> {
    const { affected: n } = await changed(
      this.db,
      `UPDATE messages SET status = CASE status WHEN 'sending' THEN 'queued' ELSE 'unknown' END,
         smtp_response = CASE status WHEN 'submitting' THEN 'worker died during the SMTP transaction' ELSE smtp_response END,
         claimed_by = NULL, updated_at = now()
       WHERE claimed_by = ANY($1::text[]) AND status IN ('sending', 'submitting')`,
      [tokens],
    );
    return n;
  }

  /** When the campaign's next queued message is due, and whether any is in flight. */
  async nextDue(campaignId: string): Promise<{ at: Date | null; busy: boolean }> {
    const [next]: { at: Date | null; busy: boolean }[] = await this.db.query(
      `SELECT (SELECT min(send_at) FROM messages WHERE campaign_id = $1 AND status = 'queued') AS at,
              EXISTS (SELECT 1 FROM messages WHERE campaign_id = $1 AND status IN ('sending', 'submitting')) AS busy`,
      [campaignId],
    );
    return next;
  }

  /** The list a recipient got the campaign through; undefined when there is no such message. */
  /** When these people got campaign mail since `since` (the frequency cap of journeys). */
  sentSince(subscriberIds: string[], since: Date): Promise<{ subscriber_id: string; at: Date }[]> {
    return this.db.query(`SELECT subscriber_id, sent_at AS at FROM messages WHERE subscriber_id = ANY($1::uuid[]) AND status = 'sent' AND sent_at > $2`, [
      subscriberIds,
      since,
    ]);
  }

  async listOf(campaignId: string, subscriberId: string): Promise<string | undefined> {
    const [row]: { list_id: string }[] = await this.db.query(`SELECT list_id FROM messages WHERE campaign_id = $1 AND subscriber_id = $2`, [
      campaignId,
      subscriberId,
    ]);
    return row?.list_id;
  }

  /**
   * When each (campaign, subscriber) message was sent (epoch ms), by the pair's 1-based position; in
   * the caller's transaction. The ids come as binary uuid[] (database/pg-binary): many thousands a batch.
   */
  sentAt(q: Queryable, campaigns: Buffer, subscribers: Buffer): Promise<{ i: number; sent_at: number | null }[]> {
    return queryRows<{ i: number; sent_at: number | null }>(
      q,
      `SELECT t.i::int AS i, round(date_part('epoch', m.sent_at) * 1000) AS sent_at FROM messages m
       JOIN unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(c, s, i) ON m.campaign_id = t.c AND m.subscriber_id = t.s`,
      [campaigns, subscribers],
    );
  }
}
