import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows, type Queryable } from '../database/queryable';
import type { ConsentSource, SubscriptionStatus } from './audience.entities';

export interface SubscriptionRow {
  list_id: string;
  list_name: string;
  status: SubscriptionStatus;
  created_at: Date;
  confirmed_at: Date | null;
  unsubscribed_at: Date | null;
}

export interface ChoiceRow {
  id: string;
  name: string;
  opt_in: 'single' | 'double';
  status: SubscriptionStatus;
}

/** `subscriptions`: (subscriber, list) → pending, confirmed or unsubscribed. */
@Injectable()
export class SubscriptionsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** true when the subscription is new (a confirmed one gets its confirmation time). */
  async insert(q: Queryable, subscriberId: string, listId: string, status: SubscriptionStatus): Promise<boolean> {
    const inserted = await queryRows<unknown>(
      q,
      `INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at)
       VALUES ($1, $2, $3, CASE WHEN $3 = 'confirmed' THEN now() END)
       ON CONFLICT DO NOTHING RETURNING status`,
      [subscriberId, listId, status],
    );
    return inserted.length > 0;
  }

  /** The status, locking the row for the rest of the caller's transaction. */
  async lockStatus(q: Queryable, subscriberId: string, listId: string): Promise<SubscriptionStatus | undefined> {
    const [row] = await queryRows<{ status: SubscriptionStatus }>(q, `SELECT status FROM subscriptions WHERE subscriber_id = $1 AND list_id = $2 FOR UPDATE`, [
      subscriberId,
      listId,
    ]);
    return row?.status;
  }

  async setStatus(q: Queryable, subscriberId: string, listId: string, status: SubscriptionStatus): Promise<void> {
    await q.query(
      `UPDATE subscriptions SET status = $3, updated_at = now(),
         confirmed_at = CASE WHEN $3 = 'confirmed' THEN now() ELSE confirmed_at END,
         unsubscribed_at = CASE WHEN $3 = 'unsubscribed' THEN now() ELSE unsubscribed_at END
       WHERE subscriber_id = $1 AND list_id = $2`,
      [subscriberId, listId, status],
    );
  }

  /**
   * Every subscription the subscriber still has ends, each with its own ledger record, in one
   * statement. Returns the lists that changed.
   */
  async leaveAll(
    q: Queryable,
    subscriberId: string,
    e: { source: ConsentSource; text: string | null; ip: string | null; userAgent: string | null },
  ): Promise<string[]> {
    const rows = await queryRows<{ list_id: string }>(
      q,
      `WITH gone AS (
         UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = now(), updated_at = now()
         WHERE subscriber_id = $1 AND status <> 'unsubscribed' RETURNING list_id
       )
       INSERT INTO consent_events (subscriber_id, list_id, action, source, status, consent_text, ip, user_agent)
       SELECT $1, list_id, 'unsubscribe', $2, 'unsubscribed', $3, $4, $5 FROM gone RETURNING list_id`,
      [subscriberId, e.source, e.text, e.ip, e.userAgent],
    );
    return rows.map((r) => r.list_id);
  }

  /** Erase: every subscription ends (the ledger gets one erase record, written by the caller). Nothing is reported to webhooks: the person is gone. */
  async endAll(q: Queryable, subscriberId: string): Promise<void> {
    await q.query(
      `UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = COALESCE(unsubscribed_at, now()), updated_at = now()
       WHERE subscriber_id = $1 AND status <> 'unsubscribed'`,
      [subscriberId],
    );
  }

  ofSubscriber(subscriberId: string): Promise<SubscriptionRow[]> {
    return this.db.query(
      `SELECT sub.list_id, l.name AS list_name, sub.status, sub.created_at, sub.confirmed_at, sub.unsubscribed_at
       FROM subscriptions sub JOIN lists l ON l.id = sub.list_id WHERE sub.subscriber_id = $1 ORDER BY sub.created_at`,
      [subscriberId],
    );
  }

  /** The lists a subscriber has a subscription to, with where they stand, by list name. */
  choices(q: Queryable, subscriberId: string): Promise<ChoiceRow[]> {
    return queryRows<ChoiceRow>(
      q,
      `SELECT l.id, l.name, l.opt_in, sub.status
       FROM subscriptions sub JOIN lists l ON l.id = sub.list_id
       WHERE sub.subscriber_id = $1 ORDER BY l.name, l.id`,
      [subscriberId],
    );
  }

  /** A list's name and where the subscriber stands on it (null: no subscription, or no list). */
  async standing(subscriberId: string, listId: string): Promise<{ listName: string | null; status: SubscriptionStatus | null }> {
    const [row]: { name: string | null; status: SubscriptionStatus | null }[] = await this.db.query(
      `SELECT l.name, sub.status FROM (SELECT $2::uuid AS id) x
       LEFT JOIN lists l ON l.id = x.id
       LEFT JOIN subscriptions sub ON sub.subscriber_id = $1 AND sub.list_id = x.id`,
      [subscriberId, listId],
    );
    return { listName: row.name, status: row.status };
  }

  /** The pending subscription's address, name and list name (undefined unless pending and not erased). */
  async pending(subscriberId: string, listId: string): Promise<{ email: string; name: string | null; list_name: string } | undefined> {
    const [row]: { email: string; name: string | null; list_name: string }[] = await this.db.query(
      `SELECT s.email, s.name, l.name AS list_name
       FROM subscriptions sub JOIN subscribers s ON s.id = sub.subscriber_id JOIN lists l ON l.id = sub.list_id
       WHERE sub.subscriber_id = $1 AND sub.list_id = $2 AND sub.status = 'pending' AND s.email IS NOT NULL`,
      [subscriberId, listId],
    );
    return row;
  }

  /** Served index-only by subscriptions_list_status_idx. */
  counts(listIds: string[]): Promise<{ list_id: string; status: SubscriptionStatus; n: number }[]> {
    return this.db.query(`SELECT list_id, status, count(*)::int AS n FROM subscriptions WHERE list_id = ANY($1::uuid[]) GROUP BY list_id, status`, [listIds]);
  }

  async deleteForList(q: Queryable, listId: string): Promise<void> {
    await q.query(`DELETE FROM subscriptions WHERE list_id = $1`, [listId]);
  }
}
