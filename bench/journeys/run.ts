/**
 * Journeys: ENROLMENTS people (default 100,000) through trigger → wait → branch → send, against
 * Postfix's smtp-sink, next to a plain campaign to the same number of people in the same run.
 * Prints the engine's transitions/s, the lateness of its timers (due → run, p50 and p99), and
 * journey sends/s next to campaign sends/s. Needs smtp-sink (apt-get install postfix).
 * Run: npm run bench:journeys (BENCH_PLATFORM=start for `npm start` as users run it; RATE=0 for a burst).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ADMIN_KEY, api, BENCH_PLATFORM, build, dropRedisPrefix, freePort, healthy, PG, Platform, resetDatabase } from '../support/platform';

const N = Number(process.env.ENROLMENTS ?? 100_000);
const WAIT_S = Number(process.env.WAIT_SECONDS ?? 5);
const POOL = Number(process.env.POOL ?? 10);
/** Trigger events per second, steady (0: as fast as the API takes them, a burst). */
const RATE = Number(process.env.RATE ?? 2_000);
const CLIENTS = 8;
const BATCH = 500;
const DB = 'edm_bench_journeys';
const PREFIX = 'edm-bench-journeys';

async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edm-bench-journeys-'));
  const sinkPort = await freePort();
  const sink: ChildProcess = spawn('smtp-sink', ['-u', 'nobody', '-c', `127.0.0.1:${sinkPort}`, '1000'], { stdio: 'ignore' });
  const procs: Platform[] = [];
  const db = new Client({ connectionString: `${PG}/${DB}` });
  try {
    build();
    await resetDatabase(DB);
    await dropRedisPrefix(PREFIX);
    const port = await freePort();
    const env = {
      DATABASE_URL: `${PG}/${DB}`,
      REDIS_PREFIX: PREFIX,
      APP_SECRET: 'bench'.repeat(13),
      ADMIN_API_KEY: ADMIN_KEY,
      DATA_DIR: dir,
      SMTP_URL: `smtp://127.0.0.1:${sinkPort}`,
      SMTP_POOL_SIZE: String(POOL),
      SMTP_RATE: '1000000',
      SEND_BATCH_SIZE: '1000',
      DISPATCH_JOBS: '4',
      WORKER_CONCURRENCY: '4',
      PUBLIC_URL: 'https://mail.example.com',
      POSTAL_ADDRESS: 'Example Ltd, 1 Main Street',
      LOG_LEVEL: 'warn',
    };
    procs.push(await new Platform({ ...env, ROLE: 'api', PORT: String(port) }).start(healthy(port)));
    const worker = await new Platform({ ...env, ROLE: 'worker', LOG_LEVEL: 'info' }).start('worker started');
    procs.push(worker);
    const base = `http://127.0.0.1:${port}`;
    await db.connect();

    // N people with a userId, confirmed on a list; half on the "pro" plan (the branch's yes).
    const list = await api(base, 'POST', '/v1/lists', { name: 'journeys', optIn: 'single' });
    await db.query(
      `WITH s AS (INSERT INTO subscribers (email, name, attributes, timezone, external_id)
                  SELECT 'j' || i || '@example.com', 'Reader ' || i, jsonb_build_object('plan', CASE WHEN i % 2 = 0 THEN 'pro' ELSE 'free' END),
                         'Europe/Paris', 'u' || i
                  FROM generate_series(1, $1) i RETURNING id)
       INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT id, $2, 'confirmed', now() FROM s`,
      [N, list.id],
    );
    await db.query('ANALYZE');
    const templates = await api(base, 'GET', '/v1/templates');
    const newsletter = templates.items.find((t: { starter: string }) => t.starter === 'newsletter');
    const send = (id: string, subject: string) => ({ id, type: 'send', templateId: newsletter.id, subject, fromName: 'Shop', fromEmail: 'news@shop.example' });
    const journey = await api(base, 'POST', '/v1/journeys', {
      name: 'bench',
      trigger: { type: 'event', event: 'Trial Started' },
      steps: [
        { id: 'wait', type: 'wait', duration: `PT${WAIT_S}S`, next: 'plan' },
        { id: 'plan', type: 'branch', rules: { attribute: 'plan', op: 'eq', value: 'pro' }, yes: 'pro', no: 'free' },
        send('pro', 'Welcome to Pro, {{name}}'),
        send('free', 'Your trial, {{name}}'),
      ],
      settings: { lists: [list.id] },
    });
    await api(base, 'POST', `/v1/journeys/${journey.id}/publish`);

    // The trigger: N track events through /v1/batch, CLIENTS requests at a time, each batch sent no
    // earlier than its turn at RATE events/s.
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < N) {
          const from = next;
          next += BATCH;
          const turn = RATE > 0 ? t0 + (from / RATE) * 1000 - Date.now() : 0;
          if (turn > 0) await new Promise((r) => setTimeout(r, turn));
          const batch = [];
          for (let i = from; i < Math.min(from + BATCH, N); i++)
            batch.push({ type: 'track', userId: `u${i + 1}`, event: 'Trial Started', properties: { n: i }, messageId: `t-${i}` });
          await api(base, 'POST', '/v1/batch', { batch });
        }
      }),
    );
    const ingestMs = Date.now() - t0;
    const count = async (sql: string): Promise<number> => Number((await db.query(sql, [journey.id])).rows[0].n);
    await until(
      async () => ((await count(`SELECT count(*) AS n FROM journey_enrolments WHERE journey_id = $1 AND status = 'active'`)) === 0 ? true : undefined),
      1_800_000,
    );
    const engineDone = Date.now();
    await until(
      async () =>
        (await count(`SELECT count(*) AS n FROM journey_messages WHERE journey_id = $1 AND status IN ('queued', 'sending', 'submitting')`)) === 0
          ? true
          : undefined,
      1_800_000,
    );

    // From the engine's own records: step executions, timer lateness, and sends.
    const steps = (
      await db.query(
        `SELECT count(*)::int AS n, extract(epoch FROM max(done_at) - min(entered_at)) AS span,
                extract(epoch FROM max(done_at) FILTER (WHERE step_id <> 'wait') - min(done_at) FILTER (WHERE step_id = 'wait')) AS after_timers
         FROM journey_steps WHERE journey_id = $1`,
        [journey.id],
      )
    ).rows[0];
    const lateness = (
      await db.query(
        `SELECT extract(epoch FROM done_at - entered_at) * 1000 - $2 * 1000 AS ms FROM journey_steps WHERE journey_id = $1 AND step_id = 'wait' ORDER BY 1`,
        [journey.id, WAIT_S],
      )
    ).rows.map((r: { ms: string }) => Number(r.ms));
    const journeySends = (
      await db.query(
        `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status <> 'sent')::int AS other,
                extract(epoch FROM max(sent_at) - min(sent_at)) AS span FROM journey_messages WHERE journey_id = $1`,
        [journey.id],
      )
    ).rows[0];

    // The same number of people as a plain campaign, now.
    const campaign = await api(base, 'POST', '/v1/campaigns', {
      name: 'bench',
      subject: 'News for {{name}}',
      templateId: newsletter.id,
      fromName: 'Shop',
      fromEmail: 'news@shop.example',
      audience: { lists: [list.id] },
    });
    await api(base, 'POST', `/v1/campaigns/${campaign.id}/send`);
    await until(async () => ((await api(base, 'GET', `/v1/campaigns/${campaign.id}`)).status === 'sent' ? true : undefined), 1_800_000);
    const campaignSends = (
      await db.query(
        `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, extract(epoch FROM max(sent_at) - min(sent_at)) AS span FROM messages WHERE campaign_id = $1`,
        [campaign.id],
      )
    ).rows[0];

    // Transitions: every step an enrolment finished (wait, branch, send), plus its entry, over the
    // time the engine worked — from the first enrolment to the last step, less the one wait.
    const transitions = steps.n + N;
    const engineSeconds = Math.max(0.001, Number(steps.span) - WAIT_S);
    const transitionRate = transitions / engineSeconds;
    const p50 = percentile(lateness, 50) / 1000;
    const p99 = percentile(lateness, 99) / 1000;
    const jRate = journeySends.sent / Math.max(0.001, Number(journeySends.span));
    const cRate = campaignSends.sent / Math.max(0.001, Number(campaignSends.span));
    const platform = BENCH_PLATFORM === 'start' ? '`npm start` (one supervisor: API and worker processes)' : 'one API and one worker process';
    if (process.env.PROFILE)
      console.log(
        worker.output
          .split('\n')
          .filter((l) => l.includes('PROFILE'))
          .join('\n'),
      );
    console.log(`journeys: ${N.toLocaleString('en-US')} enrolments, trigger (track event) → wait ${WAIT_S} s → branch (attribute) → send; ${platform}`);
    console.log(
      `trigger events accepted in ${(ingestMs / 1000).toFixed(1)} s (${Math.round(N / (ingestMs / 1000))} events/s, ${RATE > 0 ? `paced at ${RATE}/s` : 'a burst: as fast as the API takes them'}; each enrols in its transaction)`,
    );
    console.log(
      `engine: ${transitions.toLocaleString('en-US')} transitions in ${engineSeconds.toFixed(1)} s = ${Math.round(transitionRate)}/s (target ≥ 2,000) ${transitionRate >= 2000 ? 'PASS' : 'FAIL'}; all enrolments finished ${((engineDone - t0) / 1000).toFixed(1)} s after the first event`,
    );
    console.log(`timer lateness (due → run): p50 ${p50.toFixed(2)} s, p99 ${p99.toFixed(2)} s (target p99 ≤ 2 s) ${p99 <= 2 ? 'PASS' : 'FAIL'}`);
    console.log(`journey sends: ${journeySends.sent} sent, ${journeySends.other} other, ${Math.round(jRate)}/s`);
    console.log(`campaign sends (same ${N.toLocaleString('en-US')} people, same sink, same run): ${campaignSends.sent} sent, ${Math.round(cRate)}/s`);
    console.log(`ratio journey / campaign sends: ${(jRate / cRate).toFixed(2)} (target ≥ 0.80) ${jRate / cRate >= 0.8 ? 'PASS' : 'FAIL'}`);
  } finally {
    await db.end().catch(() => undefined);
    for (const p of procs) await p.stop();
    sink.kill();
    await resetDatabase(DB);
    await dropRedisPrefix(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
