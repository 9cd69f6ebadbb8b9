import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/errors';
import { eventsLost } from '../observability/metrics';
import { CampaignLinks } from './campaign-links';
import { classifyRequest, RequestFacts } from './classify';
import { EventBuffer } from './event-buffer';
import { MessageTokens, TEST_RECIPIENT } from './message-tokens';
import type { EventType } from './tracking-event';

export interface ConversionReport {
  token: string;
  orderId: string;
  value?: number;
  currency?: string;
}

const MAX_USER_AGENT = 512;
/** While the buffer refuses events, one log line per this many ms (the metric counts every one). */
const LOST_LOG_MS = 10_000;

/**
 * The public tracking endpoints' rules. Nothing here reads Postgres on the way to an answer except
 * a click's link table (cached); events go to the Redis buffer. A token that does not verify, or
 * one of a test copy, records nothing. The pixels' and redirects' work runs in the buffer's batch
 * of the turn (EventBuffer.batched), so the tokens of a turn's requests are checked together.
 */
@Injectable()
export class TrackingService {
  private readonly log = new Logger(TrackingService.name);
  private lostSince = 0;
  private lostLogged = 0;

  constructor(
    private readonly tokens: MessageTokens,
    private readonly links: CampaignLinks,
    private readonly buffer: EventBuffer,
  ) {}

  /** HEAD and prefetches record nothing; the pixel is served whatever happens here. */
  open(token: string, facts: RequestFacts, head: boolean): Promise<void> {
    return head ? Promise.resolve() : this.buffer.batched(() => this.recordOpen(token, facts));
  }

  /** The destination, from the campaign's stored link table only; null (→ 404) for a token that does not verify. */
  click(token: string, facts: RequestFacts, head: boolean): Promise<string | null> {
    return this.buffer.batched(() => this.followClick(token, facts, head));
  }

  private async recordOpen(token: string, facts: RequestFacts): Promise<void> {
    const ref = this.tokens.verify('open', token);
    if (!ref || ref.subscriberId === TEST_RECIPIENT) return;
    const agent = classifyRequest(facts);
    if (agent === 'prefetch') return;
    await this.buffer
      .append({ type: 'open', at: Date.now(), ...ref, agent, ip: facts.ip, userAgent: facts.userAgent.slice(0, MAX_USER_AGENT) })
      .catch((e: unknown) => this.lost('open', e));
  }

  private async followClick(token: string, facts: RequestFacts, head: boolean): Promise<string | null> {
    const ref = this.tokens.verifyClick(token);
    if (!ref) return null;
    const test = ref.subscriberId === TEST_RECIPIENT;
    const at = Date.now();
    const found = this.links.destination(ref.campaignId, ref.slot, test ? null : this.tokens.conversionToken(ref, at));
    const destination = found instanceof Promise ? await found : found;
    if (destination === null || test || head) return destination;
    const { slot, campaignId, subscriberId } = ref;
    await this.buffer
      .append({
        type: 'click',
        at,
        campaignId,
        subscriberId,
        slot,
        agent: classifyRequest(facts),
        ip: facts.ip,
        userAgent: facts.userAgent.slice(0, MAX_USER_AGENT),
      })
      .catch((e: unknown) => this.lost('click', e));
    return destination;
  }

  /** POST /v1/conversions: a token that does not verify is the caller's mistake. */
  async conversion(report: ConversionReport, facts: RequestFacts): Promise<void> {
    const ref = this.tokens.verifyConversion(report.token);
    if (!ref) throw AppError.invalid('token', 'is not a conversion token issued by this platform (the edm_token parameter of a tracked click)');
    await this.record(ref, report, facts);
  }

  /** GET /t/v/:token: a thank-you page's pixel; a bad token or order is ignored (the pixel is served anyway). */
  async conversionPixel(token: string, query: Record<string, unknown>, facts: RequestFacts, head: boolean): Promise<void> {
    if (head) return;
    await this.buffer.batched(() => {
      const ref = this.tokens.verifyConversion(token);
      const report = parseConversionQuery(query);
      return ref && report ? this.record(ref, report, facts).catch((e: unknown) => this.lost('conversion', e)) : undefined;
    });
  }

  /**
   * The buffer refused an event (Redis unreachable): the recipient still gets the pixel or the
   * redirect — a broken image or a failed link would not bring the event back — and the loss is
   * counted and logged. The server-to-server conversion call fails instead, so the shop can retry.
   */
  private lost(type: EventType, e: unknown): void {
    eventsLost.inc({ type });
    this.lostSince++;
    const now = Date.now();
    if (now - this.lostLogged < LOST_LOG_MS) return;
    this.log.error(`${this.lostSince} tracking event(s) not recorded, the last a ${type}: the event buffer refused it (${(e as Error).message})`);
    this.lostLogged = now;
    this.lostSince = 0;
  }

  private async record(
    ref: { campaignId: string; subscriberId: string; clickedAt: number },
    r: Omit<ConversionReport, 'token'>,
    facts: RequestFacts,
  ): Promise<void> {
    if (ref.subscriberId === TEST_RECIPIENT) return;
    await this.buffer.append({
      type: 'conversion',
      at: Date.now(),
      campaignId: ref.campaignId,
      subscriberId: ref.subscriberId,
      clickedAt: ref.clickedAt,
      orderId: r.orderId,
      value: r.value,
      currency: r.currency,
      ip: facts.ip,
      userAgent: facts.userAgent.slice(0, MAX_USER_AGENT),
    });
  }
}

/** `?order=&value=&currency=`; null when the order is missing or the value is not a number. */
export function parseConversionQuery(q: Record<string, unknown>): Omit<ConversionReport, 'token'> | null {
  const orderId = typeof q.order === 'string' ? q.order.trim() : '';
  if (!orderId || orderId.length > 200) return null;
  let value: number | undefined;
  if (typeof q.value === 'string' && q.value !== '') {
    value = Number(q.value);
    if (!Number.isFinite(value) || value < 0 || value > 1e12) return null;
  }
  const currency = typeof q.currency === 'string' && /^[A-Za-z]{3}$/.test(q.currency) ? q.currency.toUpperCase() : undefined;
  return { orderId, value, currency };
}
