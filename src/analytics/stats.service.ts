import { Inject, Injectable } from '@nestjs/common';
import { CampaignsService } from '../campaigns/campaigns.service';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CampaignLinks } from '../tracking/campaign-links';
import { CampaignStatsDto, LinkStatsDto, TimeseriesDto, TimeseriesQuery } from './dto/stats.dto';
import { StatsRepository } from './stats.repository';

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
    };
  }

  /**
   * The engagement counters of a mailing that is not a campaign row (transactional mail of one
   * template): the same counters the ingestor keeps for campaigns; message counts are the caller's.
   */
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
