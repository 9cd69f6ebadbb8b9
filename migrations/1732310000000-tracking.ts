import { MigrationInterface, QueryRunner } from 'typeorm';

export class Tracking1732310000000 implements MigrationInterface {
  name = 'Tracking1732310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Raw events, as drained from the Redis stream. The id is the stream entry id (ms << 20 | seq),
      -- so an entry delivered twice is inserted once, and ids grow with time (inserts fill the index
      -- at its right edge). Reports never read this table: they read the counters below.
      CREATE TABLE events (
        id bigint PRIMARY KEY,
        type text NOT NULL CHECK (type IN ('open', 'click', 'conversion', 'unsubscribe', 'bounce', 'complaint')),
        at timestamptz NOT NULL,
        campaign_id uuid,
        subscriber_id uuid,
        agent text CHECK (agent IN ('human', 'apple_proxy', 'google_proxy', 'scanner', 'prefetch')),
        slot integer,
        ip inet,
        user_agent text,
        data jsonb                             -- conversion: order, value, currency; bounce: kind, reason, provider
      );
      -- GDPR export and erase: a subscriber's events.
      CREATE INDEX events_subscriber_idx ON events (subscriber_id);

      -- One row per message that anyone engaged with: the first time of each kind of event decides
      -- the unique counts, exactly once, whichever worker applies it.
      CREATE TABLE engagements (
        campaign_id uuid NOT NULL,
        subscriber_id uuid NOT NULL,
        opened_at timestamptz,
        human_opened_at timestamptz,
        clicked_at timestamptz,
        human_clicked_at timestamptz,
        clicked_slots integer[] NOT NULL DEFAULT '{}',
        human_clicked_slots integer[] NOT NULL DEFAULT '{}',
        converted_at timestamptz,
        unsubscribed_at timestamptz,
        bounced text CHECK (bounced IN ('hard', 'soft')),
        complained_at timestamptz,
        PRIMARY KEY (campaign_id, subscriber_id)
      );

      -- Per-campaign counters, kept by the ingestor in the transaction that inserts the events.
      CREATE TABLE campaign_stats (
        campaign_id uuid PRIMARY KEY,
        opens bigint NOT NULL DEFAULT 0,
        human_opens bigint NOT NULL DEFAULT 0,
        unique_opens bigint NOT NULL DEFAULT 0,
        unique_human_opens bigint NOT NULL DEFAULT 0,
        clicks bigint NOT NULL DEFAULT 0,
        human_clicks bigint NOT NULL DEFAULT 0,
        unique_clicks bigint NOT NULL DEFAULT 0,
        unique_human_clicks bigint NOT NULL DEFAULT 0,
        conversions bigint NOT NULL DEFAULT 0,
        unique_conversions bigint NOT NULL DEFAULT 0,
        unattributed_conversions bigint NOT NULL DEFAULT 0,
        unsubscribes bigint NOT NULL DEFAULT 0,
        hard_bounces bigint NOT NULL DEFAULT 0,
        soft_bounces bigint NOT NULL DEFAULT 0,
        complaints bigint NOT NULL DEFAULT 0,
        -- Message counts by status, stored once the campaign has finished (they no longer change),
        -- so a report of a large campaign does not count its messages each time.
        messages jsonb
      );
      -- Revenue per currency: amounts in different currencies are never added together.
      CREATE TABLE campaign_revenue (
        campaign_id uuid NOT NULL,
        currency text NOT NULL,
        amount numeric(20, 4) NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, currency)
      );
      -- The same counters per hour, for GET /v1/campaigns/:id/stats/timeseries.
      CREATE TABLE campaign_stats_hourly (
        campaign_id uuid NOT NULL,
        hour timestamptz NOT NULL,
        opens bigint NOT NULL DEFAULT 0,
        unique_opens bigint NOT NULL DEFAULT 0,
        unique_human_opens bigint NOT NULL DEFAULT 0,
        clicks bigint NOT NULL DEFAULT 0,
        unique_clicks bigint NOT NULL DEFAULT 0,
        unique_human_clicks bigint NOT NULL DEFAULT 0,
        conversions bigint NOT NULL DEFAULT 0,
        unsubscribes bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, hour)
      );
      -- Per link, for GET /v1/campaigns/:id/links.
      ALTER TABLE campaign_links
        ADD COLUMN clicks bigint NOT NULL DEFAULT 0,
        ADD COLUMN unique_clicks bigint NOT NULL DEFAULT 0,
        ADD COLUMN unique_human_clicks bigint NOT NULL DEFAULT 0;

      -- Orders reported as conversions: the same order id counts once.
      CREATE TABLE conversions (
        order_id text PRIMARY KEY,
        campaign_id uuid NOT NULL,
        subscriber_id uuid NOT NULL,
        value numeric(20, 4),
        currency text,
        attributed boolean NOT NULL,           -- inside the campaign's attribution window
        at timestamptz NOT NULL
      );
      CREATE INDEX conversions_subscriber_idx ON conversions (subscriber_id);  -- GDPR export and erase

      -- Soft bounces per address; at SOFT_BOUNCE_LIMIT the address is suppressed.
      CREATE TABLE bounce_counts (
        email_hash bytea PRIMARY KEY,
        soft integer NOT NULL DEFAULT 0,
        last_at timestamptz NOT NULL
      );

      ALTER TABLE campaigns
        ADD COLUMN utm jsonb,                          -- {source, medium, campaign, term, content} added to link destinations
        ADD COLUMN attribution_window_hours integer;   -- NULL: ATTRIBUTION_WINDOW_DAYS

      -- Unsubscribes through a message's link or the preference centre.
      ALTER TABLE consent_events DROP CONSTRAINT consent_events_source_check,
        ADD CONSTRAINT consent_events_source_check CHECK (source IN ('api', 'form', 'import', 'admin', 'link'));
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE consent_events DROP CONSTRAINT consent_events_source_check,
        ADD CONSTRAINT consent_events_source_check CHECK (source IN ('api', 'form', 'import', 'admin'));
      ALTER TABLE campaigns DROP COLUMN utm, DROP COLUMN attribution_window_hours;
      ALTER TABLE campaign_links DROP COLUMN clicks, DROP COLUMN unique_clicks, DROP COLUMN unique_human_clicks;
      DROP TABLE bounce_counts, conversions, campaign_stats_hourly, campaign_revenue, campaign_stats, engagements, events;
    `);
  }
}
