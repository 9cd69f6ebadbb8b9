import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TemplatesService } from '../content/templates.service';
import { CampaignsService } from './campaigns.service';

/**
 * Starts a campaign: pins its template version, stores its link slots, and resolves the audience
 * in ONE set-based statement into `messages` — confirmed subscribers of the chosen lists, each
 * once, minus suppressions and erased profiles — each with its own send time.
 */
const RESOLVE_PARTITIONS = 2;

/** The lowest uuid of part k of n equal ranges of the uuid space. */
function bound(k: number, n: number): string {
  const head = Math.floor((k * 0x1_0000_0000) / n).toString(16).padStart(8, '0');
  return `${head}-0000-0000-0000-000000000000`;
}

@Injectable()
export class CampaignStarter {
  private readonly logger = new Logger(CampaignStarter.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly campaigns: CampaignsService,
    private readonly templates: TemplatesService,
  ) {}

  /** True when there is something to dispatch. Safe to run twice: resolution happens once. */
  async start(campaignId: string): Promise<boolean> {
    const row = await this.campaigns.row(campaignId);
    if (row.status === 'scheduled') {
      await this.db.query(`UPDATE campaigns SET status = 'sending', updated_at = now() WHERE id = $1 AND status = 'scheduled'`, [campaignId]);
    } else if (row.status !== 'sending' && row.status !== 'paused') {
      return false; // cancelled, or back to draft
    }
    if (row.started_at) return true;
    const version = row.template_version ?? (await this.templates.version(row.template_id)).version;
    await this.db.query(`UPDATE campaigns SET template_version = $2 WHERE id = $1`, [campaignId, version]);
    await this.campaigns.compiled({ ...row, template_version: version }); // compiles once and stores the link slots
    const started = Date.now();
    await this.db.transaction(async (tx) => {
      // The row lock makes a second start (a retried job, another worker) wait, then see started_at.
      const [[locked]]: [{ started_at: Date | null }[], number] = await tx.query(
        `UPDATE campaigns SET updated_at = now() WHERE id = $1 RETURNING started_at`,
        [campaignId],
      );
      if (locked.started_at) return;
      // Subscriber-id ranges resolved side by side, each on its own connection (Postgres runs an
      // INSERT … SELECT on one core). A crash between them is harmless: started_at is set only
      // after all, and a rerun's ON CONFLICT DO NOTHING fills in what is missing.
      const parts = RESOLVE_PARTITIONS;
      await Promise.all(Array.from({ length: parts }, (_, k) => this.db.query(
        `INSERT INTO messages (campaign_id, subscriber_id, list_id, send_at)
         SELECT $1, s.id, first.list_id,
                CASE WHEN c.local_time
                     THEN (c.scheduled_at AT TIME ZONE 'UTC') AT TIME ZONE COALESCE(s.timezone, c.default_timezone)
                     ELSE COALESCE(c.scheduled_at, now()) END
         FROM (${
           row.audience.lists.length === 1
             ? // One list: its subscriptions are already one per subscriber.
               `SELECT sub.subscriber_id, sub.list_id FROM subscriptions sub
                WHERE sub.list_id = ($2::uuid[])[1] AND sub.status = 'confirmed' AND sub.subscriber_id >= $3 AND ($4::uuid IS NULL OR sub.subscriber_id < $4)`
             : `SELECT DISTINCT ON (sub.subscriber_id) sub.subscriber_id, sub.list_id
                FROM subscriptions sub
                WHERE sub.list_id = ANY($2::uuid[]) AND sub.status = 'confirmed' AND sub.subscriber_id >= $3 AND ($4::uuid IS NULL OR sub.subscriber_id < $4)
                ORDER BY sub.subscriber_id, array_position($2::uuid[], sub.list_id)`
         }) first
         JOIN subscribers s ON s.id = first.subscriber_id
         CROSS JOIN campaigns c
         WHERE c.id = $1 AND s.email IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.email_hash = email_hash(s.email))
         ORDER BY s.id  -- the unique (campaign_id, subscriber_id) index then fills in order, not at random
         ON CONFLICT (campaign_id, subscriber_id) DO NOTHING`,
        [campaignId, row.audience.lists, bound(k, parts), k + 1 < parts ? bound(k + 1, parts) : null],
      )));
      await tx.query(`UPDATE campaigns SET started_at = now() WHERE id = $1`, [campaignId]);
    });
    this.logger.log(`campaign ${campaignId}: audience resolved in ${Date.now() - started} ms`);
    return true;
  }
}
