import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Journeys: a draft definition that can be edited at any time, and the immutable versions that
 * publishing freezes (people enrolled on a version finish on it).
 */
export class Journeys1765000000000 implements MigrationInterface {
  name = 'Journeys1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE journeys (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        name text NOT NULL,
        status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'archived')),
        draft jsonb NOT NULL,                 -- {trigger, steps, settings} as written, once checked
        version integer,                      -- the version new enrolments get; NULL until the first publish
        segments uuid[] NOT NULL DEFAULT '{}', -- segments the draft or any version names: deletes of them are refused
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- GET /v1/journeys keyset paging.
      CREATE INDEX journeys_page_idx ON journeys (created_at, id);
      -- "Which journeys name this segment": refused segment deletes.
      CREATE INDEX journeys_segments_idx ON journeys USING gin (segments);

      CREATE TABLE journey_versions (
        journey_id uuid NOT NULL REFERENCES journeys (id) ON DELETE CASCADE,
        version integer NOT NULL,
        definition jsonb NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (journey_id, version)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE journey_versions; DROP TABLE journeys;`);
  }
}
