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
const IS_HOURLY = new Set<CounterName>(HOURLY);

const HOUR_MS = 3_600_000;

type LinkCounts = Partial<Record<LinkCounterName, number>>;

/** What one batch moved for one campaign. */
export interface CampaignDeltas {
  totals: Counts;
  /** By hour (epoch ms of its start). */
  hours: Map<number, Counts>;
  /** By link slot. */
  links: Map<number, LinkCounts>;
  /** By currency. */
  revenue: Map<string, number>;
}

/** Adds up one batch's counter changes, so each counter row is written once per batch. */
export class CounterDeltas implements CounterSink {
  readonly campaigns = new Map<string, CampaignDeltas>();
  // The applier reports one message's changes after another, mostly of one campaign.
  private lastId = '';
  private last: CampaignDeltas | undefined;

  add(campaignId: string, counter: CounterName, at: number, by = 1): void {
    const c = this.of(campaignId);
    c.totals[counter] = (c.totals[counter] ?? 0) + by;
    if (IS_HOURLY.has(counter)) bump(c.hours, Math.floor(at / HOUR_MS) * HOUR_MS, counter, by);
  }

  addLink(campaignId: string, slot: number, counter: LinkCounterName, by = 1): void {
    bump(this.of(campaignId).links, slot, counter, by);
  }

  addRevenue(campaignId: string, currency: string, amount: number): void {
    const revenue = this.of(campaignId).revenue;
    revenue.set(currency, (revenue.get(currency) ?? 0) + amount);
  }

  private of(campaignId: string): CampaignDeltas {
    if (campaignId === this.lastId && this.last) return this.last;
    let c = this.campaigns.get(campaignId);
    if (!c) this.campaigns.set(campaignId, (c = { totals: {}, hours: new Map(), links: new Map(), revenue: new Map() }));
    this.lastId = campaignId;
    return (this.last = c);
  }
}

function bump<K, C extends string>(map: Map<K, Partial<Record<C, number>>>, key: K, counter: C, by: number): void {
  let row = map.get(key);
  if (!row) map.set(key, (row = {}));
  row[counter] = (row[counter] ?? 0) + by;
}

/** Rows of one kind across the batch's campaigns: campaign, then key, both in order. */
function rowsOf<K extends number | string, V>(campaigns: [string, CampaignDeltas][], pick: (c: CampaignDeltas) => Map<K, V>): { campaign: string; key: K; value: V }[] {
  const out: { campaign: string; key: K; value: V }[] = [];
  for (const [campaign, c] of campaigns) {
    const entries = [...pick(c)].sort(([a], [b]) => (a < b ? -1 : 1)); // keys of a map: never equal
    for (const [key, value] of entries) out.push({ campaign, key, value });
  }
  return out;
}

/** One upsert per counter table; rows in key order, as every worker writes them. */
export async function saveCounters(qr: QueryRunner, d: CounterDeltas): Promise<void> {
  const names = Object.keys(STATS_COLUMNS) as (keyof typeof STATS_COLUMNS)[];
  const campaigns = [...d.campaigns].sort(([a], [b]) => (a < b ? -1 : 1));
  if (!campaigns.length) return;
  const cols = names.map((n) => STATS_COLUMNS[n]);
  await qr.query(
    `INSERT INTO campaign_stats AS s (campaign_id, ${cols.join(', ')})
     SELECT * FROM unnest($1::uuid[], ${cols.map((_, i) => `$${i + 2}::bigint[]`).join(', ')})
     ON CONFLICT (campaign_id) DO UPDATE SET ${cols.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ')}`,
    [campaigns.map(([id]) => id), ...names.map((n) => campaigns.map(([, c]) => c.totals[n] ?? 0))],
  );
  const hours = rowsOf(campaigns, (c) => c.hours);
  if (hours.length) {
    const hourly = HOURLY.map((n) => STATS_COLUMNS[n]);
    await qr.query(
      `INSERT INTO campaign_stats_hourly AS s (campaign_id, hour, ${hourly.join(', ')})
       SELECT c, to_timestamp(h / 1000.0), ${hourly.join(', ')}
       FROM unnest($1::uuid[], $2::float8[], ${hourly.map((_, i) => `$${i + 3}::bigint[]`).join(', ')}) AS t(c, h, ${hourly.join(', ')})
       ON CONFLICT (campaign_id, hour) DO UPDATE SET ${hourly.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ')}`,
      [hours.map((r) => r.campaign), hours.map((r) => r.key), ...HOURLY.map((n) => hours.map((r) => r.value[n] ?? 0))],
    );
  }
  const links = rowsOf(campaigns, (c) => c.links);
  if (links.length) {
    await qr.query(
      `UPDATE campaign_links l SET clicks = l.clicks + t.clicks, unique_clicks = l.unique_clicks + t.u, unique_human_clicks = l.unique_human_clicks + t.h
       FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(c, slot, clicks, u, h)
       WHERE l.campaign_id = t.c AND l.slot = t.slot`,
      [
        links.map((r) => r.campaign),
        links.map((r) => r.key),
        links.map((r) => r.value.clicks ?? 0),
        links.map((r) => r.value.uniqueClicks ?? 0),
        links.map((r) => r.value.uniqueHumanClicks ?? 0),
      ],
    );
  }
  const revenue = rowsOf(campaigns, (c) => c.revenue);
  if (revenue.length) {
    await qr.query(
      `INSERT INTO campaign_revenue AS r (campaign_id, currency, amount) SELECT * FROM unnest($1::uuid[], $2::text[], $3::numeric[])
       ON CONFLICT (campaign_id, currency) DO UPDATE SET amount = r.amount + EXCLUDED.amount`,
      [revenue.map((r) => r.campaign), revenue.map((r) => r.key), revenue.map((r) => r.value)],
    );
  }
}
