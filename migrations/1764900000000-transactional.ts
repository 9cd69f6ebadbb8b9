import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Transactional mail: one row per message asked for by `POST /v1/transactional`, owned by the
 * transactional folder. Its opens and clicks are counted under a *mailing* id derived from the
 * template (see src/transactional/mailing-id.ts), so tracking's link slots can no longer require
 * a campaign row: the foreign key from campaign_links to campaigns goes.
 */
export class Transactional1764900000000 implements MigrationInterface {
  name = 'Transactional1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE transactional_messages (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        mailing_id uuid NOT NULL,              -- derived from template_id: what tokens, engagements and counters are keyed by
        template_id uuid NOT NULL,
        template_version integer NOT NULL,     -- pinned when accepted: a later edit does not change a queued mail
        subscriber_id uuid NOT NULL,           -- found or created without any subscription
        to_email text NOT NULL,
        subject text,                          -- overrides (NULL: the template's / MAIL_FROM)
        from_name text,
        from_email text,
        data jsonb NOT NULL DEFAULT '{}',
        idempotency_key text,
        request_hash text NOT NULL,            -- SHA-256 of the request body: a reused key with another body is refused
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'submitting', 'sent', 'failed', 'unknown', 'skipped')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        smtp_response text,
        claimed_by text,                       -- '<worker id>/<run>' while submitting
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      );
      -- INSERT … ON CONFLICT (idempotency_key): the same key sends once, even when requests race.
      CREATE UNIQUE INDEX transactional_messages_idempotency_idx ON transactional_messages (idempotency_key) WHERE idempotency_key IS NOT NULL;
      -- The reconciler: queued rows due for a while (their job lost), and submitting rows of dead workers.
      CREATE INDEX transactional_messages_pending_idx ON transactional_messages (status, next_attempt_at) WHERE status IN ('queued', 'submitting');
      -- GDPR erase / export by subscriber.
      CREATE INDEX transactional_messages_subscriber_idx ON transactional_messages (subscriber_id);

      ALTER TABLE campaign_links DROP CONSTRAINT IF EXISTS campaign_links_campaign_id_fkey;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE transactional_messages;
      DELETE FROM campaign_links l WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = l.campaign_id);
      ALTER TABLE campaign_links ADD CONSTRAINT campaign_links_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE;
    `);
  }
}
