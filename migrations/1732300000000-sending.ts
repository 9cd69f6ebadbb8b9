import { MigrationInterface, QueryRunner } from 'typeorm';

export class Sending1732300000000 implements MigrationInterface {
  name = 'Sending1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE campaigns
        ADD COLUMN scheduled_at timestamptz,
        ADD COLUMN local_time boolean NOT NULL DEFAULT false,
        ADD COLUMN default_timezone text NOT NULL DEFAULT 'UTC',
        ADD COLUMN started_at timestamptz,
        ADD COLUMN finished_at timestamptz,
        ADD CONSTRAINT campaigns_status_check
          CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled'));

      -- One row per recipient. queued → sending (claimed by a worker) → submitting (handed to SMTP)
      -- → sent | failed; a crash turns sending back into queued and submitting into unknown.
      CREATE TABLE messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- No foreign keys: a campaign with messages cannot be deleted (only drafts can), subscribers
        -- are never deleted (an erase keeps the row), and per-row FK checks would add seconds to
        -- resolving an audience of a million.
        campaign_id uuid NOT NULL,
        subscriber_id uuid NOT NULL,
        list_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'queued'
          CHECK (status IN ('queued', 'sending', 'submitting', 'sent', 'failed', 'unknown', 'skipped', 'cancelled')),
        send_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        claimed_by text,
        smtp_response text,
        bounce text CHECK (bounce IN ('hard', 'soft')),
        sent_at timestamptz,
        sent_by text,                          -- the worker that sent it
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (campaign_id, subscriber_id)   -- a recipient appears at most once per campaign
      );
      -- The dispatcher's claim: due queued messages of a campaign, oldest first.
      CREATE INDEX messages_due_idx ON messages (campaign_id, send_at, id) WHERE status = 'queued';
      -- Progress counts (index-only).
      CREATE INDEX messages_status_idx ON messages (campaign_id, status);
      -- The reaper: claims held by workers that may have died.
      CREATE INDEX messages_claims_idx ON messages (claimed_by) WHERE status IN ('sending', 'submitting');
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE messages;
      ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check, DROP COLUMN scheduled_at, DROP COLUMN local_time,
        DROP COLUMN default_timezone, DROP COLUMN started_at, DROP COLUMN finished_at;
    `);
  }
}
