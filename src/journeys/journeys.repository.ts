import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changed, Queryable, queryRows } from '../database/queryable';

export type JourneyStatus = 'draft' | 'active' | 'paused' | 'archived';

export interface JourneyRow {
  id: string;
  name: string;
  status: JourneyStatus;
  draft: unknown;
  version: number | null;
  segments: string[];
  created_at: Date;
  updated_at: Date;
  /** created_at as Postgres text, for the keyset. */
  ts: string;
}

/** A published version as the engine runs it. */
export interface RunnableVersionRow {
  journey_id: string;
  version: number;
  definition: unknown;
  template_versions: Record<string, number>;
}

export interface LiveJourneyRow extends RunnableVersionRow {
  status: JourneyStatus;
}

export interface VersionRow {
  journey_id: string;
  version: number;
  published_at: Date;
}

const COLUMNS = `*, created_at::text AS ts`;

/** `journeys` and `journey_versions`. */
@Injectable()
export class JourneysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(name: string, draft: unknown, segments: string[]): Promise<JourneyRow> {
    const [row] = await queryRows<JourneyRow>(this.db, `INSERT INTO journeys (name, draft, segments) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [
      name,
      JSON.stringify(draft),
      segments,
    ]);
    return row;
  }

  /** A new draft, unless the journey is archived; the segments it names join those of its versions. */
  async replaceDraft(id: string, name: string, draft: unknown, segments: string[]): Promise<JourneyRow | undefined> {
    const { rows } = await changed<JourneyRow>(
      this.db,
      `UPDATE journeys SET name = $2, draft = $3,
              segments = ARRAY(SELECT DISTINCT s FROM unnest(segments || $4::uuid[]) s), updated_at = now()
       WHERE id = $1 AND status <> 'archived' RETURNING ${COLUMNS}`,
      [id, name, JSON.stringify(draft), segments],
    );
    return rows[0];
  }

  async find(id: string, q: Queryable = this.db): Promise<JourneyRow | undefined> {
    const [row] = await queryRows<JourneyRow>(q, `SELECT ${COLUMNS} FROM journeys WHERE id = $1`, [id]);
    return row;
  }

  lockForPublish(q: Queryable, id: string): Promise<JourneyRow[]> {
    return queryRows<JourneyRow>(q, `SELECT ${COLUMNS} FROM journeys WHERE id = $1 FOR UPDATE`, [id]);
  }

  page(after: { createdAt: string; id: string } | null, limit: number): Promise<JourneyRow[]> {
    return queryRows<JourneyRow>(
      this.db,
      `SELECT ${COLUMNS} FROM journeys
       WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid) ORDER BY created_at, id LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, limit],
    );
  }

  /** The versions of these journeys (without their definitions), oldest first. */
  versions(ids: string[]): Promise<VersionRow[]> {
    return queryRows<VersionRow>(
      this.db,
      `SELECT journey_id, version, published_at FROM journey_versions WHERE journey_id = ANY($1::uuid[]) ORDER BY journey_id, version`,
      [ids],
    );
  }

  /** Freezes the draft (with its send steps' template versions) as the next version and makes it the one new enrolments get. */
  async publish(q: Queryable, id: string, templateVersions: Record<string, number>): Promise<JourneyRow> {
    const { rows } = await changed<JourneyRow>(
      q,
      `WITH v AS (INSERT INTO journey_versions (journey_id, version, definition, template_versions)
                  SELECT id, COALESCE(version, 0) + 1, draft, $2 FROM journeys WHERE id = $1 RETURNING version)
       UPDATE journeys SET version = (SELECT version FROM v), status = 'active', updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, JSON.stringify(templateVersions)],
    );
    return rows[0];
  }

  /** One version, to run. */
  async runnable(journeyId: string, version: number): Promise<RunnableVersionRow | undefined> {
    const [row] = await queryRows<RunnableVersionRow>(
      this.db,
      `SELECT journey_id, version, definition, template_versions FROM journey_versions WHERE journey_id = $1 AND version = $2`,
      [journeyId, version],
    );
    return row;
  }

  /** Journeys that enrol (active), each with the version new enrolments get. */
  live(q: Queryable = this.db): Promise<LiveJourneyRow[]> {
    return queryRows<LiveJourneyRow>(
      q,
      `SELECT j.id AS journey_id, j.version, j.status, v.definition, v.template_versions
       FROM journeys j JOIN journey_versions v ON v.journey_id = j.id AND v.version = j.version WHERE j.status = 'active'`,
    );
  }

  /** One parameterised UPDATE: the journey moves to `to` only from one of `from`. */
  async transition(id: string, from: JourneyStatus[], to: JourneyStatus): Promise<JourneyRow | undefined> {
    const { rows } = await changed<JourneyRow>(
      this.db,
      `UPDATE journeys SET status = $3, updated_at = now() WHERE id = $1 AND status = ANY($2::text[]) RETURNING ${COLUMNS}`,
      [id, from, to],
    );
    return rows[0];
  }

  /** Only a journey never published can go: versions are what enrolments run on. */
  async deleteUnpublished(id: string): Promise<boolean> {
    const { affected } = await changed(this.db, `DELETE FROM journeys WHERE id = $1 AND version IS NULL`, [id]);
    return affected > 0;
  }

  /** Journeys not archived that name the segment (in the draft or a version). */
  usingSegment(segmentId: string): Promise<{ id: string; name: string }[]> {
    return queryRows(this.db, `SELECT id, name FROM journeys WHERE status <> 'archived' AND segments @> ARRAY[$1::uuid] ORDER BY created_at`, [segmentId]);
  }
}
