import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Segments: saved rule trees and their membership history. The segment_* functions read a jsonb
 * value (an attribute, an event property) the way a rule's operand asks for — as text, a number or
 * an instant — and give NULL when it cannot be read so, never an error: rules run over whatever
 * people's data holds. They use the same patterns as src/segments/rules.ts.
 */
export class Segments1764700000000 implements MigrationInterface {
  name = 'Segments1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION segment_text(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN jsonb_typeof(v) IN ('string', 'number', 'boolean') THEN v #>> '{}' END
      $$;

      CREATE FUNCTION segment_number(v jsonb) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE jsonb_typeof(v)
          WHEN 'number' THEN (v #>> '{}')::numeric
          WHEN 'string' THEN CASE WHEN (v #>> '{}') ~ '^-?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]{1,3})?$' THEN (v #>> '{}')::numeric END
        END
      $$;

      -- ISO 8601 date, or date and time to the millisecond; without an offset it is UTC. A day the
      -- month does not have (2024-02-30) is not a date. Plain SQL, so the planner inlines it and
      -- parallel workers may run it.
      CREATE FUNCTION segment_time(v jsonb) RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN jsonb_typeof(v) = 'string'
                     AND (v #>> '{}') ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,3})?)?(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?)?$'
                     AND left(v #>> '{}', 4) <> '0000'
          THEN CASE WHEN substr(v #>> '{}', 9, 2)::int <= extract(day from (left(v #>> '{}', 7) || '-01')::date + interval '1 month' - interval '1 day')
            THEN CASE WHEN (v #>> '{}') ~ '[T ].*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN (v #>> '{}')::timestamptz
                      ELSE (v #>> '{}')::timestamp AT TIME ZONE 'UTC' END
          END
        END
      $$;

      CREATE TABLE segments (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        name text NOT NULL,
        rules jsonb NOT NULL,                  -- as the client wrote them, once validated
        refers_to uuid[] NOT NULL DEFAULT '{}', -- the segments its rules name
        member_count integer,                  -- at the last refresh
        refreshed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- "Which segments name this one": refused deletes, cycle checks.
      CREATE INDEX segments_refers_to_idx ON segments USING gin (refers_to);

      -- One row per stay in a segment: a subscriber who leaves and comes back has two.
      CREATE TABLE segment_memberships (
        segment_id uuid NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
        subscriber_id uuid NOT NULL,           -- no foreign key: subscribers are never deleted (an erase keeps the row)
        entered_at timestamptz NOT NULL,
        left_at timestamptz,
        PRIMARY KEY (segment_id, subscriber_id, entered_at)
      );
      -- The current members: the refresh's difference, GET …/members, at most one open stay.
      CREATE UNIQUE INDEX segment_memberships_current_idx ON segment_memberships (segment_id, subscriber_id) WHERE left_at IS NULL;
      -- A subscriber's history: GDPR export and erase.
      CREATE INDEX segment_memberships_subscriber_idx ON segment_memberships (subscriber_id);

      -- Event rules over everyone: WHERE subscriber_id IS NOT NULL AND type = 'track' AND event = $1 AND at >= $2.
      CREATE INDEX customer_events_event_at_idx ON customer_events (event, at) INCLUDE (subscriber_id) WHERE subscriber_id IS NOT NULL AND type = 'track';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX customer_events_event_at_idx;
      DROP TABLE segment_memberships;
      DROP TABLE segments;
      DROP FUNCTION segment_time(jsonb);
      DROP FUNCTION segment_number(jsonb);
      DROP FUNCTION segment_text(jsonb);
    `);
  }
}
