import { CampaignsRepository } from '../src/campaigns/campaigns.repository';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * The report of a large campaign (REPORT_SCALE messages, e.g. 1000000), while it sends and once
 * it has finished; opt-in, as it takes a minute to seed: REPORT_SCALE=1000000 npx jest test/report-scale.spec.ts
 */
const SIZE = Number(process.env.REPORT_SCALE ?? 0);
const DOMAINS = ['gmail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'gmx.de', 'web.de', 'orange.fr', 'free.fr', 'aol.com', 'example.com'];

(SIZE ? describe : describe.skip)(`report of a campaign of ${SIZE} messages`, () => {
  let t: TestApp;
  let campaign: string;

  beforeAll(async () => {
    t = await startTestApp();
    const template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 't',
          mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi <a href="https://shop.example/a">A</a></mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>',
        })
        .expect(201)
    ).body.id;
    const list = (await t.api('post', '/v1/lists').send({ name: 'L', optIn: 'single' }).expect(201)).body.id;
    campaign = (
      await t
        .api('post', '/v1/campaigns')
        .send({ name: 'big', subject: 'Hi', templateId: template, fromName: 'Shop', fromEmail: 'news@shop.example', audience: { lists: [list] } })
        .expect(201)
    ).body.id;
    // Two thirds at the big providers, a long tail of company domains.
    await t.db.query(
      `INSERT INTO subscribers (email)
       SELECT 'u' || i || '@' || CASE WHEN i % 3 = 0 THEN 'corp' || (i % 5000) || '.example' ELSE ($1::text[])[1 + i % cardinality($1::text[])] END
       FROM generate_series(1, $2) i`,
      [DOMAINS, SIZE],
    );
    await t.db.query(
      `INSERT INTO messages (campaign_id, subscriber_id, list_id, status, send_at, sent_at)
       SELECT $1, id, $2, 'sent', now() - interval '3 days', now() - interval '3 days' FROM subscribers`,
      [campaign, list],
    );
    await t.db.query(`UPDATE campaigns SET status = 'sending', started_at = now() - interval '3 days' WHERE id = $1`, [campaign]);
    await t.db.query(
      `INSERT INTO campaign_stats (campaign_id, opens, unique_opens, unique_human_opens, clicks, unique_clicks, unique_human_clicks, hard_bounces, soft_bounces, complaints, unsubscribes)
       VALUES ($1, $2 * 0.6, $2 * 0.4, $2 * 0.25, $2 * 0.08, $2 * 0.05, $2 * 0.04, $2 * 0.01, $2 * 0.005, 30, $2 * 0.002)`,
      [campaign, SIZE],
    );
    await t.db.query(
      `INSERT INTO campaign_stats_hourly (campaign_id, hour, opens, unique_opens, unique_human_opens, clicks, unique_clicks, unique_human_clicks)
       SELECT $1, date_trunc('hour', now()) - h * interval '1 hour', 1000 + h, 500, 400, 100, 60, 50 FROM generate_series(0, 71) h`,
      [campaign],
    );
    await t.db.query(`ANALYZE subscribers; ANALYZE messages`);
  }, 600_000);
  afterAll(() => t.close());

  const time = async (label: string, runs: number): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const res = await t.api('get', `/v1/campaigns/${campaign}/report`).expect(200);
      times.push(performance.now() - start);
      expect(res.text).toContain('<svg');
    }
    const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    console.log(`${label}: median ${median.toFixed(0)} ms of ${runs} (${times.map((x) => x.toFixed(0)).join(', ')})`);
    return median;
  };

  it('answers fast while the campaign sends and once it has finished, its providers then stored', async () => {
    await time('report while sending (providers left for the end past 50,000 sent)', 3);
    // The reconciler may complete it first; either way the counts are stored once.
    const start = performance.now();
    const now = await t.app.get(CampaignsRepository).complete(campaign);
    if (now) console.log(`completion (message counts and providers stored): ${(performance.now() - start).toFixed(0)} ms`);
    await eventually(async () => ((await t.api('get', `/v1/campaigns/${campaign}`)).body.status === 'sent' ? true : undefined), 60_000);
    const finished = await time('report of the finished campaign', 7);
    expect(finished).toBeLessThan(500);
    const stats = (await t.api('get', `/v1/campaigns/${campaign}/stats`).expect(200)).body;
    expect(stats.sent).toBe(SIZE);
    const html = (await t.api('get', `/v1/campaigns/${campaign}/report`).expect(200)).text;
    const providers = [...html.matchAll(/data-figure="provider-\d+">([\d,]+)</g)].map((m) => Number(m[1].replace(/,/g, '')));
    expect(providers).toHaveLength(9);
    expect(providers.reduce((a, b) => a + b, 0)).toBe(SIZE);
  }, 600_000);
});
