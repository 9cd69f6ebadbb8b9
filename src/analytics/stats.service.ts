import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CampaignsService } from '../campaigns/campaigns.service';
import { ProgressDto } from '../campaigns/dto/campaign.dto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CampaignStatsDto, LinkStatsDto, TimeseriesDto, TimeseriesQuery } from './dto/stats.dto';

interface StatsRow {
  status: string;
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
  messages: ProgressDto | null;
  revenue: Record<string, string> | null;
}

const FINISHED = ['sent', 'cancelled'];

/**
 * Campaign reports, read from the counters the ingestor keeps (never from raw events). Message
 * counts come from the messages' status index while a campaign runs, and are stored once it has
 * finished, so a report costs a few index lookups whatever the campaign's size.
 */
@Injectable()
export class StatsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly campaigns: CampaignsService,
  ) {}

  async stats(id: string): Promise<CampaignStatsDto> {
    const [row]: StatsRow[] = await this.db.query(
      `SELECT c.status, s.*, (SELECT json_object_agg(currency, amount::text) FROM campaign_revenue r WHERE r.campaign_id = c.id) AS revenue
       FROM campaigns c LEFT JOIN campaign_stats s ON s.campaign_id = c.id WHERE c.id = $1`,
      [id],
    );
    if (!row) await this.campaigns.row(id); // throws the 404
    const m = row.messages ?? (await this.messageCounts(id, row.status));
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
      status: row.status,
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

  async timeseries(id: string, q: TimeseriesQuery): Promise<TimeseriesDto> {
    await this.campaigns.row(id);
    const interval = q.interval ?? 'hour';
    const timezone = q.timezone ?? 'UTC';
    const rows: Record<string, string | Date>[] = await this.db.query(
      `WITH h AS (SELECT date_trunc($2, hour AT TIME ZONE $3) AS local, * FROM campaign_stats_hourly WHERE campaign_id = $1),
            span AS (SELECT min(local) AS lo, max(local) AS hi FROM h)
       SELECT g AT TIME ZONE $3 AS start,
              COALESCE(sum(h.opens), 0) AS opens, COALESCE(sum(h.unique_opens), 0) AS unique_opens,
              COALESCE(sum(h.unique_human_opens), 0) AS unique_human_opens, COALESCE(sum(h.clicks), 0) AS clicks,
              COALESCE(sum(h.unique_clicks), 0) AS unique_clicks, COALESCE(sum(h.unique_human_clicks), 0) AS unique_human_clicks,
              COALESCE(sum(h.conversions), 0) AS conversions, COALESCE(sum(h.unsubscribes), 0) AS unsubscribes
       FROM span CROSS JOIN generate_series(span.lo, span.hi, ('1 ' || $2)::interval) AS g LEFT JOIN h ON h.local = g
       GROUP BY g ORDER BY g`,
      [id, interval, timezone],
    );
    return {
      interval,
      timezone,
      buckets: rows.map((r) => ({
        start: (r.start as Date).toISOString(),
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
    await this.campaigns.row(id);
    const rows: { slot: number; url: string; clicks: string; unique_clicks: string; unique_human_clicks: string }[] = await this.db.query(
      `SELECT slot, url, clicks, unique_clicks, unique_human_clicks FROM campaign_links WHERE campaign_id = $1 ORDER BY slot`,
      [id],
    );
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

  /** Counted from the status index; kept for good once the campaign has finished. */
  private async messageCounts(id: string, status: string): Promise<ProgressDto> {
    const counts = (await this.campaigns.progress([id])).get(id) ?? { total: 0, queued: 0, sent: 0, failed: 0, unknown: 0, skipped: 0, cancelled: 0 };
    if (FINISHED.includes(status) && counts.queued === 0) {
      await this.db.query(
        `INSERT INTO campaign_stats (campaign_id, messages) VALUES ($1, $2) ON CONFLICT (campaign_id) DO UPDATE SET messages = EXCLUDED.messages`,
        [id, counts],
      );
    }
    return counts;
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
