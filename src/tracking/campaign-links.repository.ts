import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Queryable } from '../database/queryable';

export interface LinkRow {
  slot: number;
  url: string;
  utm: Record<string, string> | null;
}

export interface LinkCounts {
  slot: number;
  url: string;
  clicks: string;
  unique_clicks: string;
  unique_human_clicks: string;
}

/** Click counts by (campaign, slot), as the ingestor adds them. */
export interface LinkClickDeltas {
  campaigns: string[];
  slots: number[];
  clicks: number[];
  unique: number[];
  uniqueHuman: number[];
}

/** `campaign_links`: the tracked-link slots of each campaign, their UTM parameters and click counters. */
@Injectable()
export class CampaignLinksRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async store(campaignId: string, urls: string[], utm: Record<string, string> | null): Promise<void> {
    await this.db.query(
      `INSERT INTO campaign_links (campaign_id, slot, url, utm) SELECT $1, s - 1, u, $3 FROM unnest($2::text[]) WITH ORDINALITY AS t(u, s)
       ON CONFLICT (campaign_id, slot) DO UPDATE SET url = EXCLUDED.url, utm = EXCLUDED.utm`,
      [campaignId, urls, utm],
    );
  }

  /** A deleted draft's slots (its test copies' links stop working). */
  async forget(q: Queryable, campaignId: string): Promise<void> {
    await q.query(`DELETE FROM campaign_links WHERE campaign_id = $1`, [campaignId]);
  }

  load(campaignId: string): Promise<LinkRow[]> {
    return this.db.query(`SELECT slot, url, utm FROM campaign_links WHERE campaign_id = $1`, [campaignId]);
  }

  counts(campaignId: string): Promise<LinkCounts[]> {
    return this.db.query(`SELECT slot, url, clicks, unique_clicks, unique_human_clicks FROM campaign_links WHERE campaign_id = $1 ORDER BY slot`, [campaignId]);
  }

  /** In the caller's transaction (the ingestor's batch). */
  async addClicks(q: Queryable, d: LinkClickDeltas): Promise<void> {
    await q.query(
      `UPDATE campaign_links l SET clicks = l.clicks + t.clicks, unique_clicks = l.unique_clicks + t.u, unique_human_clicks = l.unique_human_clicks + t.h
       FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(c, slot, clicks, u, h)
       WHERE l.campaign_id = t.c AND l.slot = t.slot`,
      [d.campaigns, d.slots, d.clicks, d.unique, d.uniqueHuman],
    );
  }
}
