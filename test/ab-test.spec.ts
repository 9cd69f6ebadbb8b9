import type { CampaignStatsDto } from '../src/analytics/dto/stats.dto';
import { figuresOf } from './support/report-campaign';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const RECIPIENTS = 400;

describe('A/B tests', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let list: string;
  let template: string;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({ SMTP_URL: smtp.url, SMTP_RATE: '5000', AB_LOOK_SECONDS: '1' });
    template = await templateLinkingTo(t, 'https://shop.example/sale');
    list = (await t.api('post', '/v1/lists').send({ name: 'AB', optIn: 'single' }).expect(201)).body.id;
    await t.db.query(
      `WITH s AS (INSERT INTO subscribers (email, name) SELECT 'ab' || i || '@example.com', 'R' || i FROM generate_series(1, $1) i RETURNING id)
       INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT id, $2, 'confirmed', now() FROM s`,
      [RECIPIENTS, list],
    );
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  const stats = async (id: string) => (await t.api('get', `/v1/campaigns/${id}/stats`).expect(200)).body as CampaignStatsDto;
  /** Each recipient's stored variant and message status. */
  const messages = async (id: string) =>
    (
      await t.db.query<{ email: string; variant: number | null; status: string }>(
        `SELECT s.email, m.variant, m.status FROM messages m JOIN subscribers s ON s.id = m.subscriber_id WHERE m.campaign_id = $1`,
        [id],
      )
    ).rows;
  /** A campaign to the list, from the shop, with these fields; returns the created campaign. */
  const create = async (fields: object) =>
    (
      await t
        .api('post', '/v1/campaigns')
        .send({ templateId: template, fromName: 'Shop', fromEmail: 'news@shop.example', audience: { lists: [list] }, ...fields })
        .expect(201)
    ).body;
  const mailsOf = (subjectPrefix: string) =>
    smtp.mails.filter((m) => ['A: ', 'B: ', 'C: '].some((p) => String(m.parsed.subject).startsWith(p + subjectPrefix)));

  it('tests two subjects on half the audience, finds B better on human clicks, and sends B to the rest: each recipient once', async () => {
    const campaign = await create({
      name: 'Spring sale test',
      subject: 'Spring sale',
      variants: [
        { name: 'Plain', subject: 'A: Spring sale' },
        { name: 'Urgent', subject: 'B: Spring sale ends tonight, {{name}}', preheader: 'Only until midnight' },
      ],
      abTest: { testShare: 0.5, metric: 'click', maxHours: 2, fallback: 'control', minPerVariant: 50 },
    });
    expect(campaign.variants.map((v: { id: string; name: string }) => [v.id, v.name])).toEqual([
      ['A', 'Plain'],
      ['B', 'Urgent'],
    ]);
    expect(campaign.abTest).toEqual({ testShare: 0.5, metric: 'click', maxHours: 2, fallback: 'control', minPerVariant: 50 });
    const id = campaign.id as string;
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);

    // The test share goes out; the rest waits, held.
    const inTest = await eventually(async () => {
      const rows = await messages(id);
      const test = rows.filter((r) => r.status !== 'held');
      return rows.length === RECIPIENTS && test.every((r) => r.status === 'sent') ? rows : undefined;
    }, 30_000);
    const held = inTest.filter((r) => r.status === 'held');
    const test = inTest.filter((r) => r.status === 'sent');
    expect(held.every((r) => r.variant === null)).toBe(true);
    const perVariant = [0, 1].map((v) => test.filter((r) => r.variant === v).length);
    expect(perVariant[0] + perVariant[1]).toBe(test.length);
    expect(test.length).toBeGreaterThan(RECIPIENTS * 0.4); // a deterministic share of about half
    expect(test.length).toBeLessThan(RECIPIENTS * 0.6);
    expect(Math.min(...perVariant)).toBeGreaterThan(70);
    // The frozen total, known from the freeze without counting (the progress's queued is the rest of it).
    expect((await t.db.query(`SELECT message_total FROM campaigns WHERE id = $1`, [id])).rows[0].message_total).toBe(RECIPIENTS);
    let s = await stats(id);
    expect(s.abTest).toMatchObject({ state: 'testing', metric: 'click' });
    expect((await t.api('get', `/v1/campaigns/${id}`).expect(200)).body).toMatchObject({ status: 'sending', progress: { queued: held.length } });

    // Each got the subject (and preheader) of the variant stored on the message.
    const variantOf = new Map(inTest.map((r) => [r.email, r.variant]));
    const first = mailsOf('Spring sale');
    expect(first).toHaveLength(test.length);
    for (const m of first) {
      const v = variantOf.get(m.to[0]);
      expect(String(m.parsed.subject)).toBe(v === 0 ? 'A: Spring sale' : `B: Spring sale ends tonight, R${m.to[0].slice(2).split('@')[0]}`);
      expect(String(m.parsed.html).includes('Only until midnight')).toBe(v === 1);
    }

    // People click: half of B's recipients, one in twenty-five of A's (delivered an hour ago, so no scanner's instant click).
    await t.db.query(`UPDATE messages SET sent_at = now() - interval '1 hour' WHERE campaign_id = $1 AND status = 'sent'`, [id]);
    const base = new URL(t.config.http.publicUrl).origin;
    const clickers = { A: 0, B: 0 };
    let i = 0;
    for (const m of first) {
      const v = variantOf.get(m.to[0]) === 0 ? 'A' : 'B';
      i++;
      if (v === 'A' ? i % 25 !== 0 : i % 2 !== 0) continue;
      const link = new RegExp(`${base.replace(/[.:/]/g, '\\$&')}(/t/c/[A-Za-z0-9_.-]+)`).exec(String(m.parsed.html))![1];
      const res = await t.http.get(link).set('User-Agent', PERSON).expect(302);
      expect(res.headers.location).toMatch(/^https:\/\/shop\.example\/sale/);
      clickers[v]++;
    }

    // The next look decides for B and the rest of the audience gets B.
    // (The look may decide before the last clicks are counted: it needs only enough of them.)
    s = await eventually(async () => {
      const now = await stats(id);
      return now.abTest?.state === 'decided' && now.clicks.uniqueHuman === clickers.A + clickers.B ? now : undefined;
    }, 30_000);
    expect(s.abTest).toMatchObject({ state: 'decided', winner: 'B', basis: 'significance' });
    expect(s.abTest!.reason).toMatch(/^B beat A on unique human clicks/);
    console.log(`A/B test decided: ${s.abTest!.reason}`);
    expect(s.abTest!.decidedAt).toBeDefined();
    expect(s.abTest!.srm.mismatch).toBe(false);
    const [a, b] = s.variants!;
    expect(a).toMatchObject({ id: 'A', name: 'Plain', clicks: { uniqueHuman: clickers.A } });
    expect(b).toMatchObject({ id: 'B', name: 'Urgent', clicks: { uniqueHuman: clickers.B } });
    expect(b.vsControl).toMatchObject({ significant: 'better', failedGuardrails: [] });
    expect(b.vsControl!.lift!.low).toBeGreaterThan(0);
    expect(b.metric.low).toBeLessThanOrEqual(b.metric.value);
    expect(b.metric.high).toBeGreaterThanOrEqual(b.metric.value);

    await eventually(async () => ((await t.api('get', `/v1/campaigns/${id}`)).body.status === 'sent' ? true : undefined), 30_000);
    const all = await messages(id);
    expect(all.every((r) => r.status === 'sent')).toBe(true);
    const mails = mailsOf('Spring sale');
    expect(mails).toHaveLength(RECIPIENTS);
    const counts = smtp.counts();
    for (const r of all) expect(counts.get(r.email)).toBe(1); // each recipient exactly once
    const heldEmails = new Set(held.map((r) => r.email));
    for (const m of mails.filter((x) => heldEmails.has(x.to[0]))) expect(String(m.parsed.subject)).toMatch(/^B: Spring sale ends tonight, R\d+$/);
    expect(all.filter((r) => heldEmails.has(r.email)).every((r) => r.variant === 1)).toBe(true);

    // The report compares the variants with the same figures.
    const html = (await t.api('get', `/v1/campaigns/${id}/report`).expect(200)).text;
    const section = html.slice(html.indexOf('<section id="variants">'));
    expect(section).toContain('<svg');
    expect(section).toContain('data-figure-text="ab-state">decided<');
    expect(section).toContain('data-figure-text="ab-winner">B<');
    const figures = figuresOf(section);
    const now = await stats(id);
    for (const v of now.variants!) {
      expect(figures[`variant-${v.id}-sent`]).toBe(v.sent);
      expect(figures[`variant-${v.id}-delivered`]).toBe(v.delivered);
    }

    // Decided once: a manual decision now is refused.
    const again = await t.api('post', `/v1/campaigns/${id}/ab/decide`).send({ variantId: 'A' }).expect(409);
    expect(again.body.message).toMatch(/already decided: B won/);
  }, 120_000);

  it('splits the whole audience between variants without a test, each variant with its own template, links and stats', async () => {
    const other = await templateLinkingTo(t, 'https://shop.example/other');
    const id = (
      await create({
        name: 'Three ways',
        subject: 'Three ways',
        variants: [
          { name: 'one', subject: 'A: Three ways' },
          { name: 'two', subject: 'B: Three ways', fromName: 'Shop team' },
          { name: 'three', subject: 'C: Three ways', templateId: other },
        ],
      })
    ).id as string;
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    await eventually(async () => ((await t.api('get', `/v1/campaigns/${id}`)).body.status === 'sent' ? true : undefined), 30_000);
    const rows = await messages(id);
    const variantOf = new Map(rows.map((r) => [r.email, r.variant]));
    const split = [0, 1, 2].map((v) => rows.filter((r) => r.variant === v).length);
    expect(split.reduce((x, y) => x + y, 0)).toBe(RECIPIENTS);
    for (const n of split) expect(n).toBeGreaterThan(RECIPIENTS / 3 - 45);
    const mails = mailsOf('Three ways');
    expect(mails).toHaveLength(RECIPIENTS);
    for (const m of mails) {
      const v = variantOf.get(m.to[0])!;
      expect(String(m.parsed.subject)).toBe(`${'ABC'[v]}: Three ways`);
      expect(m.parsed.from?.value[0].name).toBe(v === 1 ? 'Shop team' : 'Shop');
    }
    // A click on variant C's link goes to C's URL and counts for C.
    await t.db.query(`UPDATE messages SET sent_at = now() - interval '1 hour' WHERE campaign_id = $1`, [id]);
    const base = new URL(t.config.http.publicUrl).origin;
    const c = mails.find((m) => variantOf.get(m.to[0]) === 2)!;
    const link = new RegExp(`${base.replace(/[.:/]/g, '\\$&')}(/t/c/[A-Za-z0-9_.-]+)`).exec(String(c.parsed.html))![1];
    expect((await t.http.get(link).set('User-Agent', PERSON).expect(302)).headers.location).toMatch(/^https:\/\/shop\.example\/other/);
    const s = await eventually(async () => {
      const now = await stats(id);
      return now.clicks.uniqueHuman === 1 ? now : undefined;
    }, 20_000);
    expect(s.abTest).toBeUndefined();
    expect(s.variants!.map((v) => [v.id, v.sent, v.clicks.uniqueHuman])).toEqual([
      ['A', split[0], 0],
      ['B', split[1], 0],
      ['C', split[2], 1],
    ]);
    const links = (await t.api('get', `/v1/campaigns/${id}/links`).expect(200)).body as { slot: number; url: string; uniqueHumanClicks: number }[];
    expect(links.map((l) => [l.url, l.uniqueHumanClicks])).toEqual(
      expect.arrayContaining([
        ['https://shop.example/sale', 0],
        ['https://shop.example/other', 1],
      ]),
    );
    // No test to decide.
    expect((await t.api('post', `/v1/campaigns/${id}/ab/decide`).send({ variantId: 'A' }).expect(409)).body.message).toMatch(/runs no A\/B test/);
  }, 90_000);

  it('holds the rest when the test is inconclusive at maxHours, until a winner is picked by hand', async () => {
    const id = (
      await create({
        name: 'Held',
        subject: 'Held',
        variants: [
          { name: 'x', subject: 'A: Held' },
          { name: 'y', subject: 'B: Held' },
        ],
        abTest: { testShare: 0.2, maxHours: 0.001, fallback: 'hold', minPerVariant: 10 },
      })
    ).id as string;
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    const s = await eventually(async () => {
      const now = await stats(id);
      return now.abTest?.state === 'inconclusive' ? now : undefined;
    }, 30_000);
    expect(s.abTest!.reason).toMatch(/inconclusive and the rest of the audience is held/);
    expect(s.abTest!.winner).toBeUndefined();
    const rows = await messages(id);
    const held = rows.filter((r) => r.status === 'held').length;
    expect(held).toBeGreaterThan(RECIPIENTS * 0.7);

    const bad = await t.api('post', `/v1/campaigns/${id}/ab/decide`).send({ variantId: 'Z' }).expect(400);
    expect(bad.body.details[0].field).toBe('variantId');
    const decided = await t.api('post', `/v1/campaigns/${id}/ab/decide`).send({ variantId: 'B' }).expect(200);
    expect(decided.body.id).toBe(id);
    await eventually(async () => ((await t.api('get', `/v1/campaigns/${id}`)).body.status === 'sent' ? true : undefined), 30_000);
    const after = await stats(id);
    expect(after.abTest).toMatchObject({ state: 'decided', winner: 'B', basis: 'manual' });
    expect(after.abTest!.reason).toMatch(/^B \(“y”\) chosen by hand\./);
    expect(mailsOf('Held')).toHaveLength(RECIPIENTS);
    expect(mailsOf('Held').filter((m) => String(m.parsed.subject) === 'B: Held').length).toBeGreaterThanOrEqual(held);
  }, 90_000);

  it('sizes a test: recipients per variant and the test share for a base rate and the smallest lift worth finding', async () => {
    const res = await t.api('get', '/v1/ab-tests/power?baseRate=0.03&relativeLift=0.2&audience=200000').expect(200);
    expect(res.body).toEqual({ perVariant: 19241, testShare: 0.19241, feasible: true, fixedHorizonPerVariant: expect.any(Number) });
    expect(res.body.fixedHorizonPerVariant).toBeLessThan(res.body.perVariant);
    const small = (await t.api('get', '/v1/ab-tests/power?baseRate=0.03&relativeLift=0.2&audience=20000&variants=3').expect(200)).body;
    expect(small).toMatchObject({ testShare: 1, feasible: false });
    const field = async (query: string) => (await t.api('get', `/v1/ab-tests/power?${query}`).expect(400)).body.details[0].field;
    expect(await field('relativeLift=0.2&audience=1000')).toBe('baseRate');
    expect(await field('baseRate=0.6&relativeLift=1&audience=1000')).toBe('relativeLift');
    expect(await field('baseRate=0.03&relativeLift=0.2&audience=1000&variants=9')).toBe('variants');
  });

  it('refuses bad variants and tests, naming the field', async () => {
    const base = { name: 'bad', subject: 'Bad', templateId: template, fromName: 'Shop', fromEmail: 'news@shop.example', audience: { lists: [list] } };
    const field = async (body: object, status: number) => (await t.api('post', '/v1/campaigns').send(body).expect(status)).body.details[0].field;
    expect(await field({ ...base, variants: [{ name: 'only' }] }, 400)).toBe('variants');
    expect(await field({ ...base, variants: Array.from({ length: 9 }, (_, i) => ({ name: `v${i}` })) }, 400)).toBe('variants');
    expect(await field({ ...base, variants: [{ name: 'a' }, { subject: 'no name' }] }, 400)).toBe('variants.1.name');
    expect(await field({ ...base, abTest: { testShare: 0.2 } }, 400)).toBe('abTest');
    expect(await field({ ...base, variants: [{ name: 'a' }, { name: 'b' }], abTest: { testShare: 1.5 } }, 400)).toBe('abTest.testShare');
    expect(await field({ ...base, variants: [{ name: 'a' }, { name: 'b' }], abTest: { testShare: 0.2, metric: 'views' } }, 400)).toBe('abTest.metric');
    expect(await field({ ...base, variants: [{ name: 'a' }, { name: 'b', templateId: '00000000-0000-7000-8000-000000000000' }] }, 404)).toBe(
      'variants[1].templateId',
    );
    expect(await field({ ...base, variants: [{ name: 'a' }, { name: 'b', subject: 'Hi {{name' }] }, 422)).toBe('variants[1].subject');
    expect(await field({ ...base, variants: [{ name: 'a' }, { name: 'a' }] }, 400)).toBe('variants');
  });
});

async function templateLinkingTo(t: TestApp, url: string): Promise<string> {
  return (
    await t
      .api('post', '/v1/templates')
      .send({
        name: `ab ${url}`,
        mjml: `<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{name}}, <a href="${url}">see it</a></mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>`,
      })
      .expect(201)
  ).body.id as string;
}
