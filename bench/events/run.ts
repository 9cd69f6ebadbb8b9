/**
 * Customer events through `POST /v1/batch` (Segment's wire format): CLIENTS concurrent clients
 * (default 8) each posting batches of BATCH track events (default 100, unique messageIds, userIds
 * of USERS linked subscribers) for DURATION seconds (default 20), each batch committed before its 200. Next
 * to it, in the same run, the bare baseline: the same rows inserted by `pg` with one multi-row
 * INSERT per batch into a copy of the events table (its indexes included), at the same concurrency.
 * Run: npm run bench:events
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { ADMIN_KEY, api, build, dropRedisPrefix, freePort, healthy, PG, Platform, resetDatabase, runBenchmark } from '../support/platform';

const CLIENTS = Number(process.env.CLIENTS ?? 8);
const BATCH = Number(process.env.BATCH ?? 100);
const USERS = Number(process.env.USERS ?? 10_000);
const SECONDS = Number(process.env.DURATION ?? 20);
const DB = 'edm_bench_events';
const PREFIX = 'edm-bench-events';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

let platform: Platform | undefined;
const dir = mkdtempSync(join(tmpdir(), 'edm-bench-events-'));

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** One batch of track events, as Segment's libraries send it; `n` makes every messageId unique. */
function batch(n: number): object[] {
  return Array.from({ length: BATCH }, (_, i) => ({
    type: 'track',
    messageId: `m-${n}-${i}`,
    userId: `user-${(n * BATCH + i) % USERS}`,
    event: i % 3 ? 'Product Viewed' : 'Order Completed',
    properties: i % 3 ? { category: 'shoes', sku: `sku-${i}` } : { order_id: `o-${n}-${i}`, revenue: 10 + (i % 90), currency: 'EUR' },
    timestamp: new Date().toISOString(),
    context: { library: { name: 'bench', version: '1' } },
  }));
}

/** Runs `work` on CLIENTS loops for SECONDS; the batches done and each one's latency. */
async function load(work: (n: number) => Promise<void>): Promise<{ batches: number; ms: number[]; seconds: number }> {
  let n = 0;
  const ms: number[] = [];
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await work(n++);
        ms.push(performance.now() - t);
      }
    }),
  );
  return { batches: ms.length, ms, seconds: (performance.now() - started) / 1000 };
}

async function run(): Promise<void> {
  build();
  await resetDatabase(DB);
  await dropRedisPrefix(PREFIX);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: `${PG}/${DB}`, REDIS_PREFIX: PREFIX, APP_SECRET: 'bench'.repeat(13), ADMIN_API_KEY: ADMIN_KEY, DATA_DIR: dir, LOG_LEVEL: 'warn' };
  platform = await new Platform({ ...env, ROLE: 'api', PORT: String(port) }).start(healthy(port));
  const writeKey = (await api(base, 'POST', '/v1/api-keys', { name: 'shop', scopes: ['events:write'] })).key as string;
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  const post = async (body: object) => {
    const res = await fetch(`${base}/v1/batch`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST /v1/batch → ${res.status}: ${text.slice(0, 300)}`);
  };

  // The people the events are about: linked by identify calls (not measured).
  for (let u = 0; u < USERS; u += 500) {
    await post({
      batch: Array.from({ length: Math.min(500, USERS - u) }, (_, i) => ({
        type: 'identify',
        userId: `user-${u + i}`,
        traits: { email: `user${u + i}@example.com`, plan: 'pro' },
      })),
    });
  }
  const pool = new Pool({ connectionString: `${PG}/${DB}`, max: CLIENTS });
  pool.on('error', () => undefined); // the cleanup drops the database under it
  await pool.query('VACUUM ANALYZE');
  console.log(`events: ${CLIENTS} clients, batches of ${BATCH} track events, ${SECONDS} s per side, ${fmt(USERS)} linked users`);

  const measured = await load((n) => post({ batch: batch(n), sentAt: new Date().toISOString() }));
  const platformRate = (measured.batches * BATCH) / measured.seconds;
  const stored = Number((await pool.query(`SELECT count(*) FROM customer_events WHERE type = 'track'`)).rows[0].count);
  console.log(
    `platform: ${fmt(platformRate)} events/s (${fmt(measured.batches)} batches; p50 ${percentile(measured.ms, 50).toFixed(1)} ms, p99 ${percentile(measured.ms, 99).toFixed(1)} ms a batch; ${fmt(stored)} rows stored, expected ${fmt(measured.batches * BATCH)})`,
  );

  // Bare: the same rows, one INSERT … jsonb_to_recordset per batch, into a copy of the table and its indexes.
  await pool.query(`CREATE TABLE bare_events (LIKE customer_events INCLUDING ALL)`);
  const ids = (await pool.query<{ id: string }>(`SELECT id FROM subscribers ORDER BY id`)).rows.map((r) => r.id);
  const bare = await load(async (n) => {
    const rows = batch(n).map((e) => {
      const m = e as { messageId: string; userId: string; event: string; properties: object; timestamp: string; context: object };
      return {
        subscriber_id: ids[Number(m.userId.slice(5)) % ids.length],
        event: m.event,
        properties: m.properties,
        at: m.timestamp,
        user_id: m.userId,
        message_id: m.messageId,
        context: m.context,
      };
    });
    await pool.query(
      `INSERT INTO bare_events (subscriber_id, type, event, properties, at, user_id, message_id, context)
       SELECT subscriber_id, 'track', event, properties, at, user_id, message_id, context
       FROM jsonb_to_recordset($1) AS x(subscriber_id uuid, event text, properties jsonb, at timestamptz, user_id text, message_id text, context jsonb)`,
      [JSON.stringify(rows)],
    );
  });
  const bareRate = (bare.batches * BATCH) / bare.seconds;
  console.log(
    `baseline bare INSERT of the same rows (pg, ${CLIENTS} connections, one statement a batch): ${fmt(bareRate)} rows/s (p50 ${percentile(bare.ms, 50).toFixed(1)} ms, p99 ${percentile(bare.ms, 99).toFixed(1)} ms a batch)`,
  );
  console.log(`platform / bare: ${(platformRate / bareRate).toFixed(2)}`);
  await pool.end();
}

async function cleanup(): Promise<void> {
  await platform?.stop();
  await resetDatabase(DB).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

void runBenchmark({ run, cleanup, deadlineMs: 20 * 60_000, output: () => platform?.output });
