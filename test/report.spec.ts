import Redis from 'ioredis';
import type { CampaignStatsDto } from '../src/analytics/dto/stats.dto';
import { signReportLink } from '../src/analytics/report/report-link';
import { TokenSigner } from '../src/common/tokens';
import { EVENT_STREAM, EventBuffer } from '../src/tracking/event-buffer';
import { REDIS_URL } from './support/databases';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
/** Apple Mail Privacy Protection's bare agent: a machine open. */
const APPLE_PROXY = 'Mozilla/5.0';

export const REPORT_RECIPIENTS = ['ann@gmail.com', 'ben@googlemail.com', 'cat@outlook.com', 'dan@hotmail.com', 'eve@example.com', 'fay@yahoo.com'];
export const HOSTILE_NAME = '<script>alert("name")</script> & winter';

/** The figures a report page carries (data-figure="…"), as numbers. */
export function figuresOf(html: string): Record<string, number> {
  return Object.fromEntries([...html.matchAll(/data-figure="([^"]+)">([\d,]+)</g)].map((m) => [m[1], Number(m[2].replace(/,/g, ''))]));
}

/** The report figures that must equal GET /stats. */
export function expectedFigures(s: CampaignStatsDto): Record<string, number> {
  return {
    sent: s.sent,
    delivered: s.delivered,
    opened: s.opens.uniqueHuman,
    clicked: s.clicks.uniqueHuman,
    converted: s.conversions.unique,
    'conversions-total': s.conversions.total,
    queued: s.queued,
    failed: s.failed,
    'opens-unique': s.opens.unique,
    'opens-human': s.opens.uniqueHuman,
    'opens-machine': s.opens.uniqueMachine,
    'opens-total': s.opens.total,
    'clicks-unique': s.clicks.unique,
    'clicks-human': s.clicks.uniqueHuman,
    'clicks-machine': s.clicks.uniqueMachine,
    'clicks-total': s.clicks.total,
    unsubscribes: s.unsubscribes,
    'bounces-hard': s.bounces.hard,
    'bounces-soft': s.bounces.soft,
    complaints: s.complaints,
  };
}

/**
 * Sends a campaign to REPORT_RECIPIENTS and has them engage: people open and click, Apple's proxy
 * opens one, one buys, one unsubscribes, one bounces, one complains. Returns the campaign id once
 * every event is in Postgres.
 */
export async function campaignWithEvents(t: TestApp, smtp: SmtpCapture, redis: Redis): Promise<string> {
  const template = (
    await t
      .api('post', '/v1/templates')
      .send({
        name: 'report',
        mjml: `<mjml><mj-body><mj-section><mj-column>
          <mj-text>Hi {{name}} <a href="https://shop.example/sale?x=1&amp;y=2">Sale</a> and <a href="https://shop.example/new">New</a></mj-text>
        </mj-column></mj-section>{{> footer}}</mj-body></mjml>`,
      })
      .expect(201)
  ).body.id;
  const list = (await t.api('post', '/v1/lists').send({ name: 'Report list', optIn: 'single' }).expect(201)).body.id;
  for (const email of REPORT_RECIPIENTS)
    await t
      .api('post', '/v1/subscribers')
      .send({ email, lists: [list] })
      .expect(201);
  const campaign = (
    await t
      .api('post', '/v1/campaigns')
      .send({
        name: HOSTILE_NAME,
        subject: 'Our <b>sale</b>',
        templateId: template,
        fromName: 'Shop',
        fromEmail: 'news@shop.example',
        audience: { lists: [list] },
      })
      .expect(201)
  ).body.id;
  await t.api('post', `/v1/campaigns/${campaign}/send`).expect(200);
  await eventually(async () => ((await t.api('get', `/v1/campaigns/${campaign}`)).body.status === 'sent' ? true : undefined), 30_000);
  // Delivered an hour ago: clicks now are not a link scanner's seconds-after-delivery clicks.
  await t.db.query(`UPDATE messages SET sent_at = now() - interval '1 hour' WHERE campaign_id = $1`, [campaign]);

  const base = new URL(t.config.http.publicUrl).origin;
  const path = (url: string) => url.replace(base, '');
  const urls = new Map<string, { open: string; clicks: string[]; unsubscribe: string }>();
  for (const mail of smtp.mails.filter((m) => String(m.parsed.subject).startsWith('Our'))) {
    const html = String(mail.parsed.html);
    const found = (kind: string) => [...html.matchAll(new RegExp(`${base.replace(/[.:/]/g, '\\$&')}/${kind}/[A-Za-z0-9_.-]+`, 'g'))].map((m) => m[0]);
    const unsubscribe = /^List-Unsubscribe:\s*<([^>]+\/u\/[^>]+)>/im.exec(mail.raw.toString())![1];
    urls.set(mail.to[0], { open: found('t/o')[0], clicks: [...new Set(found('t/c'))], unsubscribe });
  }
  expect(urls.size).toBe(REPORT_RECIPIENTS.length);
  const u = (i: number) => urls.get(REPORT_RECIPIENTS[i])!;
  const get = (url: string, agent = PERSON) => t.http.get(path(url)).set('User-Agent', agent);

  await get(u(0).open).expect(200);
  await get(u(0).open).expect(200);
  await get(u(1).open).expect(200);
  await get(u(2).open).expect(200);
  await get(u(3).open, APPLE_PROXY).expect(200);
  const landing = await get(u(0).clicks[0]).expect(302);
  await get(u(1).clicks[1]).expect(302);
  await get(u(2).clicks[0]).expect(302);
  const token = new URL(landing.headers.location).searchParams.get('edm_token')!;
  await t.api('post', '/v1/conversions').send({ token, orderId: 'R-1', value: 42 }).expect(200);
  await t.http
    .post(path(u(4).unsubscribe))
    .type('form')
    .send('List-Unsubscribe=One-Click')
    .expect(200);
  const ref = async (email: string) => {
    const { rows } = await t.db.query(`SELECT id FROM subscribers WHERE email = $1`, [email]);
    return { campaignId: campaign, subscriberId: rows[0].id as string };
  };
  await t.app.get(EventBuffer).appendMany([
    { type: 'bounce', at: Date.now(), ...(await ref(REPORT_RECIPIENTS[5])), bounce: 'hard', reason: '550 5.1.1 user unknown', provider: 'generic' },
    { type: 'complaint', at: Date.now(), ...(await ref(REPORT_RECIPIENTS[3])), provider: 'generic' },
  ]);
  const stream = `${t.config.redis.prefix}:${EVENT_STREAM}`;
  await eventually(async () => ((await redis.xlen(stream)) === 0 ? true : undefined), 15_000);
  return campaign;
}

describe('campaign report', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let redis: Redis;
  let campaign: string;
  let stats: CampaignStatsDto;

  beforeAll(async () => {
    await smtp.start();
    redis = new Redis(REDIS_URL);
    t = await startTestApp({ SMTP_URL: smtp.url, SMTP_RATE: '5000' });
    campaign = await campaignWithEvents(t, smtp, redis);
    stats = (await t.api('get', `/v1/campaigns/${campaign}/stats`).expect(200)).body;
  }, 90_000);
  afterAll(async () => {
    await t.close();
    redis.disconnect();
    await smtp.stop();
  });

  it('has the events the campaign was given', () => {
    expect(stats).toMatchObject({
      sent: 6,
      delivered: 5,
      bounces: { hard: 1, soft: 0 },
      complaints: 1,
      unsubscribes: 1,
      opens: { unique: 4, uniqueHuman: 3, uniqueMachine: 1 },
      clicks: { unique: 3, uniqueHuman: 3 },
      conversions: { unique: 1, total: 1 },
    });
  });

  it('renders the report as HTML with server-drawn SVG charts, and every figure is the stats endpoint’s', async () => {
    const res = await t.api('get', `/v1/campaigns/${campaign}/report`).expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.text;
    for (const id of ['funnel', 'over-time', 'human-machine', 'links', 'providers', 'problems', 'variants']) expect(html).toContain(`<section id="${id}">`);
    expect((html.match(/<svg\b/g) ?? []).length).toBeGreaterThanOrEqual(5);
    expect(html).not.toContain('<script');
    expect(figuresOf(html)).toMatchObject(expectedFigures(stats));

    const links = (await t.api('get', `/v1/campaigns/${campaign}/links`).expect(200)).body as {
      slot: number;
      url: string;
      clicks: number;
      uniqueClicks: number;
      uniqueHumanClicks: number;
    }[];
    expect(links.length).toBe(2);
    for (const l of links) {
      expect(figuresOf(html)).toMatchObject({
        [`link-${l.slot}-clicks`]: l.clicks,
        [`link-${l.slot}-unique`]: l.uniqueClicks,
        [`link-${l.slot}-human`]: l.uniqueHumanClicks,
      });
      expect(html).toContain(l.url.replace(/&/g, '&amp;'));
    }
  });

  it('groups mailbox providers by recipient domain, adding up to the sent messages', async () => {
    const html = (await t.api('get', `/v1/campaigns/${campaign}/report`).expect(200)).text;
    const section = html.slice(html.indexOf('<section id="providers">'), html.indexOf('<section id="problems">'));
    const rows = [...section.matchAll(/<tr><td>([^<]+)<\/td><td class="n"><span data-figure="provider-\d+">(\d+)</g)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual({ 'gmail.com': 2, 'outlook.com': 2, 'example.com': 1, 'yahoo.com': 1 });
    expect(rows.reduce((sum, [, n]) => sum + (n as number), 0)).toBe(stats.sent);
  });

  it('escapes the campaign’s name and subject', async () => {
    const html = (await t.api('get', `/v1/campaigns/${campaign}/report`).expect(200)).text;
    expect(html).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; winter');
    expect(html).toContain('Our &lt;b&gt;sale&lt;/b&gt;');
    expect(html).not.toContain('<b>sale');
  });

  it('needs an API key, and answers 404 for an unknown campaign', async () => {
    await t.http.get(`/v1/campaigns/${campaign}/report`).expect(401);
    await t.api('get', '/v1/campaigns/00000000-0000-7000-8000-000000000000/report').expect(404);
  });

  it('shares the page through a signed link that works without a key until it expires', async () => {
    const before = Date.now();
    const res = await t.api('post', `/v1/campaigns/${campaign}/report-link`).send({ expiresInHours: 2 }).expect(201);
    const { url, expiresAt } = res.body as { url: string; expiresAt: string };
    expect(url.startsWith(`${t.config.http.publicUrl}/r/`)).toBe(true);
    expect(Math.abs(Date.parse(expiresAt) - before - 2 * 3600_000)).toBeLessThan(5000);
    const path = new URL(url).pathname;
    const page = await t.http.get(path).expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toContain('no-store');
    expect(figuresOf(page.text)).toMatchObject(expectedFigures(stats));
    expect(page.text).toContain('shared link, valid until');

    const byDefault = (await t.api('post', `/v1/campaigns/${campaign}/report-link`).send({}).expect(201)).body;
    expect(Math.abs(Date.parse(byDefault.expiresAt) - Date.now() - 168 * 3600_000)).toBeLessThan(5000);

    // Tampered: one character of the signature, one of the payload, cut short, garbage.
    const token = path.slice(3);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const bad of [flip(token, token.length - 3), flip(token, 2), token.slice(0, -4), 'garbage', 'a.b']) {
      const r = await t.http.get(`/r/${bad}`).expect(404);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.text).toContain('Link not recognised');
      expect(r.text).not.toContain('data-figure');
    }
  });

  it('refuses an expired link with 410, and a link to a campaign that no longer exists with 404', async () => {
    const signer = new TokenSigner(t.config);
    const expired = signReportLink(signer, { campaignId: campaign, expires: Math.floor(Date.now() / 1000) - 1 });
    const r = await t.http.get(`/r/${expired}`).expect(410);
    expect(r.text).toContain('expired');
    expect(r.text).not.toContain('data-figure');
    const gone = signReportLink(signer, { campaignId: '00000000-0000-7000-8000-000000000000', expires: Math.floor(Date.now() / 1000) + 60 });
    expect((await t.http.get(`/r/${gone}`).expect(404)).text).toContain('no longer exists');
    // Another app secret's token is a forgery.
    const other = signReportLink(new TokenSigner({ ...t.config, secret: Buffer.from('another secret') }), {
      campaignId: campaign,
      expires: Math.floor(Date.now() / 1000) + 60,
    });
    await t.http.get(`/r/${other}`).expect(404);
  });

  it('refuses a bad body naming the field, and an unknown campaign', async () => {
    for (const expiresInHours of [0, 721, 1.5, 'x']) {
      const r = await t.api('post', `/v1/campaigns/${campaign}/report-link`).send({ expiresInHours });
      expect([400, 422]).toContain(r.status);
      expect(JSON.stringify(r.body)).toContain('expiresInHours');
    }
    await t.api('post', '/v1/campaigns/00000000-0000-7000-8000-000000000000/report-link').send({}).expect(404);
  });
});
