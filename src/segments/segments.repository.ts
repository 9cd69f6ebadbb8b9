import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changed, Queryable, queryRows } from '../database/queryable';
import { SqlParams } from './segment-sql';

export interface SegmentRow {
  id: string;
  name: string;
  rules: unknown;
  refers_to: string[];
  member_count: number | null;
  refreshed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** created_at as Postgres text, for the keyset. */
  ts: string;
}

export interface SubscriberSummaryRow {
  id: string;
  email: string;
  name: string | null;
  external_id: string | null;
  attributes: Record<string, unknown>;
  timezone: string | null;
  created_at: Date;
}

/** A statement built by the segment compiler: its text and its values. */
export interface Compiled {
  sql: string;
  params: SqlParams;
}

const COLUMNS = `*, created_at::text AS ts`;

/**
 * `segments` and `segment_memberships`, and the running of compiled segment statements (their
 * text comes from the owners of the data they read, their values are parameters).
 */
@Injectable()
export class SegmentsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(name: string, rules: unknown, refersTo: string[]): Promise<SegmentRow> {
    const [row] = await queryRows<SegmentRow>(this.db, `INSERT INTO segments (name, rules, refers_to) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [
      name,
      JSON.stringify(rules),
      refersTo,
    ]);
    return row;
  }

  async update(id: string, values: { name?: string; rules?: unknown; refersTo?: string[] }): Promise<SegmentRow | undefined> {
    const { rows } = await changed<SegmentRow>(
      this.db,
      `UPDATE segments SET name = COALESCE($2, name), rules = COALESCE($3::jsonb, rules), refers_to = COALESCE($4::uuid[], refers_to), updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, values.name ?? null, values.rules === undefined ? null : JSON.stringify(values.rules), values.refersTo ?? null],
    );
    return rows[0];
  }

  async find(id: string): Promise<SegmentRow | undefined> {
    const [row] = await queryRows<SegmentRow>(this.db, `SELECT ${COLUMNS} FROM segments WHERE id = $1`, [id]);
    return row;
  }

  findMany(ids: string[]): Promise<SegmentRow[]> {
    return queryRows<SegmentRow>(this.db, `SELECT ${COLUMNS} FROM segments WHERE id = ANY($1::uuid[])`, [ids]);
  }

  page(after: { createdAt: string; id: string } | null, limit: number): Promise<SegmentRow[]> {
    return queryRows<SegmentRow>(
      this.db,
      `SELECT ${COLUMNS} FROM segments
       WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid) ORDER BY created_at, id LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, limit],
    );
  }

  allIds(): Promise<{ id: string }[]> {
    return queryRows(this.db, `SELECT id FROM segments ORDER BY id`);
  }

  /** The segments whose rules name `id`. */
  referrers(id: string): Promise<{ id: string; name: string }[]> {
    return queryRows(this.db, `SELECT id, name FROM segments WHERE refers_to @> ARRAY[$1::uuid] ORDER BY name`, [id]);
  }

  async delete(id: string): Promise<boolean> {
    const { affected } = await changed(this.db, `DELETE FROM segments WHERE id = $1`, [id]);
    return affected > 0;
  }

  async count(members: Compiled): Promise<number> {
    const [row] = await queryRows<{ n: number }>(this.db, `SELECT count(*)::int AS n FROM (${members.sql}) m`, members.params.values);
    return row.n;
  }

  /** `members` must select the summary columns. */
  sample(members: Compiled, limit: number): Promise<SubscriberSummaryRow[]> {
    const p = members.params;
    return queryRows<SubscriberSummaryRow>(this.db, `SELECT * FROM (${members.sql}) m ORDER BY m.id LIMIT ${p.add(limit, 'integer')}`, p.values);
  }

  /**
   * Brings the open stays in line with `members` (an `id` column), in one transaction: who is no
   * longer there leaves, who is new enters. Refreshes of one segment take turns (an advisory lock),
   * so a subscriber never has two open stays.
   */
  refresh(
    segmentId: string,
    members: Compiled,
    onEntered: (tx: Queryable, subscriberIds: string[]) => Promise<void>,
  ): Promise<{ entered: number; exited: number; members: number }> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('segment-refresh:' || $1, 0))`, [segmentId]);
      const p = members.params;
      const id = p.add(segmentId, 'uuid');
      const [row] = await queryRows<{ entered: string[]; exited: number; members: number }>(
        tx,
        `WITH now_in AS (${members.sql}),
              exited AS (UPDATE segment_memberships m SET left_at = now()
                         WHERE m.segment_id = ${id} AND m.left_at IS NULL AND NOT EXISTS (SELECT 1 FROM now_in WHERE now_in.id = m.subscriber_id)
                         RETURNING 1),
              entered AS (INSERT INTO segment_memberships (segment_id, subscriber_id, entered_at)
                          SELECT ${id}, now_in.id, now() FROM now_in
                          WHERE NOT EXISTS (SELECT 1 FROM segment_memberships m WHERE m.segment_id = ${id} AND m.subscriber_id = now_in.id AND m.left_at IS NULL)
                          RETURNING subscriber_id),
              counted AS (UPDATE segments SET member_count = (SELECT count(*) FROM now_in), refreshed_at = now() WHERE id = ${id} RETURNING member_count)
         SELECT ARRAY(SELECT subscriber_id FROM entered) AS entered, (SELECT count(*) FROM exited)::int AS exited, (SELECT member_count FROM counted) AS members`,
        p.values,
      );
      if (row.entered.length) await onEntered(tx, row.entered);
      return { entered: row.entered.length, exited: row.exited, members: row.members };
    });
  }

  /** Which of these subscribers the compiled rules hold. */
  async amongMembers(members: Compiled, subscriberIds: string[]): Promise<string[]> {
    const p = members.params;
    const rows = await queryRows<{ id: string }>(this.db, `SELECT m.id FROM (${members.sql}) m WHERE m.id = ANY(${p.add(subscriberIds, 'uuid[]')})`, p.values);
    return rows.map((r) => r.id);
  }

  /** Current members, by subscriber id. */
  members(segmentId: string, after: string | null, limit: number): Promise<{ subscriber_id: string; entered_at: Date }[]> {
    return queryRows(
      this.db,
      `SELECT subscriber_id, entered_at FROM segment_memberships
       WHERE segment_id = $1 AND left_at IS NULL AND ($2::uuid IS NULL OR subscriber_id > $2::uuid) ORDER BY subscriber_id LIMIT $3`,
      [segmentId, after, limit],
    );
  }

  /** Every stay of a subscriber in any segment (entries and exits), newest first. */
  historyOf(subscriberId: string): Promise<{ segment_id: string; name: string; entered_at: Date; left_at: Date | null }[]> {
    return queryRows(
      this.db,
      `SELECT m.segment_id, s.name, m.entered_at, m.left_at FROM segment_memberships m JOIN segments s ON s.id = m.segment_id
       WHERE m.subscriber_id = $1 ORDER BY m.entered_at DESC`,
      [subscriberId],
    );
  }

  /** GDPR erase, in the erase's transaction. */
  async forget(q: Queryable, subscriberId: string): Promise<void> {
    await q.query(`DELETE FROM segment_memberships WHERE subscriber_id = $1`, [subscriberId]);
  }
}
