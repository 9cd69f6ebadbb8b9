import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The journey engine's state, all in Postgres: enrolments (where each person is, and until when),
 * step executions (one row per step an enrolment entered, unique per enrolment and sequence
 * number, so a step runs once), and the mail send steps queued (sent like campaign messages:
 * queued → sending → submitting → sent / failed / unknown / skipped).
 */
export class JourneyEngine1765100000000 implements MigrationInterface {
  name = 'JourneyEngine1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Each send step's template version, pinned when the version is published.
      ALTER TABLE journey_versions ADD COLUMN template_versions jsonb NOT NULL DEFAULT '{}';

      -- The first of these lists each subscriber is confirmed on (the list a journey mail goes out for).
      CREATE FUNCTION audience_consenting_list(subscriber_ids uuid[], list_ids uuid[])
      RETURNS TABLE (subscriber_id uuid, list_id uuid)
      LANGUAGE sql STABLE AS $$
        SELECT DISTINCT ON (sub.subscriber_id) sub.subscriber_id, sub.list_id FROM subscriptions sub
        WHERE sub.subscriber_id = ANY(subscriber_ids) AND sub.list_id = ANY(list_ids) AND sub.status = 'confirmed'
        ORDER BY sub.subscriber_id, array_position(list_ids, sub.list_id)
      $$;

      CREATE TABLE journey_enrolments (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        journey_id uuid NOT NULL REFERENCES journeys (id) ON DELETE CASCADE,
        version integer NOT NULL,              -- the version this person runs on until the end
        subscriber_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'exited')),
        step_id text,                          -- the step to run (or running) at due_at; NULL once ended
        seq integer NOT NULL DEFAULT 0,        -- its execution's number in this enrolment
        waiting boolean NOT NULL DEFAULT false, -- the step has begun and waits for due_at (or an event)
        due_at timestamptz,                    -- when the engine next looks at it; NULL once ended
        wait_event text,                       -- a waitForEvent step: the event's name …
        wait_match jsonb,                      -- … and the properties it must carry
        resumed_by text,                       -- 'event' when the awaited event came before the timeout
        goal_event text,                       -- settings.goal of the version
        goal_until timestamptz,
        trigger jsonb NOT NULL DEFAULT '{}',   -- the triggering event's properties ({{trigger.properties.x}})
        data jsonb NOT NULL DEFAULT '{}',      -- enrol's data ({{data.x}})
        entered_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz,
        end_reason text CHECK (end_reason IN ('completed', 'exit', 'goal', 'error')),
        goal_at timestamptz
      );
      -- At most one active enrolment per person and journey (ON CONFLICT DO NOTHING at every trigger).
      CREATE UNIQUE INDEX journey_enrolments_active_idx ON journey_enrolments (journey_id, subscriber_id) WHERE status = 'active';
      -- The engine's batch: active enrolments due, oldest first; also the timers rebuilt at start.
      CREATE INDEX journey_enrolments_due_idx ON journey_enrolments (due_at) WHERE status = 'active';
      -- Re-entry, enrolment history, GDPR: a person's enrolments.
      CREATE INDEX journey_enrolments_subscriber_idx ON journey_enrolments (subscriber_id, journey_id);
      -- Tracked events: the few enrolments waiting for an event, and those with a goal not reached yet.
      CREATE INDEX journey_enrolments_awaiting_idx ON journey_enrolments (subscriber_id) WHERE status = 'active' AND waiting AND wait_event IS NOT NULL;
      CREATE INDEX journey_enrolments_goal_idx ON journey_enrolments (subscriber_id) WHERE goal_event IS NOT NULL AND goal_at IS NULL;

      CREATE TABLE journey_steps (
        enrolment_id uuid NOT NULL REFERENCES journey_enrolments (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        journey_id uuid NOT NULL,
        step_id text NOT NULL,
        entered_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz,                   -- NULL while the step waits
        outcome text,                          -- where it led: next, yes, no, event, timeout, split:<i>, sent, exit, goal
        ended boolean NOT NULL DEFAULT false,  -- the journey ended at this step
        PRIMARY KEY (enrolment_id, seq)
      );
      -- GET /v1/journeys/:id/stats: per step of a journey.
      CREATE INDEX journey_steps_stats_idx ON journey_steps (journey_id, step_id);

      CREATE TABLE journey_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        enrolment_id uuid NOT NULL,
        seq integer NOT NULL,
        journey_id uuid NOT NULL,
        version integer NOT NULL,
        step_id text NOT NULL,
        mailing_id uuid NOT NULL,              -- per journey, version and step: what tokens, engagements and counters are keyed by
        subscriber_id uuid NOT NULL,
        transactional boolean NOT NULL DEFAULT false,
        list_id uuid,                          -- the list whose consent it was sent under (unsubscribe links)
        status text NOT NULL DEFAULT 'queued'
          CHECK (status IN ('queued', 'sending', 'submitting', 'sent', 'failed', 'unknown', 'skipped')),
        send_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        claimed_by text,
        smtp_response text,
        bounce text CHECK (bounce IN ('hard', 'soft')),
        sent_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (enrolment_id, seq)             -- one message per send step execution
      );
      -- The dispatcher's claim: due queued messages, oldest first.
      CREATE INDEX journey_messages_due_idx ON journey_messages (send_at, id) WHERE status = 'queued';
      -- Message stats per send step.
      CREATE INDEX journey_messages_mailing_idx ON journey_messages (mailing_id, status);
      -- The frequency cap and GDPR erase: a person's recent mail.
      CREATE INDEX journey_messages_subscriber_idx ON journey_messages (subscriber_id, send_at);
      -- The reaper: claims of workers that may have died.
      CREATE INDEX journey_messages_claims_idx ON journey_messages (claimed_by) WHERE status IN ('sending', 'submitting');

      -- The frequency cap counts campaign mail a person got lately too.
      CREATE INDEX messages_recent_idx ON messages (subscriber_id, sent_at) WHERE status = 'sent';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX messages_recent_idx;
      DROP TABLE journey_messages;
      DROP TABLE journey_steps;
      DROP TABLE journey_enrolments;
      DROP FUNCTION audience_consenting_list(uuid[], uuid[]);
      ALTER TABLE journey_versions DROP COLUMN template_versions;
    `);
  }
}
