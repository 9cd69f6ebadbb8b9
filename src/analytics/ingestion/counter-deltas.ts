import type { LinkClickDeltas } from '../../tracking/campaign-links.repository';
import type { HourlyRows, RevenueRows, TotalsRows } from './counters.repository';
import type { CounterName, CounterSink, LinkCounterName } from './engagement';

type Counts = Partial<Record<CounterName, number>>;

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
function rowsOf<K extends number | string, V>(
  campaigns: [string, CampaignDeltas][],
  pick: (c: CampaignDeltas) => Map<K, V>,
): { campaign: string; key: K; value: V }[] {
  const out: { campaign: string; key: K; value: V }[] = [];
  for (const [campaign, c] of campaigns) {
    const entries = [...pick(c)].sort(([a], [b]) => (a < b ? -1 : 1)); // keys of a map: never equal
    for (const [key, value] of entries) out.push({ campaign, key, value });
  }
  return out;
}

/** What one batch writes, counter table by counter table; rows in key order, as every worker writes them. */
export interface CounterRows {
  totals: TotalsRows | null;
  hourly: HourlyRows | null;
  links: LinkClickDeltas | null;
  revenue: RevenueRows | null;
}

export function counterRows(d: CounterDeltas): CounterRows {
  const campaigns = [...d.campaigns].sort(([a], [b]) => (a < b ? -1 : 1));
  if (!campaigns.length) return { totals: null, hourly: null, links: null, revenue: null };
  const total = (n: CounterName) => campaigns.map(([, c]) => c.totals[n] ?? 0);
  const totals: TotalsRows = {
    campaigns: campaigns.map(([id]) => id),
    opens: total('opens'),
    uniqueOpens: total('uniqueOpens'),
    uniqueHumanOpens: total('uniqueHumanOpens'),
    clicks: total('clicks'),
    uniqueClicks: total('uniqueClicks'),
    uniqueHumanClicks: total('uniqueHumanClicks'),
    conversions: total('conversions'),
    uniqueConversions: total('uniqueConversions'),
    unattributedConversions: total('unattributedConversions'),
    unsubscribes: total('unsubscribes'),
    hardBounces: total('hardBounces'),
    softBounces: total('softBounces'),
    complaints: total('complaints'),
  };
  const hours = rowsOf(campaigns, (c) => c.hours);
  const hour = (n: CounterName) => hours.map((r) => r.value[n] ?? 0);
  const hourly: HourlyRows | null = hours.length
    ? {
        campaigns: hours.map((r) => r.campaign),
        hours: hours.map((r) => r.key),
        opens: hour('opens'),
        uniqueOpens: hour('uniqueOpens'),
        uniqueHumanOpens: hour('uniqueHumanOpens'),
        clicks: hour('clicks'),
        uniqueClicks: hour('uniqueClicks'),
        uniqueHumanClicks: hour('uniqueHumanClicks'),
        conversions: hour('conversions'),
        unsubscribes: hour('unsubscribes'),
      }
    : null;
  const links = rowsOf(campaigns, (c) => c.links);
  const revenue = rowsOf(campaigns, (c) => c.revenue);
  return {
    totals,
    hourly,
    links: links.length
      ? {
          campaigns: links.map((r) => r.campaign),
          slots: links.map((r) => r.key),
          clicks: links.map((r) => r.value.clicks ?? 0),
          unique: links.map((r) => r.value.uniqueClicks ?? 0),
          uniqueHuman: links.map((r) => r.value.uniqueHumanClicks ?? 0),
        }
      : null,
    revenue: revenue.length ? { campaigns: revenue.map((r) => r.campaign), currencies: revenue.map((r) => r.key), amounts: revenue.map((r) => r.value) } : null,
  };
}
