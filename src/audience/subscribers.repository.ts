import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows, type Queryable } from '../database/queryable';
import type { SubscriptionStatus } from './audience.entities';

export interface SubscriberRow {
  id: string;
  email: string | null;
  name: string | null;
  attributes: Record<string, unknown>;
  timezone: string | null;
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
  list: string | null;
  status: SubscriptionStatus | null;
  limit: number;
}

const COLUMNS = `s.id, s.email, s.name, s.attributes, s.timezone, s.created_at, s.updated_at, s.erased_at, s.created_at::text AS ts`;

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
  async upsertByEmail(q: Queryable, email: string, name: string | null): Promise<string> {
    const [row] = await queryRows<{ id: string }>(
      q,
      `INSERT INTO subscribers (email, name) VALUES ($1, $2)
       ON CONFLICT (email) DO UPDATE SET name = COALESCE(subscribers.name, EXCLUDED.name)
       RETURNING id`,
      [email, name],
    );
    return row.id;
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
       ORDER BY s.id LIMIT $5`,
      [f.afterId, f.email, f.list, f.status, f.limit],
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
    await q.query(`UPDATE subscribers SET email = NULL, name = NULL, attributes = '{}', timezone = NULL, erased_at = now(), updated_at = now() WHERE id = $1`, [
      id,
    ]);
  }

  profiles(ids: string[]): Promise<SubscriberProfile[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.query(`SELECT id, email, name, attributes, timezone FROM subscribers WHERE id = ANY($1::uuid[])`, [ids]);
  }

  profilesByEmail(emails: string[]): Promise<SubscriberProfile[]> {
    return this.db.query(`SELECT id, email, name, attributes, timezone FROM subscribers WHERE email = ANY($1::text[])`, [emails]);
  }

  async emails(q: Queryable, ids: string[]): Promise<Map<string, string | null>> {
    const rows = await queryRows<{ id: string; email: string | null }>(q, `SELECT id, email FROM subscribers WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r.email]));
  }
}
