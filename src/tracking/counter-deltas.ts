import type { QueryRunner } from 'typeorm';
import type { CounterName, CounterSink, LinkCounterName } from './engagement';

type Counts = Partial<Record<CounterName, number>>;

/** The columns of campaign_stats, by counter. */
export const STATS_COLUMNS: Record<CounterName, string> = {
  opens: 'opens',
  uniqueOpens: 'unique_opens',
  uniqueHumanOpens: 'unique_human_opens',
  clicks: 'clicks',
  uniqueClicks: 'unique_clicks',
  uniqueHumanClicks: 'unique_human_clicks',
  conversions: 'conversions',
  uniqueConversions: 'unique_conversions',
  unattributedConversions: 'unattributed_conversions',
  unsubscribes: 'unsubscribes',
  hardBounces: 'hard_bounces',
  softBounces: 'soft_bounces',
  complaints: 'complaints',
};

/** The counters kept per hour as well (campaign_stats_hourly). */
export const HOURLY: CounterName[] = ['opens', 'uniqueOpens', 'uniqueHumanOpens', 'clicks', 'uniqueClicks', 'uniqueHumanClicks', 'conversions', 'unsubscribes'];

const HOUR_MS = 3_600_000;

/** Adds up one batch's counter changes, so each counter row is written once per batch. */
export class CounterDeltas implements CounterSink {
  readonly campaigns = new Map<string, Counts>();
  /** key: campaign id + '|' + hour (epoch ms) */
  readonly hours = new Map<string, Counts>();
  /** key: campaign id + '|' + slot */
  readonly links = new Map<string, Partial<Record<LinkCounterName, number>>>();
  /** key: campaign id + '|' + currency */
  readonly revenue = new Map<string, number>();

  add(campaignId: string, counter: CounterName, at: number, by = 1): void {
    bump(this.campaigns, campaignId, counter, by);
    if (HOURLY.includes(counter)) bump(this.hours, `${campaignId}|${Math.floor(at / HOUR_MS) * HOUR_MS}`, counter, by);
  }

  addLink(campaignId: string, slot: number, counter: LinkCounterName, by = 1): void {
    bump(this.links, `${campaignId}|${slot}`, counter, by);
  }

  addRevenue(campaignId: string, currency: string, amount: number): void {
    const key = `${campaignId}|${currency}`;
    this.revenue.set(key, (this.revenue.get(key) ?? 0) + amount);
  }
}

function bump<K extends string>(map: Map<string, Partial<Record<K, number>>>, key: string, counter: K, by: number): void {
  let row = map.get(key);
  if (!row) map.set(key, (row = {}));
  row[counter] = (row[counter] ?? 0) + by;
}

/** One upsert per counter table; rows in key order, as every worker writes them. */
export async function saveCounters(qr: QueryRunner, d: CounterDeltas): Promise<void> {
  const names = Object.keys(STATS_COLUMNS) as (keyof typeof STATS_COLUMNS)[];
  if (d.campaigns.size) {
    const ids = [...d.campaigns.keys()].sort();
    const cols = names.map((n) => STATS_COLUMNS[n]);
    await qr.query(
      `INSERT INTO campaign_stats AS s (campaign_id, ${cols.join(', ')})
       SELECT * FROM unnest($1::uuid[], ${cols.map((_, i) => `$${i + 2}::bigint[]`).join(', ')})
       ON CONFLICT (campaign_id) DO UPDATE SET ${cols.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ')}`,
      [ids, ...names.map((n) => ids.map((id) => d.campaigns.get(id)![n] ?? 0))],
    );
  }
  if (d.hours.size) {
    const keys = [...d.hours.keys()].sort();
    const cols = HOURLY.map((n) => STATS_COLUMNS[n]);
    await qr.query(
      `INSERT INTO campaign_stats_hourly AS s (campaign_id, hour, ${cols.join(', ')})
       SELECT c, to_timestamp(h / 1000.0), ${cols.join(', ')}
       FROM unnest($1::uuid[], $2::float8[], ${cols.map((_, i) => `$${i + 3}::bigint[]`).join(', ')}) AS t(c, h, ${cols.join(', ')})
       ON CONFLICT (campaign_id, hour) DO UPDATE SET ${cols.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ')}`,
      [keys.map((k) => k.slice(0, 36)), keys.map((k) => Number(k.slice(37))), ...HOURLY.map((n) => keys.map((k) => d.hours.get(k)![n] ?? 0))],
    );
  }
  if (d.links.size) {
    const keys = [...d.links.keys()].sort();
    await qr.query(
      `UPDATE campaign_links l SET clicks = l.clicks + t.clicks, unique_clicks = l.unique_clicks + t.u, unique_human_clicks = l.unique_human_clicks + t.h
       FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(c, slot, clicks, u, h)
       WHERE l.campaign_id = t.c AND l.slot = t.slot`,
      [
        keys.map((k) => k.slice(0, 36)),
        keys.map((k) => Number(k.slice(37))),
        keys.map((k) => d.links.get(k)!.clicks ?? 0),
        keys.map((k) => d.links.get(k)!.uniqueClicks ?? 0),
        keys.map((k) => d.links.get(k)!.uniqueHumanClicks ?? 0),
      ],
    );
  }
  if (d.revenue.size) {
    const keys = [...d.revenue.keys()].sort();
    await qr.query(
      `INSERT INTO campaign_revenue AS r (campaign_id, currency, amount) SELECT * FROM unnest($1::uuid[], $2::text[], $3::numeric[])
       ON CONFLICT (campaign_id, currency) DO UPDATE SET amount = r.amount + EXCLUDED.amount`,
      [keys.map((k) => k.slice(0, 36)), keys.map((k) => k.slice(37)), keys.map((k) => d.revenue.get(k))],
    );
  }
}
