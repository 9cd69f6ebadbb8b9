/**
 * Segment counts over SUBSCRIBERS subscribers (default 1,000,000) with EVENTS customer events
 * (default 2,000,000), engagements and conversions: `GET /v1/segments/:id/count` through the
 * platform for typical rules, next to a hand-written SQL query of the same rule run on the same
 * database in the same run (the bare baseline), and the membership refresh of the combined rule.
 * Run: npm run bench:segments
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ADMIN_KEY, api, build, dropRedisPrefix, freePort, healthy, PG, Platform, resetDatabase, runBenchmark } from '../support/platform';

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 1_000_000);
const EVENTS = Number(process.env.EVENTS ?? 2_000_000);
const RUNS = Number(process.env.RUNS ?? 3);
const DB = 'edm_bench_segments';
const PREFIX = 'edm-bench-segments';
const CAMPAIGNS = ['00000000-0000-4000-8000-00000000c001', '00000000-0000-4000-8000-00000000c002'];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Rules and the SQL a person would write by hand for the same question. */
const CASES: { name: string; rules: object; bare: string }[] = [
  {
    name: 'attribute eq',
    rules: { attribute: 'plan', op: 'eq', value: 'pro' },
    bare: `SELECT count(*) FROM subscribers WHERE email IS NOT NULL AND attributes->>'plan' = 'pro'`,
  },
  {
    name: 'number between',
    rules: { attribute: 'age', op: 'between', value: [30, 40] },
    bare: `SELECT count(*) FROM subscribers WHERE email IS NOT NULL AND (attributes->>'age')::numeric BETWEEN 30 AND 40`,
  },
  {
    name: 'date within 90 days',
    rules: { attribute: 'signup', op: 'withinLastDays', value: 90 },
    bare: `SELECT count(*) FROM subscribers WHERE email IS NOT NULL AND (attributes->>'signup')::timestamptz BETWEEN now() - interval '90 days' AND now()`,
  },
  {
    name: 'event ≥ 3 in 30 days',
    rules: { event: 'Product Viewed', withinDays: 30, count: { gte: 3 } },
    bare: `SELECT count(*) FROM subscribers s WHERE email IS NOT NULL AND EXISTS (
             SELECT 1 FROM customer_events e WHERE e.subscriber_id = s.id AND e.event = 'Product Viewed' AND e.at >= now() - interval '30 days'
             HAVING count(*) >= 3)`,
  },
  {
    name: 'not opened in 90 days',
    rules: { not: { engagement: 'opened', withinDays: 90 } },
    bare: `SELECT count(*) FROM subscribers s WHERE email IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM engagements e WHERE e.subscriber_id = s.id AND e.human_opened_at >= now() - interval '90 days')`,
  },
  {
    name: 'rfm r 4–5, m 4–5',
    rules: { rfm: { r: [4, 5], m: [4, 5] }, withinDays: 365 },
    bare: `WITH p AS (SELECT subscriber_id, at, COALESCE(value, 0) AS amount FROM conversions WHERE at >= now() - interval '365 days'
                     UNION ALL
                     SELECT subscriber_id, at, (properties->>'revenue')::numeric FROM customer_events
                     WHERE event = 'Order Completed' AND subscriber_id IS NOT NULL AND at >= now() - interval '365 days'),
                b AS (SELECT subscriber_id, max(at) AS last_at, sum(amount) AS total FROM p GROUP BY 1),
                q AS (SELECT subscriber_id, ntile(5) OVER (ORDER BY last_at) AS r, ntile(5) OVER (ORDER BY total) AS m FROM b)
           SELECT count(*) FROM subscribers s JOIN q ON q.subscriber_id = s.id WHERE s.email IS NOT NULL AND r >= 4 AND m >= 4`,
  },
];
const combined = (list: string) => ({
  and: [{ list }, { attribute: 'plan', op: 'in', value: ['pro', 'team'] }, { not: { engagement: 'opened', withinDays: 90 } }, CASES[3].rules],
});

async function seed(c: Client, list: string): Promise<void> {
  await c.query(`SELECT setseed(0.42)`);
  await c.query(
    `INSERT INTO subscribers (email, name, attributes)
     SELECT 'reader' || i || '@example.com', 'Reader ' || i,
            jsonb_build_object('plan', (ARRAY['pro', 'free', 'free', 'team'])[1 + i % 4], 'age', 18 + i % 60,
                               'signup', to_char(now() - (i % 720) * interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
     FROM generate_series(1, $1) i`,
    [SUBSCRIBERS],
  );
  await c.query(`CREATE TEMP TABLE ids AS SELECT row_number() OVER (ORDER BY id) AS k, id FROM subscribers`);
  await c.query(`CREATE INDEX ON ids (k)`);
  await c.query(`INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT id, $1, 'confirmed', now() FROM subscribers`, [list]);
  await c.query(
    `INSERT INTO customer_events (subscriber_id, type, event, properties, at, message_id)
     SELECT ids.id, 'track', CASE WHEN g % 10 < 7 THEN 'Product Viewed' ELSE 'Order Completed' END,
            CASE WHEN g % 10 < 7 THEN jsonb_build_object('category', 'shoes') ELSE jsonb_build_object('order_id', 'o' || g, 'revenue', 5 + g % 300) END,
            now() - random() * interval '180 days', 'm' || g
     FROM (SELECT g, 1 + floor(random() * $2)::bigint AS k FROM generate_series(1, $1) g) x JOIN ids USING (k)`,
    [EVENTS, SUBSCRIBERS],
  );
  for (const [n, campaign] of CAMPAIGNS.entries()) {
    await c.query(
      `INSERT INTO engagements (campaign_id, subscriber_id, opened_at, human_opened_at, clicked_at, human_clicked_at)
       SELECT $1, id, t, CASE WHEN k % 3 > 0 THEN t END, CASE WHEN k % 5 = 0 THEN t END, CASE WHEN k % 10 = 0 THEN t END
       FROM (SELECT k, id, now() - (($2 + k) % 200) * interval '1 day' AS t FROM ids WHERE k % 5 < 2) x`,
      [campaign, n * 50],
    );
  }
  await c.query(
    `INSERT INTO conversions (order_id, campaign_id, subscriber_id, value, currency, attributed, at)
     SELECT 'c' || k, $1, id, 10 + k % 200, 'EUR', true, now() - (k % 300) * interval '1 day' FROM ids WHERE k % 20 = 0`,
    [CAMPAIGNS[0]],
  );
  await c.query('VACUUM ANALYZE');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

let platform: Platform | undefined;
const dir = mkdtempSync(join(tmpdir(), 'edm-bench-segments-'));

async function run(): Promise<void> {
  build();
  await resetDatabase(DB);
  await dropRedisPrefix(PREFIX);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: `${PG}/${DB}`, REDIS_PREFIX: PREFIX, APP_SECRET: 'bench'.repeat(13), ADMIN_API_KEY: ADMIN_KEY, DATA_DIR: dir, LOG_LEVEL: 'warn' };
  platform = await new Platform({ ...env, ROLE: 'api', PORT: String(port) }).start(healthy(port)); // migrates the database
  const c = new Client({ connectionString: `${PG}/${DB}` });
  c.on('error', () => undefined); // the cleanup drops the database under it
  await c.connect();
  const s0 = performance.now();
  const list = (await api(base, 'POST', '/v1/lists', { name: 'Everyone', optIn: 'single' })).id as string;
  await seed(c, list);
  const sizes = (
    await c.query(`SELECT (SELECT count(*) FROM subscribers) AS s, (SELECT count(*) FROM customer_events) AS e,
                                       (SELECT count(*) FROM engagements) AS g, (SELECT count(*) FROM conversions) AS v`)
  ).rows[0];
  console.log(
    `segments: ${fmt(sizes.s)} subscribers, ${fmt(sizes.e)} customer events, ${fmt(sizes.g)} engagements, ${fmt(sizes.v)} conversions (seeded in ${((performance.now() - s0) / 1000).toFixed(1)} s); median of ${RUNS} runs each`,
  );
  console.log('');
  console.log('| rule | members | GET …/count (platform) | hand-written SQL (bare) | platform ÷ bare |');
  console.log('|---|---|---|---|---|');
  const all = combined(list);
  for (const k of [...CASES, { name: 'combined: list ∧ plan ∧ ¬opened ∧ events', rules: all, bare: '' }]) {
    const id = (await api(base, 'POST', '/v1/segments', { name: k.name, rules: k.rules })).id as string;
    const platformMs: number[] = [];
    let members = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      members = (await api(base, 'GET', `/v1/segments/${id}/count`)).count as number;
      platformMs.push(performance.now() - t);
    }
    const bareMs: number[] = [];
    let bareCount = NaN;
    for (let i = 0; k.bare && i < RUNS; i++) {
      const t = performance.now();
      bareCount = Number((await c.query<{ count: string }>(k.bare)).rows[0].count);
      bareMs.push(performance.now() - t);
    }
    const p = median(platformMs);
    const b = bareMs.length ? median(bareMs) : NaN;
    const same = !k.bare || bareCount === members || k.name.startsWith('rfm') ? '' : ` (bare counted ${fmt(bareCount)})`;
    console.log(
      `| ${k.name} | ${fmt(members)}${same} | ${fmt(p)} ms | ${Number.isNaN(b) ? '—' : `${fmt(b)} ms`} | ${Number.isNaN(b) ? '—' : (p / b).toFixed(2)} |`,
    );
    if (k.rules === all) {
      const r1 = performance.now();
      const first = await api(base, 'POST', `/v1/segments/${id}/refresh`);
      const r2 = performance.now();
      const again = await api(base, 'POST', `/v1/segments/${id}/refresh`);
      const r3 = performance.now();
      console.log('');
      console.log(
        `refresh of the combined segment: first ${fmt(r2 - r1)} ms (${fmt(first.entered)} entered), again ${fmt(r3 - r2)} ms (${fmt(again.entered)} entered, ${fmt(again.exited)} left)`,
      );
    }
  }
  console.log('');
  console.log(
    '(rfm: the bare query ranks with ntile, which splits equal values at random; the platform gives equal values the same score, so counts differ slightly)',
  );
  await c.end();
}

async function cleanup(): Promise<void> {
  await platform?.stop();
  await resetDatabase(DB).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

void runBenchmark({ run, cleanup, deadlineMs: 30 * 60_000, output: () => platform?.output });
