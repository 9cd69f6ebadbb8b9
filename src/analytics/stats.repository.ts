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

/** A campaign variant's recipients and engagement (bigint counts as text). */
export interface VariantCountRow {
  variant: number;
  assigned: string;
  sent: string;
  hard_bounces: string;
  soft_bounces: string;
  unique_opens: string;
  unique_human_opens: string;
  unique_clicks: string;
  unique_human_clicks: string;
  unique_conversions: string;
  unsubscribes: string;
  complaints: string;
  /** Attributed revenue in the default currency, and the sum of its squares per recipient. */
  revenue: string;
  revenue_squares: string;
}

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

  /**
   * Per variant of a campaign: recipients assigned and sent (the campaigns' published
   * campaign_variant_recipients), bounces, unique engagement from the messages' engagement rows,
   * and attributed revenue in `currency` per recipient. A join over the campaign's variant messages:
   * the test share of an A/B test, or the whole audience of variants without one.
   */
  variantCounts(campaignId: string, currency: string): Promise<VariantCountRow[]> {
    return this.db.query(
      `SELECT v.variant, count(*) AS assigned, count(*) FILTER (WHERE v.status = 'sent') AS sent,
              count(*) FILTER (WHERE e.bounced = 'hard') AS hard_bounces, count(*) FILTER (WHERE e.bounced = 'soft') AS soft_bounces,
              count(e.opened_at) AS unique_opens, count(e.human_opened_at) AS unique_human_opens,
              count(e.clicked_at) AS unique_clicks, count(e.human_clicked_at) AS unique_human_clicks,
              count(e.converted_at) AS unique_conversions, count(e.unsubscribed_at) AS unsubscribes, count(e.complained_at) AS complaints,
              COALESCE(sum(c.revenue), 0) AS revenue, COALESCE(sum(c.revenue * c.revenue), 0) AS revenue_squares
       FROM campaign_variant_recipients($1) v
       LEFT JOIN engagements e ON e.campaign_id = $1 AND e.subscriber_id = v.subscriber_id
       LEFT JOIN (SELECT subscriber_id, sum(value) AS revenue FROM conversions
                  WHERE campaign_id = $1 AND attributed AND COALESCE(currency, $2) = $2 GROUP BY 1) c ON c.subscriber_id = v.subscriber_id
       GROUP BY v.variant ORDER BY v.variant`,
      [campaignId, currency],
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
