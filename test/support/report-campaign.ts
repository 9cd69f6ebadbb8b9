import Redis from 'ioredis';
import type { CampaignStatsDto } from '../../src/analytics/dto/stats.dto';
import { EVENT_STREAM, EventBuffer } from '../../src/tracking/event-buffer';
import { SmtpCapture } from './smtp-capture';
import { eventually, TestApp } from './test-app';

export const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
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
          <mj-button href="https://shop.example/sale?x=1&amp;y=2">Shop the sale</mj-button>
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
