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
