import { DateTriggers } from '../src/journeys/date-triggers';
import { localDate, nextLocalTime, zonedInstant } from '../src/journeys/local-time';
import { Webhook } from 'standardwebhooks';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { WebhookReceiver } from './support/webhook-receiver';

const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const FROM = { fromName: 'Shop', fromEmail: 'news@shop.example' };

/**
 * Journeys end to end, on real Postgres, Redis and an SMTP capture, with time made short: waits of
 * seconds. Where a wait is for a moment of the day (a birthday at 09:00, quiet hours, the cap's
 * window), the test checks the moment the engine chose, then brings it forward in the database
 * as the clock would, and sees the mail go.
 */
describe('journeys: the engine', () => {
  const smtp = new SmtpCapture();
  const receiver = new WebhookReceiver();
  let t: TestApp;
  let template: string;
  let n = 0;

  beforeAll(async () => {
    await smtp.start();
    await receiver.start();
    t = await startTestApp({
      SMTP_URL: smtp.url,
      SMTP_POOL_SIZE: '5',
      SMTP_RATE: '5000',
      SEGMENT_REFRESH_MINUTES: '1440',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_POLL_MS: '100',
    });
    template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'journey mail',
          subject: 'unused',
          mjml: `<mjml><mj-body><mj-section><mj-column>
            <mj-text>Hello {{subscriber.email}} {{trigger.properties.cartId}} {{data.code}} <a href="https://shop.example/cart">Back to the shop</a></mj-text>
          </mj-column></mj-section></mj-body></mjml>`,
        })
        .expect(201)
    ).body.id;
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await smtp.stop();
    await receiver.stop();
  });

  const list = async () =>
    (
      await t
        .api('post', '/v1/lists')
        .send({ name: `list ${++n}`, optIn: 'single' })
        .expect(201)
    ).body.id as string;
  const send = (id: string, subject: string, extra: object = {}) => ({ id, type: 'send', templateId: template, subject, ...FROM, ...extra });
  const journey = async (body: object) => {
    const j = (
      await t
        .api('post', '/v1/journeys')
        .send({ name: `journey ${++n}`, ...body })
        .expect(201)
    ).body;
    await t.api('post', `/v1/journeys/${j.id}/publish`).expect(200);
    return j.id as string;
  };
  const person = async (email: string, lists: string[], extra: object = {}) =>
    (
      await t
        .api('post', '/v1/subscribers')
        .send({ email, lists, ...extra })
        .expect(201)
    ).body.id as string;
  const subjects = (email: string) => smtp.mailsTo(email).map((m) => m.parsed.subject);
  const enrolments = async (journeyId: string, subscriber?: string) =>
    (await t.api('get', `/v1/journeys/${journeyId}/enrolments${subscriber ? `?subscriber=${subscriber}` : ''}`).expect(200)).body as {
      id: string;
      status: string;
      version: number;
      stepId: string | null;
      waiting: boolean;
      dueAt: string | null;
      endReason: string | null;
      history: { stepId: string; enteredAt: string; outcome: string | null; message?: { status: string } }[];
    }[];
  const track = (userId: string, event: string, properties: object) => t.api('post', '/v1/track').send({ userId, event, properties }).expect(200);
  /** What the clock would do: the enrolment's moment is now. */
  const bringForward = (enrolmentId: string) => t.db.query(`UPDATE journey_enrolments SET due_at = now() WHERE id = $1`, [enrolmentId]);

  it('welcome series: a confirmed subscription → send → wait 2 s → send, in order, with campaign headers; stats per step', async () => {
    const welcome = await list();
    const id = await journey({
      trigger: { type: 'listJoined', listId: welcome },
      steps: [
        send('hello', 'Welcome {{subscriber.email}}', { next: 'pause' }),
        { id: 'pause', type: 'wait', duration: 'PT2S', next: 'tips' },
        send('tips', 'Three tips'),
      ],
      settings: { lists: [welcome] },
    });
    const started = Date.now();
    await person('new@example.com', [welcome]);
    await eventually(() => (subjects('new@example.com').length === 1 ? true : undefined));
    expect(subjects('new@example.com')).toEqual(['Welcome new@example.com']);
    const first = smtp.mailsTo('new@example.com')[0].raw.toString();
    expect(first).toMatch(/^List-Unsubscribe:\s+<https:\/\/edm\.test\/u\//m);
    expect(first).toMatch(/^List-Id: "list \d+"/im);
    await eventually(() => (subjects('new@example.com').length === 2 ? true : undefined), 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(subjects('new@example.com')).toEqual(['Welcome new@example.com', 'Three tips']);

    const [e] = await eventually(async () => {
      const all = await enrolments(id);
      return all[0]?.status === 'completed' ? all : undefined;
    });
    expect(e.history.map((h) => [h.stepId, h.outcome])).toEqual([
      ['hello', 'sent'],
      ['pause', 'next'],
      ['tips', 'sent'],
    ]);
    const stats = (await t.api('get', `/v1/journeys/${id}/stats`).expect(200)).body;
    expect(stats).toMatchObject({ enrolled: 1, completed: 1, active: 0, goal: null });
    expect(stats.steps.find((s: { stepId: string }) => s.stepId === 'pause')).toMatchObject({ entered: 1, waiting: 0, completed: 1, exited: 0 });
    expect(stats.steps.find((s: { stepId: string }) => s.stepId === 'tips')).toMatchObject({ entered: 1, exited: 1, messages: { sent: 1 } });
    // A second confirmation of the same list (already confirmed) enrols nobody again.
    await t.api('post', `/v1/lists/${welcome}/subscriptions`).send({ email: 'new@example.com', consent: { source: 'api' } });
    await new Promise((r) => setTimeout(r, 500));
    expect(await enrolments(id)).toHaveLength(1);
  });

  it('abandoned cart: waits for Order Completed with the same cart id; that purchase ends it without mail, a timeout sends the reminder', async () => {
    const shop = await list();
    const id = await journey({
      trigger: { type: 'event', event: 'Cart Abandoned', where: [{ property: 'total', op: 'gte', value: 10 }] },
      steps: [
        {
          id: 'await',
          type: 'waitForEvent',
          event: 'Order Completed',
          match: { cartId: '{{trigger.properties.cartId}}' },
          timeout: 'PT3S',
          next: 'bought',
          timeoutNext: 'remind',
        },
        { id: 'bought', type: 'exit' },
        send('remind', 'You left cart {{trigger.properties.cartId}}'),
      ],
      settings: { lists: [shop] },
    });
    for (const who of ['buyer', 'leaver', 'other-cart', 'small']) {
      await person(`${who}@example.com`, [shop]);
      await t
        .api('post', '/v1/identify')
        .send({ userId: who, traits: { email: `${who}@example.com` } })
        .expect(200);
    }
    await track('buyer', 'Cart Abandoned', { cartId: 'c-1', total: 50 });
    await track('leaver', 'Cart Abandoned', { cartId: 'c-2', total: 50 });
    await track('other-cart', 'Cart Abandoned', { cartId: 'c-3', total: 50 });
    await track('small', 'Cart Abandoned', { cartId: 'c-4', total: 5 }); // below the trigger's filter
    await track('buyer', 'Order Completed', { cartId: 'c-1', revenue: 50 });
    await track('other-cart', 'Order Completed', { cartId: 'c-999' }); // another cart: the wait goes on

    await eventually(() => (subjects('leaver@example.com').length && subjects('other-cart@example.com').length ? true : undefined), 15_000);
    expect(subjects('leaver@example.com')).toEqual(['You left cart c-2']);
    expect(String(smtp.mailsTo('leaver@example.com')[0].parsed.html)).toContain('c-2');
    const all = await eventually(async () => {
      const es = await enrolments(id);
      return es.length === 3 && es.every((e) => e.status !== 'active') ? es : undefined;
    });
    expect(subjects('buyer@example.com')).toEqual([]);
    expect(subjects('small@example.com')).toEqual([]);
    const outcomes = all.map((e) => [e.status, e.endReason, e.history.map((h) => `${h.stepId}:${h.outcome}`).join(',')]).sort();
    expect(outcomes).toEqual([
      ['completed', 'completed', 'await:timeout,remind:sent'],
      ['completed', 'completed', 'await:timeout,remind:sent'],
      ['exited', 'exit', 'await:event,bought:exit'],
    ]);
  });

  it('a goal event ends the journey where the person is and counts as its conversion', async () => {
    const id = await journey({
      trigger: { type: 'api' },
      steps: [{ id: 'w', type: 'wait', duration: 'PT4S', next: 'm' }, send('m', 'Still thinking?', { transactional: true })],
      settings: { goal: { event: 'Signed Up', withinDays: 7 } },
    });
    for (const who of ['signer', 'thinker']) {
      await t
        .api('post', '/v1/identify')
        .send({ userId: who, traits: { email: `${who}@example.com` } })
        .expect(200);
      await t.api('post', `/v1/journeys/${id}/enrol`).send({ userId: who }).expect(201);
    }
    await eventually(async () => ((await enrolments(id)).every((e) => e.waiting) ? true : undefined));
    await track('signer', 'Signed Up', { plan: 'pro' });
    await eventually(() => (subjects('thinker@example.com').length ? true : undefined), 10_000);
    expect(subjects('signer@example.com')).toEqual([]);
    const ended = (await enrolments(id)).map((e) => [e.endReason, e.history.map((h) => `${h.stepId}:${h.outcome}`).join(',')]).sort();
    expect(ended).toEqual([
      ['completed', 'w:next,m:sent'],
      ['goal', 'w:goal'],
    ]);
    const stats = (await t.api('get', `/v1/journeys/${id}/stats`).expect(200)).body;
    expect(stats.goal).toEqual({ reached: 1, rate: 0.5 });
    expect(stats.steps.find((s: { stepId: string }) => s.stepId === 'w')).toMatchObject({ entered: 2, completed: 2, exited: 1 });
  });

  it('birthday at 09:00 in each subscriber’s own time zone: enrolled ahead for that moment, sent when it comes', async () => {
    const club = await list();
    const zones = ['Asia/Tokyo', 'America/New_York'];
    const now = new Date();
    const moments = zones.map((tz) => nextLocalTime(now, '09:00', tz));
    const ids: string[] = [];
    for (const [i, tz] of zones.entries()) {
      const birthday = `1990-${localDate(moments[i], tz).date.slice(5)}`;
      ids.push(await person(`bday${i}@example.com`, [club], { timezone: tz, attributes: { birthday } }));
    }
    const id = await journey({
      trigger: { type: 'date', attribute: 'birthday', at: '09:00' },
      steps: [send('wish', 'Happy birthday!')],
      settings: { lists: [club], reentry: { afterDays: 300 } },
    });
    await t.app.get(DateTriggers).scanDates();
    const waiting = await Promise.all(ids.map(async (s) => (await enrolments(id, s))[0]));
    for (const [i, tz] of zones.entries()) {
      expect(waiting[i]).toMatchObject({ status: 'active', stepId: 'wish', waiting: false });
      expect(waiting[i].dueAt).toBe(zonedInstant(localDate(moments[i], tz).date, '09:00', tz).toISOString());
      expect(localDate(new Date(waiting[i].dueAt!), tz).minutes).toBe(9 * 60);
    }
    expect(waiting[0].dueAt).not.toBe(waiting[1].dueAt);
    // A second scan enrols nobody twice.
    await t.app.get(DateTriggers).scanDates();
    expect(await enrolments(id)).toHaveLength(2);
    expect(subjects('bday0@example.com')).toEqual([]);
    for (const e of waiting) await bringForward(e.id);
    await eventually(() => (subjects('bday0@example.com').length && subjects('bday1@example.com').length ? true : undefined), 10_000);
    expect(subjects('bday0@example.com')).toEqual(['Happy birthday!']);
  });

  it('branches on whether a person opened the first mail', async () => {
    const news = await list();
    const id = await journey({
      trigger: { type: 'listJoined', listId: news },
      steps: [
        send('first', 'First', { next: 'later' }),
        { id: 'later', type: 'wait', duration: 'PT3S', next: 'opened' },
        { id: 'opened', type: 'branch', rules: { step: 'first', engagement: 'opened' }, yes: 'thanks', no: 'nudge' },
        send('thanks', 'Thanks for reading'),
        send('nudge', 'Did you see this?'),
      ],
      settings: { lists: [news] },
    });
    await person('reader@example.com', [news]);
    await person('skipper@example.com', [news]);
    const mail = await eventually(() => smtp.mailsTo('reader@example.com')[0]);
    const pixel = /https:\/\/edm\.test(\/t\/o\/[^"']+)/.exec(String(mail.parsed.html))![1];
    await t.http.get(pixel).set('User-Agent', PERSON).expect(200);
    await eventually(() => (subjects('reader@example.com').length === 2 && subjects('skipper@example.com').length === 2 ? true : undefined), 15_000);
    expect(subjects('reader@example.com')).toEqual(['First', 'Thanks for reading']);
    expect(subjects('skipper@example.com')).toEqual(['First', 'Did you see this?']);
    const stats = (await t.api('get', `/v1/journeys/${id}/stats`).expect(200)).body;
    expect(stats.steps.find((s: { stepId: string }) => s.stepId === 'first').engagement.opens.uniqueHuman).toBe(1);
  });

  it('re-entry: never, after exit, after N days — and at most one active enrolment', async () => {
    const make = (reentry: unknown) => journey({ trigger: { type: 'api' }, steps: [{ id: 'hold', type: 'wait', duration: 'PT1S' }], settings: { reentry } });
    const [never, afterExit, afterDays] = await Promise.all([make('never'), make('afterExit'), make({ afterDays: 30 })]);
    const enrol = (j: string) => t.api('post', `/v1/journeys/${j}/enrol`).send({ email: 'again@example.com', data: { code: 'X' } });
    for (const j of [never, afterExit, afterDays]) {
      await enrol(j).expect(201);
      const busy = await enrol(j).expect(409);
      expect(busy.body.details[0]).toMatchObject({ field: 'email' });
      await eventually(async () => ((await enrolments(j))[0].status === 'completed' ? true : undefined));
    }
    await enrol(never).expect(409);
    await enrol(afterExit).expect(201);
    await enrol(afterDays).expect(409);
    // Enrolment is only for api journeys, of the right shape.
    await t.api('post', `/v1/journeys/${never}/enrol`).send({ email: 'x@example.com', userId: 'u' }).expect(400);
  });

  it('a journey edited while people are in it: they finish on their version, newcomers get the new one', async () => {
    const id = await journey({
      trigger: { type: 'api' },
      steps: [
        send('a', 'v1 first', { next: 'w', transactional: true }),
        { id: 'w', type: 'wait', duration: 'PT3S', next: 'b' },
        send('b', 'v1 second', { transactional: true }),
      ],
    });
    await t.api('post', `/v1/journeys/${id}/enrol`).send({ email: 'early@example.com' }).expect(201);
    await eventually(() => (subjects('early@example.com').length === 1 ? true : undefined));
    await t
      .api('put', `/v1/journeys/${id}`)
      .send({
        name: 'edited',
        trigger: { type: 'api' },
        steps: [send('a', 'v2 first', { next: 'c', transactional: true }), send('c', 'v2 second', { transactional: true })],
      })
      .expect(200);
    await t.api('post', `/v1/journeys/${id}/publish`).expect(200);
    await t.api('post', `/v1/journeys/${id}/enrol`).send({ email: 'late@example.com' }).expect(201);
    await eventually(() => (subjects('early@example.com').length === 2 && subjects('late@example.com').length === 2 ? true : undefined), 10_000);
    expect(subjects('early@example.com')).toEqual(['v1 first', 'v1 second']);
    expect(subjects('late@example.com')).toEqual(['v2 first', 'v2 second']);
    expect((await enrolments(id)).map((e) => e.version).sort()).toEqual([1, 2]);
  });

  it('a paused journey holds everyone where they are, and resumes them', async () => {
    const id = await journey({
      trigger: { type: 'api' },
      steps: [{ id: 'w', type: 'wait', duration: 'PT1S', next: 'm' }, send('m', 'After the pause', { transactional: true })],
    });
    await t.api('post', `/v1/journeys/${id}/enrol`).send({ email: 'held@example.com' }).expect(201);
    await t.api('post', `/v1/journeys/${id}/pause`).expect(200);
    await t.api('post', `/v1/journeys/${id}/enrol`).send({ email: 'other@example.com' }).expect(409);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(subjects('held@example.com')).toEqual([]);
    await t.api('post', `/v1/journeys/${id}/resume`).expect(200);
    await eventually(() => (subjects('held@example.com').length === 1 ? true : undefined), 10_000);
  });

  it('quiet hours: a send due inside them waits for their end in the recipient’s zone', async () => {
    const quiet = await list();
    const tz = 'Asia/Kolkata';
    const now = new Date();
    const local = localDate(now, tz).minutes;
    const hhmm = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    // Quiet from an hour ago until the next full minute.
    const id = await journey({
      trigger: { type: 'listJoined', listId: quiet },
      steps: [send('m', 'Good morning')],
      settings: { lists: [quiet], quietHours: { from: hhmm(local + 24 * 60 - 60), to: hhmm(local + 1) } },
    });
    const who = await person('sleeper@example.com', [quiet], { timezone: tz });
    const [e] = await eventually(async () => {
      const es = await enrolments(id, who);
      return es[0]?.waiting ? es : undefined;
    });
    const end = zonedInstant(localDate(new Date(e.dueAt!), tz).date, hhmm(local + 1), tz);
    expect(e.dueAt).toBe(end.toISOString());
    expect(subjects('sleeper@example.com')).toEqual([]);
    await eventually(() => (subjects('sleeper@example.com').length ? true : undefined), 75_000);
    expect(smtp.mailsTo('sleeper@example.com')[0].parsed.date!.getTime()).toBeGreaterThanOrEqual(end.getTime());
  }, 90_000);

  it('frequency cap across journeys and campaigns: a send that would break it waits for the moment it may go', async () => {
    const capped = await list();
    const other = await journey({ trigger: { type: 'api' }, steps: [send('m', 'Other journey')], settings: { lists: [capped] } });
    const id = await journey({
      trigger: { type: 'api' },
      steps: [send('m', 'Capped')],
      settings: { lists: [capped], frequencyCap: { max: 2, perHours: 24 } },
    });
    const who = await person('busy@example.com', [capped]);
    // Two marketing mails within the day: a campaign's, then another journey's.
    const campaign = (
      await t
        .api('post', '/v1/campaigns')
        .send({ name: 'news', subject: 'Campaign news', templateId: template, ...FROM, audience: { lists: [capped] } })
        .expect(201)
    ).body.id;
    await t.api('post', `/v1/campaigns/${campaign}/send`).expect(200);
    await eventually(() => (subjects('busy@example.com').length === 1 ? true : undefined), 15_000);
    await t.api('post', `/v1/journeys/${other}/enrol`).send({ subscriberId: who }).expect(201);
    await eventually(() => (subjects('busy@example.com').length === 2 ? true : undefined));
    await t.api('post', `/v1/journeys/${id}/enrol`).send({ subscriberId: who }).expect(201);
    const [e] = await eventually(async () => {
      const es = await enrolments(id, who);
      return es[0]?.waiting ? es : undefined;
    });
    // It may go when the older of the two (the campaign's) leaves the 24-hour window.
    const [campaignMail] = (await t.db.query(`SELECT sent_at FROM messages WHERE subscriber_id = $1`, [who])).rows;
    expect(new Date(e.dueAt!).getTime()).toBe(new Date(campaignMail.sent_at).getTime() + 24 * 3_600_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(subjects('busy@example.com')).toEqual(['Campaign news', 'Other journey']);
    // A day passes: the campaign mail leaves the window.
    await t.db.query(`UPDATE messages SET sent_at = sent_at - interval '1 day' WHERE subscriber_id = $1`, [who]);
    await bringForward(e.id);
    await eventually(() => (subjects('busy@example.com').length === 3 ? true : undefined), 10_000);
    expect(subjects('busy@example.com')).toEqual(['Campaign news', 'Other journey', 'Capped']);
  });

  it('segment entered → a deterministic split → wait until a local time of day; journey.completed reaches a webhook, signed', async () => {
    const hook = (
      await t
        .api('post', '/v1/webhooks')
        .send({ url: `${receiver.url}/journeys`, events: ['journey.completed'] })
        .expect(201)
    ).body;
    const segment = (
      await t
        .api('post', '/v1/segments')
        .send({ name: 'vip', rules: { attribute: 'tier', op: 'eq', value: 'vip' } })
        .expect(201)
    ).body.id;
    const id = await journey({
      trigger: { type: 'segmentEntered', segmentId: segment },
      steps: [
        { id: 'ab', type: 'split', weights: [1, 1], next: ['morning', 'now'] },
        { id: 'morning', type: 'waitUntil', at: '09:30', days: ['mon', 'wed'], next: 'm' },
        send('now', 'VIP now', { transactional: true }),
        send('m', 'VIP morning', { transactional: true }),
      ],
    });
    const people: string[] = [];
    for (let i = 0; i < 12; i++) people.push(await person(`vip${i}@example.com`, [], { attributes: { tier: 'vip' }, timezone: 'Europe/Paris' }));
    await t.api('post', `/v1/segments/${segment}/refresh`).expect(200);
    const all = await eventually(async () => {
      const es = await enrolments(id);
      return es.length === 12 && es.every((e) => e.status === 'completed' || e.waiting) ? es : undefined;
    });
    const waiting = all.filter((e) => e.waiting);
    // Both arms are taken, and the same person always takes the same arm (a hash, not a coin).
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.length).toBeLessThan(12);
    for (const e of waiting) {
      expect(e.stepId).toBe('morning');
      const local = localDate(new Date(e.dueAt!), 'Europe/Paris');
      expect([local.weekday, local.minutes]).toEqual([expect.stringMatching(/^(mon|wed)$/), 9 * 60 + 30]);
      expect(e.dueAt).toBe(nextLocalTime(new Date(e.history[1].enteredAt), '09:30', 'Europe/Paris', ['mon', 'wed']).toISOString());
    }
    // Refreshing again enrols nobody twice (they are still members); the morning comes.
    await t.api('post', `/v1/segments/${segment}/refresh`).expect(200);
    expect(await enrolments(id)).toHaveLength(12);
    for (const e of waiting) await bringForward(e.id);
    await eventually(async () => ((await enrolments(id)).every((e) => e.status === 'completed') ? true : undefined), 10_000);
    const morning = waiting.length;
    await eventually(() => (smtp.mails.filter((m) => m.parsed.subject?.startsWith('VIP')).length === 12 ? true : undefined), 10_000);
    expect(smtp.mails.filter((m) => m.parsed.subject === 'VIP morning')).toHaveLength(morning);
    expect(smtp.mails.filter((m) => m.parsed.subject === 'VIP now')).toHaveLength(12 - morning);
    // journey.completed, once per enrolment, verified with the standardwebhooks package.
    const delivered = await eventually(() => (receiver.to('/journeys').length >= 12 ? receiver.to('/journeys') : undefined), 15_000);
    const verifier = new Webhook(hook.secret);
    const payloads = delivered.map(
      (r) => verifier.verify(r.body, r.headers as Record<string, string>) as { type: string; data: { journeyId: string; subscriberId: string } },
    );
    expect(payloads.every((p) => p.type === 'journey.completed' && p.data.journeyId === id)).toBe(true);
    expect(new Set(payloads.map((p) => p.data.subscriberId))).toEqual(new Set(people));
  });

  it('an enrolment that cannot run ends with its error, and the others of its batch go on', async () => {
    const id = await journey({
      trigger: { type: 'api' },
      steps: [{ id: 'w', type: 'wait', duration: 'PT2S', next: 'm' }, send('m', 'Went on', { transactional: true })],
    });
    const enrolled: string[] = [];
    for (const who of ['fine1', 'broken', 'fine2'])
      enrolled.push(
        (
          await t
            .api('post', `/v1/journeys/${id}/enrol`)
            .send({ email: `${who}@example.com` })
            .expect(201)
        ).body.enrolmentId,
      );
    // The database refuses to finish the wait of one of them, as a fault of that enrolment would.
    await t.db.query(`CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.enrolment_id = '${enrolled[1]}' AND NEW.outcome = 'next' THEN RAISE EXCEPTION 'simulated fault'; END IF; RETURN NEW; END $$`);
    await t.db.query(`CREATE TRIGGER refuse_one BEFORE INSERT OR UPDATE ON journey_steps FOR EACH ROW EXECUTE FUNCTION refuse_one()`);
    try {
      await eventually(() => (subjects('fine1@example.com').length && subjects('fine2@example.com').length ? true : undefined), 15_000);
      const broken = await eventually(async () => {
        const [e] = await enrolments(id, (await t.api('get', '/v1/subscribers?email=broken@example.com').expect(200)).body.items[0].id);
        return e?.status === 'exited' ? e : undefined;
      });
      expect(broken).toMatchObject({ endReason: 'error', stepId: null });
      expect(broken.history[0]).toMatchObject({ stepId: 'w', outcome: expect.stringContaining('simulated fault') });
      expect(subjects('broken@example.com')).toEqual([]);
    } finally {
      await t.db.query(`DROP TRIGGER refuse_one ON journey_steps; DROP FUNCTION refuse_one()`);
    }
  });
});
