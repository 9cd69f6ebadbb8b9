import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { WorkerProcess } from './support/worker-process';

const POOL = 5;

describe('worker processes: scale-out and crashes', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let template: string;
  beforeAll(async () => {
    await smtp.start();
    // The API only: every send below is done by separate worker processes.
    // Four dispatch jobs per campaign, two per worker: two workers share a campaign.
    t = await startTestApp({
      ROLE: 'api',
      SMTP_URL: smtp.url,
      SMTP_POOL_SIZE: String(POOL),
      SMTP_RATE: '100000',
      SEND_BATCH_SIZE: '50',
      DISPATCH_JOBS: '4',
      WORKER_CONCURRENCY: '2',
    });
    template = (
      await t
        .api('post', '/v1/templates')
        .send({ name: 'w', mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{name}}</mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>' })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });
  beforeEach(() => {
    smtp.mails.length = 0;
    smtp.dataDelayMs = 0;
  });

  /** Subscribers straight into the database (the import path is tested elsewhere). */
  const audience = async (prefix: string, n: number) => {
    const list = (await t.api('post', '/v1/lists').send({ name: prefix, optIn: 'single' }).expect(201)).body.id as string;
    await t.db.query(
      `WITH s AS (INSERT INTO subscribers (email, name) SELECT $1 || i || '@example.com', 'R' || i FROM generate_series(1, $2) i RETURNING id)
       INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT id, $3, 'confirmed', now() FROM s`,
      [prefix, n, list],
    );
    const id = (
      await t
        .api('post', '/v1/campaigns')
        .send({ name: prefix, subject: 'Hi {{name}}', templateId: template, fromName: 'S', fromEmail: 's@shop.example', audience: { lists: [list] } })
        .expect(201)
    ).body.id as string;
    return id;
  };
  const progress = async (id: string) => (await t.api('get', `/v1/campaigns/${id}`).expect(200)).body;

  it('two worker processes share one campaign with no duplicates', async () => {
    const id = await audience('two', 1500);
    smtp.dataDelayMs = 2;
    const workers = await Promise.all([new WorkerProcess(t.env).start(), new WorkerProcess(t.env).start()]);
    try {
      await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
      const done = await eventually(async () => {
        const c = await progress(id);
        return c.status === 'sent' ? c : undefined;
      }, 90_000);
      expect(done.progress).toMatchObject({ total: 1500, sent: 1500, unknown: 0 });
      const counts = smtp.counts();
      expect(counts.size).toBe(1500);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      const { rows } = await t.db.query(`SELECT sent_by, count(*)::int AS n FROM messages WHERE campaign_id = $1 GROUP BY sent_by`, [id]);
      expect(rows).toHaveLength(2);
      for (const r of rows) expect(r.n).toBeGreaterThan(100);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 120_000);

  it('rebuilds a lost schedule from Postgres when a worker starts', async () => {
    const id = await audience('sched', 50);
    await t
      .api('post', `/v1/campaigns/${id}/schedule`)
      .send({ at: new Date(Date.now() + 2000).toISOString() })
      .expect(200);
    // Redis loses the delayed start job (a flushed or replaced Redis): Postgres still says scheduled.
    const { Queue } = await import('bullmq');
    const queue = new Queue('campaigns', { connection: { url: t.config.redis.url }, prefix: t.config.redis.prefix });
    expect(await queue.getJob(`start-${id}`)).toBeDefined();
    await (await queue.getJob(`start-${id}`))!.remove();
    await queue.close();
    const worker = await new WorkerProcess(t.env).start();
    try {
      const done = await eventually(async () => {
        const c = await progress(id);
        return c.status === 'sent' ? c : undefined;
      }, 30_000);
      expect(done.progress.sent).toBe(50);
      expect(new Date(done.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(done.scheduledAt).getTime());
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('drains on SIGTERM: the chunk in flight finishes, the rest goes back to the queue', async () => {
    const id = await audience('term', 800);
    smtp.dataDelayMs = 10;
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    const worker = await new WorkerProcess(t.env).start();
    await eventually(() => (smtp.mails.length >= 100 ? true : undefined), 60_000);
    const stopping = Date.now();
    await worker.stop('SIGTERM');
    expect(Date.now() - stopping).toBeLessThan(10_000);
    const { rows } = await t.db.query(`SELECT status, count(*)::int AS n FROM messages WHERE campaign_id = $1 GROUP BY status ORDER BY status`, [id]);
    const byStatus = Object.fromEntries(rows.map((r: { status: string; n: number }) => [r.status, r.n]));
    expect(byStatus.sending ?? 0).toBe(0);
    expect(byStatus.submitting ?? 0).toBe(0);
    expect(byStatus.unknown ?? 0).toBe(0);
    expect(byStatus.sent).toBe(smtp.mails.length);
    const next = await new WorkerProcess(t.env).start();
    try {
      const done = await eventually(async () => {
        const c = await progress(id);
        return c.status === 'sent' ? c : undefined;
      }, 60_000);
      expect(done.progress).toMatchObject({ sent: 800, unknown: 0 });
      const { rows: retried } = await t.db.query(`SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND attempts > 1`, [id]);
      expect(retried[0].n).toBe(0); // draining never cut an SMTP transaction short
      expect([...smtp.counts().values()].every((n) => n === 1)).toBe(true);
    } finally {
      await next.stop();
    }
  }, 120_000);

  it('survives SIGKILL mid-campaign, again and again: zero duplicates, unknown at most what was in flight', async () => {
    const id = await audience('crash', 2000);
    smtp.dataDelayMs = 15; // keep SMTP transactions open, so that kills land inside them
    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    const kills = 3;
    for (let k = 0; k < kills; k++) {
      const worker = await new WorkerProcess(t.env).start();
      const before = smtp.mails.length;
      await eventually(() => (smtp.mails.length >= before + 150 ? true : undefined), 60_000);
      await worker.kill();
    }
    const last = await new WorkerProcess(t.env).start();
    try {
      const done = await eventually(async () => {
        const c = await progress(id);
        return c.status === 'sent' ? c : undefined;
      }, 90_000);
      const counts = smtp.counts();
      expect([...counts.values()].filter((n) => n > 1)).toEqual([]); // zero duplicates
      const { rows } = await t.db.query(`SELECT s.email, m.status FROM messages m JOIN subscribers s ON s.id = m.subscriber_id WHERE m.campaign_id = $1`, [id]);
      const unknown = rows.filter((r: { status: string }) => r.status === 'unknown');
      // Every recipient either received it (and is counted sent, or unknown when the kill came
      // before the outcome was recorded) or is counted unknown.
      for (const r of rows as { email: string; status: string }[]) {
        if (r.status === 'sent') expect(counts.get(r.email)).toBe(1);
        else expect(r.status).toBe('unknown');
      }
      expect(done.progress.sent + done.progress.unknown).toBe(2000);
      expect(unknown.length).toBeLessThanOrEqual(kills * POOL * 2); // per kill: at most one chunk per running dispatch job
      console.log(`crash test: ${kills} kills, ${done.progress.sent} sent, ${unknown.length} unknown, ${counts.size} received`);
    } finally {
      await last.stop();
    }
  }, 240_000);
});
