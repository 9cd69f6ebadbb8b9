import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { EventBuffer } from '../src/tracking/event-buffer';
import { WebhookOutbox } from '../src/webhooks/webhook-outbox';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { Received, WebhookReceiver } from './support/webhook-receiver';

const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const ALL = [
  'subscriber.created',
  'subscription.confirmed',
  'subscription.unsubscribed',
  'message.bounced',
  'message.complained',
  'message.opened',
  'message.clicked',
  'conversion.created',
  'journey.completed',
];

interface Delivered {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * Outgoing webhooks end to end: changes made through the API, the pages, imports, customer events
 * and tracking reach a real receiver on loopback once each, signed so that `standardwebhooks`
 * verifies them; failures are retried with backoff and logged; an endpoint failing too long is
 * disabled; a rolled-back change reports nothing. Retry and disable windows are shortened to seconds.
 */
describe('outgoing webhooks', () => {
  const smtp = new SmtpCapture();
  const receiver = new WebhookReceiver();
  let t: TestApp;
  const secrets = new Map<string, string>();

  const register = async (path: string, events: string[]): Promise<string> => {
    const res = await t
      .api('post', '/v1/webhooks')
      .send({ url: `${receiver.url}${path}`, events })
      .expect(201);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    secrets.set(path, res.body.secret);
    return res.body.id;
  };
  /** What `path` received, each verified with its endpoint's secret. */
  const verified = (path: string): Delivered[] =>
    receiver.to(path).map((r: Received) => {
      const payload = new Webhook(secrets.get(path)!).verify(r.body, r.headers as Record<string, string>) as Omit<Delivered, 'id'>;
      return { id: r.headers['webhook-id'] as string, ...payload };
    });
  const settle = (path: string, until: (d: Delivered[]) => boolean, timeoutMs = 15_000) =>
    eventually(() => (until(verified(path)) ? true : undefined), timeoutMs);
  const idOf = async (email: string): Promise<string> => (await t.db.query(`SELECT id FROM subscribers WHERE email = $1`, [email])).rows[0].id;

  beforeAll(async () => {
    await smtp.start();
    await receiver.start();
    t = await startTestApp({
      SMTP_URL: smtp.url,
      SMTP_RATE: '5000',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_POLL_MS: '100',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_RETRY_MAX_MS: '300',
      WEBHOOK_RETRY_HOURS: '0.002', // 7.2 s
      WEBHOOK_DISABLE_AFTER_HOURS: '0.001', // 3.6 s
    });
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await receiver.stop();
    await smtp.stop();
  });

  it('delivers every kind of change once, signed per Standard Webhooks', async () => {
    await register('/all', ALL);
    const single = (await t.api('post', '/v1/lists').send({ name: 'news', optIn: 'single' }).expect(201)).body.id;
    const double = (
      await t
        .api('post', '/v1/lists')
        .send({ name: 'offers', optIn: 'double', publicForm: { challenge: false } })
        .expect(201)
    ).body.id;

    // API: a subscriber on the single opt-in list, then on the double opt-in one, confirmed by the link.
    const ada = (
      await t
        .api('post', '/v1/subscribers')
        .send({ email: 'ada@example.com', lists: [single] })
        .expect(201)
    ).body.id;
    await t.api('post', `/v1/lists/${double}/subscriptions`).send({ subscriberId: ada }).expect(201);
    await smtp.waitFor(() => smtp.mailsTo('ada@example.com').length === 1);
    const confirm = /https:\/\/edm\.test(\/confirm\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(smtp.mailsTo('ada@example.com')[0].parsed.text ?? '')![1];
    await t.http.post(confirm).expect(200);
    await t.http.post(confirm).expect(200); // a repeat changes nothing, and reports nothing
    await t.api('delete', `/v1/lists/${single}/subscriptions/${ada}`).expect(204);

    // The public form (single opt-in needs the form enabled), a CSV import and an identify call.
    await t
      .api('patch', `/v1/lists/${single}`)
      .send({ publicForm: { enabled: true, challenge: false } })
      .expect(200);
    await t.http.post(`/subscribe/${single}`).send({ email: 'form@example.com' }).expect(200);
    const imp = await t
      .api('post', `/v1/lists/${single}/imports`)
      .set('Content-Type', 'text/csv')
      .send('email\nbob@example.com\ncarol@example.com')
      .expect(202);
    await eventually(async () => ((await t.api('get', `/v1/imports/${imp.body.id}`)).body.status === 'completed' ? true : undefined), 30_000);
    await t
      .api('post', '/v1/identify')
      .send({ userId: 'u-1', traits: { email: 'dan@example.com' } })
      .expect(200);

    // Bob gets a campaign, opens it twice, clicks twice and buys; the provider reports Carol bounced and complained.
    const template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 't',
          mjml: `<mjml><mj-body><mj-section><mj-column><mj-text><a href="https://shop.example/a">A</a></mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>`,
        })
        .expect(201)
    ).body.id;
    const campaign = (
      await t
        .api('post', '/v1/campaigns')
        .send({ name: 'c', subject: 'Hi', templateId: template, fromName: 'Shop', fromEmail: 'news@shop.example', audience: { lists: [single] } })
        .expect(201)
    ).body.id;
    await t.api('post', `/v1/campaigns/${campaign}/send`).expect(200);
    await smtp.waitFor(() => smtp.mailsTo('bob@example.com').length === 1, 30_000);
    await t.db.query(`UPDATE messages SET sent_at = now() - interval '1 hour' WHERE campaign_id = $1`, [campaign]);
    const html = String(smtp.mailsTo('bob@example.com')[0].parsed.html);
    const [open] = /https:\/\/edm\.test\/t\/o\/[A-Za-z0-9_.-]+/.exec(html)!;
    const [click] = /https:\/\/edm\.test\/t\/c\/[A-Za-z0-9_.-]+/.exec(html)!;
    const get = (url: string) => t.http.get(url.replace('https://edm.test', '')).set('User-Agent', PERSON);
    await get(open).expect(200);
    await get(open).expect(200);
    const landing = await get(click).expect(302);
    await get(click).expect(302);
    const token = new URL(landing.headers.location).searchParams.get('edm_token')!;
    await t.api('post', '/v1/conversions').send({ token, orderId: 'A-1', value: 12.5 }).expect(200);
    await t.api('post', '/v1/conversions').send({ token, orderId: 'A-1', value: 12.5 }).expect(200);
    // Bob leaves by the mail's one-click unsubscribe (RFC 8058), twice: reported once.
    const unsubscribe = /^List-Unsubscribe:\s*<https:\/\/edm\.test(\/u\/[^>]+)>/im.exec(smtp.mailsTo('bob@example.com')[0].raw.toString())![1];
    for (let i = 0; i < 2; i++) await t.http.post(unsubscribe).type('form').send('List-Unsubscribe=One-Click').expect(200);
    // Carol opts out of everything in the preference centre.
    await smtp.waitFor(() => smtp.mailsTo('carol@example.com').length === 1);
    const preferences = /https:\/\/edm\.test(\/p\/[A-Za-z0-9_.-]+)/.exec(String(smtp.mailsTo('carol@example.com')[0].parsed.html))![1];
    await t.http.post(preferences).type('form').send({ all: 'on' }).expect(200);
    const [bob, carol] = [await idOf('bob@example.com'), await idOf('carol@example.com')];
    await t.app.get(EventBuffer).appendMany([
      { type: 'bounce', at: Date.now(), campaignId: campaign, subscriberId: carol, bounce: 'hard', reason: '550 5.1.1 user unknown', provider: 'generic' },
      { type: 'complaint', at: Date.now(), campaignId: campaign, subscriberId: carol, provider: 'generic' },
    ]);

    const expected = 18;
    await settle('/all', (d) => d.length >= expected, 30_000).catch(async (e: Error) => {
      const outbox = await t.db.query(`SELECT type, status, attempts FROM webhook_events ORDER BY id`);
      throw new Error(`${e.message}: received ${JSON.stringify(verified('/all').map((d) => d.type))}; outbox ${JSON.stringify(outbox.rows)}`);
    });
    await new Promise((r) => setTimeout(r, 500)); // nothing more comes
    const got = verified('/all');
    expect(new Set(got.map((d) => d.id)).size).toBe(got.length); // each event once
    const [form, dan] = [await idOf('form@example.com'), await idOf('dan@example.com')];
    const audience = got.filter((d) => d.type.startsWith('subscri')).map((d) => ({ type: d.type, data: d.data }));
    expect(audience).toHaveLength(13);
    expect(audience).toEqual(
      expect.arrayContaining([
        { type: 'subscriber.created', data: { subscriberId: ada, email: 'ada@example.com', source: 'api' } },
        { type: 'subscription.confirmed', data: { subscriberId: ada, email: 'ada@example.com', listId: single } },
        { type: 'subscription.confirmed', data: { subscriberId: ada, email: 'ada@example.com', listId: double } },
        { type: 'subscription.unsubscribed', data: { subscriberId: ada, email: 'ada@example.com', listId: single } },
        { type: 'subscriber.created', data: { subscriberId: form, email: 'form@example.com', source: 'form' } },
        { type: 'subscription.confirmed', data: { subscriberId: form, email: 'form@example.com', listId: single } },
        { type: 'subscriber.created', data: { subscriberId: bob, email: 'bob@example.com', source: 'import' } },
        { type: 'subscriber.created', data: { subscriberId: carol, email: 'carol@example.com', source: 'import' } },
        { type: 'subscription.confirmed', data: { subscriberId: bob, email: 'bob@example.com', listId: single } },
        { type: 'subscription.confirmed', data: { subscriberId: carol, email: 'carol@example.com', listId: single } },
        { type: 'subscription.unsubscribed', data: { subscriberId: bob, email: 'bob@example.com', listId: single } },
        { type: 'subscription.unsubscribed', data: { subscriberId: carol, email: 'carol@example.com', listId: single } },
        { type: 'subscriber.created', data: { subscriberId: dan, email: 'dan@example.com', source: 'identify' } },
      ]),
    );
    expect(got.find((d) => d.type === 'message.opened')?.data).toEqual({ campaignId: campaign, subscriberId: bob, agent: 'human' });
    expect(got.find((d) => d.type === 'message.clicked')?.data).toEqual({ campaignId: campaign, subscriberId: bob, agent: 'human', link: expect.any(Number) });
    expect(got.find((d) => d.type === 'conversion.created')?.data).toEqual({
      campaignId: campaign,
      subscriberId: bob,
      orderId: 'A-1',
      value: 12.5,
      currency: 'EUR',
      attributed: true,
    });
    expect(got.find((d) => d.type === 'message.bounced')?.data).toEqual({
      campaignId: campaign,
      subscriberId: carol,
      email: 'carol@example.com',
      bounce: 'hard',
      reason: '550 5.1.1 user unknown',
    });
    expect(got.find((d) => d.type === 'message.complained')?.data).toEqual({ campaignId: campaign, subscriberId: carol, email: 'carol@example.com' });
    for (const d of got) expect(Date.parse(d.timestamp)).toBeGreaterThan(Date.now() - 120_000);
  }, 90_000);

  it('⚑ reports nothing for a change that is rolled back, and once for the same change committed later', async () => {
    await register('/rollback', ['subscriber.created']);
    // The recording service in a transaction that then fails.
    await expect(
      t.app.get(DataSource).transaction(async (tx) => {
        const data = { subscriberId: '01a00000-0000-7000-8000-000000000000', email: 'ghost@example.com', source: 'api' as const };
        await t.app.get(WebhookOutbox).record(tx, 'subscriber.created', [{ data }]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');

    // A real path: an import batch whose transaction fails after its subscribers and their events were written.
    await t.db.query(`CREATE SEQUENCE import_crashes`);
    await t.db.query(`CREATE FUNCTION crash_import() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.rows_processed > 0 THEN PERFORM nextval('import_crashes'); RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$`);
    await t.db.query(`CREATE TRIGGER crash_import BEFORE UPDATE ON imports FOR EACH ROW EXECUTE FUNCTION crash_import()`);
    const list = (await t.api('post', '/v1/lists').send({ name: 'rollback', optIn: 'single' }).expect(201)).body.id;
    const imp = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send('email\nrolled@example.com').expect(202);
    // The sequence is not transactional: it shows the batch ran and failed.
    await eventually(async () => ((await t.db.query(`SELECT is_called FROM import_crashes`)).rows[0].is_called ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 500)); // several delivery polls
    const ghost = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_events WHERE payload->'data'->>'email' IN ('ghost@example.com', 'rolled@example.com')`,
    );
    expect(ghost.rows[0].n).toBe(0);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM subscribers WHERE email = 'rolled@example.com'`)).rows[0].n).toBe(0);
    expect(receiver.to('/rollback')).toEqual([]);

    // The import's retry commits: now the event goes out, once.
    await t.db.query(`DROP TRIGGER crash_import ON imports`);
    await eventually(async () => ((await t.api('get', `/v1/imports/${imp.body.id}`)).body.status === 'completed' ? true : undefined), 30_000);
    await settle('/rollback', (d) => d.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(verified('/rollback').map((d) => [d.type, d.data.email])).toEqual([['subscriber.created', 'rolled@example.com']]);
  }, 60_000);

  it('retries a receiver that fails, then delivers once with the same webhook-id; the log lists every attempt', async () => {
    const id = await register('/flaky', ['subscriber.created']);
    receiver.answer('/flaky', 500, 500, 500);
    await t.api('post', '/v1/subscribers').send({ email: 'flaky@example.com' }).expect(201);
    await eventually(() => (receiver.to('/flaky').length >= 4 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    const requests = receiver.to('/flaky');
    expect(requests).toHaveLength(4);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(verified('/flaky').map((d) => d.data.email)).toEqual(Array(4).fill('flaky@example.com'));
    for (let i = 1; i < requests.length; i++) expect(requests[i].at - requests[i - 1].at).toBeGreaterThanOrEqual(40); // backoff ≥ base/2

    const log = (await t.api('get', `/v1/webhooks/${id}/deliveries`).expect(200)).body;
    expect(log.nextCursor).toBeNull();
    expect(log.items.map((d: { attempt: number; statusCode: number; ok: boolean }) => [d.attempt, d.statusCode, d.ok])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 500, false],
      [4, 200, true],
    ]);
    expect(log.items[0]).toMatchObject({
      type: 'subscriber.created',
      webhookId: requests[0].headers['webhook-id'],
      error: 'HTTP 500',
      response: 'refused with 500',
    });
    expect(log.items[0].durationMs).toEqual(expect.any(Number));
    const page = (await t.api('get', `/v1/webhooks/${id}/deliveries?limit=3`).expect(200)).body;
    expect(page.items).toHaveLength(3);
    expect((await t.api('get', `/v1/webhooks/${id}/deliveries?cursor=${page.nextCursor}`).expect(200)).body.items).toHaveLength(1);
    expect((await t.api('get', `/v1/webhooks/${id}`).expect(200)).body).toMatchObject({ status: 'active', failingSince: null });
  }, 30_000);

  it('disables an endpoint failing past the window; disabled and deleted endpoints get nothing more', async () => {
    const down = await register('/down', ['subscriber.created']);
    receiver.answer('/down', ...Array<number>(1000).fill(503));
    const gone = await register('/gone', ['subscriber.created']);
    await t.api('delete', `/v1/webhooks/${gone}`).expect(204);
    await t.api('delete', `/v1/webhooks/${gone}`).expect(404);
    await t.api('post', '/v1/subscribers').send({ email: 'down@example.com' }).expect(201);
    const disabled = await eventually(async () => {
      const body = (await t.api('get', `/v1/webhooks/${down}`).expect(200)).body;
      return body.status === 'disabled' ? body : undefined;
    }, 20_000);
    expect(Date.parse(disabled.disabledAt) - Date.parse(disabled.failingSince)).toBeGreaterThanOrEqual(3_600);
    const attempts = receiver.to('/down').length;
    expect(attempts).toBeGreaterThan(3);
    const log = (await t.api('get', `/v1/webhooks/${down}/deliveries`).expect(200)).body.items;
    expect(log).toHaveLength(attempts);
    expect(log.every((d: { ok: boolean; statusCode: number }) => !d.ok && d.statusCode === 503)).toBe(true);

    await t.api('post', '/v1/subscribers').send({ email: 'after@example.com' }).expect(201);
    await settle('/all', (d) => d.some((x) => x.data.email === 'after@example.com'));
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.to('/down')).toHaveLength(attempts);
    expect(receiver.to('/gone')).toEqual([]);
    const queued = await t.db.query(`SELECT status FROM webhook_events WHERE endpoint_id = ANY($1::uuid[])`, [[down, gone]]);
    expect(queued.rows).toEqual([{ status: 'failed' }]); // the first event, given up with the endpoint; nothing for the deleted one
    const listed = (await t.api('get', '/v1/webhooks').expect(200)).body.items.map((w: { id: string; status: string }) => [w.id, w.status]);
    expect(listed).toContainEqual([down, 'disabled']);
    expect(listed.map((w: string[]) => w[0])).not.toContain(gone);
  }, 40_000);

  it('refuses bad input naming the field, and answers unknown ids with 404', async () => {
    const refused = async (body: unknown, field: string) => {
      const res = await t
        .api('post', '/v1/webhooks')
        .send(body as object)
        .expect(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    };
    await refused({ url: `${receiver.url}/x`, events: ['subscriber.created', 'message.opened', 'message.read'] }, 'events[2]');
    await refused({ url: `${receiver.url}/x`, events: [] }, 'events');
    await refused({ url: `${receiver.url}/x`, events: 'subscriber.created' }, 'events');
    await refused({ url: 'ftp://example.com/x', events: ['subscriber.created'] }, 'url');
    await refused({ url: 'not a url', events: ['subscriber.created'] }, 'url');
    await refused({ url: 'http://user:pw@example.com/x', events: ['subscriber.created'] }, 'url');
    await refused({ events: ['subscriber.created'] }, 'url');
    await refused({ url: `${receiver.url}/x`, events: ['subscriber.created'], secret: 'mine' }, 'secret');
    const unknown = '01a00000-0000-7000-8000-000000000000';
    for (const path of [`/v1/webhooks/${unknown}`, `/v1/webhooks/${unknown}/deliveries`, '/v1/webhooks/abc']) await t.api('get', path).expect(404);
    await t.api('delete', `/v1/webhooks/${unknown}`).expect(404);
  });

  it('refuses URLs on loopback, private and link-local networks unless WEBHOOK_ALLOW_PRIVATE_NETWORKS', async () => {
    const strict = await startTestApp({ ROLE: 'api' });
    try {
      for (const url of [
        'http://127.0.0.1:9/x',
        'http://localhost/x',
        'http://10.1.2.3/x',
        'http://169.254.169.254/latest/meta-data',
        'http://[::1]/x',
        'https://192.168.0.1/',
      ]) {
        const res = await strict
          .api('post', '/v1/webhooks')
          .send({ url, events: ['subscriber.created'] })
          .expect(400);
        expect(res.body.details[0].field).toBe('url');
      }
    } finally {
      await strict.close();
    }
  }, 30_000);
});
