import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { applyEvents, CounterSink, emptyEngagement, Engagement } from '../src/analytics/ingestion/engagement';
import { applyToEngagements } from '../src/analytics/ingestion/engagements.repository';
import type { TrackingEvent } from '../src/tracking/tracking-event';
import { createTestDatabase, databaseUrl, dropDatabase } from './support/databases';

describe('engagement rows under concurrent workers', () => {
  let name: string;
  let db: DataSource;
  let other: Client;

  beforeAll(async () => {
    name = await createTestDatabase();
    db = await new DataSource({ type: 'postgres', url: databaseUrl(name) }).initialize();
    other = new Client({ connectionString: databaseUrl(name) });
    await other.connect();
  });
  afterAll(async () => {
    await other.end();
    await db.destroy();
    await dropDatabase(name);
  });

  it('creates missing rows in their final state, and applies the events to a row another worker created meanwhile', async () => {
    const campaign = randomUUID();
    const subscribers = [randomUUID(), randomUUID(), randomUUID()].sort();
    const earlier = Date.UTC(2026, 10, 29, 10, 0, 0, 123);
    const now = earlier + 60_000;
    // Another worker has created the middle message's row and not committed yet.
    await other.query('BEGIN');
    await other.query(`INSERT INTO engagements (campaign_id, subscriber_id, opened_at) VALUES ($1, $2, $3)`, [campaign, subscribers[1], new Date(earlier)]);

    const qr = db.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    const told: string[] = [];
    const sink: CounterSink = { add: (_c, counter, _at, by = 1) => told.push(`${counter} ${by}`), addLink: () => undefined, addRevenue: () => undefined };
    const open: TrackingEvent = { type: 'open', at: now, campaignId: campaign, subscriberId: '', agent: 'scanner' };
    const ctx = { campaignId: campaign, sentAt: null, attributionWindowMs: 0, defaultCurrency: 'EUR' };
    const applying = applyToEngagements(
      qr,
      { campaigns: subscribers.map(() => campaign), subscribers },
      (_i, base, s) => applyEvents(base, [open], ctx, s),
      sink,
    );
    await new Promise((r) => setTimeout(r, 200)); // the insert of the missing rows now waits for the other worker
    await other.query('COMMIT');
    await applying;
    await qr.commitTransaction();
    await qr.release();

    // Three opens; two of them first opens: the middle message had been opened before.
    expect(told.sort()).toEqual(['opens 1', 'opens 1', 'opens 1', 'uniqueOpens 1', 'uniqueOpens 1']);
    const { rows } = await other.query(`SELECT subscriber_id, opened_at FROM engagements WHERE campaign_id = $1 ORDER BY subscriber_id`, [campaign]);
    expect(rows).toEqual(subscribers.map((s, i) => ({ subscriber_id: s, opened_at: new Date(i === 1 ? earlier : now) })));
  });

  it('writes only rows whose state changed, found by their address', async () => {
    const campaign = randomUUID();
    const subscribers = [randomUUID(), randomUUID()].sort();
    const at = Date.UTC(2026, 10, 29, 11, 0, 0, 7);
    await other.query(
      `INSERT INTO engagements (campaign_id, subscriber_id, opened_at, clicked_at, clicked_slots, bounced) VALUES ($1, $2, $3, $3, '{4,2}', 'soft'), ($1, $4, $3, NULL, '{}', NULL)`,
      [campaign, subscribers[0], new Date(at), subscribers[1]],
    );
    const before = await other.query(`SELECT xmin::text FROM engagements WHERE campaign_id = $1 ORDER BY subscriber_id`, [campaign]);
    const seen: Engagement[] = [];
    await db.transaction((m) =>
      applyToEngagements(
        m.queryRunner!,
        { campaigns: [campaign, campaign], subscribers },
        (i, base) => {
          seen.push(base);
          return i === 0 ? base : { ...base, humanOpenedAt: at + 1 };
        },
        { add: () => undefined, addLink: () => undefined, addRevenue: () => undefined },
      ),
    );
    expect(seen[0]).toEqual({ ...emptyEngagement(), openedAt: at, clickedAt: at, clickedSlots: [4, 2], bounced: 'soft' });
    expect(seen[1]).toEqual({ ...emptyEngagement(), openedAt: at });
    const after = await other.query(`SELECT xmin::text, human_opened_at FROM engagements WHERE campaign_id = $1 ORDER BY subscriber_id`, [campaign]);
    expect(after.rows[0]).toEqual({ xmin: before.rows[0].xmin, human_opened_at: null });
    expect(after.rows[1].xmin).not.toBe(before.rows[1].xmin);
    expect(after.rows[1].human_opened_at).toEqual(new Date(at + 1));
  });
});
