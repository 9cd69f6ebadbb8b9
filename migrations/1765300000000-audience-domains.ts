import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A sending campaign's mailbox providers: when sending starts, the campaign keeps its frozen
 * audience's recipients by address domain next to it, so that the report of a campaign still
 * sending shows them without joining its messages to their subscribers at every view (over a second
 * at a million). Campaigns already started and not finished get theirs here.
 */
export class AudienceDomains1765300000000 implements MigrationInterface {
  name = 'AudienceDomains1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- The frozen audience's recipients by domain, the largest first: {"gmail.com": n, …}, the 50
      -- largest and the rest summed under "(other)" (as mailbox_domains); written with started_at.
      ALTER TABLE campaigns ADD COLUMN audience_domains jsonb;

      UPDATE campaigns c SET audience_domains = (SELECT jsonb_object_agg(d.key, d.n) FROM (
          SELECT CASE WHEN r.rank <= 50 THEN COALESCE(r.domain, '(erased)') ELSE '(other)' END AS key, sum(r.n) AS n
          FROM (SELECT domain, n, row_number() OVER (ORDER BY n DESC, domain) AS rank
                FROM audience_email_domains(ARRAY(SELECT subscriber_id FROM messages WHERE campaign_id = c.id))) r
          GROUP BY 1) d)
      WHERE c.started_at IS NOT NULL AND c.message_counts IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE campaigns DROP COLUMN audience_domains`);
  }
}
