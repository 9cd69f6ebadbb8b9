import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

interface Campaign {
  id: string;
  status: string;
  progress: { total: number; queued: number; sent: number; failed: number; unknown: number; skipped: number; cancelled: number };
}

describe('sending campaigns', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let template: string;
  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({
      SMTP_URL: smtp.url,
      SMTP_POOL_SIZE: '5',
      SMTP_RATE: '5000',
      SEND_BATCH_SIZE: '100',
      SEND_RETRY_BASE_MS: '100',
      SEND_MAX_ATTEMPTS: '3',
    });
    template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'plain',
          mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{name}}</mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>',
        })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });
  beforeEach(() => {
    smtp.mails.length = 0;
    smtp.attempts.clear();
    smtp.policy = () => null;
  });

  const list = async (name: string, rows: string[], header = 'email,name') => {
    const id = (await t.api('post', '/v1/lists').send({ name, optIn: 'single' }).expect(201)).body.id as string;
    const res = await t
      .api('post', `/v1/lists/${id}/imports`)
      .set('Content-Type', 'text/csv')
      .send([header, ...rows].join('\n'))
      .expect(202);
    await eventually(async () => ((await t.api('get', `/v1/imports/${res.body.id}`)).body.status === 'completed' ? true : undefined), 30_000);
    return id;
  };
  const campaign = async (lists: string[], extra: object = {}) =>
    (
      await t
        .api('post', '/v1/campaigns')
        .send({ name: 'c', subject: 'Hello {{name}}', templateId: template, fromName: 'Shop', fromEmail: 'news@shop.example', audience: { lists }, ...extra })
        .expect(201)
    ).body.id as string;
  const get = async (id: string) => (await t.api('get', `/v1/campaigns/${id}`).expect(200)).body as Campaign;
  const until = (id: string, test: (c: Campaign) => boolean, ms = 60_000) =>
    eventually(async () => {
      const c = await get(id);
      return test(c) ? c : undefined;
    }, ms);

  it('sends to every confirmed, unsuppressed subscriber exactly once', async () => {
    const a = await list(
      'A',
      Array.from({ length: 2000 }, (_, i) => `a${i}@example.com,A ${i}`),
    );
    const b = await list('B', [
      ...Array.from({ length: 500 }, (_, i) => `a${i}@example.com,A ${i}`),
      ...Array.from({ length: 500 }, (_, i) => `b${i}@example.com,B ${i}`),
    ]);
    await t.api('post', '/v1/suppressions').send({ email: 'a7@example.com' }).expect(201);
    const leaver = (await t.api('get', '/v1/subscribers?email=b3@example.com').expect(200)).body.items[0].id;
    await t.api('delete', `/v1/lists/${b}/subscriptions/${leaver}`).expect(204);

    const id = await campaign([a, b]);
    const sending = await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    expect(sending.body.status).toBe('sending');
    const done = await until(id, (c) => c.status === 'sent');
    expect(done.progress).toMatchObject({ total: 2498, sent: 2498, queued: 0, failed: 0, unknown: 0 });

    const counts = smtp.counts();
    expect(counts.size).toBe(2498);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.has('a7@example.com')).toBe(false);
    expect(counts.has('b3@example.com')).toBe(false);
    const mail = smtp.mailsTo('b42@example.com')[0];
    expect(mail.parsed.subject).toBe('Hello B 42');
    expect(mail.raw.toString()).toMatch(/^List-I[dD]: "B" </m);
    const { rows } = await t.db.query(
      `SELECT count(*)::int AS n, count(DISTINCT smtp_response)::int AS responses FROM messages WHERE campaign_id = $1 AND status = 'sent' AND sent_at IS NOT NULL`,
      [id],
    );
    expect(rows[0].n).toBe(2498);

    // Illegal transitions name the current state.
    const again = await t.api('post', `/v1/campaigns/${id}/resume`).expect(409);
    expect(again.body.message).toContain('it is sent');
    await t.api('post', `/v1/campaigns/${id}/send`).expect(409);
    await t.api('post', `/v1/campaigns/${id}/cancel`).expect(409);
  });

  it('pauses within a batch, sends nothing while paused, resumes, and cancels', async () => {
    const l = await list(
      'slow',
      Array.from({ length: 400 }, (_, i) => `p${i}@example.com,P ${i}`),
    );
    const id = await campaign([l], { sendRate: 100 });
    await t.api('post', `/v1/campaigns/${id}/pause`).expect(409); // a draft cannot be paused
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    await until(id, (c) => c.progress.sent >= 50);
    const paused = await t.api('post', `/v1/campaigns/${id}/pause`).expect(200);
    expect(paused.body.status).toBe('paused');
    // The chunk in flight finishes: its mails are delivered before their messages leave `sending`/`submitting`.
    const inFlight = async () =>
      Number((await t.db.query(`SELECT count(*) AS n FROM messages WHERE campaign_id = $1 AND status IN ('sending', 'submitting')`, [id])).rows[0].n);
    await eventually(async () => ((await inFlight()) === 0 ? true : undefined), 10_000);
    const frozen = smtp.mails.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(smtp.mails.length).toBe(frozen);
    expect(frozen).toBeLessThan(400);
    // Mid-send, progress comes from the runs' tallies and the frozen total: the messages' own statuses agree.
    const statuses = await t.db.query(`SELECT status, count(*)::int AS n FROM messages WHERE campaign_id = $1 GROUP BY 1`, [id]);
    const counted = Object.fromEntries(statuses.rows.map((r: { status: string; n: number }) => [r.status, r.n]));
    expect((await get(id)).progress).toEqual({ total: 400, sent: frozen, queued: counted.queued, failed: 0, unknown: 0, skipped: 0, cancelled: 0 });
    expect(counted.sent).toBe(frozen);
    await t.api('post', `/v1/campaigns/${id}/resume`).expect(200);
    await until(id, (c) => c.progress.sent >= frozen + 50);
    const cancelled = await t.api('post', `/v1/campaigns/${id}/cancel`).expect(200);
    expect(cancelled.body.status).toBe('cancelled');
    // Once the chunk in flight is recorded, the cancelled campaign keeps its counts (they cannot change any more).
    const kept = await eventually(
      async () => (await t.db.query(`SELECT message_counts FROM campaigns WHERE id = $1`, [id])).rows[0].message_counts ?? undefined,
      10_000,
    );
    const final = await get(id);
    expect(kept).toEqual({ sent: final.progress.sent, cancelled: final.progress.cancelled });
    expect(final.progress.sent + final.progress.cancelled).toBe(400);
    expect(final.progress.cancelled).toBeGreaterThan(0);
    expect(smtp.mails.length).toBe(final.progress.sent);
    expect([...smtp.counts().values()].every((n) => n === 1)).toBe(true);
  });

  it('sends nothing more to someone who unsubscribes or is suppressed mid-campaign', async () => {
    const l = await list(
      'mid',
      Array.from({ length: 300 }, (_, i) => `m${i}@example.com,M ${i}`),
    );
    const id = await campaign([l], { sendRate: 100 });
    const started = Date.now();
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    await until(id, (c) => c.progress.total === 300 && c.progress.sent > 0);
    // The two recipients last in line: one unsubscribes, the other is suppressed.
    const { rows: last } = await t.db.query(
      `SELECT s.id, s.email FROM messages m JOIN subscribers s ON s.id = m.subscriber_id
       WHERE m.campaign_id = $1 AND m.status IN ('queued', 'sending') ORDER BY m.id DESC LIMIT 2`,
      [id],
    );
    await t.api('delete', `/v1/lists/${l}/subscriptions/${last[0].id}`).expect(204);
    await t.api('post', '/v1/suppressions').send({ email: last[1].email, reason: 'complaint' }).expect(201);
    const done = await until(id, (c) => c.status === 'sent');
    // sendRate 100/s with one second of burst: 300 messages need at least two seconds.
    expect(Date.now() - started).toBeGreaterThan(1800);
    expect(done.progress).toMatchObject({ sent: 298, skipped: 2 });
    expect(smtp.mailsTo(last[0].email)).toHaveLength(0);
    expect(smtp.mailsTo(last[1].email)).toHaveLength(0);
  });

  it('retries 4xx replies with backoff, gives up after the last attempt, and suppresses 5xx hard bounces', async () => {
    const l = await list('flaky', [
      'ok@example.com,Ok',
      'later@example.com,Later',
      'never@example.com,Never',
      'gone@example.com,Gone',
      'busy@example.com,Busy',
    ]);
    let busy = 0;
    smtp.policy = (to) => {
      if (to === 'later@example.com' && (smtp.attempts.get(to) ?? 0) <= 2) return { code: 451, message: 'try again' };
      if (to === 'never@example.com') return { code: 452, message: 'mailbox full' };
      if (to === 'gone@example.com') return { code: 550, message: 'no such user' };
      if (to === 'busy@example.com' && busy++ < 3) return { code: 421, message: 'too many connections, slow down' };
      return null;
    };
    const id = await campaign([l]);
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    const done = await until(id, (c) => c.status === 'sent');
    expect(done.progress).toMatchObject({ total: 5, sent: 3, failed: 2 });
    expect(smtp.mailsTo('later@example.com')).toHaveLength(1);
    expect(smtp.mailsTo('busy@example.com')).toHaveLength(1);
    const { rows } = await t.db.query(
      `SELECT s.email, m.status, m.attempts, m.bounce FROM messages m JOIN subscribers s ON s.id = m.subscriber_id WHERE m.campaign_id = $1 ORDER BY s.email`,
      [id],
    );
    expect(rows).toEqual([
      { email: 'busy@example.com', status: 'sent', attempts: 1, bounce: null }, // throttling replies use no attempt
      { email: 'gone@example.com', status: 'failed', attempts: 1, bounce: 'hard' },
      { email: 'later@example.com', status: 'sent', attempts: 3, bounce: null },
      { email: 'never@example.com', status: 'failed', attempts: 3, bounce: 'soft' },
      { email: 'ok@example.com', status: 'sent', attempts: 1, bounce: null },
    ]);
    const suppressed = (await t.api('get', '/v1/suppressions?limit=1000').expect(200)).body.items.map(
      (s: { email: string; reason: string }) => `${s.email}:${s.reason}`,
    );
    expect(suppressed).toContain('gone@example.com:hard_bounce');
    expect(suppressed).not.toContain('never@example.com:hard_bounce');
  });

  it('schedules at an instant, and at a wall-clock time in each recipient time zone', async () => {
    const l = await list(
      'zones',
      ['tokyo@example.com,T,Asia/Tokyo', 'paris@example.com,P,Europe/Paris', 'ny@example.com,N,America/New_York', 'none@example.com,X,'],
      'email,name,timezone',
    );
    const id = await campaign([l]);
    const bad = await t.api('post', `/v1/campaigns/${id}/schedule`).send({ at: 'tomorrow' }).expect(400);
    expect(bad.body.details[0].field).toBe('at');
    // 09:00 wall-clock the day after tomorrow, wherever the recipient is; no zone → the campaign's
    // Europe/Lisbon. (Tomorrow 09:00 at UTC+14 is already past when the suite runs after 19:00 UTC.)
    const day = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    const scheduled = await t
      .api('post', `/v1/campaigns/${id}/schedule`)
      .send({ at: `${day}T09:00:00`, localTime: true, timezone: 'Europe/Lisbon' })
      .expect(200);
    expect(scheduled.body).toMatchObject({ status: 'scheduled', localTime: true });
    await t.api('post', `/v1/campaigns/${id}/pause`).expect(409);

    // The start job waits for the earliest zone (UTC+14); run it now to see the per-recipient times.
    const { CampaignStarter } = await import('../src/campaigns/campaign-starter');
    await t.app.get(CampaignStarter).start(id);
    const { rows } = await t.db.query(
      `SELECT s.email, m.send_at FROM messages m JOIN subscribers s ON s.id = m.subscriber_id WHERE m.campaign_id = $1 ORDER BY s.email`,
      [id],
    );
    const expected = (zone: string) => {
      const guess = new Date(`${day}T09:00:00Z`);
      const offset =
        new Date(guess.toLocaleString('en-US', { timeZone: zone })).getTime() - new Date(guess.toLocaleString('en-US', { timeZone: 'UTC' })).getTime();
      return new Date(guess.getTime() - offset).toISOString();
    };
    expect(Object.fromEntries(rows.map((r: { email: string; send_at: Date }) => [r.email, r.send_at.toISOString()]))).toEqual({
      'none@example.com': expected('Europe/Lisbon'),
      'ny@example.com': expected('America/New_York'),
      'paris@example.com': expected('Europe/Paris'),
      'tokyo@example.com': expected('Asia/Tokyo'),
    });
    await t.api('post', `/v1/campaigns/${id}/cancel`).expect(200);

    // A plain schedule a moment ahead goes out on its own.
    const soon = await campaign([l]);
    await t
      .api('post', `/v1/campaigns/${soon}/schedule`)
      .send({ at: new Date(Date.now() + 1500).toISOString() })
      .expect(200);
    expect((await get(soon)).status).toBe('scheduled');
    const done = await until(soon, (c) => c.status === 'sent', 20_000);
    expect(done.progress.sent).toBe(4);
  });
});
