import { Injectable } from '@nestjs/common';
import type { Queryable } from '../../database/queryable';

/** One batch's totals per campaign, one array per counter (in campaign order). */
export interface TotalsRows {
  campaigns: string[];
  opens: number[];
  uniqueOpens: number[];
  uniqueHumanOpens: number[];
  clicks: number[];
  uniqueClicks: number[];
  uniqueHumanClicks: number[];
  conversions: number[];
  uniqueConversions: number[];
  unattributedConversions: number[];
  unsubscribes: number[];
  hardBounces: number[];
  softBounces: number[];
  complaints: number[];
}

/** The counters kept per hour as well, per (campaign, hour). */
export type HourlyRows = Pick<
  TotalsRows,
  'campaigns' | 'opens' | 'uniqueOpens' | 'uniqueHumanOpens' | 'clicks' | 'uniqueClicks' | 'uniqueHumanClicks' | 'conversions' | 'unsubscribes'
> & {
  /** The hours' starts, epoch ms. */
  hours: number[];
};

export interface RevenueRows {
  campaigns: string[];
  currencies: string[];
  amounts: number[];
}

/**
 * The counters reports read: `campaign_stats`, `campaign_stats_hourly`, `campaign_revenue`. Each is
 * one upsert per batch, in the batch's transaction, rows in key order (as every worker writes them).
 */
@Injectable()
export class CountersRepository {
  async addTotals(q: Queryable, r: TotalsRows): Promise<void> {
    await q.query(
      `INSERT INTO campaign_stats AS s (campaign_id, opens, unique_opens, unique_human_opens, clicks, unique_clicks, unique_human_clicks,
         conversions, unique_conversions, unattributed_conversions, unsubscribes, hard_bounces, soft_bounces, complaints)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
         $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
       ON CONFLICT (campaign_id) DO UPDATE SET
         opens = s.opens + EXCLUDED.opens, unique_opens = s.unique_opens + EXCLUDED.unique_opens,
         unique_human_opens = s.unique_human_opens + EXCLUDED.unique_human_opens, clicks = s.clicks + EXCLUDED.clicks,
         unique_clicks = s.unique_clicks + EXCLUDED.unique_clicks, unique_human_clicks = s.unique_human_clicks + EXCLUDED.unique_human_clicks,
         conversions = s.conversions + EXCLUDED.conversions, unique_conversions = s.unique_conversions + EXCLUDED.unique_conversions,
         unattributed_conversions = s.unattributed_conversions + EXCLUDED.unattributed_conversions,
         unsubscribes = s.unsubscribes + EXCLUDED.unsubscribes, hard_bounces = s.hard_bounces + EXCLUDED.hard_bounces,
         soft_bounces = s.soft_bounces + EXCLUDED.soft_bounces, complaints = s.complaints + EXCLUDED.complaints`,
      [
        r.campaigns,
        r.opens,
        r.uniqueOpens,
        r.uniqueHumanOpens,
        r.clicks,
        r.uniqueClicks,
        r.uniqueHumanClicks,
        r.conversions,
        r.uniqueConversions,
        r.unattributedConversions,
        r.unsubscribes,
        r.hardBounces,
        r.softBounces,
        r.complaints,
      ],
    );
  }

  async addHourly(q: Queryable, r: HourlyRows): Promise<void> {
    await q.query(
      `INSERT INTO campaign_stats_hourly AS s (campaign_id, hour, opens, unique_opens, unique_human_opens, clicks, unique_clicks,
         unique_human_clicks, conversions, unsubscribes)
       SELECT c, to_timestamp(h / 1000.0), opens, unique_opens, unique_human_opens, clicks, unique_clicks, unique_human_clicks, conversions, unsubscribes
       FROM unnest($1::uuid[], $2::float8[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
         AS t(c, h, opens, unique_opens, unique_human_opens, clicks, unique_clicks, unique_human_clicks, conversions, unsubscribes)
       ON CONFLICT (campaign_id, hour) DO UPDATE SET
         opens = s.opens + EXCLUDED.opens, unique_opens = s.unique_opens + EXCLUDED.unique_opens,
         unique_human_opens = s.unique_human_opens + EXCLUDED.unique_human_opens, clicks = s.clicks + EXCLUDED.clicks,
         unique_clicks = s.unique_clicks + EXCLUDED.unique_clicks, unique_human_clicks = s.unique_human_clicks + EXCLUDED.unique_human_clicks,
         conversions = s.conversions + EXCLUDED.conversions, unsubscribes = s.unsubscribes + EXCLUDED.unsubscribes`,
      [r.campaigns, r.hours, r.opens, r.uniqueOpens, r.uniqueHumanOpens, r.clicks, r.uniqueClicks, r.uniqueHumanClicks, r.conversions, r.unsubscribes],
    );
  }

  async addRevenue(q: Queryable, r: RevenueRows): Promise<void> {
    await q.query(
      `INSERT INTO campaign_revenue AS r (campaign_id, currency, amount) SELECT * FROM unnest($1::uuid[], $2::text[], $3::numeric[])
       ON CONFLICT (campaign_id, currency) DO UPDATE SET amount = r.amount + EXCLUDED.amount`,
      [r.campaigns, r.currencies, r.amounts],
    );
  }
}
