import { Analytics } from '@segment/analytics-node';
import { Queue } from 'bullmq';
import { existsSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { MessageIdsProcessor } from '../src/customers/message-ids.processor';
import { freePort } from './support/ports';
import { REDIS_URL } from './support/databases';
import { startTestApp, TestApp } from './support/test-app';

interface StoredEvent {
  subscriber_id: string | null;
  type: string;
  event: string | null;
  properties: Record<string, unknown>;
  context: { library?: unknown } | null;
  at: Date;
  message_id: string;
}

/**
 * Customer events through the Segment-compatible API: the real `@segment/analytics-node` client
 * against the running app, identity, dedupe, bad input, scopes, paging, GDPR export and erase.
 */
describe('customer events (Segment-compatible API)', () => {
  let t: TestApp;
  let base: string;
  let eventsKey: string;
  let readKey: string;
  let writeKey: string;

  const key = async (scopes: string[]): Promise<string> => (await t.api('post', '/v1/api-keys').send({ name: scopes.join(), scopes }).expect(201)).body.key;
  const post = (path: string, body: unknown, k = eventsKey) =>
    t.http
      .post(path)
      .set('Authorization', `Bearer ${k}`)
      .send(body as object);
  const rows = async (where: string, params: unknown[]) =>
    (await t.db.query<StoredEvent>(`SELECT * FROM customer_events WHERE ${where} ORDER BY id`, params)).rows;
  const subscriberByEmail = async (email: string) =>
    (await t.db.query<{ id: string; external_id: string | null; name: string | null }>(`SELECT * FROM subscribers WHERE email = $1`, [email])).rows[0];

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp();
    await t.app.listen(port, '127.0.0.1');
    [eventsKey, readKey, writeKey] = [await key(['events:write']), await key(['read']), await key(['write'])];
  });
  afterAll(() => t.close());

  it('takes identify and track calls from the real @segment/analytics-node client, and an identify creates a subscriber without any subscription', async () => {
    const analytics = new Analytics({ writeKey: eventsKey, host: base, flushAt: 10, flushInterval: 50, maxRetries: 0 });
    const statuses: number[] = [];
    const errors: unknown[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    analytics.on('error', (e) => errors.push(e));
    analytics.identify({ userId: 'user-1', traits: { email: 'Ada@Example.com', name: 'Ada Lovelace', plan: 'pro' }, context: { ip: '203.0.113.9' } });
    analytics.track({ userId: 'user-1', event: 'Order Completed', properties: { revenue: 42, currency: 'EUR' }, timestamp: new Date('2024-05-01T10:00:00Z') });
    analytics.page({ anonymousId: 'browser-1', name: 'Pricing', properties: { path: '/pricing' } });
    await analytics.closeAndFlush({ timeout: 15_000 });
    expect(errors).toEqual([]);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);

    const ada = await subscriberByEmail('ada@example.com');
    expect(ada).toMatchObject({ external_id: 'user-1', name: 'Ada Lovelace', attributes: { plan: 'pro' } });
    const stored = await rows('user_id = $1 OR anonymous_id = $2', ['user-1', 'browser-1']);
    expect(stored.map((r) => [r.type, r.event, r.subscriber_id])).toEqual([
      ['identify', null, ada.id],
      ['track', 'Order Completed', ada.id],
      ['track', 'Page Viewed', null],
    ]);
    expect(stored[0]).toMatchObject({ properties: { email: 'Ada@Example.com', plan: 'pro' }, context: expect.objectContaining({ ip: '203.0.113.9' }) });
    expect(stored[0].context?.library).toMatchObject({ name: '@segment/analytics-node' });
    expect(stored[0].message_id).toMatch(/^node-next-/);
    expect(stored[1].at).toEqual(new Date('2024-05-01T10:00:00Z'));
    expect(stored[2].properties).toEqual({ name: 'Pricing', path: '/pricing' });

    // ⚑ An event is never consent: no subscription, no ledger entry, no mail.
    const detail = await t.api('get', `/v1/subscribers/${ada.id}`).expect(200);
    expect(detail.body).toMatchObject({ externalId: 'user-1', subscriptions: [], consentLog: [] });
    const outbox = t.config.mail.outboxDir;
    expect(existsSync(outbox) ? readdirSync(outbox) : []).toEqual([]);
    const byExternalId = await t.api('get', '/v1/subscribers?externalId=user-1').expect(200);
    expect(byExternalId.body.items.map((s: { id: string }) => s.id)).toEqual([ada.id]);
  });

  it('answers {"success": true} to /v1/identify, /v1/track and /v1/batch, with Bearer or Basic auth', async () => {
    const basic = `Basic ${Buffer.from(`${eventsKey}:`).toString('base64')}`;
    const res = await t.http.post('/v1/track').set('Authorization', basic).send({ userId: 'auth-1', event: 'Signed In' }).expect(200);
    expect(res.body).toEqual({ success: true });
    await post('/v1/identify', { userId: 'auth-1', traits: { plan: 'free' } }).expect(200, { success: true });
    await post('/v1/batch', { batch: [{ type: 'track', userId: 'auth-1', event: 'X' }], sentAt: new Date().toISOString(), writeKey: 'ignored' }).expect(200, {
      success: true,
    });
    expect(await rows('user_id = $1', ['auth-1'])).toHaveLength(3);
  });

  it('stores a message once for a messageId, across requests and within one', async () => {
    const msg = { userId: 'dup-1', event: 'Clicked', messageId: 'retry-me' };
    await post('/v1/track', msg).expect(200);
    await post('/v1/track', { ...msg, properties: { again: true } }).expect(200);
    await post('/v1/batch', {
      batch: [
        { type: 'track', ...msg },
        { type: 'track', ...msg, messageId: 'other' },
        { type: 'track', ...msg, messageId: 'other' },
      ],
    }).expect(200);
    expect((await rows('user_id = $1', ['dup-1'])).map((r) => r.message_id)).toEqual(['retry-me', 'other']);
  });

  it('keeps events of an unknown userId or anonymousId, and attaches them when an identify brings the address', async () => {
    await post('/v1/track', { userId: 'later-1', event: 'Viewed Product', timestamp: '2024-01-01T00:00:00Z' }).expect(200);
    await post('/v1/track', { anonymousId: 'anon-7', event: 'Viewed Product' }).expect(200);
    expect((await rows('user_id = $1 OR anonymous_id = $2', ['later-1', 'anon-7'])).map((r) => r.subscriber_id)).toEqual([null, null]);

    await post('/v1/identify', { userId: 'later-1', anonymousId: 'anon-7', traits: { email: 'later@example.com' } }).expect(200);
    const later = await subscriberByEmail('later@example.com');
    expect(later.external_id).toBe('later-1');
    expect((await rows('user_id = $1 OR anonymous_id = $2', ['later-1', 'anon-7'])).map((r) => r.subscriber_id)).toEqual([later.id, later.id, later.id]);

    // Afterwards the userId, and the anonymousId the identify tied to her, find her at once.
    await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'later-1', event: 'Added to Cart' },
        { type: 'track', anonymousId: 'anon-7', event: 'Viewed Pricing' },
      ],
    }).expect(200);
    expect((await rows('subscriber_id = $1', [later.id])).length).toBe(5);
  });

  it('links a userId to an existing subscriber, keeping her subscriptions and address as they are', async () => {
    const list = (await t.api('post', '/v1/lists').send({ name: 'News', optIn: 'single' }).expect(201)).body.id;
    const grace = (
      await t
        .api('post', '/v1/subscribers')
        .send({ email: 'grace@example.com', name: 'Grace', lists: [list] })
        .expect(201)
    ).body;
    await post('/v1/identify', { userId: 'g-1', traits: { email: 'GRACE@example.com', name: 'G. Hopper', title: 'Rear Admiral' } }).expect(200);
    await post('/v1/identify', { userId: 'g-1', traits: { email: 'other@example.com', rank: 1, title: null } }).expect(200);
    const after = await t.api('get', `/v1/subscribers/${grace.id}`).expect(200);
    expect(after.body).toMatchObject({ email: 'grace@example.com', name: 'Grace', externalId: 'g-1', attributes: { rank: 1 } });
    expect(after.body.attributes).not.toHaveProperty('title');
    expect(after.body.subscriptions).toEqual([expect.objectContaining({ listId: list, status: 'confirmed' })]);
    expect(await subscriberByEmail('other@example.com')).toBeUndefined();
  });

  it('stores the good messages of a batch and answers 400 naming the bad ones', async () => {
    const res = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'mixed-1', event: 'Good' },
        { type: 'track', userId: 'mixed-1' },
        { type: 'identify', userId: 'mixed-1', traits: { tier: 'gold' } },
        { type: 'track', userId: 'mixed-1', event: 'Bad time', timestamp: 'last tuesday' },
        { type: 'track', event: 'Nobody' },
        { type: 'track', userId: 'mixed-1', event: 'Bad props', properties: 'x' },
        { type: 'purchase', userId: 'mixed-1' },
        { type: 'track', userId: 'mixed-1', event: 'Huge', properties: { x: 'x'.repeat(40_000) } },
        { type: 'group', userId: 'mixed-1', groupId: 'g' },
      ],
    }).expect(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toEqual([
      'batch[1].event',
      'batch[3].timestamp',
      'batch[4].userId',
      'batch[5].properties',
      'batch[6].type',
      'batch[7]',
    ]);
    expect(res.body.message).toMatch(/^6 of 9 messages refused/);
    expect((await rows('user_id = $1', ['mixed-1'])).map((r) => r.type)).toEqual(['track', 'identify']);
  });

  it('refuses bad single calls naming the field, and never answers 5xx', async () => {
    expect((await post('/v1/track', { userId: 'u' }).expect(400)).body.details).toEqual([{ field: 'event', message: expect.any(String) }]);
    expect((await post('/v1/track', { event: 'E' }).expect(400)).body.details[0].field).toBe('userId');
    expect((await post('/v1/identify', { userId: 'u', traits: { email: 'nope' } }).expect(400)).body.details[0].field).toBe('traits.email');
    expect((await post('/v1/track', [1, 2]).expect(400)).body.details[0].field).toBe('body');
    expect((await post('/v1/batch', { batch: 'x' }).expect(400)).body.details[0].field).toBe('batch');
    expect((await post('/v1/batch', { batch: [], context: [] }).expect(400)).body.details[0].field).toBe('context');
    expect((await post('/v1/track', { userId: 'u', event: 'E', properties: { x: 'y'.repeat(33_000) } }).expect(400)).body.details[0].field).toBe('body');
    await post('/v1/batch', { batch: [] }).expect(200, { success: true });
  });

  it('answers 413 to a body over 500 KB, storing none of it', async () => {
    const batch = Array.from({ length: 60 }, (_, i) => ({ type: 'track', userId: 'big-1', event: 'E', properties: { pad: 'x'.repeat(9_000), i } }));
    const res = await post('/v1/batch', { batch }).expect(413);
    expect(res.body.details[0]).toMatchObject({ field: 'body' });
    expect(await rows('user_id = $1', ['big-1'])).toHaveLength(0);
    // Without a Content-Length (chunked), the parser counts.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}/v1/batch`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${eventsKey}` } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const text = JSON.stringify({ batch });
      for (let i = 0; i < text.length; i += 64_000) req.write(text.slice(i, i + 64_000));
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).details[0].field).toBe('body');
    expect(await rows('user_id = $1', ['big-1'])).toHaveLength(0);
    // Under the limit, the same messages are fine.
    await post('/v1/batch', { batch: batch.slice(0, 40) }).expect(200);
    expect(await rows('user_id = $1', ['big-1'])).toHaveLength(40);
  });

  it('links every event of a userId when its identify races with its events', async () => {
    const calls = Array.from({ length: 30 }, (_, i) =>
      i === 15 ? post('/v1/identify', { userId: 'race-1', traits: { email: 'race@example.com' } }) : post('/v1/track', { userId: 'race-1', event: `E${i}` }),
    );
    for (const res of await Promise.all(calls)) expect(res.status).toBe(200);
    const race = await subscriberByEmail('race@example.com');
    const stored = await rows('user_id = $1', ['race-1']);
    expect(stored).toHaveLength(30);
    expect(stored.filter((r) => r.subscriber_id !== race.id)).toEqual([]);
  });

  it('lets an events:write key post events and nothing else; read keys cannot post events', async () => {
    await t.http.get('/v1/lists').set('Authorization', `Bearer ${eventsKey}`).expect(403);
    await post('/v1/lists', { name: 'x', optIn: 'single' }).expect(403);
    const ada = await subscriberByEmail('ada@example.com');
    await t.http.get(`/v1/subscribers/${ada.id}/events`).set('Authorization', `Bearer ${eventsKey}`).expect(403);
    await t.http.get(`/v1/subscribers/${ada.id}`).set('Authorization', `Bearer ${eventsKey}`).expect(403);
    await post('/v1/api-keys', { name: 'escalate', scopes: ['admin'] }).expect(403);
    await post('/v1/track', { userId: 'scoped', event: 'E' }, readKey).expect(403);
    await post('/v1/track', { userId: 'scoped', event: 'E' }, writeKey).expect(200);
    await t.http.post('/v1/track').send({ userId: 'scoped', event: 'E' }).expect(401);
    await t.http.get(`/v1/subscribers/${ada.id}/events`).set('Authorization', `Bearer ${readKey}`).expect(200);
  });

  it("lists a subscriber's events newest first, a page at a time", async () => {
    await post('/v1/identify', { userId: 'pager', traits: { email: 'pager@example.com' }, timestamp: '2024-03-01T00:00:00Z' }).expect(200);
    const days = [5, 2, 9, 7, 1];
    await post('/v1/batch', {
      batch: days.map((d) => ({ type: 'track', userId: 'pager', event: `Day ${d}`, timestamp: `2024-03-0${d}T12:00:00Z` })),
    }).expect(200);
    const id = (await subscriberByEmail('pager@example.com')).id;
    const seen: { event: string | null; type: string }[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: { event: string | null; type: string; timestamp: string }[]; nextCursor: string | null } } = await t
        .api('get', `/v1/subscribers/${id}/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.map((e) => e.event ?? e.type)).toEqual(['Day 9', 'Day 7', 'Day 5', 'Day 2', 'Day 1', 'identify']);
    const first = (await t.api('get', `/v1/subscribers/${id}/events?limit=1`).expect(200)).body.items[0];
    expect(first).toMatchObject({ type: 'track', event: 'Day 9', properties: {}, userId: 'pager', anonymousId: null, timestamp: '2024-03-09T12:00:00.000Z' });
    expect(first).toEqual(expect.objectContaining({ id: expect.any(String), messageId: expect.any(String), receivedAt: expect.any(String) }));
    await t.api('get', `/v1/subscribers/${id}/events?cursor=garbage`).expect(400);
    await t.api('get', '/v1/subscribers/00000000-0000-4000-8000-000000000000/events').expect(404);
  });

  it('exports the events with the subscriber, and an erase deletes them', async () => {
    await post('/v1/identify', { userId: 'gdpr-1', traits: { email: 'gdpr@example.com' } }).expect(200);
    const bought = { userId: 'gdpr-1', event: 'Bought', properties: { sku: 'A1' }, messageId: 'gdpr-bought' };
    await post('/v1/track', bought).expect(200);
    const id = (await subscriberByEmail('gdpr@example.com')).id;
    const exported = await t.api('get', `/v1/subscribers/${id}/export`).expect(200);
    expect(exported.body.customerEvents.map((e: { type: string; event: string | null }) => e.event ?? e.type)).toEqual(['identify', 'Bought']);
    expect(exported.body.customerEvents[0].traits).toEqual({ email: 'gdpr@example.com' });
    expect(exported.body).toHaveProperty('activity');
    expect(exported.body).toHaveProperty('conversions');

    await t.api('delete', `/v1/subscribers/${id}`).expect(204);
    expect(await rows('subscriber_id = $1', [id])).toEqual([]);
    const { rows: after } = await t.db.query(`SELECT external_id, email FROM subscribers WHERE id = $1`, [id]);
    expect(after[0]).toEqual({ external_id: null, email: null });
    // A retry of an erased message does not bring it back; a new event of the userId is not hers.
    await post('/v1/track', bought).expect(200);
    await post('/v1/track', { userId: 'gdpr-1', event: 'Later' }).expect(200);
    expect((await rows('user_id = $1', ['gdpr-1'])).map((r) => [r.event, r.subscriber_id])).toEqual([['Later', null]]);
  });

  it('purges message ids past the dedupe window on a repeatable job; an older id counts as new', async () => {
    const queue = new Queue('customers', { connection: { url: REDIS_URL }, prefix: t.config.redis.prefix });
    try {
      expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual(['purge-message-ids']);
    } finally {
      await queue.close();
    }
    await post('/v1/track', { userId: 'old-1', event: 'E', messageId: 'old-id' }).expect(200);
    await t.db.query(`UPDATE customer_event_message_ids SET received_at = now() - interval '31 days' WHERE message_id = 'old-id'`);
    await post('/v1/track', { userId: 'old-1', event: 'E', messageId: 'old-id' }).expect(200);
    expect(await rows('message_id = $1', ['old-id'])).toHaveLength(2);

    await t.db.query(`INSERT INTO customer_event_message_ids (message_id, received_at) VALUES ('stale', now() - interval '40 days')`);
    expect(await t.app.get(MessageIdsProcessor).process()).toBe(1);
    const { rows: left } = await t.db.query(`SELECT message_id FROM customer_event_message_ids WHERE message_id IN ('stale', 'old-id')`);
    expect(left).toEqual([{ message_id: 'old-id' }]);
  });
});
