/**
 * The platform's own aggregation over raw events already in `events`: each message's events, read
 * back in time order, go through the ingestor's `applyEvents` (engagement.ts) into a `CounterDeltas`,
 * exactly as EventApplier does batch by batch; the engagement rows and the new orders are written
 * with COPY, the counters by the ingestor's own repositories (campaign_stats, campaign_stats_hourly,
 * campaign_revenue, and tracking's per-link counters). Used by run.ts, whose events were seeded in SQL.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { counterRows, CounterDeltas } from '../../src/analytics/ingestion/counter-deltas';
import { CountersRepository } from '../../src/analytics/ingestion/counters.repository';
import { applyEvents, emptyEngagement, Engagement, isAttributed } from '../../src/analytics/ingestion/engagement';
import type { Queryable } from '../../src/database/queryable';
import { CampaignLinksRepository } from '../../src/tracking/campaign-links.repository';
import type { TrackingEvent } from '../../src/tracking/tracking-event';

export interface Aggregated {
  events: number;
  engagements: number;
  orders: number;
}

const UUID = /^[0-9a-f-]{36}$/;

export async function aggregate(c: Client, campaignId: string, windowHours: number, defaultCurrency: string): Promise<Aggregated> {
  if (!UUID.test(campaignId)) throw new Error(`not a campaign id: ${campaignId}`);
  const sentAt = new Map<string, number>();
  const sent = await c.query({
    text: `SELECT subscriber_id, (date_part('epoch', sent_at) * 1000)::int8 AS at FROM messages WHERE campaign_id = $1 AND status = 'sent'`,
    values: [campaignId],
    rowMode: 'array',
  });
  for (const [sid, at] of sent.rows as [string, string][]) sentAt.set(sid, Number(at));

  await c.query(`SET work_mem = '512MB'`); // the sort of every event by message, in memory
  const deltas = new CounterDeltas();
  const ctx = { campaignId, attributionWindowMs: windowHours * 3_600_000, defaultCurrency };
  const engagements: string[] = [];
  const orders: string[] = [];
  const seenOrders = new Set<string>();
  let events = 0;
  let current = '';
  let group: TrackingEvent[] = [];
  const flush = () => {
    if (!group.length) return;
    const applied = group.filter((e) => {
      if (e.type !== 'conversion') return true;
      if (seenOrders.has(e.orderId)) return false; // the same order id counts once (the conversions' primary key)
      seenOrders.add(e.orderId);
      const currency = e.value ? (e.currency ?? defaultCurrency) : null;
      orders.push(row([e.orderId, campaignId, e.subscriberId, e.value ?? null, currency, isAttributed(e, ctx.attributionWindowMs) ? 't' : 'f', iso(e.at)]));
      return true;
    });
    const s = applyEvents(emptyEngagement(), applied, { ...ctx, sentAt: sentAt.get(current) ?? null }, deltas);
    engagements.push(engagementRow(campaignId, current, s));
    group = [];
  };

  // Each message's events in the order the ingestor applies them: by time, then stream id.
  const stream = c.query(
    copyTo(`COPY (SELECT subscriber_id, type, (date_part('epoch', at) * 1000)::int8, agent, slot, data FROM events
                  WHERE campaign_id = '${campaignId}' ORDER BY subscriber_id, at, id) TO STDOUT`),
  );
  let rest = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const [sid, type, at, agent, slot, data] = line.split('\t');
      if (sid !== current) {
        flush();
        current = sid;
      }
      group.push(eventOf(campaignId, sid, type, Number(at), agent, slot, data));
      events++;
    }
  }
  flush();

  await pipeline(
    Readable.from(engagements.map((l) => l + '\n')),
    c.query(
      copyFrom(`COPY engagements (campaign_id, subscriber_id, opened_at, human_opened_at, clicked_at, human_clicked_at, clicked_slots, human_clicked_slots,
                 converted_at, unsubscribed_at, bounced, complained_at) FROM STDIN`),
    ),
  );
  await pipeline(
    Readable.from(orders.map((l) => l + '\n')),
    c.query(copyFrom(`COPY conversions (order_id, campaign_id, subscriber_id, value, currency, attributed, at) FROM STDIN`)),
  );
  const q: Queryable = { query: (sql, params) => c.query(sql, params) };
  const rows = counterRows(deltas);
  const counters = new CountersRepository();
  if (rows.totals) await counters.addTotals(q, rows.totals);
  if (rows.hourly) await counters.addHourly(q, rows.hourly);
  if (rows.revenue) await counters.addRevenue(q, rows.revenue);
  // addClicks runs on the connection it is given; the repository's own data source is not used.
  if (rows.links) await new CampaignLinksRepository(undefined as never).addClicks(q, rows.links);
  await c.query(`RESET work_mem`);
  return { events, engagements: engagements.length, orders: orders.length };
}

function eventOf(campaignId: string, subscriberId: string, type: string, at: number, agent: string, slot: string, data: string): TrackingEvent {
  const base = { at, campaignId, subscriberId };
  const d = data === '\\N' ? {} : (JSON.parse(data) as Record<string, unknown>);
  switch (type) {
    case 'open':
      return { ...base, type, agent: agent as 'human' };
    case 'click':
      return { ...base, type, agent: agent as 'human', slot: Number(slot) };
    case 'conversion':
      return {
        ...base,
        type,
        orderId: d.orderId as string,
        value: (d.value as number | null) ?? undefined,
        currency: (d.currency as string | null) ?? undefined,
        clickedAt: (d.clickedAt as number | null) ?? undefined,
      };
    case 'unsubscribe':
      return { ...base, type };
    case 'bounce':
      return { ...base, type, bounce: d.bounce as 'hard' | 'soft' };
    case 'complaint':
      return { ...base, type };
    default:
      throw new Error(`unknown event type ${type}`);
  }
}

function engagementRow(campaignId: string, subscriberId: string, s: Engagement): string {
  const t = (ms: number | null) => (ms === null ? null : iso(ms));
  return row([
    campaignId,
    subscriberId,
    t(s.openedAt),
    t(s.humanOpenedAt),
    t(s.clickedAt),
    t(s.humanClickedAt),
    `{${s.clickedSlots.join(',')}}`,
    `{${s.humanClickedSlots.join(',')}}`,
    t(s.convertedAt),
    t(s.unsubscribedAt),
    s.bounced,
    t(s.complainedAt),
  ]);
}

const iso = (ms: number) => new Date(ms).toISOString();
const row = (values: (string | number | null)[]) => values.map((v) => (v === null ? '\\N' : String(v))).join('\t');
