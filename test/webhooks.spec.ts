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
    // Bob then leaves by the mail's one-click unsubscribe (RFC 8058), twice: reported once.
    const unsubscribe = /^List-Unsubscribe:\s*<https:\/\/edm\.test(\/u\/[^>]+)>/im.exec(smtp.mailsTo('bob@example.com')[0].raw.toString())![1];
    for (let i = 0; i < 2; i++) await t.http.post(unsubscribe).type('form').send('List-Unsubscribe=One-Click').expect(200);
    const [bob, carol] = [await idOf('bob@example.com'), await idOf('carol@example.com')];
    await t.app.get(EventBuffer).appendMany([
      { type: 'bounce', at: Date.now(), campaignId: campaign, subscriberId: carol, bounce: 'hard', reason: '550 5.1.1 user unknown', provider: 'generic' },
      { type: 'complaint', at: Date.now(), campaignId: campaign, subscriberId: carol, provider: 'generic' },
    ]);

    const expected = 17;
    await settle('/all', (d) => d.length >= expected, 30_000).catch(async (e: Error) => {
      const outbox = await t.db.query(`SELECT type, status, attempts FROM webhook_events ORDER BY id`);
      throw new Error(`${e.message}: received ${JSON.stringify(verified('/all').map((d) => d.type))}; outbox ${JSON.stringify(outbox.rows)}`);
    });
    await new Promise((r) => setTimeout(r, 500)); // nothing more comes
    const got = verified('/all');
    expect(new Set(got.map((d) => d.id)).size).toBe(got.length); // each event once
    const [form, dan] = [await idOf('form@example.com'), await idOf('dan@example.com')];
    const audience = got.filter((d) => d.type.startsWith('subscri')).map((d) => ({ type: d.type, data: d.data }));
    expect(audience).toHaveLength(12);
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
});
