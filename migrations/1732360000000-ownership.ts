import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every table has one owner (README, "Who owns which table"). What this moves:
 * - a click's destination and UTM parameters are both in tracking's `campaign_links`, so a click
 *   reads no campaign row (`utm` is copied with the links when a campaign's template is compiled);
 * - a finished campaign's message counts are the campaign's own (`campaigns.message_counts`, written
 *   when it completes), not a cache a stats read wrote into analytics' `campaign_stats`;
 * - the audience publishes who may receive a campaign's mail as two SQL functions over its own
 *   tables, so that the set-based statements of the campaigns capability (freezing an audience into
 *   `messages`, the permission re-check before SMTP) read the audience through them. They are
 *   LANGUAGE sql and STABLE: the planner inlines them into the calling statement.
 */
export class Ownership1732360000000 implements MigrationInterface {
  name = 'Ownership1732360000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE campaign_links ADD COLUMN utm jsonb;
      UPDATE campaign_links l SET utm = c.utm FROM campaigns c WHERE c.id = l.campaign_id AND c.utm IS NOT NULL;

      ALTER TABLE campaigns ADD COLUMN message_counts jsonb;  -- messages by status ({"sent": n, …}), once finished
      UPDATE campaigns c SET message_counts = s.messages - 'total' - 'queued' FROM campaign_stats s WHERE s.campaign_id = c.id AND s.messages IS NOT NULL;
      ALTER TABLE campaign_stats DROP COLUMN messages;

      -- Confirmed on one of the lists (the first of them that holds the subscriber), with an address,
      -- not suppressed; subscribers in [from_id, to_id) (to_id NULL: no upper bound), so that a large
      -- audience can be resolved in ranges side by side. One list needs no DISTINCT ON (and no sort).
      CREATE FUNCTION audience_recipients(list_ids uuid[], from_id uuid, to_id uuid)
      RETURNS TABLE (subscriber_id uuid, list_id uuid, timezone text)
      LANGUAGE sql STABLE AS $$
        SELECT first.subscriber_id, first.list_id, s.timezone
        FROM (
          SELECT sub.subscriber_id, sub.list_id FROM subscriptions sub
          WHERE cardinality(list_ids) = 1 AND sub.list_id = list_ids[1] AND sub.status = 'confirmed'
            AND sub.subscriber_id >= from_id AND (to_id IS NULL OR sub.subscriber_id < to_id)
          UNION ALL
          (SELECT DISTINCT ON (sub.subscriber_id) sub.subscriber_id, sub.list_id FROM subscriptions sub
           WHERE cardinality(list_ids) > 1 AND sub.list_id = ANY(list_ids) AND sub.status = 'confirmed'
             AND sub.subscriber_id >= from_id AND (to_id IS NULL OR sub.subscriber_id < to_id)
           ORDER BY sub.subscriber_id, array_position(list_ids, sub.list_id))
        ) first
        JOIN subscribers s ON s.id = first.subscriber_id
        WHERE s.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.email_hash = email_hash(s.email))
      $$;

      -- Of these subscribers, those who may no longer receive mail for these lists: erased,
      -- suppressed, or confirmed on none of them.
      CREATE FUNCTION audience_blocked(subscriber_ids uuid[], list_ids uuid[])
      RETURNS TABLE (subscriber_id uuid)
      LANGUAGE sql STABLE AS $$
        SELECT s.id FROM subscribers s
        WHERE s.id = ANY(subscriber_ids)
          AND (s.email IS NULL
               OR EXISTS (SELECT 1 FROM suppressions x WHERE x.email_hash = email_hash(s.email))
               OR NOT EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.subscriber_id = s.id AND sub.list_id = ANY(list_ids) AND sub.status = 'confirmed'))
      $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP FUNCTION audience_blocked(uuid[], uuid[]);
      DROP FUNCTION audience_recipients(uuid[], uuid, uuid);
      ALTER TABLE campaign_stats ADD COLUMN messages jsonb;
      UPDATE campaign_stats s SET messages = c.message_counts FROM campaigns c WHERE c.id = s.campaign_id AND c.message_counts IS NOT NULL;  -- without total: read as counted
      ALTER TABLE campaigns DROP COLUMN message_counts;
      ALTER TABLE campaign_links DROP COLUMN utm;
    `);
  }
}
