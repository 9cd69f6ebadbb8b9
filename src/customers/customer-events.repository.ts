import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changed, queryRows, type Queryable } from '../database/queryable';

/** A customer event to store; `at` null: when it is stored. */
export interface NewEventRow {
  subscriber_id: string | null;
  type: 'identify' | 'track';
  event: string | null;
  properties: Record<string, unknown>;
  at: Date | null;
  user_id: string | null;
  anonymous_id: string | null;
  message_id: string;
  context: Record<string, unknown> | null;
}

export interface EventRow {
  id: string;
  type: 'identify' | 'track';
  event: string | null;
  properties: Record<string, unknown>;
  at: Date;
  /** `at` in Postgres' own text form (microseconds), for the cursor. */
  at_text: string;
  received_at: Date;
  user_id: string | null;
  anonymous_id: string | null;
  message_id: string;
  context: Record<string, unknown> | null;
}

const COLUMNS = `id::text AS id, type, event, properties, at, at::text AS at_text, received_at, user_id, anonymous_id, message_id, context`;

/** `customer_events` and `customer_event_message_ids`. */
@Injectable()
export class CustomerEventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Transaction-scoped advisory locks on identities (`u:<userId>`, `a:<anonymousId>`,
   * `e:<address>`), exclusive where the caller links or changes a profile, shared where it only
   * reads the links. Taken in one statement in hash order, so two requests never wait for each
   * other in a circle.
   */
  async lockIdentities(q: Queryable, keys: Map<string, boolean>): Promise<void> {
    if (!keys.size) return;
    // The lock calls are volatile, so Postgres evaluates them after the sort, in hash order.
    await q.query(
      `SELECT CASE WHEN l.exclusive THEN pg_advisory_xact_lock(l.h) ELSE pg_advisory_xact_lock_shared(l.h) END
       FROM (SELECT hashtextextended('customer:' || k, 0) AS h, bool_or(x) AS exclusive
             FROM unnest($1::text[], $2::boolean[]) AS t(k, x) GROUP BY 1) l
       ORDER BY l.h`,
      [[...keys.keys()], [...keys.values()]],
    );
  }

  /**
   * Records these message ids (distinct) as received; answers those not received within the last
   * `days` days — the ones to store. A key older than the window is a new message again, whether
   * or not the purge has removed it yet. In id order, so overlapping requests do not deadlock.
   */
  async claimMessageIds(q: Queryable, messageIds: string[], days: number): Promise<Set<string>> {
    if (!messageIds.length) return new Set();
    const rows = await queryRows<{ message_id: string }>(
      q,
      `INSERT INTO customer_event_message_ids (message_id)
       SELECT m FROM unnest($1::text[]) AS m ORDER BY m
       ON CONFLICT (message_id) DO UPDATE SET received_at = now()
         WHERE customer_event_message_ids.received_at < now() - make_interval(days => $2)
       RETURNING message_id`,
      [messageIds, days],
    );
    return new Set(rows.map((r) => r.message_id));
  }

  /** The subscriber each of these anonymousIds was last tied to by a linked event. */
  async subscribersOfAnonymousIds(q: Queryable, anonymousIds: string[]): Promise<Map<string, string>> {
    if (!anonymousIds.length) return new Map();
    const rows = await queryRows<{ anonymous_id: string; subscriber_id: string }>(
      q,
      `SELECT DISTINCT ON (anonymous_id) anonymous_id, subscriber_id FROM customer_events
       WHERE anonymous_id = ANY($1::text[]) AND anonymous_id IS NOT NULL AND subscriber_id IS NOT NULL
       ORDER BY anonymous_id, id DESC`,
      [anonymousIds],
    );
    return new Map(rows.map((r) => [r.anonymous_id, r.subscriber_id]));
  }

  /** The request's events in one statement, ids in the order given. */
  async insert(q: Queryable, rows: NewEventRow[]): Promise<void> {
    if (!rows.length) return;
    await q.query(
      `INSERT INTO customer_events (subscriber_id, type, event, properties, at, user_id, anonymous_id, message_id, context)
       SELECT t.subscriber_id, t.type, t.event, t.properties, COALESCE(t.at, now()), t.user_id, t.anonymous_id, t.message_id, t.context
       FROM jsonb_to_recordset($1::jsonb) AS t(ord int, subscriber_id uuid, type text, event text, properties jsonb, at timestamptz,
                                                user_id text, anonymous_id text, message_id text, context jsonb)
       ORDER BY t.ord`,
      [JSON.stringify(rows.map((r, ord) => ({ ord, ...r })))],
    );
  }

  /** Earlier events of these userIds and anonymousIds, kept unlinked, get their subscriber. */
  async attach(q: Queryable, users: Map<string, string>, anonymous: Map<string, string>): Promise<number> {
    let n = 0;
    if (users.size) {
      n += (
        await changed(
          q,
          `UPDATE customer_events e SET subscriber_id = t.subscriber_id FROM unnest($1::text[], $2::uuid[]) AS t(user_id, subscriber_id)
           WHERE e.subscriber_id IS NULL AND e.user_id IS NOT NULL AND e.user_id = t.user_id`,
          [[...users.keys()], [...users.values()]],
        )
      ).affected;
    }
    if (anonymous.size) {
      n += (
        await changed(
          q,
          `UPDATE customer_events e SET subscriber_id = t.subscriber_id FROM unnest($1::text[], $2::uuid[]) AS t(anonymous_id, subscriber_id)
           WHERE e.subscriber_id IS NULL AND e.anonymous_id IS NOT NULL AND e.anonymous_id = t.anonymous_id`,
          [[...anonymous.keys()], [...anonymous.values()]],
        )
      ).affected;
    }
    return n;
  }

  /** A subscriber's events, newest first, after the keyset position `(at, id)` when given. */
  page(subscriberId: string, after: { at: string; id: string } | null, limit: number): Promise<EventRow[]> {
    return queryRows(
      this.db,
      `SELECT ${COLUMNS} FROM customer_events
       WHERE subscriber_id = $1 AND ($2::timestamptz IS NULL OR (at, id) < ($2::timestamptz, $3::bigint))
       ORDER BY at DESC, id DESC LIMIT $4`,
      [subscriberId, after?.at ?? null, after?.id ?? null, limit],
    );
  }

  /** Every event of a subscriber, oldest first (GDPR export). */
  /** Track events of this name these people sent since `since` (received, whatever their own timestamp). */
  receivedSince(subscriberIds: string[], event: string, since: Date): Promise<{ subscriber_id: string; properties: Record<string, unknown> }[]> {
    return queryRows(
      this.db,
      `SELECT subscriber_id, properties FROM customer_events
       WHERE subscriber_id = ANY($1::uuid[]) AND event = $2 AND type = 'track' AND received_at >= $3`,
      [subscriberIds, event, since],
    );
  }

  ofSubscriber(subscriberId: string): Promise<EventRow[]> {
    return queryRows(this.db, `SELECT ${COLUMNS} FROM customer_events WHERE subscriber_id = $1 ORDER BY at, id`, [subscriberId]);
  }

  /** GDPR erase, in the erase's transaction: the person's events go (their message ids stay, so a retry cannot bring one back). */
  async forget(q: Queryable, subscriberId: string): Promise<void> {
    await q.query(`DELETE FROM customer_events WHERE subscriber_id = $1`, [subscriberId]);
  }

  /** Message ids older than the dedupe window; answers how many went. */
  async purgeMessageIds(days: number): Promise<number> {
    return (await changed(this.db, `DELETE FROM customer_event_message_ids WHERE received_at < now() - make_interval(days => $1)`, [days])).affected;
  }
}
