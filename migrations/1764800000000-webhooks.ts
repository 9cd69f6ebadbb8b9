import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outgoing webhooks: the endpoints, the outbox (one row per event and subscribed endpoint, written
 * in the transaction of the change it reports) and the log of every delivery attempt.
 */
export class Webhooks1764800000000 implements MigrationInterface {
  name = 'Webhooks1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        url text NOT NULL,
        events text[] NOT NULL,                -- the event types it subscribes to
        secret bytea NOT NULL,                 -- AES-256-GCM (iv | tag | ciphertext) under a key derived from APP_SECRET
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        failing_since timestamptz,             -- first failure since the last success (NULL: not failing)
        disabled_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- The outbox's "does any active endpoint want this type?" check, in every statement that records events.
      CREATE INDEX webhook_endpoints_active_events_idx ON webhook_endpoints USING gin (events) WHERE status = 'active';

      CREATE TABLE webhook_events (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        event_id uuid NOT NULL,                -- webhook-id: one per event, the same for every endpoint and attempt
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        type text NOT NULL,
        payload jsonb NOT NULL,                -- {type, timestamp, data}, sent as it is
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- The delivery claim: pending events that are due, oldest first (FOR UPDATE SKIP LOCKED).
      CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status = 'pending';
      -- ON DELETE CASCADE of an endpoint.
      CREATE INDEX webhook_events_endpoint_idx ON webhook_events (endpoint_id);

      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        webhook_event_id uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
        endpoint_id uuid NOT NULL,             -- denormalised for the listing below (deleted with the event)
        attempt integer NOT NULL,
        status_code integer,                   -- NULL: no HTTP answer (timeout, refused, DNS)
        ok boolean NOT NULL,
        duration_ms integer NOT NULL,
        error text,
        response_excerpt text,
        attempted_at timestamptz NOT NULL DEFAULT now()
      );
      -- GET /v1/webhooks/:id/deliveries: an endpoint's attempts, keyset-paged on (attempted_at, id).
      CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, attempted_at, id);
      -- ON DELETE CASCADE of an event.
      CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (webhook_event_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries; DROP TABLE webhook_events; DROP TABLE webhook_endpoints;`);
  }
}
