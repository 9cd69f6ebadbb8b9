import { MigrationInterface, QueryRunner } from 'typeorm';

/** Less work per imported row: the two indexes every imported address touches, made cheaper. */
export class ImportIndexes1732320000000 implements MigrationInterface {
  name = 'ImportIndexes1732320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Addresses are stored lower-cased and only ever compared for equality, so the unique index
      -- needs byte order, not the database's locale order: under a libc locale every comparison in
      -- it went through strcoll. Rewrites the table and its indexes once.
      ALTER TABLE subscribers ALTER COLUMN email TYPE text COLLATE "C";

      -- The ledger is read per subscriber, in order (GET /v1/subscribers/:id, GDPR export and
      -- erase), and never by id alone: one index keyed (subscriber_id, id) serves as the primary key
      -- and that read, instead of two indexes to update for every record.
      ALTER TABLE consent_events DROP CONSTRAINT consent_events_pkey;
      DROP INDEX consent_events_subscriber_idx;
      ALTER TABLE consent_events ADD PRIMARY KEY (subscriber_id, id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE consent_events DROP CONSTRAINT consent_events_pkey;
      ALTER TABLE consent_events ADD PRIMARY KEY (id);
      CREATE INDEX consent_events_subscriber_idx ON consent_events (subscriber_id, id);
      ALTER TABLE subscribers ALTER COLUMN email TYPE text COLLATE "default";
    `);
  }
}
