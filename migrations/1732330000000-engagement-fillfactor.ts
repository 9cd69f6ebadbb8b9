import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An engagement row is updated by later events of its message (its first click after its first
 * open, a new link, …). Room left on each page lets those updates stay on the page (heap-only
 * tuples: no new primary-key entry per update). Applies to pages written from now on.
 */
export class EngagementFillfactor1732330000000 implements MigrationInterface {
  name = 'EngagementFillfactor1732330000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE engagements SET (fillfactor = 70)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE engagements RESET (fillfactor)`);
  }
}
