import { Inject, Injectable } from '@nestjs/common';
import { CampaignRow, CampaignsService } from '../campaigns/campaigns.service';
import { variantId } from '../campaigns/variants';
import { AbDecision, AbSettings, decide, VariantCounts } from '../experiments/ab-decision';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CampaignLinks } from '../tracking/campaign-links';
import { AbTestStateDto, CampaignStatsDto, LinkStatsDto, TimeseriesDto, TimeseriesQuery, VariantStatsDto } from './dto/stats.dto';
import { StatsRepository, VariantCountRow } from './stats.repository';

/** A campaign's variants as the test sees them: their counts and where the statistics stand. */
export interface VariantResults {
  counts: VariantCounts[];
  rows: VariantCountRow[];
  decision: AbDecision;
}

/** A mailing's engagement counters (see StatsService.mailingCounters). */
export interface MailingCounters {
  opens: { unique: number; total: number; uniqueHuman: number };
  clicks: { unique: number; total: number; uniqueHuman: number };
  conversions: { unique: number; total: number; revenueByCurrency: Record<string, number> };
  bounces: { hard: number; soft: number };
  complaints: number;
  unsubscribes: number;
}

/**
 * Campaign reports, read from the counters the ingestor keeps (never from raw events). Message
 * counts are the campaign's: counted from the messages' status index while it runs, stored with it
 * once it has finished, so a report costs a few index lookups whatever the campaign's size. A
 * report only reads.
 */
@Injectable()
export class StatsService {
  constructor(
    private readonly repository: StatsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly campaigns: CampaignsService,
    private readonly campaignLinks: CampaignLinks,
  ) {}

  async stats(id: string): Promise<CampaignStatsDto> {
    // The campaign (or its 404) and its counters at once: the report waits one round trip, not two.
    const [campaign, row] = await Promise.all([this.campaigns.row(id), this.repository.counters(id)]);
    const [m] = await this.campaigns.progress([campaign]);
    const n = (v: string | null) => Number(v ?? 0);
    const hard = n(row.hard_bounces);
    const soft = n(row.soft_bounces);
    const delivered = Math.max(0, m.sent - hard - soft);
    const opens = { unique: n(row.unique_opens), total: n(row.opens), uniqueHuman: n(row.unique_human_opens) };
    const clicks = { unique: n(row.unique_clicks), total: n(row.clicks), uniqueHuman: n(row.unique_human_clicks) };
    const currency = this.config.tracking.defaultCurrency;
    const revenueByCurrency = Object.fromEntries(Object.entries(row.revenue ?? {}).map(([c, a]) => [c, Number(a)]));
    const uniqueConversions = n(row.unique_conversions);
    const per = (x: number, of: number) => (of > 0 ? round(x / of) : 0);
    const variants = campaign.variants ? await this.variantResults(campaign, m.total) : null;
    return {
      campaignId: id,
      status: campaign.status,
      sent: m.sent,
      delivered,
      failed: m.failed,
      unknown: m.unknown,
      queued: m.queued,
      bounces: { hard, soft },
      complaints: n(row.complaints),
      unsubscribes: n(row.unsubscribes),
      opens: { ...opens, uniqueMachine: opens.unique - opens.uniqueHuman },
      clicks: { ...clicks, uniqueMachine: clicks.unique - clicks.uniqueHuman },
      conversions: {
        unique: uniqueConversions,
        total: n(row.conversions),
        revenue: revenueByCurrency[currency] ?? 0,
        currency,
        revenueByCurrency,
        unattributed: n(row.unattributed_conversions),
      },
      rates: {
        reach: per(delivered, m.sent),
        open: per(opens.uniqueHuman, delivered),
        click: per(clicks.uniqueHuman, delivered),
        ctor: per(clicks.uniqueHuman, opens.uniqueHuman),
        conversion: per(uniqueConversions, delivered),
        unsubscribe: per(n(row.unsubscribes), delivered),
        bounce: per(hard + soft, delivered),
        complaint: per(n(row.complaints), delivered),
      },
      ...(variants && { variants: this.variantStats(campaign, variants) }),
      ...(variants && campaign.ab_test && { abTest: abTestState(campaign, variants.decision) }),
    };
  }

  /**
   * A campaign's variants: their counts, and the A/B statistics over them (./experiments): each
   * variant's metric with its always-valid interval, its comparison with the control, the
   * sample-ratio check, and — with an A/B test — whether there is a winner. `total` is the campaign's
   * number of messages: the test is tuned at its planned size per variant.
   */
  async variantResults(row: CampaignRow, total: number): Promise<VariantResults> {
    const rows = await this.repository.variantCounts(row.id, this.config.tracking.defaultCurrency);
    const k = row.variants?.length ?? 0;
    const byIndex = new Map(rows.map((r) => [r.variant, r]));
    const n = (v: string | undefined) => Number(v ?? 0);
    const counts: VariantCounts[] = Array.from({ length: k }, (_, i) => {
      const r = byIndex.get(i);
      const bounces = n(r?.hard_bounces) + n(r?.soft_bounces);
      const recipients = Math.max(0, n(r?.sent) - bounces);
      return {
        id: variantId(i),
        assigned: n(r?.assigned),
        recipients,
        // A message clicked and then reported bounced counts among the clicks, not among the delivered.
        successes: Math.min(recipients, successes(r, row.ab_test?.metric ?? 'click')),
        sum: n(r?.revenue),
        sumSquares: n(r?.revenue_squares),
        unsubscribes: n(r?.unsubscribes),
        complaints: n(r?.complaints),
        bounces,
      };
    });
    const test = row.ab_test;
    const planned = Math.max(1, Math.round(((test?.testShare ?? 1) * total) / Math.max(k, 1)));
    const settings: AbSettings = {
      metric: test?.metric ?? 'click',
      maxHours: test?.maxHours ?? 24,
      fallback: test?.fallback ?? 'control',
      minPerVariant: test?.minPerVariant,
      expectedPerVariant: planned,
    };
    const elapsed = row.started_at ? (Date.now() - row.started_at.getTime()) / 3_600_000 : 0;
    return { counts, rows, decision: decide(counts, settings, elapsed) };
  }

  private variantStats(row: CampaignRow, v: VariantResults): VariantStatsDto[] {
    const byIndex = new Map(v.rows.map((r) => [r.variant, r]));
    const n = (x: string | undefined) => Number(x ?? 0);
    return v.counts.map((c, i) => {
      const r = byIndex.get(i);
      const delivered = c.recipients;
      const per = (x: number) => (delivered > 0 ? round(x / delivered) : 0);
      const result = v.decision.variants[i];
      return {
        id: c.id,
        name: row.variants![i].name,
        assigned: c.assigned,
        sent: n(r?.sent),
        delivered,
        bounces: { hard: n(r?.hard_bounces), soft: n(r?.soft_bounces) },
        complaints: c.complaints,
        unsubscribes: c.unsubscribes,
        opens: { unique: n(r?.unique_opens), uniqueHuman: n(r?.unique_human_opens) },
        clicks: { unique: n(r?.unique_clicks), uniqueHuman: n(r?.unique_human_clicks) },
        conversions: { unique: n(r?.unique_conversions), revenue: n(r?.revenue) },
        rates: {
          open: per(n(r?.unique_human_opens)),
          click: per(n(r?.unique_human_clicks)),
          conversion: per(n(r?.unique_conversions)),
          unsubscribe: per(c.unsubscribes),
        },
        metric: finite(result.metric),
        ...(result.vsControl
          ? {
              vsControl: {
                lift: result.vsControl.lift && finite(result.vsControl.lift),
                level: round(result.vsControl.level),
                significant: result.vsControl.significant,
                failedGuardrails: result.vsControl.failedGuardrails,
              },
            }
          : {}),
      };
    });
  }

  /**
   * Of these subscribers, who opened (or clicked) a mailing, as a person — a journey's branch.
   * Machine opens (mail privacy proxies, scanners) do not count: they would send everyone down "opened".
   */
  async engaged(mailingId: string, subscriberIds: string[], kind: 'opened' | 'clicked'): Promise<Set<string>> {
    return new Set(subscriberIds.length ? await this.repository.engaged(mailingId, subscriberIds, kind) : []);
  }

  async mailingCounters(mailingId: string): Promise<MailingCounters> {
    const row = await this.repository.counters(mailingId);
    const n = (v: string | null) => Number(v ?? 0);
    const revenueByCurrency = Object.fromEntries(Object.entries(row.revenue ?? {}).map(([c, a]) => [c, Number(a)]));
    return {
      opens: { unique: n(row.unique_opens), total: n(row.opens), uniqueHuman: n(row.unique_human_opens) },
      clicks: { unique: n(row.unique_clicks), total: n(row.clicks), uniqueHuman: n(row.unique_human_clicks) },
      conversions: { unique: n(row.unique_conversions), total: n(row.conversions), revenueByCurrency },
      bounces: { hard: n(row.hard_bounces), soft: n(row.soft_bounces) },
      complaints: n(row.complaints),
      unsubscribes: n(row.unsubscribes),
    };
  }

  async timeseries(id: string, q: TimeseriesQuery): Promise<TimeseriesDto> {
    const interval = q.interval ?? 'hour';
    const timezone = q.timezone ?? 'UTC';
    const [, rows] = await Promise.all([this.campaigns.row(id), this.repository.buckets(id, interval, timezone)]);
    return {
      interval,
      timezone,
      buckets: rows.map((r) => ({
        start: r.start.toISOString(),
        opens: Number(r.opens),
        uniqueOpens: Number(r.unique_opens),
        uniqueHumanOpens: Number(r.unique_human_opens),
        clicks: Number(r.clicks),
        uniqueClicks: Number(r.unique_clicks),
        uniqueHumanClicks: Number(r.unique_human_clicks),
        conversions: Number(r.conversions),
        unsubscribes: Number(r.unsubscribes),
      })),
    };
  }

  async links(id: string): Promise<LinkStatsDto[]> {
    const [, rows] = await Promise.all([this.campaigns.row(id), this.campaignLinks.counts(id)]);
    const total = rows.reduce((sum, r) => sum + Number(r.clicks), 0);
    return rows.map((r) => ({
      slot: r.slot,
      url: r.url,
      clicks: Number(r.clicks),
      uniqueClicks: Number(r.unique_clicks),
      uniqueHumanClicks: Number(r.unique_human_clicks),
      clickShare: total ? round(Number(r.clicks) / total) : 0,
    }));
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Recipients with a success on the test's metric (for revenue, the sum is used instead). */
function successes(r: VariantCountRow | undefined, metric: AbSettings['metric']): number {
  if (!r) return 0;
  switch (metric) {
    case 'click':
      return Number(r.unique_human_clicks);
    case 'open':
      return Number(r.unique_human_opens);
    case 'conversion':
    case 'revenue':
      return Number(r.unique_conversions);
  }
}

/** JSON has no infinity: an unbounded end of an interval (revenue without data yet) becomes ±Number.MAX_VALUE. */
function finite(i: { value: number; low: number; high: number }): { value: number; low: number; high: number } {
  const clamp = (x: number) => (Number.isFinite(x) ? round(x) : x > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE);
  return { value: clamp(i.value), low: clamp(i.low), high: clamp(i.high) };
}

/** The stored state of a campaign's A/B test, with the live statistics' checks. */
function abTestState(row: CampaignRow, d: AbDecision): AbTestStateDto {
  return {
    state: row.ab_state ?? 'testing',
    metric: row.ab_test!.metric,
    ...(row.ab_winner !== null ? { winner: variantId(row.ab_winner) } : {}),
    ...(row.ab_basis ? { basis: row.ab_basis } : {}),
    ...(row.ab_decided_at ? { decidedAt: row.ab_decided_at.toISOString() } : {}),
    reason: row.ab_reason ?? (row.ab_state ? d.reason : 'The test starts when the campaign is sent.'),
    srm: { chiSquare: round(d.srm.chiSquare), pValue: d.srm.pValue, mismatch: d.srm.mismatch },
    warnings: d.warnings,
  };
}
