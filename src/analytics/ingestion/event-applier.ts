import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { SubscribersService } from '../../audience/subscribers.service';
import { BounceReport, SuppressionsService } from '../../audience/suppressions.service';
import { CampaignsService } from '../../campaigns/campaigns.service';
import { normalizeEmail } from '../../common/email';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { postgresError } from '../../database/pg-error';
import { uuidArray } from '../../database/pg-binary';
import { CampaignLinks } from '../../tracking/campaign-links';
import type { BounceEvent, ComplaintEvent, ConversionEvent, TrackingEvent } from '../../tracking/tracking-event';
import type { WebhookEventInput } from '../../webhooks/webhook-events';
import { WebhookOutbox } from '../../webhooks/webhook-outbox';
import { CounterDeltas, counterRows } from './counter-deltas';
import { CountersRepository } from './counters.repository';
import { applyEvents, isAttributed } from './engagement';
import { applyToEngagements, keysAt, MessageKeys, positionsWhere } from './engagements.repository';
import { EventsRepository, NewOrder, StreamEntry } from './events.repository';
import { firstEngagements } from './first-engagements';

export type { StreamEntry };

/**
 * Applies a batch of buffered events in one transaction: the raw events (an id already present
 * means the entry was applied before a crash, and it is skipped), then each message's engagement
 * under a row lock, then every counter the batch moved — one write per counter row. What other
 * capabilities own is asked of them inside the same transaction: the audience suppresses bounced
 * addresses, the campaigns say when each message was sent and how long conversions count, tracking
 * adds the clicks per link, and the webhook outbox gets bounces, complaints, new orders and each
 * message's first open and first click. Either all of it commits or none, so the buffer can be acknowledged
 * after the commit and replayed safely.
 */
@Injectable()
export class EventApplier {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventsRepository,
    private readonly counters: CountersRepository,
    private readonly suppressions: SuppressionsService,
    private readonly subscribers: SubscribersService,
    private readonly campaigns: CampaignsService,
    private readonly links: CampaignLinks,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * `delivery: 'first'` is for entries the stream hands out for the first time (XREADGROUP `>`):
   * none of them can have been applied, so their raw events are copied in without a conflict check.
   * Entries read again (a consumer's own pending ones, or a stopped consumer's) may have been applied
   * before a crash, and their insert skips ids already present. A first delivery that meets an id
   * already present after all (a consumer thought stopped that was only slow) is applied again that way.
   */
  async apply(entries: StreamEntry[], delivery: 'first' | 'again' = 'again'): Promise<number> {
    if (!entries.length) return 0;
    if (delivery === 'again') return this.applyBatch(entries, false);
    try {
      return await this.applyBatch(entries, true);
    } catch (e) {
      if (!isDuplicateEvent(e)) throw e;
      return this.applyBatch(entries, false);
    }
  }

  private async applyBatch(entries: StreamEntry[], fresh: boolean): Promise<number> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      await this.events.tuneBatch(qr);
      let events: TrackingEvent[];
      if (fresh) {
        await this.events.copy(qr, entries);
        events = entries.map((x) => x.event);
      } else {
        const inserted = await this.events.insertNew(qr, entries);
        events = inserted.size === entries.length ? entries.map((x) => x.event) : entries.filter((x) => inserted.has(x.id.toString())).map((x) => x.event);
      }
      if (events.length) await this.applyFresh(qr, events);
      await qr.commitTransaction();
      return events.length;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction();
      throw e;
    } finally {
      await qr.release();
    }
  }

  private async applyFresh(qr: QueryRunner, fresh: TrackingEvent[]): Promise<void> {
    await this.reportBounces(
      qr,
      fresh.filter((e): e is BounceEvent | ComplaintEvent => e.type === 'bounce' || e.type === 'complaint'),
    );
    const converted = fresh.filter((e): e is ConversionEvent => e.type === 'conversion');
    const windows = await this.attributionWindows(qr, [...new Set(converted.map((e) => e.campaignId))]);
    // By campaign id as Postgres spells it (lower case), as the message keys below are.
    const windowOf = (campaignId: string) => (windows.get(campaignId) ?? this.config.tracking.attributionWindowHours) * 3_600_000;
    const conversions = await this.newConversions(qr, converted, windowOf);
    const byMessage = new Map<string, TrackingEvent[]>();
    for (const e of fresh) {
      if (!e.campaignId || !e.subscriberId) continue;
      if (e.type === 'conversion' && !conversions.has(e)) continue;
      const key = `${e.campaignId}|${e.subscriberId}`.toLowerCase();
      const list = byMessage.get(key);
      if (list) list.push(e);
      else byMessage.set(key, [e]);
    }
    if (!byMessage.size) return;
    const sorted = [...byMessage.keys()].sort();
    const keys: MessageKeys = { campaigns: sorted.map((k) => k.slice(0, 36)), subscribers: sorted.map((k) => k.slice(37)) };
    const groups = sorted.map((k) => byMessage.get(k)!.sort((a, b) => a.at - b.at));
    const clicked = positionsWhere(sorted.length, (i) => groups[i].some((e) => e.type === 'click'));
    const sentAt = new Array<number | null>(sorted.length).fill(null);
    (await this.sentTimes(qr, keysAt(keys, clicked))).forEach((t, k) => (sentAt[clicked[k]] = t));
    const deltas = new CounterDeltas();
    const defaultCurrency = this.config.tracking.defaultCurrency;
    const firsts = firstEngagements();
    await applyToEngagements(
      qr,
      keys,
      (i, base, sink) => {
        const campaignId = keys.campaigns[i];
        const after = applyEvents(base, groups[i], { campaignId, sentAt: sentAt[i], attributionWindowMs: windowOf(campaignId), defaultCurrency }, sink);
        // The step runs once more with a silent sink for a row it creates; only the counted run is reported.
        if (sink === deltas) firsts.note(base, after, groups[i]);
        return after;
      },
      deltas,
    );
    await this.outbox.record(qr, 'message.opened', firsts.opened);
    await this.outbox.record(qr, 'message.clicked', firsts.clicked);
    const rows = counterRows(deltas);
    if (rows.totals) await this.counters.addTotals(qr, rows.totals);
    if (rows.hourly) await this.counters.addHourly(qr, rows.hourly);
    if (rows.links) await this.links.addClicks(qr, rows.links);
    if (rows.revenue) await this.counters.addRevenue(qr, rows.revenue);
  }

  /** Bounces and complaints go to the audience, which suppresses the address; the address is the one the provider reported, or else the subscriber's. */
  private async reportBounces(qr: QueryRunner, events: (BounceEvent | ComplaintEvent)[]): Promise<void> {
    if (!events.length) return;
    const ids = [...new Set(events.filter((e) => !e.email && e.subscriberId).map((e) => e.subscriberId!))];
    const emailOf = ids.length ? await this.subscribers.emails(qr, ids) : new Map<string, string | null>();
    const reports: BounceReport[] = [];
    const bounced: WebhookEventInput<'message.bounced'>[] = [];
    const complained: WebhookEventInput<'message.complained'>[] = [];
    for (const e of events) {
      const email = normalizeEmail(e.email ?? (e.subscriberId ? emailOf.get(e.subscriberId) : null) ?? undefined);
      const ids = { campaignId: e.campaignId, subscriberId: e.subscriberId, email: email ?? undefined };
      if (e.type === 'complaint') complained.push({ at: e.at, data: ids });
      else bounced.push({ at: e.at, data: { ...ids, bounce: e.bounce, reason: e.reason } });
      if (!email) continue;
      const via = e.provider ? ` (${e.provider})` : '';
      if (e.type === 'complaint') reports.push({ email, kind: 'complaint', note: `complaint${via}` });
      else reports.push({ email, kind: e.bounce, note: `${e.reason ?? `${e.bounce} bounce`}${via}`.slice(0, 500) });
    }
    await this.suppressions.applyBounces(qr, reports);
    await this.outbox.record(qr, 'message.bounced', bounced);
    await this.outbox.record(qr, 'message.complained', complained);
  }

  /** Orders not seen before (the same order id counts once, even within one batch), recorded with their attribution. */
  private async newConversions(qr: QueryRunner, events: ConversionEvent[], windowOf: (campaignId: string) => number): Promise<Set<TrackingEvent>> {
    const firstOf = new Map<string, ConversionEvent>();
    for (const e of events) if (!firstOf.has(e.orderId)) firstOf.set(e.orderId, e);
    if (!firstOf.size) return new Set();
    const orders: NewOrder[] = [...firstOf.values()].map((e) => ({
      event: e,
      attributed: isAttributed(e, windowOf(e.campaignId.toLowerCase())),
      currency: e.value ? (e.currency ?? this.config.tracking.defaultCurrency) : null,
    }));
    const inserted = await this.events.insertOrders(qr, orders);
    await this.outbox.record(
      qr,
      'conversion.created',
      orders
        .filter((o) => inserted.has(o.event.orderId))
        .map((o) => ({
          at: o.event.at,
          data: {
            campaignId: o.event.campaignId,
            subscriberId: o.event.subscriberId,
            orderId: o.event.orderId,
            value: o.event.value ?? null,
            currency: o.currency,
            attributed: o.attributed,
          },
        })),
    );
    return new Set([...inserted].map((orderId) => firstOf.get(orderId)!));
  }

  /** When each message of `keys` was sent (epoch ms), in the order of `keys`; null where unknown. */
  private async sentTimes(qr: QueryRunner, keys: MessageKeys): Promise<(number | null)[]> {
    const out = new Array<number | null>(keys.campaigns.length).fill(null);
    if (!out.length) return out;
    for (const r of await this.campaigns.sentAt(qr, uuidArray(keys.campaigns), uuidArray(keys.subscribers))) out[r.i - 1] = r.sent_at;
    return out;
  }

  private async attributionWindows(qr: QueryRunner, campaignIds: string[]): Promise<Map<string, number>> {
    if (!campaignIds.length) return new Map();
    const rows = await this.campaigns.attributionWindows(qr, campaignIds);
    return new Map(rows.filter((r) => r.hours !== null).map((r) => [r.id, r.hours!]));
  }
}

/** A unique violation of the events' primary key: an entry applied before. */
function isDuplicateEvent(e: unknown): boolean {
  const err = postgresError(e);
  return err?.code === '23505' && err.constraint === 'events_pkey';
}
