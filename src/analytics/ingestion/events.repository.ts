import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { BinaryRows, copyInto } from '../../database/copy';
import { pgArray } from '../../database/pg-array';
import { isInet } from '../../database/pg-binary';
import { queryRows, type Queryable } from '../../database/queryable';
import type { ConversionEvent, TrackingEvent } from '../../tracking/tracking-event';

export interface StreamEntry {
  /** The event's id: the stream entry id as ms << 20 | seq. */
  id: bigint;
  event: TrackingEvent;
}

/** An order to record, with its attribution decided. */
export interface NewOrder {
  event: ConversionEvent;
  attributed: boolean;
  currency: string | null;
}

/** `events` (every event as it came) and `conversions` (one row per order id). */
@Injectable()
export class EventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * For the rest of the batch's transaction: every statement of a batch looks up a few thousand
   * keys — index lookups, never a hash join over a whole table (engagements and messages only grow;
   * a hash join reads all of them per batch) — and JIT compiling them would cost more than it saves.
   */
  async tuneBatch(q: Queryable): Promise<void> {
    await q.query(`SELECT set_config('jit', 'off', true), set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`);
  }

  /** The raw events of a first delivery, by binary COPY: every one of them is new (a repeated id fails the batch). */
  async copy(qr: QueryRunner, entries: StreamEntry[]): Promise<void> {
    const rows = new BinaryRows();
    for (const { id, event: e } of entries) {
      const m = messageFields(e);
      rows
        .row(10)
        .int8(id)
        .text(e.type)
        .timestamptz(e.at)
        .uuid(e.campaignId)
        .uuid(e.subscriberId)
        .text(m.agent)
        .int4(m.slot)
        .inet(m.ip)
        .text(m.userAgent)
        .jsonb(eventData(e));
    }
    await copyInto(qr, 'COPY events (id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent, data) FROM STDIN (FORMAT binary)', rows);
  }

  /** The raw events whose ids are not there yet, inserted; their ids are returned. */
  async insertNew(q: Queryable, entries: StreamEntry[]): Promise<Set<string>> {
    const col = <T>(f: (e: TrackingEvent) => T) => pgArray(entries.map((x) => f(x.event)));
    const inserted = await queryRows<{ id: string }>(
      q,
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
        col((e) => messageFields(e).agent),
        col((e) => messageFields(e).slot),
        col((e) => {
          const ip = messageFields(e).ip;
          return ip && isInet(ip) ? ip : null;
        }),
        col((e) => messageFields(e).userAgent),
        col((e) => eventData(e)),
      ],
    );
    return new Set(inserted.map((r) => r.id));
  }

  /** Orders not recorded before (the primary key makes a repeated order id count once); returns the order ids inserted. */
  async insertOrders(q: Queryable, orders: NewOrder[]): Promise<Set<string>> {
    const rows = await queryRows<{ order_id: string }>(
      q,
      `INSERT INTO conversions (order_id, campaign_id, subscriber_id, value, currency, attributed, at)
       SELECT order_id, campaign_id, subscriber_id, value, currency, attributed, to_timestamp(at / 1000.0)
       FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::numeric[], $5::text[], $6::boolean[], $7::float8[])
         AS t(order_id, campaign_id, subscriber_id, value, currency, attributed, at)
       ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
      [
        orders.map((o) => o.event.orderId),
        orders.map((o) => o.event.campaignId),
        orders.map((o) => o.event.subscriberId),
        orders.map((o) => o.event.value ?? null),
        orders.map((o) => o.currency),
        orders.map((o) => o.attributed),
        orders.map((o) => o.event.at),
      ],
    );
    return new Set(rows.map((r) => r.order_id));
  }

  /** GDPR erase: what identifies the person goes; the events stay counted. */
  async forget(q: Queryable, subscriberId: string): Promise<void> {
    await q.query(`UPDATE events SET ip = NULL, user_agent = NULL WHERE subscriber_id = $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL)`, [subscriberId]);
  }

  activityOf(subscriberId: string): Promise<Record<string, unknown>[]> {
    return this.db.query(
      `SELECT type, at, campaign_id AS "campaignId", agent, slot, host(ip) AS ip, user_agent AS "userAgent", data
       FROM events WHERE subscriber_id = $1 ORDER BY id`,
      [subscriberId],
    );
  }

  ordersOf(subscriberId: string): Promise<Record<string, unknown>[]> {
    return this.db.query(
      `SELECT order_id AS "orderId", campaign_id AS "campaignId", value::float8 AS value, currency, attributed, at
       FROM conversions WHERE subscriber_id = $1 ORDER BY at`,
      [subscriberId],
    );
  }
}

/** The columns only events of a message have. */
function messageFields(e: TrackingEvent): { agent: string | null; slot: number | null; ip: string | null; userAgent: string | null } {
  switch (e.type) {
    case 'open':
      return { agent: e.agent, slot: null, ip: e.ip ?? null, userAgent: e.userAgent ?? null };
    case 'click':
      return { agent: e.agent, slot: e.slot, ip: e.ip ?? null, userAgent: e.userAgent ?? null };
    case 'conversion':
    case 'unsubscribe':
      return { agent: null, slot: null, ip: e.ip ?? null, userAgent: e.userAgent ?? null };
    case 'bounce':
    case 'complaint':
      return { agent: null, slot: null, ip: null, userAgent: null };
  }
}

/** What a raw event keeps beyond its columns. A bounce's address is not kept: the subscriber id (or the suppression) says whom it concerned. */
function eventData(e: TrackingEvent): string | null {
  switch (e.type) {
    case 'conversion':
      return JSON.stringify({ orderId: e.orderId, value: e.value ?? null, currency: e.currency ?? null, clickedAt: e.clickedAt ?? null });
    case 'bounce':
      return JSON.stringify({ bounce: e.bounce, reason: e.reason ?? null, provider: e.provider ?? null });
    case 'complaint':
      return JSON.stringify({ bounce: null, reason: e.reason ?? null, provider: e.provider ?? null });
    case 'open':
    case 'click':
    case 'unsubscribe':
      return null;
  }
}
