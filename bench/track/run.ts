/**
 * Tracking, three figures from one run:
 * 1. open pixel (GET /t/o/:token) and click (GET /t/c/:token) requests/s with wrk on loopback against
 *    the platform (ROLE=api: each event is appended to the Redis stream before the answer), next to a
 *    bare Fastify 5 server answering the same GIF / a 302 (bench/track/bare-server.ts);
 * 2. ingestion: EVENTS buffered events (default 1,000,000: what wrk produced, topped up with pipelined
 *    XADDs) drained into Postgres by one ROLE=worker process (WORKERS=2 for two), checked for
 *    exactness, next to a bare COPY of the same rows into an unindexed table and a bare multi-row
 *    INSERT of them;
 * 3. GET /v1/campaigns/:id/stats (and /stats/timeseries, /links) latency with STATS_EVENTS
 *    (default 10,000,000) rows in `events`.
 * Everything it creates (temp dir, database edm_bench_track, Redis keys edm-bench-track:*, child
 * processes) is removed at the end, also on failure or Ctrl-C; the whole run gives up after 15 minutes.
 * Needs wrk (apt-get install wrk). Run: npm run bench:track   (smaller: MESSAGES, PATHS, EVENTS,
 * STATS_EVENTS, DURATION; INGEST_BATCH_SIZE, INGEST_CONCURRENCY and PLATFORM_NODE_OPTIONS are passed to the platform)
 */
import 'reflect-metadata';
import { startBare, stopBare } from '../support/bare-process';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Redis from 'ioredis';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { loadConfig } from '../../src/config/config';
import { MessageTokens } from '../../src/tracking/message-tokens';
import { PIXEL } from '../../src/tracking/tracking.controller';
import {
  ADMIN_KEY,
  api,
  build,
  createDatabase,
  dropRedisPrefix,
  freePort,
  healthy,
  PG,
  Platform,
  prng,
  resetDatabase,
  runBenchmark,
} from '../support/platform';

const MESSAGES = Number(process.env.MESSAGES ?? 200_000);
const PATHS = Number(process.env.PATHS ?? 20_000); // distinct pixel and click URLs wrk cycles through
const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const STATS_EVENTS = Number(process.env.STATS_EVENTS ?? 10_000_000);
const DURATION = Number(process.env.DURATION ?? 15); // seconds per measured wrk run
const WORKERS = Number(process.env.WORKERS ?? 1); // ROLE=worker processes draining the stream
const WARMUP = 3; // seconds of wrk before each measured run
const THREADS = 2;
const CONNECTIONS = 64;
const DB = 'edm_bench_track';
const PREFIX = 'edm-bench-track';
const STREAM = `${PREFIX}:events`;
const REDIS_URL = 'redis://127.0.0.1:6379';
const DEADLINE_MS = 15 * 60_000;
const TARGET_RATIO = 0.5; // platform / bare, pixel and click
const TARGET_INGEST = 50_000; // events/s
const TARGET_P99_MS = 20; // GET /v1/campaigns/:id/stats
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const USER_AGENTS = [
  USER_AGENT,
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
];
const TEMPLATE = `<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hi {{name}}, <a href="https://shop.example/a?x=1">our sale</a> and <a href="https://shop.example/b">the new range</a>.</mj-text>
</mj-column></mj-section>{{> footer}}</mj-body></mjml>`;

/** Cycles through the paths of the file named after "--", each thread from its own offset. */
const LUA = `
local paths, n, i, threads = {}, 0, 0, 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end
function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    paths[n] = line
  end
  i = math.floor(n * (index or 0) / tonumber(args[2]))
end
function request()
  i = i % n + 1
  return wrk.format(nil, paths[i])
end
`;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => (ms / 1000).toFixed(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (clock ticks of 10 ms), to say where the time went.

function procCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by every live process of these names (postgres, redis-server, wrk…). */
function cpuByName(names: string[]): Map<number, { name: string; cpu: number }> {
  const out = new Map<number, { name: string; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (names.includes(name)) out.set(Number(entry), { name, cpu: procCpu(Number(entry)) });
    } catch {
      // gone in between
    }
  }
  return out;
}

function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** CPU seconds the given children and each named process group used between two snapshots, and how busy the machine was. */
class CpuMeter {
  private readonly names = ['postgres', 'redis-server'];
  private before = cpuByName(this.names);
  private machine = machineCpu();
  private children: number;
  constructor(private readonly pids: (number | undefined)[]) {
    this.children = this.childCpu();
  }

  private childCpu(): number {
    return this.pids.reduce<number>((sum, pid) => sum + (pid ? procCpu(pid) : 0), 0);
  }

  report(childName: string): string {
    const after = cpuByName(this.names);
    const m = machineCpu();
    const sums = new Map<string, number>();
    for (const [pid, a] of after) sums.set(a.name, (sums.get(a.name) ?? 0) + a.cpu - (this.before.get(pid)?.cpu ?? 0));
    const parts = [`${childName} ${(this.childCpu() - this.children).toFixed(1)}`];
    for (const [name, s] of sums) if (s >= 0.05) parts.push(`${name} ${s.toFixed(1)}`);
    const busy = (m.busy - this.machine.busy) / (m.total - this.machine.total);
    return `CPU-s: ${parts.join(', ')}; machine busy ${(busy * 100).toFixed(0)}% of 2 cores`;
  }
}

// ---------------------------------------------------------------------------------------------
// wrk

interface WrkRun {
  requests: number;
  rps: number;
  p50: number; // ms
  p99: number;
  output: string;
}

let wrkChild: ChildProcess | undefined;

async function wrk(
  url: string,
  o: { threads: number; connections: number; seconds: number; headers: string[]; paths?: string; lua?: string },
): Promise<WrkRun> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--latency'];
  for (const h of o.headers) args.push('-H', h);
  if (o.paths) args.push('-s', o.lua!);
  args.push(url);
  if (o.paths) args.push('--', o.paths, String(o.threads));
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  wrkChild = child;
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  wrkChild = undefined;
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} exited with ${code}:\n${output}`);
  const num = (re: RegExp) => {
    const m = re.exec(output);
    if (!m) throw new Error(`wrk output without ${re}:\n${output}`);
    return Number(m[1]);
  };
  const percentile = (p: number) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
    if (!m) throw new Error(`wrk output without a ${p}% latency:\n${output}`);
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
  };
  // A non-2xx/3xx answer or a socket error means the figure is not of the intended work: stop.
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  if (non2xx || socket) throw new Error(`wrk against ${url}: ${non2xx ? `${non2xx[1]} non-2xx/3xx responses` : ''} ${socket ? socket[0] : ''}\n${output}`);
  return { requests: num(/(\d+) requests in /), rps: num(/Requests\/sec:\s+([\d.]+)/), p50: percentile(50), p99: percentile(99), output };
}

// ---------------------------------------------------------------------------------------------
// Set-up

async function db<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: `${PG}/${DB}` });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

interface Seeded {
  campaignId: string;
  subscribers: string[];
  links: number;
}

/**
 * A sent campaign of MESSAGES messages: template, list and campaign through the API, a test send to
 * store its link slots as sending does, then the messages in SQL (status sent, an hour ago — clicks
 * now are not a link scanner's clicks seconds after delivery).
 */
async function seed(base: string): Promise<Seeded> {
  const template = await api(base, 'POST', '/v1/templates', { name: 'bench', mjml: TEMPLATE });
  const list = await api(base, 'POST', '/v1/lists', { name: 'bench', optIn: 'single' });
  const campaign = await api(base, 'POST', '/v1/campaigns', {
    name: 'bench',
    subject: 'Hello {{name}}',
    templateId: template.id,
    fromName: 'Shop',
    fromEmail: 'news@shop.example',
    audience: { lists: [list.id] },
  });
  await api(base, 'POST', `/v1/campaigns/${campaign.id}/test`, { emails: ['bench@example.com'] });
  return db(async (c) => {
    const links = Number((await c.query(`SELECT count(*) AS n FROM campaign_links WHERE campaign_id = $1`, [campaign.id])).rows[0].n);
    if (links !== 2) throw new Error(`expected 2 link slots, found ${links}`);
    await c.query(
      `INSERT INTO messages (campaign_id, subscriber_id, list_id, status, send_at, attempts, sent_at, sent_by)
       SELECT $1, gen_random_uuid(), $2, 'sent', now() - interval '1 hour', 1, now() - interval '1 hour', 'bench' FROM generate_series(1, $3)`,
      [campaign.id, list.id, MESSAGES],
    );
    // A campaign sent as the platform completes one: its message counts kept with it.
    await c.query(
      `UPDATE campaigns SET status = 'sent', template_version = 1, started_at = now() - interval '1 hour', finished_at = now() - interval '50 minutes',
         message_counts = jsonb_build_object('sent', $2::int) WHERE id = $1`,
      [campaign.id, MESSAGES],
    );
    // Nothing left for autovacuum or the checkpointer to do during the HTTP runs.
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
    const rows = (await c.query(`SELECT subscriber_id FROM messages WHERE campaign_id = $1 ORDER BY id`, [campaign.id])).rows as { subscriber_id: string }[];
    return { campaignId: campaign.id, subscribers: rows.map((r) => r.subscriber_id), links };
  });
}

// ---------------------------------------------------------------------------------------------
// State shared with cleanup

let platform: Platform | undefined;
let moreWorkers: Platform[] = [];
let bare: ChildProcess | undefined;
let redis: Redis | undefined;
let dir: string | undefined;
let cleaned: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    wrkChild?.kill('SIGKILL');
    if (bare && bare.exitCode === null && bare.signalCode === null) bare.kill('SIGKILL');
    for (const p of [platform, ...moreWorkers]) {
      // Platform.stop() waits for an 'exit' that has already happened when the child died of a signal.
      const child = p?.child;
      if (child && child.exitCode === null && child.signalCode === null) await p.stop().catch((e: unknown) => console.error('stopping the platform:', e));
    }
    redis?.disconnect();
    await resetDatabase(DB).catch((e: unknown) => console.error(`dropping ${DB}:`, e));
    await dropRedisPrefix(PREFIX).catch((e: unknown) => console.error(`deleting Redis keys ${PREFIX}:*:`, e));
    if (dir) rmSync(dir, { recursive: true, force: true });
  })();
  return cleaned;
}

async function startBareServer(port: number): Promise<ChildProcess> {
  const child = await startBare(join(__dirname, 'bare-server.ts'), { PORT: String(port) });
  bare = child;
  return child;
}

/** One GET of a pixel and one of a click, checked (also: both servers answer the same GIF bytes). */
async function check(base: string, pixelPath: string, clickPath: string): Promise<void> {
  const headers = { 'User-Agent': USER_AGENT };
  const p = await fetch(`${base}${pixelPath}`, { headers });
  const body = Buffer.from(await p.arrayBuffer());
  if (p.status !== 200 || p.headers.get('content-type') !== 'image/gif' || !body.equals(PIXEL)) {
    throw new Error(`${base}${pixelPath} → ${p.status} ${p.headers.get('content-type')}, ${body.length} bytes`);
  }
  const c = await fetch(`${base}${clickPath}`, { headers, redirect: 'manual' });
  await c.arrayBuffer();
  if (c.status !== 302 || !c.headers.get('location')?.startsWith('https://shop.example/'))
    throw new Error(`${base}${clickPath} → ${c.status} ${c.headers.get('location')}`);
}

const xlen = () => redis!.xlen(STREAM);
/** Every event ever appended: with BENCH_PLATFORM=start the worker processes of `npm start` drain the stream meanwhile, so XLEN cannot count them. */
async function added(): Promise<number> {
  const info = (await redis!.xinfo('STREAM', STREAM)) as (string | number)[];
  return Number(info[info.indexOf('entries-added') + 1]);
}

// ---------------------------------------------------------------------------------------------

interface Measured extends WrkRun {
  /** Entries the stream gained during the run (for the platform: at least one per answer). */
  appended: number;
  used: string;
}

async function run(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'edm-bench-track-'));
  console.log(
    `track: ${fmt(MESSAGES)} messages, ${fmt(PATHS)} distinct pixel and click URLs, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s after ${WARMUP} s of warm-up; ${fmt(EVENTS)} events to ingest; stats with ${fmt(STATS_EVENTS)} events`,
  );
  console.log(`load average at start: ${load()}`);
  build();
  await createDatabase(DB);
  await dropRedisPrefix(PREFIX);
  redis = new Redis(REDIS_URL);
  const secret = randomBytes(32).toString('hex');
  const env = {
    DATABASE_URL: `${PG}/${DB}`,
    REDIS_PREFIX: PREFIX,
    APP_SECRET: secret,
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
    DATA_DIR: dir,
    ...(process.env.INGEST_BATCH_SIZE ? { INGEST_BATCH_SIZE: process.env.INGEST_BATCH_SIZE } : {}),
    ...(process.env.INGEST_CONCURRENCY ? { INGEST_CONCURRENCY: process.env.INGEST_CONCURRENCY } : {}),
    // e.g. '--require /path/to/preload.js' with a preload that runs node:inspector's profiler
    // (--cpu-prof is not allowed in NODE_OPTIONS)
    ...(process.env.PLATFORM_NODE_OPTIONS ? { NODE_OPTIONS: process.env.PLATFORM_NODE_OPTIONS } : {}),
  };

  // 1. HTTP: the platform (ROLE=api: no ingestor competes for the cores), then the bare server.
  let port = await freePort();
  let base = `http://127.0.0.1:${port}`;
  platform = await new Platform({ ...env, ROLE: 'api', PORT: String(port), PUBLIC_URL: base }).start(healthy(port));
  const seeded = await seed(base);
  const tokens = new MessageTokens(loadConfig({ APP_SECRET: secret, PUBLIC_URL: base, LOG_LEVEL: 'silent' }));
  const pixels: string[] = [];
  const clicks: string[] = [];
  const step = Math.max(1, Math.floor(MESSAGES / PATHS));
  for (let i = 0; i < PATHS; i++) {
    const urls = tokens.forMessage({ campaignId: seeded.campaignId, subscriberId: seeded.subscribers[(i * step) % MESSAGES] }, seeded.links);
    pixels.push(urls.open.slice(base.length));
    clicks.push(urls.clicks[i % seeded.links].slice(base.length));
  }
  const lua = join(dir, 'paths.lua');
  const pixelFile = join(dir, 'pixel.txt');
  const clickFile = join(dir, 'click.txt');
  writeFileSync(lua, LUA);
  writeFileSync(pixelFile, pixels.join('\n') + '\n');
  writeFileSync(clickFile, clicks.join('\n') + '\n');

  const hit = (url: string, paths: string, seconds: number) =>
    wrk(url, { threads: THREADS, connections: CONNECTIONS, seconds, headers: [`User-Agent: ${USER_AGENT}`], paths, lua });
  /** Warm-up, then the measured run; for the platform, also how many events the measured run appended. */
  const measure = async (url: string, paths: string, label: string, pids: number[]): Promise<Measured> => {
    await hit(url, paths, WARMUP);
    await sleep(500);
    const before = await added();
    const cpu = new CpuMeter(pids);
    const r = await hit(url, paths, DURATION);
    const used = cpu.report(label);
    await sleep(1_000); // requests wrk gave up on at the end may still be answered
    const appended = (await added()) - before;
    return { ...r, appended, used };
  };

  console.log(`load average before the HTTP runs: ${load()}`);
  await check(base, pixels[0], clicks[0]); // one open and one click
  const checked = await added();
  const pPixel = await measure(base, pixelFile, 'platform', platform.pids());
  const afterPixel = await added();
  const pClick = await measure(base, clickFile, 'platform', platform.pids());
  const fromHttp = await added();
  const opensFromHttp = 1 + afterPixel - checked;
  const clicksFromHttp = 1 + fromHttp - afterPixel;
  for (const [name, r] of [
    ['pixel', pPixel],
    ['click', pClick],
  ] as const) {
    if (r.appended < r.requests) throw new Error(`${name}: wrk counted ${r.requests} answers but only ${r.appended} events were appended`);
  }
  await platform.stop();
  // The ingestion below starts with a new consumer group (an `npm start` has made one already): it
  // reads from the stream's start whatever is still in it.
  await redis.xgroup('DESTROY', STREAM, 'ingest').catch(() => undefined);

  port = await freePort();
  const bareBase = `http://127.0.0.1:${port}`;
  const server = await startBareServer(port);
  await check(bareBase, pixels[0], clicks[0]);
  const bPixel = await measure(bareBase, pixelFile, 'bare server', [server.pid!]);
  const bClick = await measure(bareBase, clickFile, 'bare server', [server.pid!]);
  await stopBare(bare);
  const http = { pixel: pPixel, click: pClick };
  const bareRuns = { pixel: bPixel, click: bClick };

  console.log('');
  for (const kind of ['pixel', 'click'] as const) {
    const p = http[kind];
    const b = bareRuns[kind];
    const route = kind === 'pixel' ? 'GET /t/o/:token → 200 GIF' : 'GET /t/c/:token → 302';
    console.log(`${kind} (${route}):`);
    console.log(
      `  platform: ${fmt(p.rps)} req/s (${fmt(p.requests)} in ${DURATION} s; p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms; ${fmt(p.appended)} events appended); ${p.used}`,
    );
    console.log(`  bare Fastify: ${fmt(b.rps)} req/s (p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms); ${b.used}`);
    console.log(
      `  ratio platform / bare: ${(p.rps / b.rps).toFixed(2)} (target ≥ ${TARGET_RATIO.toFixed(2)}) ${p.rps / b.rps >= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
    );
  }

  // 2. Ingestion: the stream holds what wrk produced; top it up to EVENTS, then one worker drains it.
  const rnd = prng(7);
  const inStream = await xlen();
  const topUp = Math.max(0, EVENTS - inStream);
  let topOpens = 0;
  let topClicks = 0;
  const now = Date.now();
  const x0 = performance.now();
  for (let done = 0; done < topUp;) {
    const pipe = redis.pipeline();
    const n = Math.min(10_000, topUp - done);
    for (let k = 0; k < n; k++) {
      const subscriberId = seeded.subscribers[Math.floor(rnd() * MESSAGES)];
      const at = now - Math.floor(rnd() * 1_800_000);
      const ip = `198.51.100.${1 + Math.floor(rnd() * 250)}`;
      const userAgent = USER_AGENTS[Math.floor(rnd() * USER_AGENTS.length)];
      // The shapes TrackingService hands to EventBuffer.append.
      const event =
        rnd() < 0.75
          ? { type: 'open', at, campaignId: seeded.campaignId, subscriberId, agent: 'human', ip, userAgent }
          : { type: 'click', at, campaignId: seeded.campaignId, subscriberId, slot: Math.floor(rnd() * seeded.links), agent: 'human', ip, userAgent };
      if (event.type === 'open') topOpens++;
      else topClicks++;
      pipe.xadd(STREAM, '*', 'e', JSON.stringify(event));
    }
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
    done += n;
  }
  const xaddMs = performance.now() - x0;
  const total = fromHttp + topUp;
  const expected = { opens: opensFromHttp + topOpens, clicks: clicksFromHttp + topClicks };
  if ((await added()) !== total) throw new Error(`stream got ${await added()} entries, expected ${total}`);
  console.log('');
  console.log(
    `ingestion: ${fmt(inStream + topUp)} events in the stream (${fmt(inStream)} of the ${fmt(fromHttp)} from the HTTP runs, ${fmt(topUp)} added with pipelined XADD in ${secs(xaddMs)} s); ${fmt(expected.opens)} opens, ${fmt(expected.clicks)} clicks in all`,
  );
  await db((c) => c.query('CHECKPOINT')); // the seeding's and the HTTP runs' writes are not flushed on the worker's time
  console.log(`load average before ingestion: ${load()}`);

  let t0 = 0;
  let atStart = 0;
  const groupExists = async () => {
    const groups = (await redis!.xinfo('GROUPS', STREAM)) as unknown[];
    if (!groups.length) return false;
    t0 = performance.now();
    atStart = await xlen();
    return true;
  };
  const worker = new Platform({ ...env, ROLE: 'worker', PUBLIC_URL: base });
  platform = worker;
  await worker.start(groupExists);
  // WORKERS=2…: more worker processes sharing the consumer group, started once the first one reads.
  moreWorkers = Array.from({ length: WORKERS - 1 }, () => new Platform({ ...env, ROLE: 'worker', PUBLIC_URL: base, LOG_LEVEL: 'info' }));
  await Promise.all(moreWorkers.map((w) => w.start('worker started')));
  const workers = [worker, ...moreWorkers];
  const cpu = new CpuMeter(workers.flatMap((w) => w.pids()));
  let firstApplied = 0;
  for (;;) {
    const left = await xlen();
    if (!firstApplied && left < atStart) firstApplied = performance.now();
    if (left === 0) break;
    for (const w of workers) if (w.child.exitCode !== null || w.child.signalCode !== null) throw new Error(`worker exited:\n${w.output.slice(-2000)}`);
    await sleep(100);
  }
  const ingestMs = performance.now() - t0;
  const ingestCpu = cpu.report(WORKERS > 1 ? 'workers' : 'worker');
  const workerRss = Math.max(...workers.map((w) => w.peakRssMb()));
  for (const w of workers) await w.stop();
  const ingestRate = atStart / (ingestMs / 1000);

  const verify = await db(async (c) => {
    const e = (
      await c.query(`SELECT count(*) AS n, count(*) FILTER (WHERE type = 'open') AS opens, count(*) FILTER (WHERE type = 'click') AS clicks FROM events`)
    ).rows[0];
    const s = (await c.query(`SELECT * FROM campaign_stats WHERE campaign_id = $1`, [seeded.campaignId])).rows[0] ?? {};
    const l = (await c.query(`SELECT COALESCE(sum(clicks), 0) AS clicks FROM campaign_links WHERE campaign_id = $1`, [seeded.campaignId])).rows[0];
    const g = (await c.query(`SELECT count(*) AS n FROM engagements`)).rows[0];
    return {
      events: Number(e.n),
      opens: Number(e.opens),
      clicks: Number(e.clicks),
      stats: s as Record<string, string>,
      linkClicks: Number(l.clicks),
      engagements: Number(g.n),
    };
  });
  const exact =
    verify.events === total &&
    verify.opens === expected.opens &&
    verify.clicks === expected.clicks &&
    Number(verify.stats.opens) === expected.opens &&
    Number(verify.stats.clicks) === expected.clicks &&
    verify.linkClicks === expected.clicks;

  // Baselines on the very rows the platform wrote: exported with COPY TO, loaded back in bare pg.
  const rowsFile = join(dir, 'events.tsv');
  const baselines = await db(async (c) => {
    await pipeline(
      c.query(copyTo(`COPY events (id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent, data) TO STDOUT`)),
      createWriteStream(rowsFile),
    );
    await c.query(`CREATE TABLE bench_copy (LIKE events)`); // no primary key, no index
    const t = performance.now();
    const sink = c.query(copyFrom(`COPY bench_copy FROM STDIN`));
    await pipeline(createReadStream(rowsFile, { highWaterMark: 1 << 20 }), sink);
    const copyMs = performance.now() - t;
    const copied = Number(sink.rowCount);
    await c.query(`DROP TABLE bench_copy`);

    // The platform's first statement alone — the raw events, INGEST_BATCH_SIZE rows per multi-row
    // INSERT from arrays, one transaction each — into a table with the same primary key and index.
    const batch = Number(process.env.INGEST_BATCH_SIZE ?? 5_000);
    const lines = readFileSync(rowsFile, 'utf8').split('\n').filter(Boolean);
    const batches: (string | null)[][][] = [];
    for (let i = 0; i < lines.length; i += batch) {
      const cols: (string | null)[][] = Array.from({ length: 10 }, () => []);
      for (const line of lines.slice(i, i + batch)) line.split('\t').forEach((v, k) => cols[k].push(v === '\\N' ? null : v));
      batches.push(cols);
    }
    await c.query(`CREATE TABLE bench_insert (LIKE events INCLUDING ALL)`);
    const t2 = performance.now();
    for (const cols of batches) {
      await c.query(
        `INSERT INTO bench_insert SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::text[], $7::int[], $8::inet[], $9::text[], $10::jsonb[])`,
        cols,
      );
    }
    const insertMs = performance.now() - t2;
    await c.query(`DROP TABLE bench_insert`);
    return { copied, copyMs, inserted: lines.length, insertMs, batch };
  });
  rmSync(rowsFile, { force: true });

  const s = verify.stats;
  console.log(
    `platform: ${WORKERS === 1 ? 'one ROLE=worker process' : `${WORKERS} ROLE=worker processes`} drained ${fmt(atStart)} events in ${secs(ingestMs)} s = ${fmt(ingestRate)} events/s (first batch committed after ${secs(firstApplied - t0)} s); ${ingestCpu}; worker peak RSS ${workerRss.toFixed(0)} MB`,
  );
  console.log(
    `  check: events ${fmt(verify.events)} (expected ${fmt(total)}); campaign_stats opens ${fmt(Number(s.opens))} / clicks ${fmt(Number(s.clicks))} (expected ${fmt(expected.opens)} / ${fmt(expected.clicks)}); link clicks ${fmt(verify.linkClicks)}; unique opens ${fmt(Number(s.unique_opens))}, unique clicks ${fmt(Number(s.unique_clicks))}, unique human clicks ${fmt(Number(s.unique_human_clicks))}; ${fmt(verify.engagements)} engagement rows: ${exact ? 'exact' : 'NOT EXACT'}`,
  );
  console.log(
    `baseline COPY (pg-copy-streams) of the same rows into an unindexed table: ${fmt(baselines.copied)} rows in ${secs(baselines.copyMs)} s = ${fmt(baselines.copied / (baselines.copyMs / 1000))} rows/s; platform / COPY = ${(ingestRate / (baselines.copied / (baselines.copyMs / 1000))).toFixed(3)}`,
  );
  console.log(
    `baseline multi-row INSERT … unnest of the same rows, ${fmt(baselines.batch)} per statement, into a table with the events table's primary key and index: ${secs(baselines.insertMs)} s = ${fmt(baselines.inserted / (baselines.insertMs / 1000))} rows/s; platform / INSERT = ${(ingestRate / (baselines.inserted / (baselines.insertMs / 1000))).toFixed(3)}`,
  );
  console.log(
    `target ≥ ${fmt(TARGET_INGEST)} events/s: ${ingestRate >= TARGET_INGEST && exact ? 'PASS' : 'FAIL'} (${(ingestRate / TARGET_INGEST).toFixed(2)} of it${exact ? '' : '; counters not exact'})`,
  );

  // 3. Reports with STATS_EVENTS rows in events. The synthetic rows are of the same campaign but move no
  // counter: reports read counters, never events, so they must not get slower.
  const fill = Math.max(0, STATS_EVENTS - verify.events);
  const f0 = performance.now();
  const size = await db(async (c) => {
    await c.query(
      `INSERT INTO events (id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent)
       SELECT (SELECT max(id) FROM events) + g, CASE WHEN g % 4 = 0 THEN 'click' ELSE 'open' END, now() - (g % 2592000) * interval '1 second',
              $1, m.subscriber_id, 'human', CASE WHEN g % 4 = 0 THEN (g / 4) % $4 END, ('198.51.100.' || (1 + g % 250))::inet, $2
       FROM generate_series(1, $3::bigint) AS g
       JOIN (SELECT subscriber_id, row_number() OVER (ORDER BY id) - 1 AS k FROM messages WHERE campaign_id = $1) m ON m.k = g % $5`,
      [seeded.campaignId, USER_AGENT, fill, seeded.links, MESSAGES],
    );
    const fillMs = performance.now() - f0;
    const v0 = performance.now();
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
    const vacuumMs = performance.now() - v0;
    const r = (await c.query(`SELECT count(*) AS n, pg_size_pretty(pg_total_relation_size('events')) AS size FROM events`)).rows[0];
    return { n: Number(r.n), size: r.size as string, fillMs, vacuumMs };
  });
  console.log('');
  console.log(
    `stats: events holds ${fmt(size.n)} rows (${size.size} with its indexes; ${fmt(fill)} synthetic rows added in ${secs(size.fillMs)} s, VACUUM ANALYZE and CHECKPOINT ${secs(size.vacuumMs)} s); the synthetic rows move no counter — reports read counters, never events`,
  );
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  platform = await new Platform({ ...env, ROLE: 'api', PORT: String(port), PUBLIC_URL: base }).start(healthy(port));
  const report = await api(base, 'GET', `/v1/campaigns/${seeded.campaignId}/stats`);
  console.log(
    `  the report: status ${report.status}, sent ${fmt(report.sent)}, opens ${fmt(report.opens.total)} (unique ${fmt(report.opens.unique)}), clicks ${fmt(report.clicks.total)} (unique ${fmt(report.clicks.unique)})`,
  );
  console.log(`load average before the report runs: ${load()}`);
  const reports: Record<string, WrkRun & { used: string }> = {};
  for (const path of ['stats', 'stats/timeseries?interval=hour', 'links']) {
    const url = `${base}/v1/campaigns/${seeded.campaignId}/${path}`;
    for (let i = 0; i < 50; i++) await api(base, 'GET', `/v1/campaigns/${seeded.campaignId}/${path}`);
    const cpu = new CpuMeter(platform.pids());
    const r = await wrk(url, { threads: 1, connections: 4, seconds: 10, headers: [`Authorization: Bearer ${ADMIN_KEY}`] });
    reports[path] = { ...r, used: cpu.report('platform') };
    console.log(
      `  GET /v1/campaigns/:id/${path}: ${fmt(r.rps)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (wrk -t1 -c4 -d10s); ${reports[path].used}`,
    );
  }
  await platform.stop();
  const p99 = reports['stats'].p99;
  console.log(`  target p99 ≤ ${TARGET_P99_MS} ms for /stats: ${p99 <= TARGET_P99_MS ? 'PASS' : 'FAIL'}`);

  console.log('');
  console.log('summary');
  for (const kind of ['pixel', 'click'] as const) {
    const ratio = http[kind].rps / bareRuns[kind].rps;
    console.log(
      `  ${kind}: platform ${fmt(http[kind].rps)} req/s, bare Fastify ${fmt(bareRuns[kind].rps)} req/s, ratio ${ratio.toFixed(2)} (≥ ${TARGET_RATIO.toFixed(2)}) ${ratio >= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
    );
  }
  console.log(
    `  ingestion: ${fmt(ingestRate)} events/s${exact ? ', exact' : ', NOT EXACT'} (≥ ${fmt(TARGET_INGEST)}) ${ingestRate >= TARGET_INGEST && exact ? 'PASS' : 'FAIL'}; COPY baseline ${fmt(baselines.copied / (baselines.copyMs / 1000))} rows/s`,
  );
  console.log(`  stats with ${fmt(size.n)} events: p99 ${p99.toFixed(2)} ms (≤ ${TARGET_P99_MS} ms) ${p99 <= TARGET_P99_MS ? 'PASS' : 'FAIL'}`);
  console.log(`load average at the end: ${load()}`);
}

void runBenchmark({ run, cleanup, deadlineMs: DEADLINE_MS, output: () => platform?.output });
