/**
 * CSV import: a generated ROWS-row file (default 1,000,000) streamed to the running platform
 * (`node dist/src/main.js`, ROLE=all) and timed from the first byte of the upload to `completed`,
 * next to two baselines on the same file in the same run: bare csv-parse (parse only) and a bare
 * Postgres bulk load (COPY through pg-copy-streams into an unindexed UNLOGGED table).
 * Everything it creates (temp dir, database edm_bench_import, Redis keys edm-bench-import:*) is
 * removed at the end, also on failure; the whole run gives up after 10 minutes.
 * Run: npm run bench:import   (ROWS=100000 npm run bench:import for a quick one)
 */
import { parse } from 'csv-parse';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
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
  postgresCpuSeconds,
  prng,
  resetDatabase,
  runBenchmark,
} from '../support/platform';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const DB = 'edm_bench_import';
const PREFIX = 'edm-bench-import';
const TARGET = 50_000; // rows/s, upload start → completed
const DEADLINE_MS = 10 * 60_000;
const POLL_MS = 250;

const FIRST = ['Anna', 'Luc', 'Marie', 'João', 'Sofia', 'Jan', 'Emma', 'Noah', 'Léa', 'Omar', 'Yuki', 'Chloé', 'Paul', 'Ines', 'Karl', 'Mia'];
const LAST = ['Martin', 'Bernard', 'Müller', 'García', 'Rossi', 'Silva', 'Novak', 'Dubois', 'Smith', 'Jensen', 'Tanaka', 'Nowak', 'Moreau', "O'Brien"];
const DOMAINS = ['gmail.com', 'yahoo.fr', 'outlook.com', 'orange.fr', 'gmx.de', 'example.com', 'mail.example.org', 'icloud.com'];
const CITIES = ['Paris', 'Lyon', 'Berlin', 'Madrid', 'Oslo', 'Lisbon', 'Rome', 'Vienna', 'Saint-Étienne', 'New York', 'Tokyo', ''];
const PLANS = ['free', 'free', 'free', 'pro', 'pro', 'business'];
const ZONES = ['Europe/Paris', 'Europe/Berlin', 'America/New_York', '', 'Asia/Tokyo', 'Europe/Lisbon', 'UTC', ''];
const BROKEN = (i: number) => [`user${i}.example.com`, `user${i}@`, `@example${i}.com`, `user ${i}@example.com`, `user${i}@@example.com`, ''][i % 6];

/** Writes the CSV row by row (never whole in memory): ~1 % invalid addresses, ~0.5 % repeats of an earlier address. */
async function generate(file: string): Promise<{ invalid: number; duplicates: number }> {
  const rnd = prng(42);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  let invalid = 0;
  let duplicates = 0;
  const recent: string[] = []; // the last 1,000 valid, first-seen addresses
  let kept = 0;
  let buf = 'email,name,city,plan,timezone\n';
  for (let i = 0; i < ROWS; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const r = rnd();
    let email: string;
    if (r < 0.01) {
      email = BROKEN(i);
      invalid++;
    } else if (r < 0.015 && recent.length === 1000) {
      // A repeat of an earlier address, sometimes in capitals (the platform lower-cases).
      const earlier = recent[Math.floor(rnd() * recent.length)];
      email = rnd() < 0.2 ? earlier.toUpperCase() : earlier;
      duplicates++;
    } else {
      email = `${first
        .normalize('NFD')
        .replace(/[^A-Za-z]/g, '')
        .toLowerCase()}.${i}@${DOMAINS[i % DOMAINS.length]}`;
      recent[kept++ % 1000] = email;
    }
    // Some names are "Last, First" in quotes, as exported address books have them.
    const name = rnd() < 0.05 ? `"${last}, ${first}"` : `${first} ${last}`;
    buf += `${email},${name},${pick(CITIES)},${pick(PLANS)},${pick(ZONES)}\n`;
    if (buf.length > 64 * 1024) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return { invalid, duplicates };
}

/** Streams the file as the request body (node:http, piped read stream); resolves with the 202 answer. */
function upload(port: number, path: string, file: string): Promise<{ id: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, headers: { 'Content-Type': 'text/csv', Authorization: `Bearer ${ADMIN_KEY}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          if (res.statusCode !== 202) return reject(new Error(`upload → ${res.statusCode}: ${body.slice(0, 2000)}`));
          const json = JSON.parse(body) as { id?: string };
          if (!json.id) return reject(new Error(`upload answered 202 without an id: ${body.slice(0, 500)}`));
          resolve(json as { id: string });
        });
      },
    );
    req.on('error', reject);
    const src = createReadStream(file, { highWaterMark: 256 * 1024 });
    src.on('error', (e) => req.destroy(e));
    src.pipe(req);
  });
}

async function parseBaseline(file: string): Promise<{ rows: number; ms: number }> {
  const t = performance.now();
  let rows = 0;
  const parser = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
    parse({ bom: true, from_line: 2, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }),
  );
  for await (const record of parser) if (record) rows++;
  return { rows, ms: performance.now() - t };
}

async function copyBaseline(file: string): Promise<{ rows: number; ms: number }> {
  const c = new Client({ connectionString: `${PG}/${DB}` });
  await c.connect();
  try {
    await c.query('DROP TABLE IF EXISTS bench_copy_baseline');
    await c.query('CREATE UNLOGGED TABLE bench_copy_baseline (email text, name text, city text, plan text, timezone text)');
    const t = performance.now();
    const sink = c.query(copyFrom('COPY bench_copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)'));
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), sink);
    const ms = performance.now() - t;
    await c.query('DROP TABLE bench_copy_baseline');
    return { rows: Number(sink.rowCount), ms };
  } finally {
    await c.end();
  }
}

const perSec = (n: number, ms: number) => n / (ms / 1000);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => (ms / 1000).toFixed(2);

interface ImportStatus {
  status: string;
  total: number;
  processed: number;
  created: number;
  updated: number;
  skipped: number;
  errorCount: number;
  failure: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

let platform: Platform | undefined;
let dir: string | undefined;
let cleaned: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    // Platform.stop() waits for an 'exit' that has already happened when the child died of a signal.
    const child = platform?.child;
    if (child && child.exitCode === null && child.signalCode === null) await platform!.stop().catch((e: unknown) => console.error('stopping the platform:', e));
    await resetDatabase(DB).catch((e: unknown) => console.error(`dropping ${DB}:`, e));
    await dropRedisPrefix(PREFIX).catch((e: unknown) => console.error(`deleting Redis keys ${PREFIX}:*:`, e));
    if (dir) rmSync(dir, { recursive: true, force: true });
  })();
  return cleaned;
}

async function run(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'edm-bench-import-'));
  const file = join(dir, 'contacts.csv');
  const gen = await generate(file);
  const bytes = statSync(file).size;
  console.log(`import: ${fmt(ROWS)} rows, ${(bytes / 1e6).toFixed(1)} MB (${fmt(gen.invalid)} invalid addresses, ${fmt(gen.duplicates)} repeated addresses)`);

  const parsed = await parseBaseline(file);

  build();
  await createDatabase(DB);
  await dropRedisPrefix(PREFIX);
  const port = await freePort();
  platform = await new Platform({
    DATABASE_URL: `${PG}/${DB}`,
    REDIS_PREFIX: PREFIX,
    PORT: String(port),
    APP_SECRET: randomBytes(32).toString('hex'),
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
    DATA_DIR: dir,
    ...(process.env.IMPORT_BATCH_SIZE ? { IMPORT_BATCH_SIZE: process.env.IMPORT_BATCH_SIZE } : {}),
  }).start(healthy(port));
  const base = `http://127.0.0.1:${port}`;
  const list = (await api(base, 'POST', '/v1/lists', { name: 'bench', optIn: 'single' })) as { id: string };

  const cpu0 = { platform: platform.cpuSeconds(), postgres: postgresCpuSeconds() };
  const t0 = performance.now();
  const accepted = await upload(port, `/v1/lists/${list.id}/imports?consentText=bench`, file);
  const uploadMs = performance.now() - t0;
  let s: ImportStatus;
  for (;;) {
    s = (await api(base, 'GET', `/v1/imports/${accepted.id}`)) as ImportStatus;
    if (s.status === 'completed' || s.status === 'failed') break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const totalMs = performance.now() - t0;
  const workMs = s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : NaN;
  const rssMb = platform.peakRssMb();
  const cpu = { platform: platform.cpuSeconds() - cpu0.platform, postgres: postgresCpuSeconds() - cpu0.postgres };
  await platform.stop();

  const copied = await copyBaseline(file);

  const platformRate = perSec(ROWS, totalMs);
  const parseRate = perSec(parsed.rows, parsed.ms);
  const copyRate = perSec(copied.rows, copied.ms);
  console.log(
    `platform: status ${s.status}${s.failure ? ` (${s.failure})` : ''}; processed ${fmt(s.processed)}; created ${s.created}, updated ${s.updated}, skipped ${s.skipped}, errorCount ${s.errorCount}`,
  );
  console.log(`platform: upload only ${secs(uploadMs)} s (${fmt(perSec(ROWS, uploadMs))} rows/s)`);
  console.log(
    `platform: upload start → completed ${secs(totalMs)} s = ${fmt(platformRate)} rows/s (worker, startedAt → finishedAt: ${secs(workMs)} s = ${fmt(perSec(ROWS, workMs))} rows/s)`,
  );
  console.log(
    `platform: CPU ${cpu.platform.toFixed(1)} s in the platform process + ${cpu.postgres.toFixed(1)} s in PostgreSQL = ${(((cpu.platform + cpu.postgres) / ROWS) * 1e6).toFixed(1)} µs per row (2 cores give ${secs(2 * totalMs)} CPU-s in that time)`,
  );
  console.log(`platform: peak RSS ${rssMb.toFixed(0)} MB (VmHWM of the ROLE=all process)`);
  console.log(
    `baseline csv-parse alone: ${fmt(parsed.rows)} records in ${secs(parsed.ms)} s = ${fmt(parseRate)} rows/s; platform / csv-parse = ${(platformRate / parseRate).toFixed(3)}`,
  );
  console.log(
    `baseline COPY (pg-copy-streams) into an unindexed UNLOGGED table: ${fmt(copied.rows)} rows in ${secs(copied.ms)} s = ${fmt(copyRate)} rows/s; platform / COPY = ${(platformRate / copyRate).toFixed(3)}`,
  );
  const pass = s.status === 'completed' && platformRate >= TARGET;
  console.log(`target ≥ ${fmt(TARGET)} rows/s: ${pass ? 'PASS' : 'FAIL'} (${(platformRate / TARGET).toFixed(2)} of it)`);
}

void runBenchmark({ run, cleanup, deadlineMs: DEADLINE_MS, output: () => platform?.output });
