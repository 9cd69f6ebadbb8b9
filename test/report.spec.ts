import Redis from 'ioredis';
import { createHash } from 'node:crypto';
import type { CampaignStatsDto } from '../src/analytics/dto/stats.dto';
import { signReportLink } from '../src/analytics/report/report-link';
import { TokenSigner } from '../src/common/tokens';
import { REDIS_URL } from './support/databases';
import { expectForgeriesRefused, openSharedReport } from './support/report-links';
import { campaignWithEvents, expectedFigures, figuresOf, PERSON, REPORT_RECIPIENTS } from './support/report-campaign';
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

  it('draws a click map over the mail: every occurrence of a tracked link carries its human clicks and share, matched by slot', async () => {
    const res = await t.api('get', `/v1/campaigns/${campaign}/report`).expect(200);
    const html = res.text;
    expect(html).toContain('<section id="click-map">');
    const mail = framedMail(html);
    const links = (await t.api('get', `/v1/campaigns/${campaign}/links`).expect(200)).body as { slot: number; uniqueHumanClicks: number; clickShare: number }[];
    // Ann and Cat clicked the sale link, Ben the new-in link; the sale link stands twice in the mail (text and button).
    expect(links.map((l) => [l.slot, l.uniqueHumanClicks, l.clickShare])).toEqual([
      [0, 2, 0.666667],
      [1, 1, 0.333333],
    ]);
    const badges = [...mail.matchAll(/<span class="edm-badge" data-slot="(\d+)" data-human="(\d+)" data-share="([\d.]+)">([^<]*)</g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
      Number(m[3]),
      m[4],
    ]);
    expect(badges).toEqual([
      [0, 2, 0.666667, '2 · 66.7 %'],
      [1, 1, 0.333333, '1 · 33.3 %'],
      [0, 2, 0.666667, '2 · 66.7 %'],
    ]);
    // The most clicked link is the hottest.
    expect([...mail.matchAll(/<a\b[^>]*data-edm-heat="(\d)"/g)].map((m) => Number(m[1]))).toEqual([5, 3, 5]);
    // Printed, the same figures as a table, one row per occurrence.
    const printed = html.slice(html.indexOf('<table class="print-only">'), html.indexOf('</table>', html.indexOf('<table class="print-only">')));
    expect((printed.match(/<tr>/g) ?? []).length).toBe(4);
    expect(printed).toContain('<td>Shop the sale</td><td class="url">https://shop.example/sale?x=1&amp;y=2</td><td class="n">2</td><td class="n">66.7 %</td>');
  });

  it('shows the mail with no live tracking URL, no token and nobody’s data, in a sandboxed frame under a still strict CSP', async () => {
    const res = await t.api('get', `/v1/campaigns/${campaign}/report`).expect(200);
    const mail = framedMail(res.text);
    expect(res.text).toMatch(/<iframe class="click-map"[^>]* sandbox srcdoc="/);
    expect(res.text).not.toMatch(/sandbox="[^"]*allow-/);
    const origin = new URL(t.config.http.publicUrl).origin;
    expect(mail).not.toContain(origin);
    for (const path of ['/t/c/', '/t/o/', '/u/', '/p/', 'edm_token', 'utm_']) expect(mail).not.toContain(path);
    for (const email of REPORT_RECIPIENTS) expect(mail).not.toContain(email);
    // Every link leads nowhere: no href (a tracked link's destination is its title), no target.
    expect((mail.match(/<a\b/g) ?? []).length).toBeGreaterThanOrEqual(5);
    expect(mail).not.toMatch(/<a\b[^>]*\s(href|target)=/);
    expect(mail).toContain('title="https://shop.example/new"');

    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|script-src|frame-src|\*/);
    // The framed mail inherits the page's policy: its stylesheets and style attributes are allowed one by one, by hash.
    const hash = (css: string) => `'sha256-${createHash('sha256').update(css).digest('base64')}'`;
    const sheets = [...mail.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    const attributes = [...mail.matchAll(/\sstyle="([^"]*)"/g)].map((m) => m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
    expect(sheets.length).toBeGreaterThan(0);
    for (const css of [...sheets, ...attributes]) expect(csp).toContain(hash(css));
  });

  it('says in words when there is no click map yet: a draft’s mail is not fixed', async () => {
    const draft = await t.api('get', `/v1/campaigns/${campaign}`).expect(200);
    const copy = (
      await t
        .api('post', '/v1/campaigns')
        .send({
          name: 'draft',
          subject: 'x',
          templateId: draft.body.templateId,
          fromName: 'Shop',
          fromEmail: 'news@shop.example',
          audience: draft.body.audience,
        })
        .expect(201)
    ).body.id;
    const html = (await t.api('get', `/v1/campaigns/${copy}/report`).expect(200)).text;
    const section = html.slice(html.indexOf('<section id="click-map">'));
    expect(section.slice(0, section.indexOf('</section>'))).toContain('once the campaign has started sending');
    expect(html).not.toContain('<iframe');
  });

  it('draws one click map per variant, each variant’s links with their own slots and figures', async () => {
    const base = (await t.api('get', `/v1/campaigns/${campaign}`).expect(200)).body;
    const other = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'variant B',
          mjml: `<mjml><mj-body><mj-section><mj-column><mj-text>Also <a href="https://shop.example/b">B only</a></mj-text></mj-column></mj-section></mj-body></mjml>`,
        })
        .expect(201)
    ).body.id;
    const id = (
      await t
        .api('post', '/v1/campaigns')
        .send({
          name: 'variants',
          subject: 'Variants',
          templateId: base.templateId,
          fromName: 'Shop',
          fromEmail: 'news@shop.example',
          audience: base.audience,
          variants: [{ name: 'Plain' }, { name: 'Other', templateId: other }],
        })
        .expect(201)
    ).body.id as string;
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    await eventually(async () => ((await t.api('get', `/v1/campaigns/${id}`)).body.status === 'sent' ? true : undefined), 30_000);
    await t.db.query(`UPDATE messages SET sent_at = now() - interval '1 hour' WHERE campaign_id = $1`, [id]);
    // A person clicks variant B's link.
    const mailB = smtp.mails.find((m) => String(m.parsed.subject) === 'Variants' && String(m.parsed.html).includes('B only'))!;
    const click = new RegExp(`${t.config.http.publicUrl.replace(/[.:/]/g, '\\$&')}(/t/c/[A-Za-z0-9_.-]+)`).exec(String(mailB.parsed.html))![1];
    await t.http.get(click).set('User-Agent', PERSON).expect(302);
    const links = await eventually(async () => {
      const l = (await t.api('get', `/v1/campaigns/${id}/links`).expect(200)).body as {
        slot: number;
        url: string;
        uniqueHumanClicks: number;
        clickShare: number;
      }[];
      return l.some((x) => x.uniqueHumanClicks) ? l : undefined;
    }, 15_000);
    expect(links.map((l) => [l.slot, l.url, l.uniqueHumanClicks])).toEqual([
      [0, 'https://shop.example/sale?x=1&y=2', 0],
      [1, 'https://shop.example/new', 0],
      [2, 'https://shop.example/b', 1],
    ]);

    const html = (await t.api('get', `/v1/campaigns/${id}/report`).expect(200)).text;
    const section = html.slice(html.indexOf('<section id="click-map">'), html.indexOf('<section id="providers">'));
    expect([...section.matchAll(/<h3>Variant ([^<]+)<\/h3>/g)].map((m) => m[1])).toEqual(['A · Plain', 'B · Other']);
    const frames = [...section.matchAll(/\ssrcdoc="([^"]*)"/g)].map((m) => framedMail(` srcdoc="${m[1]}"`));
    expect(frames).toHaveLength(2);
    const badges = (mail: string) =>
      [...mail.matchAll(/<span class="edm-badge" data-slot="(\d+)" data-human="(\d+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(badges(frames[0])).toEqual([
      [0, 0],
      [1, 0],
      [0, 0],
    ]);
    expect(badges(frames[1])).toEqual([[2, 1]]);
  }, 60_000);

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
    // The audience's providers are counted right after the dispatch jobs are queued.
    const html = await eventually(async () => {
      const page = (await t.api('get', `/v1/campaigns/${later}/report`).expect(200)).text;
      return page.includes('data-figure="providers-of"') ? page : undefined;
    }, 30_000);
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
    const { html, token } = await openSharedReport(t, `/v1/campaigns/${campaign}`, 2);
    expect(figuresOf(html)).toMatchObject(expectedFigures(stats));
    expect(html).toContain('<section id="click-map">');
    await expectForgeriesRefused(t, token);
  });

  it('refuses an expired link with 410, and a link to a campaign that no longer exists with 404', async () => {
    const signer = new TokenSigner(t.config);
    const expired = signReportLink(signer, { kind: 'campaign', id: campaign, expires: Math.floor(Date.now() / 1000) - 1 });
    const r = await t.http.get(`/r/${expired}`).expect(410);
    expect(r.text).toContain('expired');
    expect(r.text).not.toContain('data-figure');
    const gone = signReportLink(signer, { kind: 'campaign', id: '00000000-0000-7000-8000-000000000000', expires: Math.floor(Date.now() / 1000) + 60 });
    expect((await t.http.get(`/r/${gone}`).expect(404)).text).toContain('no longer exists');
    // Another app secret's token is a forgery.
    const other = signReportLink(new TokenSigner({ ...t.config, secret: Buffer.from('another secret') }), {
      kind: 'campaign',
      id: campaign,
      expires: Math.floor(Date.now() / 1000) + 60,
    });
    await t.http.get(`/r/${other}`).expect(404);
  });

  it('still opens a link made before journeys could be shared (campaign id and expiry, no kind)', async () => {
    const payload = Buffer.alloc(20);
    Buffer.from(campaign.replace(/-/g, ''), 'hex').copy(payload, 0);
    payload.writeUInt32BE(Math.floor(Date.now() / 1000) + 60, 16);
    const page = await t.http.get(`/r/${new TokenSigner(t.config).sign('report', payload)}`).expect(200);
    expect(figuresOf(page.text)).toMatchObject(expectedFigures(stats));
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

/** The mail in the click map's frame, as the browser reads its srcdoc attribute. */
function framedMail(html: string): string {
  const m = /\ssrcdoc="([^"]*)"/.exec(html);
  expect(m).not.toBeNull();
  return m![1]
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
