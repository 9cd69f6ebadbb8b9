/**
 * Reports at scale: GET /v1/campaigns/:id/report (the whole HTML page with its server-drawn charts)
 * for one campaign of MESSAGES messages (default 1,000,000) with EVENTS raw tracking events (default
 * 10,000,000), while it sends and once it has finished, through the platform as one process doing
 * everything (ROLE=all, as `npm start` with PROCESSES=1; BENCH_PLATFORM=start for the supervisor) and
 * as ROLE=api, next to a bare Fastify + pg server that runs the campaign's counter query and answers
 * a static page (bench/report/bare-server.ts).
 *
 * Seeding, into its own database: the audience in SQL; the campaign created, scheduled and started by
 * the platform (its starter freezes the audience into messages and keeps the audience's domains); the
 * first MESSAGES − QUEUED marked sent as the dispatcher records them; then the raw events in `events`
 * by set-based SQL (model.ts gives each message its opens, human and machine, clicks on four links,
 * scanner clicks, orders in and out of the attribution window, unsubscribes, complaints, bounces,
 * and counts what they amount to); finally the platform's own aggregation over those raw events
 * (aggregate.ts: the ingestor's applyEvents and counter repositories) writes engagements, orders and
 * counters. Every page measured is checked figure by figure against model.ts's count.
 *
 * Everything it creates (database edm_bench_report, Redis keys edm-bench-report:*, a temp dir, child
 * processes) is removed at the end (KEEP_DB=1 keeps the database). Run: npm run bench:report
 * (smaller: MESSAGES, EVENTS, QUEUED; RUNS requests measured per case after WARMUP).
 */
import 'reflect-metadata';
import { startBare, stopBare } from '../support/bare-process';
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { CampaignsRepository } from '../../src/campaigns/campaigns.repository';
import {
  ADMIN_KEY,
  api,
  BENCH_PLATFORM,
  build,
  createDatabase,
  dropRedisPrefix,
  freePort,
  healthy,
  PG,
  Platform,
  resetDatabase,
  runBenchmark,
} from '../support/platform';
import { aggregate } from './aggregate';
import { domainOf, LINKS, Truth, truth, WINDOW_HOURS } from './model';
import { dropHelpers, indexOpeners, markSent, seedAudience, seedRepeatOpens, seedStructuredEvents, startTime } from './seed';

const MESSAGES = Number(process.env.MESSAGES ?? 1_000_000);
const EVENTS = Number(process.env.EVENTS ?? 10_000_000);
const QUEUED = Number(process.env.QUEUED ?? 10_000); // still queued while "sending" (a later time zone)
const RUNS = Number(process.env.RUNS ?? 20);
const WARMUP = Number(process.env.WARMUP ?? 3);
const TARGET_MS = 500;
const DB = 'edm_bench_report';
const PREFIX = 'edm-bench-report';
const DEADLINE_MS = 20 * 60_000;
const TEMPLATE = `<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hi {{name}}, <a href="https://shop.example/sale">the sale</a>, <a href="https://shop.example/new?ref=mail">what is new</a>,
  <a href="https://shop.example/stores">our stores</a> and <a href="https://blog.shop.example/winter">the winter guide</a>.</mj-text>
</mj-column></mj-section>{{> footer}}</mj-body></mjml>`;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let platform: Platform | undefined;
let bare: ChildProcess | undefined;
const clients: Client[] = [];
let dir: string | undefined;
let cleaned: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    if (bare && bare.exitCode === null && bare.signalCode === null) bare.kill('SIGKILL');
    if (platform?.child && platform.child.exitCode === null && platform.child.signalCode === null) await platform.stop().catch(() => undefined);
    for (const c of clients) await c.end().catch(() => undefined);
    if (!process.env.KEEP_DB) await resetDatabase(DB).catch((e: unknown) => console.error(`dropping ${DB}:`, e));
    await dropRedisPrefix(PREFIX).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  })();
  return cleaned;
}

async function connect(): Promise<Client> {
  const c = new Client({ connectionString: `${PG}/${DB}` });
  c.on('error', () => undefined); // the cleanup drops the database under it
  await c.connect();
  clients.push(c);
  return c;
}

/** A step of the seeding, timed. */
async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await work();
  console.log(`  ${label}: ${secs(performance.now() - t)}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// What a page must show

/** The figures (data-figure) a report page must carry, from model.ts's count. */
function expectedFigures(t: Truth, sent: number, queued: number): Record<string, number> {
  const out: Record<string, number> = {
    sent,
    queued,
    failed: 0,
    delivered: sent - t.hardBounces - t.softBounces,
    opened: t.uniqueHumanOpens,
    clicked: t.uniqueHumanClicks,
    converted: t.uniqueConversions,
    'conversions-total': t.conversions,
    'opens-unique': t.uniqueOpens,
    'opens-human': t.uniqueHumanOpens,
    'opens-machine': t.uniqueOpens - t.uniqueHumanOpens,
    'opens-total': t.opens,
    'clicks-unique': t.uniqueClicks,
    'clicks-human': t.uniqueHumanClicks,
    'clicks-machine': t.uniqueClicks - t.uniqueHumanClicks,
    'clicks-total': t.clicks,
    unsubscribes: t.unsubscribes,
    'bounces-hard': t.hardBounces,
    'bounces-soft': t.softBounces,
    complaints: t.complaints,
  };
  t.links.forEach((l, slot) =>
    Object.assign(out, { [`link-${slot}-human`]: l.uniqueHuman, [`link-${slot}-unique`]: l.unique, [`link-${slot}-clicks`]: l.clicks }),
  );
  return out;
}

/** Recipients by merged provider, from model.domainOf (for the two largest). */
function expectedProviders(n: number): Record<string, number> {
  const merged: Record<string, string> = { 'googlemail.com': 'gmail.com', 'hotmail.com': 'outlook.com', 'live.com': 'outlook.com' };
  const out: Record<string, number> = { 'gmail.com': 0, 'outlook.com': 0 };
  for (let i = 1; i <= n; i++) {
    const d = merged[domainOf(i)] ?? domainOf(i);
    if (d in out) out[d]++;
  }
  return out;
}

/** What is wrong with the page, if anything: every figure against the seeded truth. */
function checkPage(html: string, t: Truth, phase: 'sending' | 'finished', sent: number, queued: number): string[] {
  const figures = Object.fromEntries([...html.matchAll(/data-figure="([^"]+)">([\d,]+)</g)].map((m) => [m[1], Number(m[2].replace(/,/g, ''))]));
  const wrong: string[] = [];
  for (const [k, v] of Object.entries(expectedFigures(t, sent, queued))) if (figures[k] !== v) wrong.push(`${k} ${figures[k]} (seeded ${v})`);
  const section = html.slice(html.indexOf('<section id="providers">'), html.indexOf('<section id="problems">'));
  const rows = [...section.matchAll(/<tr><td>([^<]+)<\/td><td class="n"><span data-figure="provider-\d+">([\d,]+)</g)].map(
    (m) => [m[1], Number(m[2].replace(/,/g, ''))] as const,
  );
  const total = rows.reduce((s, [, n]) => s + n, 0);
  if (total !== MESSAGES) wrong.push(`providers add up to ${total} (${MESSAGES} recipients)`);
  for (const [name, n] of Object.entries(expectedProviders(MESSAGES))) {
    const shown = rows.find(([d]) => d === name)?.[1];
    if (shown !== n) wrong.push(`provider ${name} ${shown} (seeded ${n})`);
  }
  const audience = section.includes('Mailbox providers of the audience');
  if (phase === 'sending' && (!audience || figures['providers-of'] !== MESSAGES)) wrong.push(`providers not shown as the audience's ${MESSAGES}`);
  if (phase === 'finished' && audience) wrong.push('providers of a finished campaign shown as its audience');
  if (!html.includes(`Revenue ${t.revenue.EUR.toFixed(2)} EUR`)) wrong.push(`revenue (seeded ${t.revenue.EUR.toFixed(2)} EUR)`);
  if (!html.includes(`${fmt(t.unattributed)} more reported after the attribution window`)) wrong.push(`unattributed orders (seeded ${t.unattributed})`);
  if ((html.match(/<svg\b/g) ?? []).length < 5) wrong.push('fewer than five charts');
  return wrong;
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Timing {
  p50: number;
  p95: number;
  min: number;
  max: number;
  bytes: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** WARMUP requests (the first one checked by `check`), then RUNS timed one after another. */
async function time(url: string, headers: Record<string, string>, check: (html: string) => string[]): Promise<Timing> {
  let bytes = 0;
  for (let i = 0; i < WARMUP; i++) {
    const res = await fetch(url, { headers });
    const html = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}: ${html.slice(0, 500)}`);
    if (i === 0) {
      const wrong = check(html);
      if (wrong.length) throw new Error(`the report is wrong: ${wrong.join('; ')}`);
    }
    bytes = html.length;
  }
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers });
    await res.text();
    ms.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}`);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), min: ms[0], max: ms[ms.length - 1], bytes };
}

const show = (t: Timing) => `p50 ${t.p50.toFixed(0)} ms, p95 ${t.p95.toFixed(0)} ms (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}; ${fmt(t.bytes)} bytes)`;

async function startBareServer(port: number): Promise<ChildProcess> {
  const child = await startBare(join(__dirname, 'bare-server.ts'), { PORT: String(port), DATABASE_URL: `${PG}/${DB}` });
  bare = child;
  return child;
}

/** Under BENCH_PLATFORM=start both are `npm start` with its defaults (bench/support/platform.ts). */
const ROLES = [
  { role: 'all', label: BENCH_PLATFORM === 'start' ? '`npm start` (supervisor, for ROLE=all)' : 'one process (ROLE=all)' },
  { role: 'api', label: BENCH_PLATFORM === 'start' ? '`npm start` (supervisor, for ROLE=api)' : 'API only (ROLE=api)' },
] as const;

type Results = Record<string, Timing>;

/** The report through each role, each a fresh process, then the bare server. */
async function measurePhase(
  phase: 'sending' | 'finished',
  env: Record<string, string>,
  campaign: string,
  t: Truth,
  sent: number,
  queued: number,
): Promise<Results> {
  const out: Results = {};
  const check = (html: string) => checkPage(html, t, phase, sent, queued);
  for (const { role, label } of ROLES) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    platform = await new Platform({ ...env, ROLE: role, PORT: String(port), PUBLIC_URL: base }).start(healthy(port));
    out[role] = await time(`${base}/v1/campaigns/${campaign}/report`, { Authorization: `Bearer ${ADMIN_KEY}` }, check);
    console.log(`  ${label}: ${show(out[role])}; figures as seeded`);
    await platform.stop();
  }
  const port = await freePort();
  await startBareServer(port);
  out.bare = await time(`http://127.0.0.1:${port}/v1/campaigns/${campaign}/report`, {}, () => []);
  console.log(`  bare Fastify + pg, campaign_stats row and a static page: ${show(out.bare)}`);
  await stopBare(bare);
  return out;
}

// ---------------------------------------------------------------------------------------------

async function run(): Promise<void> {
  const sent = MESSAGES - QUEUED;
  console.log(
    `report: one campaign of ${fmt(MESSAGES)} messages (${fmt(sent)} sent while it sends), ${fmt(EVENTS)} raw events; ${RUNS} requests per case after ${WARMUP}`,
  );
  dir = mkdtempSync(join(tmpdir(), 'edm-bench-report-'));
  build();
  await createDatabase(DB);
  await dropRedisPrefix(PREFIX);
  const env = { DATABASE_URL: `${PG}/${DB}`, REDIS_PREFIX: PREFIX, APP_SECRET: 'bench'.repeat(13), ADMIN_API_KEY: ADMIN_KEY, DATA_DIR: dir, LOG_LEVEL: 'info' };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  platform = await new Platform({ ...env, ROLE: 'all', PORT: String(port), PUBLIC_URL: base }).start(healthy(port)); // migrates the database
  const [c, c2] = [await connect(), await connect()];

  console.log('seeding:');
  const s0 = performance.now();
  const template = await api(base, 'POST', '/v1/templates', { name: 'bench', mjml: TEMPLATE });
  const list = await api(base, 'POST', '/v1/lists', { name: 'bench', optIn: 'single' });
  const campaign = (
    await api(base, 'POST', '/v1/campaigns', {
      name: 'Winter sale',
      subject: 'Winter sale, {{name}}',
      templateId: template.id,
      fromName: 'Shop',
      fromEmail: 'news@shop.example',
      audience: { lists: [list.id] },
      attributionWindowHours: WINDOW_HOURS,
    })
  ).id as string;
  await step(`${fmt(MESSAGES)} subscribers confirmed on the list (SQL)`, () => seedAudience(c, list.id, MESSAGES));
  await step('ANALYZE', () => c.query('ANALYZE'));
  // 13 hours from now in each recipient's zone: the platform starts at once (the earliest zone is
  // UTC+14), freezing the audience into messages and keeping its domains; nothing is due yet.
  await step('the platform starts the campaign (audience frozen into messages, its domains kept)', async () => {
    const at = new Date(Date.now() + 13 * 3_600_000).toISOString().slice(0, 19);
    await api(base, 'POST', `/v1/campaigns/${campaign}/schedule`, { at, localTime: true, timezone: 'UTC' });
    for (;;) {
      if ((await api(base, 'GET', `/v1/campaigns/${campaign}`)).startedAt) break;
      await sleep(200);
    }
  });
  const resolved = /audience resolved in (\d+) ms/.exec(platform.output)?.[1];
  if (resolved) console.log(`    (its log: audience resolved in ${fmt(Number(resolved))} ms)`);
  await platform.stop();
  const links = Number((await c.query(`SELECT count(*) AS n FROM campaign_links WHERE campaign_id = $1`, [campaign])).rows[0].n);
  if (links !== LINKS) throw new Error(`expected ${LINKS} link slots, found ${links}`);

  const t0 = startTime();
  await step(`${fmt(sent)} messages marked sent over 12 hours from 72 hours ago (SQL)`, () => markSent(c, campaign, MESSAGES, sent, t0));
  const t = truth(sent, EVENTS);
  const repeats = EVENTS - t.structured;
  const half = Math.floor(repeats / 2);
  await step(`${fmt(EVENTS)} raw events into events (SQL, two connections)`, async () => {
    const openers = indexOpeners(c, sent);
    const [first, [structured, second]] = await Promise.all([
      openers.then((n) => seedRepeatOpens(c, campaign, t0, n, repeats, 0, half)),
      seedStructuredEvents(c2, campaign, sent).then(async (s) => [s, await seedRepeatOpens(c2, campaign, t0, await openers, repeats, half, repeats)]),
    ]);
    if ((await openers) !== t.openers) throw new Error(`${await openers} openers, model says ${t.openers}`);
    const inserted = structured + first + second;
    if (inserted !== EVENTS) throw new Error(`${fmt(inserted)} events inserted (two stream ids equal?), ${fmt(EVENTS)} seeded`);
  });
  const agg = await step("the platform's aggregation over the raw events (applyEvents → engagements, orders, counters)", () =>
    aggregate(c, campaign, WINDOW_HOURS, 'EUR'),
  );
  console.log(`    (${fmt(agg.events)} events read back, ${fmt(agg.engagements)} engagement rows, ${fmt(agg.orders)} orders)`);
  await dropHelpers(c);
  await step('VACUUM ANALYZE, CHECKPOINT', async () => {
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
  });
  const seedMs = performance.now() - s0;
  const sizes = (
    await c.query(`SELECT (SELECT count(*) FROM events) AS events, pg_size_pretty(pg_total_relation_size('events')) AS events_size,
                          pg_size_pretty(pg_total_relation_size('messages')) AS messages_size, pg_size_pretty(pg_database_size(current_database())) AS db_size`)
  ).rows[0];
  console.log(
    `seeded in ${secs(seedMs)}: events ${fmt(Number(sizes.events))} rows (${sizes.events_size} with indexes), messages ${sizes.messages_size}, database ${sizes.db_size}`,
  );
  const stats = (await c.query(`SELECT * FROM campaign_stats WHERE campaign_id = $1`, [campaign])).rows[0] as Record<string, string>;
  console.log(
    `counters (from the raw events): opens ${fmt(+stats.opens)} (unique ${fmt(+stats.unique_opens)}, human ${fmt(+stats.unique_human_opens)}), clicks ${fmt(+stats.clicks)} (unique ${fmt(+stats.unique_clicks)}, human ${fmt(+stats.unique_human_clicks)}), orders ${fmt(+stats.conversions)} (+${fmt(+stats.unattributed_conversions)} unattributed), unsubscribes ${fmt(+stats.unsubscribes)}, bounces ${fmt(+stats.hard_bounces)} hard / ${fmt(+stats.soft_bounces)} soft, complaints ${fmt(+stats.complaints)}`,
  );

  const env2 = { ...env, LOG_LEVEL: 'warn' };
  console.log('');
  console.log(`report while the campaign sends (${fmt(sent)} sent, ${fmt(QUEUED)} queued for a later time zone; providers of its audience):`);
  const sending = await measurePhase('sending', env2, campaign, t, sent, QUEUED);

  // The last time zone: its messages sent now (no events yet), then the platform's completion.
  await c.query(
    `UPDATE messages SET status = 'sent', attempts = 1, sent_at = now(), sent_by = 'bench', smtp_response = '250 2.0.0 OK', updated_at = now()
     WHERE campaign_id = $1 AND status = 'queued'`,
    [campaign],
  );
  await c.query(`INSERT INTO message_outcomes (campaign_id, run, sent) VALUES ($1, 'bench/last', $2)`, [campaign, QUEUED]);
  const ds = await new DataSource({ type: 'postgres', url: `${PG}/${DB}` }).initialize();
  const c0 = performance.now();
  const completed = await new CampaignsRepository(ds).complete(campaign);
  const completeMs = performance.now() - c0;
  await ds.destroy();
  if (!completed) throw new Error('the campaign did not complete');
  console.log('');
  console.log(`completing the campaign (CampaignsRepository.complete: message counts and sent providers stored, once): ${fmt(completeMs)} ms`);
  console.log(`report of the finished campaign (${fmt(MESSAGES)} sent):`);
  const finished = await measurePhase('finished', env2, campaign, t, MESSAGES, 0);

  console.log('');
  console.log('summary');
  console.log(`  seeding: ${secs(seedMs)} (${fmt(MESSAGES)} messages, ${fmt(EVENTS)} events, counters from the events)`);
  let pass = true;
  for (const [phase, r] of [
    ['sending', sending],
    ['finished', finished],
  ] as const) {
    for (const { role, label } of ROLES) {
      const ok = r[role].p95 <= TARGET_MS;
      pass &&= ok;
      console.log(
        `  ${phase}, ${label}: p50 ${r[role].p50.toFixed(0)} ms, p95 ${r[role].p95.toFixed(0)} ms (≤ ${TARGET_MS} ms) ${ok ? 'PASS' : 'FAIL'}; bare p50 ${r.bare.p50.toFixed(1)} ms, p95 ${r.bare.p95.toFixed(1)} ms`,
      );
    }
  }
  console.log(`  every page's figures equal the seeded truth; target p95 ≤ ${TARGET_MS} ms: ${pass ? 'PASS' : 'FAIL'}`);
}

void runBenchmark({ run, cleanup, deadlineMs: DEADLINE_MS, output: () => platform?.output });
