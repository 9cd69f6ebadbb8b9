import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The report's mailbox providers: the audience publishes the recipients' address domains (its
 * table, its rule for an erased address), and a finished campaign keeps its providers next to its
 * message counts, so that its report never joins a million messages to their subscribers.
 */
export class CampaignReport1765200000000 implements MigrationInterface {
  name = 'CampaignReport1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Of these subscribers, how many have an address at each domain (NULL: erased since).
      CREATE FUNCTION audience_email_domains(subscriber_ids uuid[])
      RETURNS TABLE (domain text, n bigint)
      LANGUAGE sql STABLE AS $$
        SELECT split_part(s.email, '@', 2) AS domain, count(*) AS n
        FROM unnest(subscriber_ids) AS u(id) JOIN subscribers s ON s.id = u.id
        GROUP BY 1
      $$;

      -- The sent messages' recipient domains, the largest first: {"gmail.com": n, …}; written with
      -- message_counts, NULL until the campaign has finished.
      ALTER TABLE campaigns ADD COLUMN mailbox_domains jsonb;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE campaigns DROP COLUMN mailbox_domains;
      DROP FUNCTION audience_email_domains(uuid[]);
    `);
  }
}
