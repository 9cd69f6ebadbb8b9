import Redis from 'ioredis';
import type { CampaignStatsDto } from '../src/analytics/dto/stats.dto';
import { signReportLink } from '../src/analytics/report/report-link';
import { TokenSigner } from '../src/common/tokens';
import { REDIS_URL } from './support/databases';
import { campaignWithEvents, expectedFigures, figuresOf } from './support/report-campaign';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

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

  it('shows a sending campaign’s providers as those of its audience frozen at the start, without the addresses suppressed since', async () => {
    const first = (await t.api('get', `/v1/campaigns/${campaign}`).expect(200)).body;
    const later = (
      await t
        .api('post', '/v1/campaigns')
        .send({ name: 'Later', subject: 'Later', templateId: first.templateId, fromName: 'Shop', fromEmail: 'news@shop.example', audience: first.audience })
        .expect(201)
    ).body.id;
    // 13 hours from now in each recipient's zone: sending starts at once (the earliest zone is UTC+14) and nothing is due yet.
    const at = new Date(Date.now() + 13 * 3600_000).toISOString().slice(0, 19);
    await t.api('post', `/v1/campaigns/${later}/schedule`).send({ at, localTime: true, timezone: 'UTC' }).expect(200);
    await eventually(async () => ((await t.api('get', `/v1/campaigns/${later}`)).body.startedAt ? true : undefined), 30_000);
    const html = (await t.api('get', `/v1/campaigns/${later}/report`).expect(200)).text;
    expect(html).toContain('data-figure-text="status">sending<');
    const section = html.slice(html.indexOf('<section id="providers">'), html.indexOf('<section id="problems">'));
    expect(section).toContain('Mailbox providers of the audience');
    const rows = [...section.matchAll(/<tr><td>([^<]+)<\/td><td class="n"><span data-figure="provider-\d+">(\d+)</g)].map((m) => [m[1], Number(m[2])]);
    // Unsubscribed (eve), hard-bounced (fay) and complained (dan) after the first campaign: not in the audience.
    expect(Object.fromEntries(rows)).toEqual({ 'gmail.com': 2, 'outlook.com': 1 });
    expect(figuresOf(html)).toMatchObject({ 'providers-of': 3, sent: 0, queued: 3 });
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
