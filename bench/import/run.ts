/**
 * CSV import: a generated ROWS-row file (default 1,000,000) uploaded to the running platform, timed
 * from the first byte of the upload to `completed`, next to two baselines on the same file in the
 * same run: bare csv-parse (parse only) and bare Postgres (psql \copy into an unindexed table).
 * Run: npm run bench:import
 */
import { parse } from 'csv-parse';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ADMIN_KEY, api, build, dropRedisPrefix, freePort, healthy, PG, Platform, rate, resetDatabase } from '../support/platform';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const DB = 'edm_bench_import';
const PREFIX = 'edm-bench-import';
const CITIES = ['Paris', 'Lyon', 'Berlin', 'Madrid', 'Oslo', 'Lisbon', 'Rome', 'Vienna'];
const ZONES = ['Europe/Paris', 'Europe/Berlin', 'America/New_York', '', 'Asia/Tokyo'];

async function generate(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write('email,name,city,plan,timezone\n');
  for (let i = 0; i < ROWS; i++) {
    // ~1% invalid addresses, ~0.5% repeats of an earlier row.
    const email = i % 100 === 99 ? `broken-${i}-at-example.com` : i % 200 === 7 && i > 1000 ? `user${i - 1000}@example.com` : `user${i}@example.com`;
    if (!out.write(`${email},User ${i},${CITIES[i % 8]},${i % 3 ? 'free' : 'pro'},${ZONES[i % 5]}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function upload(port: number, path: string, file: string): Promise<{ id: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'Content-Type': 'text/csv', Authorization: `Bearer ${ADMIN_KEY}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 202 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edm-bench-import-'));
  const file = join(dir, 'contacts.csv');
  let platform: Platform | undefined;
  try {
    await generate(file);
    const mb = statSync(file).size / 1e6;
    console.log(`import: ${ROWS.toLocaleString('en-US')} rows, ${mb.toFixed(1)} MB`);

    // Baseline 1: csv-parse alone.
    let t = Date.now();
    let parsed = 0;
    for await (const record of createReadStream(file).pipe(parse({ from_line: 2 }))) if (record) parsed++;
    const parseMs = Date.now() - t;

    build();
    await resetDatabase(DB);
    await dropRedisPrefix(PREFIX);
    const port = await freePort();
    platform = await new Platform({
      DATABASE_URL: `${PG}/${DB}`,
      REDIS_PREFIX: PREFIX,
      PORT: String(port),
      APP_SECRET: 'bench'.repeat(13),
      ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
      DATA_DIR: dir,
      ...(process.env.IMPORT_BATCH_SIZE ? { IMPORT_BATCH_SIZE: process.env.IMPORT_BATCH_SIZE } : {}),
    }).start(healthy(port));
    const base = `http://127.0.0.1:${port}`;
    const list = await api(base, 'POST', '/v1/lists', { name: 'bench', optIn: 'single' });

    t = Date.now();
    const created = await upload(port, `/v1/lists/${list.id}/imports?consentText=bench`, file);
    const uploadMs = Date.now() - t;
    let status: { status: string; created: number; updated: number; skipped: number; errorCount: number; startedAt: string; finishedAt: string };
    do {
      await new Promise((r) => setTimeout(r, 250));
      status = await api(base, 'GET', `/v1/imports/${created.id}`);
    } while (status.status !== 'completed' && status.status !== 'failed' && Date.now() - t < 600_000);
    const totalMs = Date.now() - t;
    const workMs = Date.parse(status.finishedAt) - Date.parse(status.startedAt);
    const rssMb = platform.peakRssMb();
    await platform.stop();

    // Baseline 2: bare Postgres bulk load of the same file.
    execFileSync('psql', [`${PG}/${DB}`, '-qc', 'CREATE UNLOGGED TABLE bench_raw (email text, name text, city text, plan text, timezone text)']);
    t = Date.now();
    execFileSync('psql', [`${PG}/${DB}`, '-qc', `\\copy bench_raw FROM '${file}' WITH (FORMAT csv, HEADER true)`]);
    const copyMs = Date.now() - t;

    const platformRate = ROWS / (totalMs / 1000);
    console.log(`platform: status ${status.status}; created ${status.created}, updated ${status.updated}, skipped ${status.skipped} (errors ${status.errorCount})`);
    console.log(`platform: upload ${(uploadMs / 1000).toFixed(1)} s, upload → completed ${(totalMs / 1000).toFixed(1)} s = ${rate(ROWS, totalMs)}; worker only ${rate(ROWS, workMs)}; peak RSS ${rssMb.toFixed(0)} MB`);
    console.log(`baseline csv-parse alone: ${rate(parsed, parseMs)}`);
    console.log(`baseline psql \\copy into an unindexed table: ${rate(ROWS, copyMs)}`);
    console.log(`ratio platform / bare COPY: ${(copyMs / totalMs).toFixed(2)}`);
    console.log(`target ≥ 50,000 rows/s: ${platformRate >= 50_000 ? 'PASS' : 'FAIL'}`);
  } finally {
    await platform?.stop();
    await resetDatabase(DB);
    await dropRedisPrefix(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
