import type { JourneyStatsDto } from '../src/journeys/dto/journey.dto';
import type { MailingCounters } from '../src/analytics/stats.service';
import { signReportLink } from '../src/analytics/report/report-link';
import { TokenSigner } from '../src/common/tokens';
import { figuresOf } from './support/report-campaign';
import { expectForgeriesRefused, openSharedReport } from './support/report-links';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

const FROM = { fromName: 'Shop', fromEmail: 'news@shop.example' };

/** The report figures that must equal GET /v1/journeys/:id/stats. */
function expectedFigures(s: JourneyStatsDto): Record<string, number> {
  const out: Record<string, number> = { enrolled: s.enrolled, active: s.active, completed: s.completed, exited: s.exited };
  if (s.goal) out['goal-reached'] = s.goal.reached;
  for (const step of s.steps) {
    const k = (name: string) => `step-${step.stepId}-${name}`;
    Object.assign(out, { [k('entered')]: step.entered, [k('completed')]: step.completed, [k('waiting')]: step.waiting, [k('exited')]: step.exited });
    if (step.messages) {
      const e = step.engagement as MailingCounters;
      for (const [status, n] of Object.entries(step.messages)) out[k(status === 'sent' ? 'sent' : `messages-${status}`)] = n;
      Object.assign(out, {
        [k('opened')]: e.opens.uniqueHuman,
        [k('clicked')]: e.clicks.uniqueHuman,
        [k('opens-total')]: e.opens.total,
        [k('clicks-total')]: e.clicks.total,
        [k('unsubscribes')]: e.unsubscribes,
        [k('bounces-hard')]: e.bounces.hard,
        [k('bounces-soft')]: e.bounces.soft,
        [k('complaints')]: e.complaints,
      });
    }
  }
  return out;
}

describe('journey report', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let journey: string;
  let stats: JourneyStatsDto;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({ SMTP_URL: smtp.url, SMTP_POOL_SIZE: '5', SMTP_RATE: '5000', SEGMENT_REFRESH_MINUTES: '1440' });
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('renders each step’s funnel and mail as HTML with server-drawn SVG; every figure is the stats endpoint’s; 404 for an unknown journey', async () => {
    const template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'journey mail',
          subject: 'unused',
          mjml: `<mjml><mj-body><mj-section><mj-column><mj-text>Hello <a href="https://shop.example/">shop</a></mj-text></mj-column></mj-section></mj-body></mjml>`,
        })
        .expect(201)
    ).body.id;
    const send = (id: string, subject: string, extra: object = {}) => ({
      id,
      type: 'send',
      templateId: template,
      subject,
      transactional: true,
      ...FROM,
      ...extra,
    });
    const j = (
      await t
        .api('post', '/v1/journeys')
        .send({
          name: '<script>alert("j")</script> & onboarding',
          trigger: { type: 'api' },
          steps: [send('first', 'First', { next: 'pause' }), { id: 'pause', type: 'wait', duration: 'PT1S', next: 'second' }, send('second', 'Second')],
        })
        .expect(201)
    ).body;
    journey = j.id;
    await t.api('post', `/v1/journeys/${j.id}/publish`).expect(200);
    const people = ['r1@example.com', 'r2@example.com', 'r3@example.com'];
    for (const email of people) await t.api('post', `/v1/journeys/${j.id}/enrol`).send({ email }).expect(201);
    await eventually(async () => {
      const all = (await t.api('get', `/v1/journeys/${j.id}/enrolments`).expect(200)).body as { status: string }[];
      return all.length === 3 && all.every((e) => e.status === 'completed') ? true : undefined;
    }, 20_000);
    await eventually(() => (people.every((p) => smtp.mailsTo(p).length === 2) ? true : undefined), 10_000);

    stats = (await t.api('get', `/v1/journeys/${j.id}/stats`).expect(200)).body as JourneyStatsDto;
    expect(stats).toMatchObject({ enrolled: 3, completed: 3, active: 0 });
    expect(stats.steps.find((s) => s.stepId === 'second')?.messages?.sent).toBe(3);

    const res = await t.api('get', `/v1/journeys/${j.id}/report`).expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.text;
    expect((html.match(/<svg\b/g) ?? []).length).toBeGreaterThanOrEqual(5);
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;j&quot;)&lt;/script&gt; &amp; onboarding');
    for (const id of ['first', 'pause', 'second']) expect(html).toContain(`<section id="step-${id}"`);
    const expected = expectedFigures(stats);
    expect(Object.keys(expected).length).toBeGreaterThan(20);
    expect(figuresOf(html)).toEqual(expected);
    expect(expected).toMatchObject({ 'step-first-sent': 3, 'step-second-sent': 3, 'step-pause-entered': 3, 'step-pause-completed': 3 });

    await t.http.get(`/v1/journeys/${j.id}/report`).expect(401);
    await t.api('get', '/v1/journeys/00000000-0000-7000-8000-000000000000/report').expect(404);
  }, 60_000);

  it('shares the report through a signed link that works without a key; forged → 404, expired → 410', async () => {
    const { html, token } = await openSharedReport(t, `/v1/journeys/${journey}`, 3);
    expect(html).toContain('&lt;script&gt;alert(&quot;j&quot;)&lt;/script&gt; &amp; onboarding');
    expect(figuresOf(html)).toEqual(expectedFigures(stats));
    await expectForgeriesRefused(t, token);
    const signer = new TokenSigner(t.config);
    const expired = signReportLink(signer, { kind: 'journey', id: journey, expires: Math.floor(Date.now() / 1000) - 1 });
    const gone = await t.http.get(`/r/${expired}`).expect(410);
    expect(gone.text).toContain('expired');
    expect(gone.text).not.toContain('data-figure');
    // The token names the kind: the journey's id read as a campaign's finds no campaign.
    const asCampaign = signReportLink(signer, { kind: 'campaign', id: journey, expires: Math.floor(Date.now() / 1000) + 60 });
    expect((await t.http.get(`/r/${asCampaign}`).expect(404)).text).toContain('The campaign this link was made for no longer exists');

    await t.http.post(`/v1/journeys/${journey}/report-link`).send({}).expect(401);
    await t.api('post', '/v1/journeys/00000000-0000-7000-8000-000000000000/report-link').send({}).expect(404);
    const r = await t.api('post', `/v1/journeys/${journey}/report-link`).send({ expiresInHours: 721 });
    expect([400, 422]).toContain(r.status);
    expect(JSON.stringify(r.body)).toContain('expiresInHours');
  });

  it('answers a link to a deleted journey with a 404 page', async () => {
    const draft = (
      await t
        .api('post', '/v1/journeys')
        .send({ name: 'short-lived', trigger: { type: 'api' }, steps: [{ id: 'end', type: 'exit' }] })
        .expect(201)
    ).body as { id: string };
    const { url } = (await t.api('post', `/v1/journeys/${draft.id}/report-link`).send({}).expect(201)).body as { url: string };
    await t.http.get(new URL(url).pathname).expect(200);
    await t.api('delete', `/v1/journeys/${draft.id}`).expect(204);
    const r = await t.http.get(new URL(url).pathname).expect(404);
    expect(r.text).toContain('The journey this link was made for no longer exists');
    expect(r.text).not.toContain('data-figure');
  });
});
