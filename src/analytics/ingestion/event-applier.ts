import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { normalizeEmail } from '../../common/email';
import { BinaryRows, copyInto } from '../../database/copy';
import { postgresError } from '../../database/pg-error';
import { pgArray } from '../../database/pg-array';
import { isInet, uuidArray } from '../../database/pg-binary';
import { CounterDeltas, saveCounters } from './counter-deltas';
import { applyEvents, isAttributed } from './engagement';
import { applyToEngagements, keysAt, MessageKeys, positionsWhere } from './engagement-rows';
import type { TrackingEvent } from '../../tracking/tracking-event';

export interface StreamEntry {
  /** The event's id: the stream entry id as ms << 20 | seq. */
  id: bigint;
  event: TrackingEvent;
}

/** The latest epoch ms a Date can hold, and the earliest a timestamptz can (4713 BC). */
const MAX_TIME = 8.64e15;
const MIN_TIME = -210_866_803_200_000;
const INT4_MAX = 2 ** 31 - 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Applies a batch of buffered events in one transaction: the raw events (an id already present
 * means the entry was applied before a crash, and it is skipped), then each message's engagement
 * under a row lock, then every counter the batch moved — one write per counter row. Either all of
 * it commits or none, so the buffer can be acknowledged after the commit and replayed safely.
 */
@Injectable()
export class EventApplier {
  private readonly log = new Logger(EventApplier.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * `delivery: 'first'` is for entries the stream hands out for the first time (XREADGROUP `>`):
   * none of them can have been applied, so their raw events are copied in without a conflict check.
   * Entries read again (a consumer's own pending ones, or a stopped consumer's) may have been applied
   * before a crash, and their insert skips ids already present. A first delivery that meets an id
   * already present after all (a consumer thought stopped that was only slow) is applied again that way.
   */
  async apply(entries: StreamEntry[], delivery: 'first' | 'again' = 'again'): Promise<number> {
    const valid = entries.filter((e) => isApplicable(e.event));
    if (valid.length < entries.length) this.log.warn(`${entries.length - valid.length} malformed events dropped`);
    if (!valid.length) return 0;
    if (delivery === 'again') return this.applyBatch(valid, false);
    try {
      return await this.applyBatch(valid, true);
    } catch (e) {
      if (!isDuplicateEvent(e)) throw e;
      return this.applyBatch(valid, false);
    }
  }

  private async applyBatch(entries: StreamEntry[], fresh: boolean): Promise<number> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      // Every statement of a batch looks up a few thousand keys: index lookups, never a hash join over
      // a whole table (engagements and messages only grow; a hash join reads all of them per batch).
      await qr.query(`SELECT set_config('jit', 'off', true), set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`);
      const events = fresh ? await copyEvents(qr, entries) : await this.insertNewEvents(qr, entries);
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
    await this.suppressBounces(qr, fresh.filter((e) => e.type === 'bounce' || e.type === 'complaint'));
    const converted = fresh.filter((e) => e.type === 'conversion');
    const windows = await this.attributionWindows(qr, [...new Set(converted.map((e) => e.campaignId!))]);
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
    await applyToEngagements(
      qr,
      keys,
      (i, base, sink) => {
        const campaignId = keys.campaigns[i];
        return applyEvents(base, groups[i], { campaignId, sentAt: sentAt[i], attributionWindowMs: windowOf(campaignId), defaultCurrency }, sink);
      },
      deltas,
    );
    await saveCounters(qr, deltas);
  }

  /** The raw events whose ids are not there yet, inserted; those are returned. */
  private async insertNewEvents(qr: QueryRunner, entries: StreamEntry[]): Promise<TrackingEvent[]> {
    const col = <T>(f: (e: TrackingEvent) => T) => pgArray(entries.map((x) => f(x.event)));
    const inserted: { id: string }[] = await qr.query(
      `INSERT INTO events (id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent, data)
       SELECT id, type, to_timestamp(at / 1000.0), campaign_id, subscriber_id, agent, slot, ip, user_agent, data::jsonb
       FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::uuid[], $5::uuid[], $6::text[], $7::int[], $8::inet[], $9::text[], $10::text[])
         AS t(id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent, data)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        pgArray(entries.map((x) => x.id)),
        col((e) => e.type),
        col((e) => e.at),
        col((e) => e.campaignId),
        col((e) => e.subscriberId),
        col((e) => e.agent ?? null),
        col((e) => e.slot ?? null),
        col((e) => (e.ip && isInet(e.ip) ? e.ip : null)),
        col((e) => e.userAgent ?? null),
        col((e) => eventData(e)),
      ],
    );
    if (inserted.length === entries.length) return entries.map((x) => x.event);
    const ids = new Set(inserted.map((r) => r.id));
    return entries.filter((x) => ids.has(x.id.toString())).map((x) => x.event);
  }

  /**
   * Hard bounces and complaints suppress the address at once; soft bounces are counted per address
   * and suppress it at SOFT_BOUNCE_LIMIT. The address is the one the provider reported, or else the
   * subscriber's.
   */
  private async suppressBounces(qr: QueryRunner, events: TrackingEvent[]): Promise<void> {
    if (!events.length) return;
    const ids = [...new Set(events.filter((e) => !e.email && e.subscriberId).map((e) => e.subscriberId!))];
    const known: { id: string; email: string | null }[] = ids.length ? await qr.query(`SELECT id, email FROM subscribers WHERE id = ANY($1::uuid[])`, [ids]) : [];
    const emailOf = new Map(known.map((k) => [k.id, k.email]));
    const suppress = new Map<string, { reason: string; note: string }>();
    const soft: string[] = [];
    for (const e of events) {
      const email = normalizeEmail(e.email ?? (e.subscriberId ? emailOf.get(e.subscriberId) : null) ?? undefined);
      if (!email) continue;
      const via = e.provider ? ` (${e.provider})` : '';
      if (e.type === 'complaint') suppress.set(email, { reason: 'complaint', note: `complaint${via}` });
      else if (e.bounce === 'hard') suppress.set(email, { reason: 'hard_bounce', note: `${e.reason ?? 'hard bounce'}${via}`.slice(0, 500) });
      else soft.push(email);
    }
    if (soft.length) {
      const limit = this.config.tracking.softBounceLimit;
      const counted: { email: string; soft: number }[] = await qr.query(
        `WITH t AS (SELECT email, email_hash(email) AS h, count(*) AS n FROM unnest($1::text[]) AS email GROUP BY email),
         counted AS (
           INSERT INTO bounce_counts AS b (email_hash, soft, last_at) SELECT h, n, now() FROM t
           ON CONFLICT (email_hash) DO UPDATE SET soft = b.soft + EXCLUDED.soft, last_at = now()
           RETURNING b.email_hash, b.soft
         )
         SELECT t.email, counted.soft FROM counted JOIN t ON t.h = counted.email_hash`,
        [soft],
      );
      for (const c of counted) if (c.soft >= limit && !suppress.has(c.email)) suppress.set(c.email, { reason: 'hard_bounce', note: `${c.soft} soft bounces (SOFT_BOUNCE_LIMIT ${limit})` });
    }
    if (!suppress.size) return;
    const emails = [...suppress.keys()];
    await qr.query(
      `INSERT INTO suppressions (email_hash, email, reason, note)
       SELECT email_hash(email), email, reason, note FROM unnest($1::text[], $2::text[], $3::text[]) AS t(email, reason, note)
       ON CONFLICT (email_hash) DO NOTHING`,
      [emails, emails.map((e) => suppress.get(e)!.reason), emails.map((e) => suppress.get(e)!.note)],
    );
  }

  /** Orders not seen before (the same order id counts once, even within one batch), recorded with their attribution. */
  private async newConversions(qr: QueryRunner, events: TrackingEvent[], windowOf: (campaignId: string) => number): Promise<Set<TrackingEvent>> {
    const firstOf = new Map<string, TrackingEvent>();
    for (const e of events) if (e.orderId && !firstOf.has(e.orderId)) firstOf.set(e.orderId, e);
    if (!firstOf.size) return new Set();
    const list = [...firstOf.values()];
    const attributed = list.map((e) => isAttributed(e, windowOf(e.campaignId!.toLowerCase())));
    const rows: { order_id: string }[] = await qr.query(
      `INSERT INTO conversions (order_id, campaign_id, subscriber_id, value, currency, attributed, at)
       SELECT order_id, campaign_id, subscriber_id, value, currency, attributed, to_timestamp(at / 1000.0)
       FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::numeric[], $5::text[], $6::boolean[], $7::float8[])
         AS t(order_id, campaign_id, subscriber_id, value, currency, attributed, at)
       ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
      [
        list.map((e) => e.orderId),
        list.map((e) => e.campaignId),
        list.map((e) => e.subscriberId),
        list.map((e) => e.value ?? null),
        list.map((e) => (e.value ? (e.currency ?? this.config.tracking.defaultCurrency) : null)),
        attributed,
        list.map((e) => e.at),
      ],
    );
    return new Set(rows.map((r) => firstOf.get(r.order_id)!));
  }

  /** When each message of `keys` was sent (epoch ms), in the order of `keys`; null where unknown. */
  private async sentTimes(qr: QueryRunner, keys: MessageKeys): Promise<(number | null)[]> {
    const out = new Array<number | null>(keys.campaigns.length).fill(null);
    if (!out.length) return out;
    const rows: { i: number; sent_at: number | null }[] = await qr.query(
      `SELECT t.i::int AS i, round(date_part('epoch', m.sent_at) * 1000) AS sent_at FROM messages m
       JOIN unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(c, s, i) ON m.campaign_id = t.c AND m.subscriber_id = t.s`,
      [uuidArray(keys.campaigns), uuidArray(keys.subscribers)],
    );
    for (const r of rows) out[r.i - 1] = r.sent_at;
    return out;
  }

  private async attributionWindows(qr: QueryRunner, campaignIds: string[]): Promise<Map<string, number>> {
    if (!campaignIds.length) return new Map();
    const rows: { id: string; hours: number | null }[] = await qr.query(
      `SELECT id, attribution_window_hours AS hours FROM campaigns WHERE id = ANY($1::uuid[])`,
      [campaignIds],
    );
    return new Map(rows.filter((r) => r.hours !== null).map((r) => [r.id, r.hours!]));
  }


}

/** The raw events of a first delivery, by COPY: every one of them is new (a repeated id fails the batch). */
async function copyEvents(qr: QueryRunner, entries: StreamEntry[]): Promise<TrackingEvent[]> {
  const rows = new BinaryRows();
  for (const { id, event: e } of entries) {
    rows
      .row(10)
      .int8(id)
      .text(e.type)
      .timestamptz(e.at)
      .uuid(e.campaignId)
      .uuid(e.subscriberId)
      .text(e.agent)
      .int4(e.slot)
      .inet(e.ip)
      .text(e.userAgent)
      .jsonb(eventData(e));
  }
  await copyInto(qr, 'events (id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent, data)', rows);
  return entries.map((x) => x.event);
}

/** A unique violation of the events' primary key: an entry applied before. */
function isDuplicateEvent(e: unknown): boolean {
  const err = postgresError(e);
  return err?.code === '23505' && err.constraint === 'events_pkey';
}

/** The buffer is written only by this platform, but a stream can be written by anyone with Redis access. */
function isApplicable(e: TrackingEvent): boolean {
  if (!e || typeof e.at !== 'number' || !(e.at >= MIN_TIME && e.at <= MAX_TIME)) return false;
  if (!['open', 'click', 'conversion', 'unsubscribe', 'bounce', 'complaint'].includes(e.type)) return false;
  if ((e.campaignId === null) !== (e.subscriberId === null)) return false;
  if (e.campaignId !== null && (!UUID.test(e.campaignId) || !UUID.test(e.subscriberId!))) return false;
  if (e.type === 'click' && !Number.isInteger(e.slot)) return false;
  if (e.slot !== undefined && e.slot !== null && !(Number.isInteger(e.slot) && Math.abs(e.slot) <= INT4_MAX)) return false;
  if (!optionalText(e.agent) || !optionalText(e.ip) || !optionalText(e.userAgent) || !optionalText(e.currency)) return false;
  if (!optionalText(e.email) || !optionalText(e.reason) || !optionalText(e.provider)) return false;
  if (e.type === 'conversion' && (!e.campaignId || typeof e.orderId !== 'string' || e.orderId.includes('\u0000'))) return false;
  if ((e.type === 'bounce' || e.type === 'complaint') && !e.campaignId && !e.email) return false;
  return e.type === 'bounce' || e.type === 'complaint' || e.campaignId !== null;
}

/**
 * Absent, or text Postgres can store: a NUL byte is refused by text and jsonb alike. Checked here,
 * not left to the database, because a refused row fails its whole batch, which is then applied one
 * event at a time.
 */
function optionalText(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && !v.includes('\u0000'));
}

/** What a raw event keeps beyond its columns. A bounce's address is not kept: the subscriber id (or the suppression) says whom it concerned. */
function eventData(e: TrackingEvent): string | null {
  switch (e.type) {
    case 'conversion':
      return JSON.stringify({ orderId: e.orderId, value: e.value ?? null, currency: e.currency ?? null, clickedAt: e.clickedAt ?? null });
    case 'bounce':
    case 'complaint':
      return JSON.stringify({ bounce: e.bounce ?? null, reason: e.reason ?? null, provider: e.provider ?? null });
    case 'open':
    case 'click':
    case 'unsubscribe':
      return null;
  }
}
