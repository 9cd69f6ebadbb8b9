import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The report of a campaign still sending, at any size, without counting its messages at every view:
 * - when sending starts, the campaign keeps its frozen audience's recipients by address domain (the
 *   join of its messages to their subscribers, over a second at a million) and how many messages it
 *   has; campaigns already started and not finished get their domains here;
 * - each dispatch run tallies the messages it recorded sent or failed, in the transaction that
 *   records them (one row per run: runs never wait on each other), so sent = the sum of a few rows
 *   and queued = the total less what is sent, failed, unknown, skipped or cancelled — the rare
 *   statuses, counted from messages_status_idx. A campaign started before this migration (no total
 *   kept) is counted from its messages as before. Workers of the previous version do not tally:
 *   stop them before starting campaigns with this one.
 */
export class AudienceDomains1765500000000 implements MigrationInterface {
  name = 'AudienceDomains1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- The frozen audience's recipients by domain, the largest first: {"gmail.com": n, …}, the 50
      -- largest and the rest summed under "(other)" (as mailbox_domains); written with started_at.
      ALTER TABLE campaigns ADD COLUMN audience_domains jsonb;
      -- How many messages the frozen audience has (it does not change once sending has started).
      ALTER TABLE campaigns ADD COLUMN message_total integer;

      -- Messages recorded sent or failed, per campaign and dispatch run (the run's claim token).
      -- GET /v1/campaigns/:id (and /stats, /report) of a campaign still sending sum its rows.
      CREATE TABLE message_outcomes (
        campaign_id uuid NOT NULL,
        run text NOT NULL,
        sent bigint NOT NULL DEFAULT 0,
        failed bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, run)
      );

      UPDATE campaigns c SET audience_domains = (SELECT jsonb_object_agg(d.key, d.n) FROM (
          SELECT CASE WHEN r.rank <= 50 THEN COALESCE(r.domain, '(erased)') ELSE '(other)' END AS key, sum(r.n) AS n
          FROM (SELECT domain, n, row_number() OVER (ORDER BY n DESC, domain) AS rank
                FROM audience_email_domains(ARRAY(SELECT subscriber_id FROM messages WHERE campaign_id = c.id))) r
          GROUP BY 1) d)
      WHERE c.started_at IS NOT NULL AND c.message_counts IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE message_outcomes; ALTER TABLE campaigns DROP COLUMN audience_domains, DROP COLUMN message_total`);
  }
}
