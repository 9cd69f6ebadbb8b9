import { Injectable } from '@nestjs/common';
import { CampaignLinksRepository, LinkClickDeltas, LinkCounts } from './campaign-links.repository';
import type { Queryable } from '../database/queryable';

/** A slot's destination worked out once: without a conversion token, and around one (`before` + token + `after`). */
interface Target {
  plain: string;
  before: string;
  after: string | null;
}

interface CampaignTargets {
  slots: Map<number, Target>;
  loadedAt: number;
}

/** Stands for the conversion token while a destination is built: letters only, so URL encoding leaves it (and a real token) as it is. */
const PLACEHOLDER = 'EDMCONVERSIONTOKEN';

const TTL_MS = 60_000;
const MAX_CAMPAIGNS = 1_000;

/**
 * A campaign's link table and UTM parameters, cached in the process: a click answers from memory,
 * and Postgres is read once a minute per campaign at most. Slots never change once a campaign has
 * sent; a test copy of a draft whose links were edited sees the edit within a minute.
 */
@Injectable()
export class CampaignLinks {
  private readonly cache = new Map<string, CampaignTargets>();
  private readonly loading = new Map<string, Promise<CampaignTargets>>();

  constructor(private readonly links: CampaignLinksRepository) {}

  /** A campaign's link slots (from its compiled template) with the UTM parameters its clicks get. */
  store(campaignId: string, urls: string[], utm: Record<string, string> | null): Promise<void> {
    this.cache.delete(campaignId);
    return this.links.store(campaignId, urls, utm);
  }

  /** In the caller's transaction: the campaign is being deleted (a draft; its slots served only test copies). */
  forget(q: Queryable, campaignId: string): Promise<void> {
    this.cache.delete(campaignId);
    return this.links.forget(q, campaignId);
  }

  counts(campaignId: string): Promise<LinkCounts[]> {
    return this.links.counts(campaignId);
  }

  addClicks(q: Queryable, deltas: LinkClickDeltas): Promise<void> {
    return this.links.addClicks(q, deltas);
  }

  /** The destination of a click: the stored URL plus UTM parameters and the conversion token; null when the slot is unknown. */
  destination(campaignId: string, slot: number, conversionToken: string | null): string | null | Promise<string | null> {
    const hit = this.cache.get(campaignId);
    // A cached campaign answers without a promise: a click is mostly this.
    if (hit && Date.now() - hit.loadedAt < TTL_MS) return pick(hit, slot, conversionToken);
    return this.targets(campaignId).then((t) => pick(t, slot, conversionToken));
  }

  /** Concurrent clicks of a campaign not yet (or no longer) cached share one load. */
  private targets(campaignId: string): Promise<CampaignTargets> {
    let pending = this.loading.get(campaignId);
    if (!pending) {
      pending = this.load(campaignId).finally(() => this.loading.delete(campaignId));
      this.loading.set(campaignId, pending);
    }
    return pending;
  }

  private async load(campaignId: string): Promise<CampaignTargets> {
    const targets: CampaignTargets = { slots: new Map(), loadedAt: Date.now() };
    for (const r of await this.links.load(campaignId)) targets.slots.set(r.slot, target(r.url, r.utm));
    if (this.cache.size >= MAX_CAMPAIGNS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(campaignId, targets);
    return targets;
  }
}

function pick(targets: CampaignTargets, slot: number, conversionToken: string | null): string | null {
  const target = targets.slots.get(slot);
  if (!target) return null;
  if (conversionToken === null || target.after === null) return target.plain;
  return target.before + conversionToken + target.after;
}

/** Built with the real URL parser once per slot; per click only the token is put in. */
function target(url: string, utm: Record<string, string> | null): Target {
  const plain = withParameters(url, utm, null);
  const withToken = withParameters(url, utm, PLACEHOLDER);
  const at = withToken.lastIndexOf(PLACEHOLDER);
  if (at < 0) return { plain, before: plain, after: null }; // not an http(s) URL: left as it is
  return { plain, before: withToken.slice(0, at), after: withToken.slice(at + PLACEHOLDER.length) };
}

/** UTM parameters the link does not set itself, then `edm_token`. A URL that does not parse is left as it is. */
export function withParameters(stored: string, utm: Record<string, string> | null, conversionToken: string | null): string {
  if (!utm && !conversionToken) return stored;
  let url: URL;
  try {
    url = new URL(stored);
  } catch {
    return stored;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return stored;
  for (const [k, v] of Object.entries(utm ?? {})) if (!url.searchParams.has(`utm_${k}`)) url.searchParams.set(`utm_${k}`, v);
  if (conversionToken) url.searchParams.set('edm_token', conversionToken);
  return url.toString();
}
