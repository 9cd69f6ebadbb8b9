import Redis from 'ioredis';
import { registry } from '../src/observability/metrics';
import { EventApplier } from '../src/analytics/ingestion/event-applier';
import { EVENT_STREAM, EventBuffer } from '../src/tracking/event-buffer';
import { entryId } from '../src/analytics/ingestion/event-ingestor';
import { PIXEL } from '../src/tracking/tracking.controller';
import { REDIS_URL } from './support/databases';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';

interface Urls {
  open: string;
  clicks: string[];
  unsubscribe: string;
}

describe('tracking and campaign stats', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let redis: Redis;
  let campaign: string;
  const urls = new Map<string, Urls>();
  const path = (url: string) => url.replace('https://edm.test', '');
  const stream = () => `${t.config.redis.prefix}:${EVENT_STREAM}`;
  /**
   * Everything buffered has reached Postgres: entries leave the stream only after their transaction
   * commits. If they do not, the failure says where they are (pending with which consumer, or never
   * read) and what Postgres sessions of the test database are doing.
   */
  const settled = async () => {
    try {
      await eventually(async () => ((await redis.xlen(stream())) === 0 ? true : undefined), 15_000);
    } catch (e) {
      const consumers = await redis.xinfo('CONSUMERS', stream(), 'ingest').catch((err: Error) => err.message);
      const sessions = await t.db.query(
        `SELECT state, wait_event_type, wait_event, left(query, 120) AS query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      throw new Error(
        `${(e as Error).message}: ${await redis.xlen(stream())} entries left; consumers ${JSON.stringify(consumers)}; sessions ${JSON.stringify(sessions.rows)}`,
      );
    }
  };
  const stats = async () => (await t.api('get', `/v1/campaigns/${campaign}/stats`).expect(200)).body;

  beforeAll(async () => {
    await smtp.start();
    redis = new Redis(REDIS_URL);
    t = await startTestApp({ SMTP_URL: smtp.url, SMTP_RATE: '5000' });
    const template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'links',
          mjml: `<mjml><mj-body><mj-section><mj-column>
            <mj-text>Hi {{name}} <a href="https://shop.example/a?x=1&utm_source=own">A</a> and <a href="https://shop.example/b">B</a></mj-text>
          </mj-column></mj-section>{{> footer}}</mj-body></mjml>`,
        })
        .expect(201)
    ).body.id;
    const list = (await t.api('post', '/v1/lists').send({ name: 'L', optIn: 'single' }).expect(201)).body.id;
    const rows = Array.from({ length: 10 }, (_, i) => `s${i}@example.com,S${i}`);
    const imp = await t
      .api('post', `/v1/lists/${list}/imports`)
      .set('Content-Type', 'text/csv')
      .send(['email,name', ...rows].join('\n'))
      .expect(202);
    await eventually(async () => ((await t.api('get', `/v1/imports/${imp.body.id}`)).body.status === 'completed' ? true : undefined), 30_000);
    campaign = (
      await t
        .api('post', '/v1/campaigns')
        .send({
          name: 'winter',
          subject: 'Hello {{name}}',
          templateId: template,
          fromName: 'Shop',
          fromEmail: 'news@shop.example',
          audience: { lists: [list] },
          utm: { source: 'newsletter', medium: 'email', campaign: 'winter' },
        })
        .expect(201)
    ).body.id;
    await t.api('post', `/v1/campaigns/${campaign}/send`).expect(200);
    await eventually(async () => ((await t.api('get', `/v1/campaigns/${campaign}`)).body.status === 'sent' ? true : undefined), 30_000);
    for (const mail of smtp.mails) {
      const html = String(mail.parsed.html);
      const found = (kind: string) => [...html.matchAll(new RegExp(`https://edm\\.test/${kind}/[A-Za-z0-9_.-]+`, 'g'))].map((m) => m[0]);
      const unsubscribe = /^List-Unsubscribe:\s*<(https:\/\/edm\.test\/u\/[^>]+)>/im.exec(mail.raw.toString())![1];
      urls.set(mail.to[0], { open: found('t/o')[0], clicks: [...new Set(found('t/c'))], unsubscribe });
    }
    // The mail was delivered an hour ago: clicks now are not the seconds-after-delivery clicks of a link scanner.
    await t.db.query(`UPDATE messages SET sent_at = now() - interval '1 hour' WHERE campaign_id = $1`, [campaign]);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    redis.disconnect();
    await smtp.stop();
  });

  const u = (i: number) => urls.get(`s${i}@example.com`)!;

  it('puts a signed pixel and a signed link per slot in every message', () => {
    expect(urls.size).toBe(10);
    for (const x of urls.values()) {
      expect(x.open).toBeDefined();
      expect(x.clicks).toHaveLength(2);
    }
  });

  it('serves the pixel to anyone, and records only real fetches of valid tokens', async () => {
    const before = await redis.xlen(stream());
    for (const token of ['', 'garbage', `${u(0).open.split('/').pop()!.slice(0, -2)}AA`]) {
      const res = await t.http
        .get(`/t/o/${token || 'x'}`)
        .set('User-Agent', PERSON)
        .expect(200);
      expect(res.headers['content-type']).toBe('image/gif');
      expect(res.headers['cache-control']).toContain('no-store');
      expect(Buffer.compare(res.body as Buffer, PIXEL)).toBe(0);
      expect(PIXEL.length).toBe(43);
    }
    await t.http
      .head(path(u(7).open))
      .set('User-Agent', PERSON)
      .expect(200);
    await t.http
      .get(path(u(8).open))
      .set('User-Agent', PERSON)
      .set('Sec-Purpose', 'prefetch')
      .expect(200);
    expect(await redis.xlen(stream())).toBe(before);
  });

  it('redirects a click only to the stored link, never to a URL in the request', async () => {
    const res = await t.http
      .get(`${path(u(9).clicks[0])}?url=https://evil.example&dest=https://evil.example`)
      .set('User-Agent', 'curl/8.5.0')
      .expect(302);
    const to = new URL(res.headers.location);
    expect(`${to.origin}${to.pathname}`).toBe('https://shop.example/a');
    expect(to.searchParams.get('x')).toBe('1');
    expect(to.searchParams.get('utm_source')).toBe('own'); // the link's own UTM value wins
    expect(to.searchParams.get('utm_medium')).toBe('email');
    expect(to.searchParams.get('utm_campaign')).toBe('winter');
    expect(to.searchParams.get('edm_token')).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const click = u(9).clicks[0].split('/').pop()!;
    const altered = click.slice(0, 10) + (click[10] === 'A' ? 'B' : 'A') + click.slice(11);
    for (const bad of [altered, 'nope', `${click}x`]) {
      const r = await t.http.get(`/t/c/${bad}?url=https://evil.example`).expect(404);
      expect(r.headers.location).toBeUndefined();
    }
    const head = await t.http.head(path(u(9).clicks[1])).expect(302);
    expect(head.headers.location).toContain('https://shop.example/b');
  });

  it('answers other paths under /t/ as the API answers unknown routes', async () => {
    for (const [method, p] of [
      ['get', '/t/x/abc'],
      ['get', '/t/o/a/b'],
      ['post', path(u(9).open)],
    ] as const) {
      const res = await t.http[method](p).expect(404);
      const message = `Cannot ${method.toUpperCase()} ${p}`;
      expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message, details: [{ field: 'path', message }] });
    }
    const api = await t.http.get('/v1/nowhere').expect(404);
    expect(api.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/edm_http_request_duration_seconds_count\{method="GET",route="\/t\/c\/:token",status="302"\} [1-9]/);
  });

  it('counts the whole loop: opens, clicks, machines apart, conversions once, unsubscribes, bounces and complaints', async () => {
    const get = (url: string, ua = PERSON) => t.http.get(path(url)).set('User-Agent', ua);
    // Opens: s0 twice, s1..s5 once by people; s6 only through Apple's proxy.
    await get(u(0).open).expect(200);
    await get(u(0).open).expect(200);
    for (const i of [1, 2, 3, 4, 5]) await get(u(i).open).expect(200);
    await get(u(6).open, 'Mozilla/5.0').expect(200);
    // Clicks: s0 both links, a few seconds apart in reality — here the second on the same link as the first.
    const landing = await get(u(0).clicks[0]).expect(302);
    await get(u(0).clicks[0]).expect(302);
    // s1 clicks without loading images: the click is an open too.
    await get(u(1).clicks[1]).expect(302);
    // s7: a mail-security gateway follows every link at once.
    await get(u(7).clicks[0]).expect(302);
    await get(u(7).clicks[1]).expect(302);
    // s8: a crawler.
    await get(u(8).clicks[0], 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)').expect(302);
    // s9's click in the previous test was curl: a machine.

    // Conversions: the landing page reports order A-1 twice (server to server) and A-2 by pixel.
    const token = new URL(landing.headers.location).searchParams.get('edm_token')!;
    await t.api('post', '/v1/conversions').send({ token, orderId: 'A-1', value: 50 }).expect(200);
    await t.api('post', '/v1/conversions').send({ token, orderId: 'A-1', value: 50 }).expect(200);
    const px = await t.http.get(`/t/v/${token}?order=A-2&value=20.5&currency=EUR`).expect(200);
    expect(px.headers['content-type']).toBe('image/gif');
    await t.api('post', '/v1/conversions').send({ token: 'forged.token', orderId: 'A-3' }).expect(400);
    await t.api('post', '/v1/conversions').send({ token, orderId: '', value: -1 }).expect(400);

    // s4 unsubscribes in one click (RFC 8058), twice.
    for (let i = 0; i < 2; i++) {
      await t.http
        .post(path(u(4).unsubscribe))
        .type('form')
        .send('List-Unsubscribe=One-Click')
        .expect(200);
    }

    // Reported by the provider: s5 hard-bounced, s3 soft-bounced, s2 complained.
    const ref = async (i: number) => {
      const { rows } = await t.db.query(`SELECT id FROM subscribers WHERE email = $1`, [`s${i}@example.com`]);
      return { campaignId: campaign, subscriberId: rows[0].id as string };
    };
    const buffer = t.app.get(EventBuffer);
    await buffer.appendMany([
      { type: 'bounce', at: Date.now(), ...(await ref(5)), bounce: 'hard', reason: '550 5.1.1 user unknown', provider: 'generic' },
      { type: 'bounce', at: Date.now(), ...(await ref(3)), bounce: 'soft', reason: '452 mailbox full', provider: 'generic' },
      { type: 'complaint', at: Date.now(), ...(await ref(2)), provider: 'generic' },
    ]);
    await settled();

    const s = await stats();
    expect(s).toMatchObject({
      status: 'sent',
      sent: 10,
      delivered: 8,
      failed: 0,
      unknown: 0,
      bounces: { hard: 1, soft: 1 },
      complaints: 1,
      unsubscribes: 1,
      // s0..s6 opened; s7, s8, s9 only clicked (machines): a click implies an open.
      opens: { unique: 10, total: 8, uniqueHuman: 6, uniqueMachine: 4 },
      clicks: { unique: 5, total: 7, uniqueHuman: 2, uniqueMachine: 3 },
      conversions: { unique: 1, total: 2, revenue: 70.5, currency: 'EUR', unattributed: 0 },
    });
    expect(s.rates).toEqual({
      reach: 0.8,
      open: 0.75,
      click: 0.25,
      ctor: round(2 / 6),
      conversion: 0.125,
      unsubscribe: 0.125,
      bounce: 0.25,
      complaint: 0.125,
    });

    // Hard bounce and complaint suppress the address; one soft bounce does not.
    const { rows: suppressed } = await t.db.query(`SELECT email, reason FROM suppressions ORDER BY email`);
    expect(suppressed).toEqual([
      { email: 's2@example.com', reason: 'complaint' },
      { email: 's5@example.com', reason: 'hard_bounce' },
    ]);

    // Raw events keep IP and user agent, and who was a machine.
    const { rows: raw } = await t.db.query(`SELECT agent, count(*)::int AS n FROM events WHERE type = 'click' GROUP BY agent ORDER BY agent`);
    expect(raw).toEqual([
      { agent: 'human', n: 5 },
      { agent: 'scanner', n: 2 },
    ]);

    const links = (await t.api('get', `/v1/campaigns/${campaign}/links`).expect(200)).body;
    expect(
      links.map((l: { url: string; clicks: number; uniqueClicks: number; uniqueHumanClicks: number }) => [
        l.url,
        l.clicks,
        l.uniqueClicks,
        l.uniqueHumanClicks,
      ]),
    ).toEqual([
      ['https://shop.example/a?x=1&utm_source=own', 5, 4, 1],
      ['https://shop.example/b', 2, 2, 1],
    ]);

    const series = (await t.api('get', `/v1/campaigns/${campaign}/stats/timeseries?interval=hour`).expect(200)).body;
    expect(series.interval).toBe('hour');
    const sum = (k: string) => series.buckets.reduce((n: number, b: Record<string, number>) => n + b[k], 0);
    expect([
      sum('opens'),
      sum('uniqueOpens'),
      sum('uniqueHumanOpens'),
      sum('clicks'),
      sum('uniqueHumanClicks'),
      sum('conversions'),
      sum('unsubscribes'),
    ]).toEqual([8, 10, 6, 7, 2, 2, 1]);
    const daily = (await t.api('get', `/v1/campaigns/${campaign}/stats/timeseries?interval=day&timezone=Europe/Paris`).expect(200)).body;
    expect(daily.buckets.length).toBeGreaterThanOrEqual(1);
    await t.api('get', `/v1/campaigns/${campaign}/stats/timeseries?interval=week`).expect(400);
  });

  it('suppresses an address at SOFT_BOUNCE_LIMIT soft bounces, also when a report names only the address', async () => {
    const buffer = t.app.get(EventBuffer);
    await buffer.append({
      type: 'bounce',
      at: Date.now(),
      campaignId: null,
      subscriberId: null,
      email: 'S3@example.com',
      bounce: 'soft',
      reason: '452 mailbox full',
    });
    await settled();
    expect((await t.db.query(`SELECT 1 FROM suppressions WHERE email = 's3@example.com'`)).rowCount).toBe(0);
    await buffer.append({
      type: 'bounce',
      at: Date.now(),
      campaignId: null,
      subscriberId: null,
      email: 's3@example.com',
      bounce: 'soft',
      reason: '452 mailbox full',
    });
    await settled();
    const { rows } = await t.db.query(`SELECT reason, note FROM suppressions WHERE email = 's3@example.com'`);
    expect(rows).toEqual([{ reason: 'hard_bounce', note: '3 soft bounces (SOFT_BOUNCE_LIMIT 3)' }]);
    // Reports without a message move no campaign figure.
    expect((await stats()).bounces).toEqual({ hard: 1, soft: 1 });
  });

  it('applies an event delivered twice only once', async () => {
    const before = await stats();
    const { rows } = await t.db.query(`SELECT id FROM subscribers WHERE email = 's9@example.com'`);
    const entry = {
      id: entryId(`${Date.now()}-0`),
      event: { type: 'open' as const, at: Date.now(), campaignId: campaign, subscriberId: rows[0].id, agent: 'human' as const },
    };
    const applier = t.app.get(EventApplier);
    expect(await applier.apply([entry])).toBe(1);
    expect(await applier.apply([entry])).toBe(0);
    // Handed out as a first delivery (copied in without a conflict check) next to a new event: the
    // repeated id sends the batch the careful way, and only the new event counts.
    const next = { id: entryId(`${Date.now()}-1`), event: { ...entry.event, at: Date.now() } };
    expect(await applier.apply([entry, next], 'first')).toBe(1);
    const after = await stats();
    expect(after.opens.total).toBe(before.opens.total + 2);
    expect(after.opens.uniqueHuman).toBe(before.opens.uniqueHuman + 1);
  });

  it("keeps to the campaign's attribution window whatever the case of the event's campaign id", async () => {
    const { rows } = await t.db.query(`SELECT id FROM subscribers WHERE email = 's7@example.com'`);
    await t.db.query(`UPDATE campaigns SET attribution_window_hours = 1 WHERE id = $1`, [campaign]);
    const at = Date.now();
    const conversion = (orderId: string, campaignId: string) => ({
      id: entryId(`${at}-${orderId.length}`),
      event: { type: 'conversion' as const, at, campaignId, subscriberId: rows[0].id, orderId, clickedAt: at - 2 * 3_600_000 },
    });
    try {
      expect(await t.app.get(EventApplier).apply([conversion('case-1', campaign.toUpperCase())])).toBe(1);
    } finally {
      await t.db.query(`UPDATE campaigns SET attribution_window_hours = NULL WHERE id = $1`, [campaign]);
    }
    const { rows: saved } = await t.db.query(`SELECT attributed FROM conversions WHERE order_id = 'case-1'`);
    expect(saved).toEqual([{ attributed: false }]); // two hours after the click: outside the campaign's one hour
  });

  it('stores raw events as they came, addresses of both families included, and drops only what cannot be stored', async () => {
    const before = await stats();
    const { rows } = await t.db.query(`SELECT id FROM subscribers WHERE email = 's8@example.com'`);
    const at = Date.now() - 5_000;
    const open = (ip: unknown, userAgent: unknown, extra: object = {}) => ({
      type: 'open',
      at,
      campaignId: campaign,
      subscriberId: rows[0].id,
      agent: 'human',
      ip,
      userAgent,
      ...extra,
    });
    const stored = [
      open('2001:db8::1', 'probe 1 ☃ "quoted"\ttab\\'),
      open('::ffff:192.0.2.7', 'probe 2'),
      open('192.0.2.200', 'probe 3'),
      open('fe80::1%eth0', 'probe 4'), // a scoped address: kept without it
      open('not an address', 'probe 5'),
      open(undefined, 'probe 6', { type: 'conversion', agent: undefined, orderId: 'probe-order', value: 12.5, currency: 'EUR', clickedAt: at - 1_000 }),
    ];
    const dropped = [
      open('192.0.2.1', 42), // not text
      open('192.0.2.1', 'probe x', { type: 'click', slot: 2 ** 40 }), // no such slot
      open('192.0.2.1', 'probe \u0000'), // Postgres text holds no NUL
      open('192.0.2.1', 'probe y', { at: -8e15 }), // a Date, but before any timestamptz
      open('192.0.2.1', 'probe z', { agent: 'robot' }), // refused by the database (no such agent): its batch goes in without it
    ];
    for (const e of [...stored, ...dropped]) await redis.xadd(stream(), '*', 'e', JSON.stringify(e));
    await settled();
    const saved = await t.db.query(
      `SELECT host(ip) AS ip, family(ip) AS family, user_agent, agent, at, data FROM events WHERE user_agent LIKE 'probe%' ORDER BY user_agent`,
    );
    expect(saved.rows).toEqual([
      { ip: '2001:db8::1', family: 6, user_agent: 'probe 1 ☃ "quoted"\ttab\\', agent: 'human', at: new Date(at), data: null },
      { ip: '::ffff:192.0.2.7', family: 6, user_agent: 'probe 2', agent: 'human', at: new Date(at), data: null },
      { ip: '192.0.2.200', family: 4, user_agent: 'probe 3', agent: 'human', at: new Date(at), data: null },
      { ip: null, family: null, user_agent: 'probe 4', agent: 'human', at: new Date(at), data: null },
      { ip: null, family: null, user_agent: 'probe 5', agent: 'human', at: new Date(at), data: null },
      {
        ip: null,
        family: null,
        user_agent: 'probe 6',
        agent: null,
        at: new Date(at),
        data: { orderId: 'probe-order', value: 12.5, currency: 'EUR', clickedAt: at - 1_000 },
      },
    ]);
    const after = await stats();
    expect(after.opens.total).toBe(before.opens.total + stored.length - 1);
    expect(after.conversions.total).toBe(before.conversions.total + 1);
    // Alone in the stream, so alone in its batch: dropped too, not read again and again.
    await redis.xadd(stream(), '*', 'e', JSON.stringify(open('192.0.2.1', 'probe alone', { agent: 'robot' })));
    await settled();
    expect(await stats()).toEqual(after);
  });

  it("exports a person's activity, and an erase keeps the figures but not their IP or user agent", async () => {
    const { rows } = await t.db.query(`SELECT id FROM subscribers WHERE email = 's0@example.com'`);
    const id = rows[0].id as string;
    const exported = (await t.api('get', `/v1/subscribers/${id}/export`).expect(200)).body;
    // Every report is kept as it came (A-1 twice); the figures counted it once.
    expect(exported.activity.map((a: { type: string }) => a.type)).toEqual(['open', 'open', 'click', 'click', 'conversion', 'conversion', 'conversion']);
    expect(exported.activity[0]).toMatchObject({ campaignId: campaign, agent: 'human', userAgent: PERSON, ip: expect.any(String) });
    expect(exported.conversions.map((c: { orderId: string }) => c.orderId)).toEqual(['A-1', 'A-2']);
    const before = await stats();
    await t.api('delete', `/v1/subscribers/${id}`).expect(204);
    const { rows: traces } = await t.db.query(`SELECT count(*)::int AS n FROM events WHERE subscriber_id = $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL)`, [
      id,
    ]);
    expect(traces[0].n).toBe(0);
    expect(await stats()).toEqual(before);
  });

  it('answers 404 for the stats of a campaign that does not exist', async () => {
    await t.api('get', '/v1/campaigns/00000000-0000-4000-8000-000000000000/stats').expect(404);
    await t.api('get', '/v1/campaigns/nope/links').expect(404);
  });

  // Last: it leaves this app's event buffer disconnected.
  it('still serves the pixel and the redirect when Redis refuses the event, and counts what was lost', async () => {
    const lostCount = async (type: string) => {
      const text = await registry.getSingleMetricAsString('edm_tracking_events_lost_total');
      const line = text.split('\n').find((l) => l.startsWith(`edm_tracking_events_lost_total{type="${type}"}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = { open: await lostCount('open'), click: await lostCount('click') };
    t.app.get<EventBuffer, { redis: Redis }>(EventBuffer).redis.disconnect();
    const pixel = await t.http
      .get(path(u(1).open))
      .set('User-Agent', PERSON)
      .expect(200);
    expect(Buffer.from(pixel.body)).toEqual(PIXEL);
    const click = await t.http
      .get(path(u(1).clicks[0]))
      .set('User-Agent', PERSON)
      .expect(302);
    expect(click.headers.location).toContain('https://shop.example/');
    expect(await lostCount('open')).toBe(before.open + 1);
    expect(await lostCount('click')).toBe(before.click + 1);
  });
});

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
