import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changed, queryRows, type Queryable } from '../database/queryable';
import type { SubscriptionStatus } from './audience.entities';

export interface SubscriberRow {
  id: string;
  email: string | null;
  name: string | null;
  attributes: Record<string, unknown>;
  timezone: string | null;
  external_id: string | null;
  created_at: Date;
  updated_at: Date;
  erased_at: Date | null;
  ts: string;
}

/** A subscriber as templates see them. */
export interface SubscriberProfile {
  id: string;
  email: string | null;
  name: string | null;
  attributes: Record<string, unknown>;
  timezone: string | null;
}

export interface SubscriberFilter {
  afterId: string | null;
  email: string | null;
  externalId: string | null;
  list: string | null;
  status: SubscriptionStatus | null;
  limit: number;
}

/** Profile changes from customer data: `attributes` merge shallowly into the stored ones, `removed` keys go. */
export interface TraitsRow {
  name: string | null;
  attributes: Record<string, unknown>;
  removed: string[];
}

const COLUMNS = `s.id, s.email, s.name, s.attributes, s.timezone, s.external_id, s.created_at, s.updated_at, s.erased_at, s.created_at::text AS ts`;

/** `subscribers`: the profiles. An erased subscriber keeps its row without personal data. */
@Injectable()
export class SubscribersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The new subscriber's id, or null when the address is taken. */
  async insert(q: Queryable, s: { email: string; name: string | null; attributes: Record<string, unknown>; timezone: string | null }): Promise<string | null> {
    const [row] = await queryRows<{ id: string }>(
      q,
      `INSERT INTO subscribers (email, name, attributes, timezone) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING RETURNING id`,
      [s.email, s.name, s.attributes, s.timezone],
    );
    return row?.id ?? null;
  }

  /** The subscriber with this address, created if new (a name fills in only a missing one). */
  async upsertByEmail(q: Queryable, email: string, name: string | null): Promise<{ id: string; created: boolean }> {
    const [row] = await queryRows<{ id: string; created: boolean }>(
      q,
      `INSERT INTO subscribers (email, name) VALUES ($1, $2)
       ON CONFLICT (email) DO UPDATE SET name = COALESCE(subscribers.name, EXCLUDED.name)
       RETURNING id, (xmax = 0) AS created`,
      [email, name],
    );
    return row;
  }

  async idByEmail(q: Queryable, email: string): Promise<string | undefined> {
    const [row] = await queryRows<{ id: string }>(q, `SELECT id FROM subscribers WHERE email = $1`, [email]);
    return row?.id;
  }

  /** Not erased. */
  async find(q: Queryable, id: string): Promise<SubscriberRow | undefined> {
    const [row] = await queryRows<SubscriberRow>(q, `SELECT ${COLUMNS} FROM subscribers s WHERE s.id = $1 AND s.erased_at IS NULL`, [id]);
    return row;
  }

  /** Not erased, locked for the rest of the caller's transaction. */
  async lock(q: Queryable, id: string): Promise<SubscriberRow | undefined> {
    const [row] = await queryRows<SubscriberRow>(q, `SELECT ${COLUMNS} FROM subscribers s WHERE s.id = $1 AND s.erased_at IS NULL FOR UPDATE`, [id]);
    return row;
  }

  /** The address (null once erased), locking the row: concurrent changes for one person take turns. undefined: no such subscriber. */
  async lockEmail(q: Queryable, id: string): Promise<string | null | undefined> {
    const [row] = await queryRows<{ email: string | null }>(q, `SELECT email FROM subscribers WHERE id = $1 FOR UPDATE`, [id]);
    return row ? row.email : undefined;
  }

  async emailOf(q: Queryable, id: string): Promise<string | null | undefined> {
    const [row] = await queryRows<{ email: string | null }>(q, `SELECT email FROM subscribers WHERE id = $1`, [id]);
    return row ? row.email : undefined;
  }

  /**
   * A page of subscribers (not erased) in id order — ids are time-ordered (uuid_v7), so the primary
   * key alone orders the pages — optionally by address and by subscription to a list and/or status.
   */
  page(f: SubscriberFilter): Promise<SubscriberRow[]> {
    return this.db.query(
      `SELECT ${COLUMNS} FROM subscribers s
       WHERE s.erased_at IS NULL
         AND ($1::uuid IS NULL OR s.id > $1::uuid)
         AND ($2::text IS NULL OR s.email = $2::text)
         AND (($3::uuid IS NULL AND $4::text IS NULL)
              OR EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.subscriber_id = s.id
                           AND ($3::uuid IS NULL OR sub.list_id = $3::uuid) AND ($4::text IS NULL OR sub.status = $4::text)))
         AND ($6::text IS NULL OR s.external_id = $6::text)
       ORDER BY s.id LIMIT $5`,
      [f.afterId, f.email, f.list, f.status, f.limit, f.externalId],
    );
  }

  async update(
    q: Queryable,
    id: string,
    s: { email: string | null; name: string | null; attributes: Record<string, unknown>; timezone: string | null },
  ): Promise<void> {
    await q.query(`UPDATE subscribers SET email = $2, name = $3, attributes = $4, timezone = $5, updated_at = now() WHERE id = $1`, [
      id,
      s.email,
      s.name,
      s.attributes,
      s.timezone,
    ]);
  }

  /** GDPR erase: the row stays (aggregates keep adding up), its personal data goes. */
  async erase(q: Queryable, id: string): Promise<void> {
    await q.query(
      `UPDATE subscribers SET email = NULL, name = NULL, attributes = '{}', timezone = NULL, external_id = NULL, erased_at = now(), updated_at = now()
       WHERE id = $1`,
      [id],
    );
  }

  /** Customer data: the subscribers (not erased) linked to these external ids, by external id. */
  async idsByExternalId(q: Queryable, externalIds: string[]): Promise<Map<string, string>> {
    if (!externalIds.length) return new Map();
    const rows = await queryRows<{ id: string; external_id: string }>(q, `SELECT id, external_id FROM subscribers WHERE external_id = ANY($1::text[])`, [
      externalIds,
    ]);
    return new Map(rows.map((r) => [r.external_id, r.id]));
  }

  /**
   * Customer data: a subscriber for each address that has none, with nothing but the address (no
   * subscription). In address order, so that two transactions adding the same addresses wait for
   * each other instead of deadlocking. Answers the subscribers it created.
   */
  async ensureEmails(q: Queryable, emails: string[]): Promise<{ id: string; email: string }[]> {
    if (!emails.length) return [];
    return queryRows<{ id: string; email: string }>(
      q,
      `INSERT INTO subscribers (email) SELECT e FROM unnest($1::text[]) AS e ORDER BY e COLLATE "C" ON CONFLICT (email) DO NOTHING RETURNING id, email`,
      [emails],
    );
  }

  /**
   * Customer data: traits merged into the subscribers with these addresses (one row per address), a
   * name filling in only a missing one. `external_id` links the subscriber when it has none yet and
   * no other subscriber has it (the caller gives each external id to one address at most).
   */
  async mergeByEmail(
    q: Queryable,
    rows: (TraitsRow & { email: string; external_id: string | null })[],
  ): Promise<{ id: string; email: string; external_id: string | null }[]> {
    if (!rows.length) return [];
    const updated = await changed<{ id: string; email: string; external_id: string | null }>(
      q,
      `UPDATE subscribers s SET
         name = COALESCE(s.name, t.name),
         attributes = (s.attributes || t.attributes) - t.removed,
         external_id = CASE WHEN s.external_id IS NULL AND t.external_id IS NOT NULL
                              AND NOT EXISTS (SELECT 1 FROM subscribers o WHERE o.external_id = t.external_id)
                            THEN t.external_id ELSE s.external_id END,
         updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS t(email text, external_id text, name text, attributes jsonb, removed text[])
       WHERE s.email = t.email
       RETURNING s.id, s.email, s.external_id`,
      [JSON.stringify(rows)],
    );
    return updated.rows;
  }

  /** Customer data: traits merged into these subscribers (not erased), one row per id. */
  async mergeById(q: Queryable, rows: (TraitsRow & { id: string })[]): Promise<void> {
    if (!rows.length) return;
    await q.query(
      `UPDATE subscribers s SET name = COALESCE(s.name, t.name), attributes = (s.attributes || t.attributes) - t.removed, updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, name text, attributes jsonb, removed text[])
       WHERE s.id = t.id AND s.erased_at IS NULL`,
      [JSON.stringify(rows)],
    );
  }

  /**
   * Of these subscribers, those not erased, each share-locked for the rest of the caller's
   * transaction: an erase (which locks the row FOR UPDATE) waits until the caller's rows that refer
   * to them are committed, and so finds them; or the caller waits for the erase and leaves it out.
   */
  async lockLive(q: Queryable, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await queryRows<{ id: string }>(q, `SELECT id FROM subscribers WHERE id = ANY($1::uuid[]) AND erased_at IS NULL ORDER BY id FOR KEY SHARE`, [
      ids,
    ]);
    return new Set(rows.map((r) => r.id));
  }

  profiles(ids: string[]): Promise<SubscriberProfile[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.query(`SELECT id, email, name, attributes, timezone FROM subscribers WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /**
   * Subscribers (with an address) whose date attribute falls on one of these month-days
   * ('MM-DD' of a 'YYYY-MM-DD…' value), by id after `afterId`: a yearly date trigger's candidates.
   */
  anniversaries(
    attribute: string,
    monthDays: string[],
    afterId: string | null,
    limit: number,
  ): Promise<{ id: string; value: string; timezone: string | null }[]> {
    return queryRows(
      this.db,
      `SELECT id, attributes->>$1 AS value, timezone FROM subscribers
       WHERE email IS NOT NULL AND substring(attributes->>$1 from 6 for 5) = ANY($2::text[]) AND ($3::uuid IS NULL OR id > $3)
       ORDER BY id LIMIT $4`,
      [attribute, monthDays, afterId, limit],
    );
  }

  profilesByEmail(emails: string[]): Promise<SubscriberProfile[]> {
    return this.db.query(`SELECT id, email, name, attributes, timezone FROM subscribers WHERE email = ANY($1::text[])`, [emails]);
  }

  async emails(q: Queryable, ids: string[]): Promise<Map<string, string | null>> {
    const rows = await queryRows<{ id: string; email: string | null }>(q, `SELECT id, email FROM subscribers WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r.email]));
  }
}
