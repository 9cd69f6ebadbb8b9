/**
 * End-to-end campaign to MESSAGES recipients (default 50,000) against Postfix's smtp-sink, next to a
 * bare nodemailer pooled loop sending a message of the same size to the same sink in the same run.
 * Also: audience resolution for RESOLVE subscribers (default 1,000,000) and the worker's peak RSS.
 * Needs smtp-sink (apt-get install postfix). Run: npm run bench:send
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { Client } from 'pg';
import { ADMIN_KEY, api, build, dropRedisPrefix, freePort, healthy, PG, Platform, rate, resetDatabase } from '../support/platform';

const MESSAGES = Number(process.env.MESSAGES ?? 50_000);
const RESOLVE = Number(process.env.RESOLVE ?? 1_000_000);
const POOL = Number(process.env.POOL ?? 10);
const DB = 'edm_bench_send';
const PREFIX = 'edm-bench-send';

async function population(list: string, prefix: string, n: number): Promise<void> {
  const c = new Client({ connectionString: `${PG}/${DB}` });
  await c.connect();
  await c.query(
    `WITH s AS (INSERT INTO subscribers (email, name, attributes, timezone)
                SELECT $1 || i || '@example.com', 'Reader ' || i, '{"plan":"pro"}', 'Europe/Paris' FROM generate_series(1, $2) i RETURNING id)
     INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT id, $3, 'confirmed', now() FROM s`,
    [prefix, n, list],
  );
  await c.query('ANALYZE');
  await c.end();
}

async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edm-bench-send-'));
  const sinkPort = await freePort();
  const sink: ChildProcess = spawn('smtp-sink', ['-u', 'nobody', '-c', `127.0.0.1:${sinkPort}`, '1000'], { stdio: 'ignore' });
  const procs: Platform[] = [];
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
    };
    const apiProc = await new Platform({ ...env, ROLE: 'api', PORT: String(port), LOG_LEVEL: 'warn' }).start(healthy(port));
    procs.push(apiProc);
    // Started as `npm run start:worker` starts it: with a 128 MB old-space budget.
    const worker = await new Platform({
      ...env,
      ROLE: 'worker',
      LOG_LEVEL: 'info',
      NODE_OPTIONS: process.env.WORKER_NODE_OPTIONS ?? '--max-old-space-size=128',
    }).start('worker started');
    procs.push(worker);
    const base = `http://127.0.0.1:${port}`;

    const small = await api(base, 'POST', '/v1/lists', { name: 'send', optIn: 'single' });
    const big = await api(base, 'POST', '/v1/lists', { name: 'resolve', optIn: 'single' });
    await population(small.id, 's', MESSAGES);
    await population(big.id, 'r', RESOLVE);
    const templates = await api(base, 'GET', '/v1/templates');
    const newsletter = templates.items.find((t: { starter: string }) => t.starter === 'newsletter');
    const campaign = (lists: string[]) =>
      api(base, 'POST', '/v1/campaigns', {
        name: 'bench',
        subject: 'News for {{name}}',
        templateId: newsletter.id,
        fromName: 'Shop',
        fromEmail: 'news@shop.example',
        audience: { lists },
        data: { title: 'November' },
      });

    // Audience resolution of RESOLVE subscribers (paused at once so that it is not sent).
    const resolveCampaign = await campaign([big.id]);
    await api(base, 'POST', `/v1/campaigns/${resolveCampaign.id}/send`);
    await api(base, 'POST', `/v1/campaigns/${resolveCampaign.id}/pause`);
    const resolvedLine = await until(() => /audience resolved in (\d+) ms/.exec(worker.output.slice(worker.output.indexOf(resolveCampaign.id)))?.[1], 300_000);
    await api(base, 'POST', `/v1/campaigns/${resolveCampaign.id}/cancel`);
    const resolvedMs = Number(resolvedLine);

    // The campaign.
    const c = await campaign([small.id]);
    const t = Date.now();
    await api(base, 'POST', `/v1/campaigns/${c.id}/send`);
    const done = await until(async () => {
      const s = await api(base, 'GET', `/v1/campaigns/${c.id}`);
      return s.status === 'sent' ? s : undefined;
    }, 900_000);
    const platformMs = Date.now() - t;
    const workerRss = worker.peakRssMb();

    // Bare nodemailer: same pool size, a message of the same size, to the same sink.
    const sample = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const htmlSize = 12_500;
    const message = {
      from: 'Shop <news@shop.example>',
      subject: 'News for Reader 1',
      html: `<html><body>${'<p>Hello Reader, here is our news of the month.</p>'.repeat(Math.ceil(htmlSize / 50))}</body></html>`,
      text: 'Hello Reader, here is our news of the month.\n'.repeat(Math.ceil(htmlSize / 100)),
    };
    const size = ((await sample.sendMail({ ...message, to: 'x@example.com' })) as unknown as { message: Buffer }).message.length;
    const bare = nodemailer.createTransport({ host: '127.0.0.1', port: sinkPort, pool: true, maxConnections: POOL, secure: false, ignoreTLS: true } as never);
    const b0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: POOL * 4 }, async () => {
        while (next < MESSAGES) {
          const i = next++;
          await bare.sendMail({ ...message, to: `s${i}@example.com` });
        }
      }),
    );
    const bareMs = Date.now() - b0;
    bare.close();

    const platformRate = MESSAGES / (platformMs / 1000);
    const bareRate = MESSAGES / (bareMs / 1000);
    console.log(`send: ${MESSAGES.toLocaleString('en-US')} recipients, newsletter starter, pool ${POOL}, one worker process`);
    console.log(
      `platform: ${done.progress.sent} sent, ${done.progress.failed} failed, ${done.progress.unknown} unknown in ${(platformMs / 1000).toFixed(1)} s = ${rate(MESSAGES, platformMs)}`,
    );
    console.log(`baseline bare nodemailer pool (${(size / 1024).toFixed(1)} KiB messages): ${rate(MESSAGES, bareMs)}`);
    console.log(`ratio platform / bare: ${(platformRate / bareRate).toFixed(2)} (target ≥ 0.70) ${platformRate / bareRate >= 0.7 ? 'PASS' : 'FAIL'}`);
    console.log(
      `audience resolution, ${RESOLVE.toLocaleString('en-US')} subscribers: ${(resolvedMs / 1000).toFixed(1)} s (target ≤ 10 s) ${resolvedMs <= 10_000 ? 'PASS' : 'FAIL'}`,
    );
    console.log(`worker peak RSS: ${workerRss.toFixed(0)} MB (target ≤ 200 MB) ${workerRss <= 200 ? 'PASS' : 'FAIL'}`);
  } finally {
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
