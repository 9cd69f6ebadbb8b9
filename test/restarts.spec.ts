import { loadConfig } from '../src/config/config';
import { prepareDatabase } from '../src/database/database';
import { PrivatePostgres, PrivateRedis } from './support/private-servers';
import { SmtpCapture } from './support/smtp-capture';
import { startTestApp, TestApp } from './support/test-app';
import { WorkerProcess } from './support/worker-process';

const POOL = 5;
const JOBS = 4;
const RECIPIENTS = 3000;
/** Messages/s: the campaign takes ten seconds, so the restart lands in the middle of it. */
const RATE = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value; errors (the database being down) count as "not yet". */
async function poll<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(100);
  }
}

interface Platform {
  t: TestApp;
  smtp: SmtpCapture;
  workers: WorkerProcess[];
  template: string;
}

/** As deployed: the API in this process, two worker processes sharing the campaign (two dispatch jobs each). */
async function startPlatform(env: Record<string, string>): Promise<Platform> {
  const smtp = await new SmtpCapture().start();
  smtp.dataDelayMs = 5; // SMTP transactions stay open for a moment, so a failure can land inside one
  const t = await startTestApp({
    ROLE: 'api',
    SMTP_URL: smtp.url,
    SMTP_POOL_SIZE: String(POOL),
    SMTP_RATE: String(RATE),
    SEND_BATCH_SIZE: '100',
    DISPATCH_JOBS: String(JOBS),
    WORKER_CONCURRENCY: '2',
    ...env,
  });
  const workers = await Promise.all([new WorkerProcess(t.env).start(60_000), new WorkerProcess(t.env).start(60_000)]);
  const template = (
    await t
      .api('post', '/v1/templates')
      .send({ name: 'r', mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{name}}</mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>' })
      .expect(201)
  ).body.id as string;
  return { t, smtp, workers, template };
}

async function stopPlatform(p: Platform | undefined): Promise<void> {
  if (!p) return;
  // A worker stuck on a server that is gone must not hang the suite: SIGKILL after 10 s.
  await Promise.all(
    p.workers.map(async (w) => {
      const timer = setTimeout(() => void w.kill(), 10_000);
      await w.stop();
      clearTimeout(timer);
    }),
  );
  await p.t.close();
  await p.smtp.stop();
}

/** A campaign to `n` new subscribers `<prefix><i>@example.com` (straight into the database). */
async function campaign(p: Platform, prefix: string, n: number): Promise<string> {
  const { t } = p;
  const list = (await t.api('post', '/v1/lists').send({ name: prefix, optIn: 'single' }).expect(201)).body.id as string;
  await t.db.query(
    `WITH s AS (INSERT INTO subscribers (email, name) SELECT $1 || i || '@example.com', 'R' || i FROM generate_series(1, $2) i RETURNING id)
     INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT id, $3, 'confirmed', now() FROM s`,
    [prefix, n, list],
  );
  return (
    await t
      .api('post', '/v1/campaigns')
      .send({ name: prefix, subject: 'Hi {{name}}', templateId: p.template, fromName: 'S', fromEmail: 's@shop.example', audience: { lists: [list] } })
      .expect(201)
  ).body.id as string;
}

const isSent = async (t: TestApp, id: string) =>
  (await t.db.query(`SELECT 1 FROM campaigns WHERE id = $1 AND status = 'sent'`, [id])).rowCount ? true : undefined;

/**
 * Checks a finished campaign of `n` recipients against the SMTP capture: zero duplicates, every
 * `sent` recipient received exactly once, nothing else but `unknown`, and progress adding up.
 * Returns how many are `unknown`.
 */
async function expectDeliveredOnce(p: Platform, id: string, n: number): Promise<number> {
  const counts = p.smtp.counts();
  expect([...counts.entries()].filter(([, c]) => c > 1)).toEqual([]); // zero duplicates
  const { rows } = await p.t.db.query<{ email: string; status: string }>(
    `SELECT s.email, m.status FROM messages m JOIN subscribers s ON s.id = m.subscriber_id WHERE m.campaign_id = $1`,
    [id],
  );
  expect(rows).toHaveLength(n);
  for (const r of rows) {
    if (r.status === 'sent') expect(counts.get(r.email)).toBe(1);
    else expect(r.status).toBe('unknown'); // in an SMTP transaction at the failure: received once or not at all
  }
  const unknown = rows.filter((r) => r.status === 'unknown').length;
  const progress = (await p.t.api('get', `/v1/campaigns/${id}`).expect(200)).body.progress;
  expect(progress).toEqual({ total: n, queued: 0, sent: n - unknown, failed: 0, unknown, skipped: 0, cancelled: 0 });
  return unknown;
}

/**
 * Runs `restart` once a quarter of the campaign is out, then waits for the campaign to finish by
 * itself and checks it. Neither restart kills a process or an SMTP transaction, and every outcome
 * is known to the worker that got it: not even `unknown` is expected.
 */
async function sendThrough(p: Platform, restart: () => Promise<void>, label: string): Promise<void> {
  const id = await campaign(p, 'r', RECIPIENTS);
  await p.t.api('post', `/v1/campaigns/${id}/send`).expect(200);
  const started = Date.now();
  await poll(() => (p.smtp.mails.length >= RECIPIENTS / 4 ? true : undefined), 60_000);
  const before = p.smtp.mails.length;
  const beforeMs = Date.now() - started;
  await restart();
  const restarted = Date.now();
  const after = p.smtp.mails.length; // SMTP transactions already under way end during the outage
  await poll(() => (p.smtp.mails.length > after ? true : undefined), 30_000);
  const resumeMs = Date.now() - restarted;
  await poll(() => (p.smtp.mails.length >= RECIPIENTS ? true : undefined), 45_000);
  const lastMs = Date.now() - restarted;
  await poll(() => isSent(p.t, id), 45_000);
  const doneMs = Date.now() - restarted;
  const unknown = await expectDeliveredOnce(p, id, RECIPIENTS);
  expect(unknown).toBe(0);
  console.log(
    `${label}: ${before} mails in ${beforeMs} ms before the restart, ${after} when it was over; after it: sending again in ${resumeMs} ms, ` +
      `last mail in ${lastMs} ms, campaign sent in ${doneMs} ms; ${RECIPIENTS - unknown} sent, ${unknown} unknown, 0 duplicates`,
  );
}

/** On failure, what the workers said and where the messages are. */
async function explained(p: Platform, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (e) {
    const states = await p.t.db
      .query(
        `SELECT campaign_id, status, claimed_by, CASE WHEN status = 'unknown' THEN smtp_response END AS why, count(*)::int AS n
         FROM messages GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
      )
      .catch((x: Error) => ({ rows: x.message }));
    console.log(`messages: ${JSON.stringify(states.rows)}`);
    for (const w of p.workers)
      console.log(
        `worker ${w.pid}:\n${w.output
          .split('\n')
          .filter((l) => l.startsWith('{') && !l.includes('"level":30'))
          .slice(-60)
          .join('\n')}`,
      );
    throw e;
  }
}

describe('server restarts mid-campaign', () => {
  it('Redis restarts without persistence: the campaign resumes by itself, zero duplicates, a lost schedule is rebuilt, opens are counted again', async () => {
    const redis = await PrivateRedis.start();
    let p: Platform | undefined;
    try {
      p = await startPlatform({ REDIS_URL: redis.url });
      const platform = p;
      // A second campaign scheduled shortly after the restart: its delayed start job is lost with Redis.
      const scheduled = await campaign(p, 'later', 50);
      await explained(p, () =>
        sendThrough(
          platform,
          async () => {
            await platform.t
              .api('post', `/v1/campaigns/${scheduled}/schedule`)
              .send({ at: new Date(Date.now() + 4_000).toISOString() })
              .expect(200);
            await redis.kill('SIGKILL'); // every job, lock, liveness key and throttle state is gone
            await sleep(2_000);
            await redis.start();
          },
          'redis restart',
        ).then(async () => {
          await poll(() => isSent(platform.t, scheduled), 30_000);
          expect(await expectDeliveredOnce(platform, scheduled, 50)).toBe(0);
          // The event stream's consumer group went with Redis: an open after the restart is still counted.
          const mail = platform.smtp.mails.find((m) => m.to.some((a) => a.startsWith('later')))!;
          const pixel = /https:\/\/edm\.test(\/t\/o\/[A-Za-z0-9_.-]+)/.exec(String(mail.parsed.html))![1];
          await platform.t.http.get(pixel).set('User-Agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0').expect(200);
          await poll(
            async () => ((await platform.t.api('get', `/v1/campaigns/${scheduled}/stats`).expect(200)).body.opens.total === 1 ? true : undefined),
            30_000,
          );
        }),
      );
    } finally {
      await stopPlatform(p);
      await redis.stop();
    }
  }, 120_000);

  it('Postgres restarts: the campaign resumes by itself, zero duplicates', async () => {
    const pg = await PrivatePostgres.start();
    let p: Platform | undefined;
    try {
      const databaseUrl = `${pg.url}/edm_restarts`;
      await prepareDatabase(loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, APP_SECRET: 'x'.repeat(32) }));
      p = await startPlatform({ DATABASE_URL: databaseUrl });
      const platform = p;
      await explained(p, () =>
        sendThrough(
          platform,
          async () => {
            await pg.stop('fast'); // every connection of every process is closed
            await sleep(2_000);
            await pg.start();
          },
          'postgres restart',
        ),
      );
    } finally {
      await stopPlatform(p);
      await pg.destroy();
    }
  }, 120_000);
});
