import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** bigint counters come back as text. */
export interface CounterRow {
  opens: string | null;
  unique_opens: string | null;
  unique_human_opens: string | null;
  clicks: string | null;
  unique_clicks: string | null;
  unique_human_clicks: string | null;
  conversions: string | null;
  unique_conversions: string | null;
  unattributed_conversions: string | null;
  unsubscribes: string | null;
  hard_bounces: string | null;
  soft_bounces: string | null;
  complaints: string | null;
  revenue: Record<string, string> | null;
}

export type BucketRow = Record<'start', Date> &
  Record<'opens' | 'unique_opens' | 'unique_human_opens' | 'clicks' | 'unique_clicks' | 'unique_human_clicks' | 'conversions' | 'unsubscribes', string>;

/** Reads of the counters the ingestor keeps: `campaign_stats`, `campaign_revenue`, `campaign_stats_hourly`. */
@Injectable()
export class StatsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** One row, all null when nothing was counted yet. */
  async counters(campaignId: string): Promise<CounterRow> {
    const [row]: CounterRow[] = await this.db.query(
      `SELECT s.*, (SELECT json_object_agg(currency, amount::text) FROM campaign_revenue r WHERE r.campaign_id = $1) AS revenue
       FROM (SELECT $1::uuid AS id) c LEFT JOIN campaign_stats s ON s.campaign_id = c.id`,
      [campaignId],
    );
    return row;
  }

  /** Hourly counters summed into buckets of `interval` in `timezone`, empty buckets included. */
  buckets(campaignId: string, interval: 'hour' | 'day', timezone: string): Promise<BucketRow[]> {
    return this.db.query(
      `WITH h AS (SELECT date_trunc($2, hour AT TIME ZONE $3) AS local, * FROM campaign_stats_hourly WHERE campaign_id = $1),
            span AS (SELECT min(local) AS lo, max(local) AS hi FROM h)
       SELECT g AT TIME ZONE $3 AS start,
              COALESCE(sum(h.opens), 0) AS opens, COALESCE(sum(h.unique_opens), 0) AS unique_opens,
              COALESCE(sum(h.unique_human_opens), 0) AS unique_human_opens, COALESCE(sum(h.clicks), 0) AS clicks,
              COALESCE(sum(h.unique_clicks), 0) AS unique_clicks, COALESCE(sum(h.unique_human_clicks), 0) AS unique_human_clicks,
              COALESCE(sum(h.conversions), 0) AS conversions, COALESCE(sum(h.unsubscribes), 0) AS unsubscribes
       FROM span CROSS JOIN generate_series(span.lo, span.hi, ('1 ' || $2)::interval) AS g LEFT JOIN h ON h.local = g
       GROUP BY g ORDER BY g`,
      [campaignId, interval, timezone],
    );
  }

  /** Of these subscribers, those whose engagement with the mailing includes a human open or click. */
  async engaged(mailingId: string, subscriberIds: string[], kind: 'opened' | 'clicked'): Promise<string[]> {
    const column = kind === 'opened' ? 'human_opened_at' : 'human_clicked_at';
    const rows: { subscriber_id: string }[] = await this.db.query(
      `SELECT subscriber_id FROM engagements WHERE campaign_id = $1 AND subscriber_id = ANY($2::uuid[]) AND ${column} IS NOT NULL`,
      [mailingId, subscriberIds],
    );
    return rows.map((r) => r.subscriber_id);
  }
}
