import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A/B tests: a campaign's variants and test settings, where its test stands, and each message's
 * variant. The rest of an A/B test's audience waits as `held` messages until a winner is chosen.
 */
export class AbTests1765400000000 implements MigrationInterface {
  name = 'AbTests1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE campaigns
        -- [{name, subject?, preheader?, fromName?, templateId?, templateVersion?}], 2 to 8; NULL: one mail for all.
        ADD COLUMN variants jsonb,
        -- {testShare, metric, maxHours, fallback, minPerVariant?}; NULL: the variants split the whole audience.
        ADD COLUMN ab_test jsonb,
        ADD COLUMN ab_state text CHECK (ab_state IN ('testing', 'decided', 'inconclusive')),
        ADD COLUMN ab_winner smallint,
        ADD COLUMN ab_basis text CHECK (ab_basis IN ('significance', 'fallback', 'manual')),
        ADD COLUMN ab_decided_at timestamptz,
        ADD COLUMN ab_reason text;

      -- The variant a recipient got (index into campaigns.variants); NULL without variants, and for
      -- a held message until the winner is known. ab_rest: true for one of the rest of an A/B test's
      -- audience (held, then given the winner), NULL otherwise (a NULL costs a message no bytes).
      ALTER TABLE messages
        ADD COLUMN variant smallint,
        ADD COLUMN ab_rest boolean CHECK (ab_rest),
        DROP CONSTRAINT messages_status_check,
        ADD CONSTRAINT messages_status_check
          CHECK (status IN ('held', 'queued', 'sending', 'submitting', 'sent', 'failed', 'unknown', 'skipped', 'cancelled'));

      -- Per-variant stats and the test's decision: a campaign's recipients by variant, index-only.
      CREATE INDEX messages_variant_idx ON messages (campaign_id, variant) INCLUDE (subscriber_id, status) WHERE variant IS NOT NULL AND ab_rest IS NULL;

      -- What the campaigns publish about their variants: each recipient's variant and message status,
      -- of the test's recipients (all of them without an A/B test; the rest get the winner later).
      CREATE FUNCTION campaign_variant_recipients(campaign uuid)
      RETURNS TABLE (subscriber_id uuid, variant smallint, status text)
      LANGUAGE sql STABLE AS $$
        SELECT subscriber_id, variant, status FROM messages WHERE campaign_id = campaign AND variant IS NOT NULL AND ab_rest IS NULL
      $$;

      -- A campaign's attributed orders (revenue per recipient of a variant).
      CREATE INDEX conversions_campaign_idx ON conversions (campaign_id, subscriber_id) WHERE attributed;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX conversions_campaign_idx;
      DROP FUNCTION campaign_variant_recipients(uuid);
      DROP INDEX messages_variant_idx;
      DELETE FROM messages WHERE status = 'held';
      ALTER TABLE messages
        DROP COLUMN variant,
        DROP COLUMN ab_rest,
        DROP CONSTRAINT messages_status_check,
        ADD CONSTRAINT messages_status_check
          CHECK (status IN ('queued', 'sending', 'submitting', 'sent', 'failed', 'unknown', 'skipped', 'cancelled'));
      ALTER TABLE campaigns DROP COLUMN variants, DROP COLUMN ab_test, DROP COLUMN ab_state, DROP COLUMN ab_winner,
        DROP COLUMN ab_basis, DROP COLUMN ab_decided_at, DROP COLUMN ab_reason;
    `);
  }
}
