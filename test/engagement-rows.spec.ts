import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { lockEngagements } from '../src/tracking/engagement-rows';
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

  it('reads the row another worker created while this one waited, and creates the others empty', async () => {
    const campaign = randomUUID();
    const subscribers = [randomUUID(), randomUUID(), randomUUID()].sort();
    const openedAt = Date.UTC(2026, 10, 29, 10, 0, 0, 123);
    // Another worker has created the middle message's row and not committed yet.
    await other.query('BEGIN');
    await other.query(`INSERT INTO engagements (campaign_id, subscriber_id, opened_at) VALUES ($1, $2, $3)`, [campaign, subscribers[1], new Date(openedAt)]);

    const qr = db.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    const locking = lockEngagements(qr, { campaigns: subscribers.map(() => campaign), subscribers });
    await new Promise((r) => setTimeout(r, 200)); // the insert of the missing rows now waits for the other worker
    await other.query('COMMIT');
    const states = await locking;
    await qr.commitTransaction();
    await qr.release();

    expect(states.map((s) => s.openedAt)).toEqual([null, openedAt, null]);
    const { rows } = await other.query(`SELECT subscriber_id, opened_at FROM engagements WHERE campaign_id = $1 ORDER BY subscriber_id`, [campaign]);
    expect(rows).toEqual(subscribers.map((s, i) => ({ subscriber_id: s, opened_at: i === 1 ? new Date(openedAt) : null })));
  });
});
