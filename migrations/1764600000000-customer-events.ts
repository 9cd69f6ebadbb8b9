import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customer events (the Segment-compatible API): what a product says its users did (`track`) and who
 * they are (`identify`), linked to a subscriber by the product's user id (`subscribers.external_id`)
 * or an address, and the message ids that make a retry harmless. API keys get the `events:write`
 * scope: posting events, and nothing else.
 */
export class CustomerEvents1764600000000 implements MigrationInterface {
  name = 'CustomerEvents1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Segment's userId; NULL until an identify call links it, and again once erased.
      ALTER TABLE subscribers ADD COLUMN external_id text UNIQUE;  -- the unique index serves the lookup by userId

      ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
      ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY['admin', 'write', 'read', 'events:write']);

      CREATE TABLE customer_events (
        id bigserial PRIMARY KEY,
        -- NULL while neither the userId nor the anonymousId is linked to an address. An erase deletes
        -- the person's rows itself (subscribers are never deleted, so no cascade would fire).
        subscriber_id uuid REFERENCES subscribers (id),
        type text NOT NULL CHECK (type IN ('identify', 'track')),
        event text,                               -- the track event's name; NULL for identify
        properties jsonb NOT NULL DEFAULT '{}',   -- track: properties; identify: traits
        at timestamptz NOT NULL,                  -- when it happened (the event's timestamp, else its receipt)
        received_at timestamptz NOT NULL DEFAULT now(),
        user_id text,
        anonymous_id text,
        message_id text NOT NULL,                 -- unique within the dedupe window, through customer_event_message_ids
        context jsonb,
        CHECK ((type = 'track') = (event IS NOT NULL))
      );
      -- GET /v1/subscribers/:id/events (newest first, keyset on (at, id)), export and erase: a subscriber's events.
      CREATE INDEX customer_events_subscriber_idx ON customer_events (subscriber_id, at DESC, id DESC);
      -- Segment rules and journey triggers: WHERE subscriber_id = $1 AND type = 'track' AND event = $2 AND at >= $3
      -- (identify rows have no event name, so event = $2 alone leaves them out).
      CREATE INDEX customer_events_subscriber_event_idx ON customer_events (subscriber_id, event, at);
      -- An identify that links a userId: its earlier events, kept unlinked, get the subscriber.
      CREATE INDEX customer_events_unlinked_user_idx ON customer_events (user_id) WHERE subscriber_id IS NULL AND user_id IS NOT NULL;
      -- The same for an anonymousId.
      CREATE INDEX customer_events_unlinked_anonymous_idx ON customer_events (anonymous_id) WHERE subscriber_id IS NULL AND anonymous_id IS NOT NULL;
      -- An event with only an anonymousId: the subscriber that anonymousId was tied to before.
      CREATE INDEX customer_events_linked_anonymous_idx ON customer_events (anonymous_id, id DESC) INCLUDE (subscriber_id)
        WHERE subscriber_id IS NOT NULL AND anonymous_id IS NOT NULL;

      -- The messageIds received within the dedupe window (CUSTOMER_EVENT_DEDUPE_DAYS): a retry finds
      -- its id here and is stored once. Kept apart from the events, which an erase deletes, so that a
      -- retry cannot bring an erased event back.
      CREATE TABLE customer_event_message_ids (
        message_id text PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now()
      );
      -- The purge job: DELETE … WHERE received_at < now() - window.
      CREATE INDEX customer_event_message_ids_received_idx ON customer_event_message_ids (received_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE customer_event_message_ids;
      DROP TABLE customer_events;
      ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
      DELETE FROM api_keys WHERE scopes && ARRAY['events:write'];
      ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY['admin', 'write', 'read']);
      ALTER TABLE subscribers DROP COLUMN external_id;
    `);
  }
}
