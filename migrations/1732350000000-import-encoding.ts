import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Imports remember the character encoding their file is read in (detected on upload or given),
 * and count progress in lines of the file, so that `processed` runs up to `total` (the data lines
 * counted on upload) whatever the file holds: quoted values over several lines, blank lines, an
 * unreadable tail.
 */
export class ImportEncoding1732350000000 implements MigrationInterface {
  name = 'ImportEncoding1732350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE imports
        ADD COLUMN encoding text NOT NULL DEFAULT 'utf-8' CHECK (encoding IN ('utf-8', 'windows-1252', 'iso-8859-15')),
        ADD COLUMN lines_processed integer NOT NULL DEFAULT 0;
      UPDATE imports SET lines_processed = CASE WHEN status = 'completed' THEN total ELSE LEAST(rows_processed, total) END;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE imports DROP COLUMN encoding, DROP COLUMN lines_processed`);
  }
}
