/**
 * The set-based SQL of bench/report: the audience, the sent messages, and the raw tracking events
 * in `events`, written by the formulas of model.ts (h = k·7919 mod 100,000 picks each message's
 * classes). Event ids are stream ids as the ingestor stores them (ms << 20 | sequence).
 */
import { Client } from 'pg';
import { AGE_MS, HOUR, LINKS, PROVIDERS, REPEATS_FROM_MS, REPEATS_SPAN_MS, SEND_SPAN_MS } from './model';

const HUMAN_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
];
const GOOGLE_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const SCANNER = 'Mozilla/5.0 (compatible; Barracuda Sentinel (EE))';

/** The request's address the tracking endpoints keep, by agent (documentation ranges, and the proxies' own). */
const ipOf = (agent: string, k: string) =>
  `(CASE ${agent} WHEN 'human' THEN '198.51.100.' WHEN 'apple_proxy' THEN '17.58.63.' WHEN 'google_proxy' THEN '66.249.84.' ELSE '203.0.113.' END || (1 + ${k} % 250))::inet`;
/** The request's user agent, by agent; $2, $3, $4: HUMAN_AGENTS, GOOGLE_PROXY, SCANNER. */
const userAgentOf = (agent: string, k: string) =>
  `CASE ${agent} WHEN 'human' THEN ($2::text[])[1 + ${k} % 5] WHEN 'apple_proxy' THEN 'Mozilla/5.0' WHEN 'google_proxy' THEN $3 ELSE $4 END`;

/** `n` subscribers, confirmed on the list; recipient i's domain is model.domainOf(i) (the same per-mille bounds). */
export async function seedAudience(c: Client, list: string, n: number): Promise<void> {
  const hi = PROVIDERS.map((_, i) => PROVIDERS.slice(0, i + 1).reduce((s, [, w]) => s + w, 0));
  await c.query(
    `INSERT INTO subscribers (email, name)
     SELECT 'reader' || i || '@' || COALESCE(p.name, 'corp' || (i % 25000) || '.example'), 'Reader ' || i
     FROM generate_series(1, $4::int8) i
     LEFT JOIN unnest($1::text[], $2::int[], $3::int[]) AS p(name, lo, hi) ON (i * 4099) % 1000 >= p.lo AND (i * 4099) % 1000 < p.hi`,
    [PROVIDERS.map(([d]) => d), hi.map((x, i) => x - PROVIDERS[i][1]), hi, n],
  );
  await c.query(`INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT id, $1, 'confirmed', now() FROM subscribers`, [list]);
}

/**
 * The campaign's messages in id order get their rank k (bench_msg, with each one's send time s and
 * class h, and its first open fo); the first `sent` of them are sent over SEND_SPAN_MS from t0, as
 * the dispatcher records them (and tallies them); the rest stay queued for later (their send time is the local time
 * the campaign was scheduled at).
 */
export async function markSent(c: Client, campaign: string, n: number, sent: number, t0: number): Promise<void> {
  await c.query(
    `CREATE UNLOGGED TABLE bench_msg AS
     SELECT k, id AS message_id, subscriber_id AS sid, s, h,
            CASE WHEN h < 30000 THEN s + 60000 + ((k * 7717) % 36000) * 1000 WHEN h < 45000 THEN s + 5000 + (k % 600) * 1000 END AS fo
     FROM (SELECT k, id, subscriber_id, $2::int8 + ((k - 1) * $3::int8) / $4::int8 AS s, (k * 7919) % 100000 AS h
           FROM (SELECT row_number() OVER (ORDER BY id) AS k, id, subscriber_id FROM messages WHERE campaign_id = $1) m) x`,
    [campaign, t0, SEND_SPAN_MS, n],
  );
  await c.query(`ALTER TABLE bench_msg ADD PRIMARY KEY (k)`);
  await c.query(
    `UPDATE messages m SET status = 'sent', attempts = 1, send_at = to_timestamp(b.s / 1000.0), sent_at = to_timestamp(b.s / 1000.0),
       sent_by = 'bench', smtp_response = '250 2.0.0 OK', updated_at = to_timestamp(b.s / 1000.0)
     FROM bench_msg b WHERE m.id = b.message_id AND b.k <= $1`,
    [sent],
  );
  await c.query(`INSERT INTO message_outcomes (campaign_id, run, sent) VALUES ($1, 'bench/seed', $2)`, [campaign, sent]); // the runs' tallies
  await c.query(`UPDATE campaigns SET started_at = to_timestamp($2 / 1000.0) WHERE id = $1`, [campaign, t0]);
}

/** The events of the first `sent` messages other than repeat opens (model.ts: `structured`). */
export async function seedStructuredEvents(c: Client, campaign: string, sent: number): Promise<number> {
  const hard = JSON.stringify({ bounce: 'hard', reason: '550 5.1.1 user unknown', provider: 'generic' });
  const soft = JSON.stringify({ bounce: 'soft', reason: '452 4.2.2 mailbox full', provider: 'generic' });
  const complaint = JSON.stringify({ bounce: null, reason: 'abuse report', provider: 'generic' });
  const order = (at: string, currency: string) =>
    `jsonb_build_object('orderId', 'B-' || k, 'value', 10 + k % 190, 'currency', ${currency}, 'clickedAt', ${at})`;
  const { rowCount } = await c.query(
    `INSERT INTO events (id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent, data)
     SELECT (e.at << 20) | (e.cat << 16) | (e.seq & 65535), e.type, to_timestamp(e.at / 1000.0), $1, e.sid, e.agent, e.slot,
            CASE WHEN e.type IN ('open', 'click') THEN ${ipOf('e.agent', 'e.k')}
                 WHEN e.type = 'unsubscribe' THEN ('209.85.220.' || (1 + e.k % 250))::inet END,
            CASE WHEN e.type IN ('open', 'click') THEN ${userAgentOf('e.agent', 'e.k')} END,
            e.data
     FROM (
       SELECT 1 AS cat, k AS seq, 'open' AS type, fo AS at, k, sid, 'human' AS agent, NULL::int AS slot, NULL::jsonb AS data FROM b WHERE h < 30000
       UNION ALL SELECT 2, k, 'open', fo, k, sid, CASE WHEN k % 3 < 2 THEN 'apple_proxy' ELSE 'google_proxy' END, NULL, NULL FROM b WHERE h >= 30000 AND h < 45000
       UNION ALL SELECT 3, k * 4 + j, 'click', fo + 120000 + j * 45000, k, sid, 'human', (CASE WHEN j = 1 THEN (k + 1) % ${LINKS} ELSE k % ${LINKS} END)::int, NULL
         FROM b, generate_series(0, k % 3) j WHERE h < 8000
       UNION ALL SELECT 4, k * 4 + j, 'click', s + 3600000 + (k % 3600) * 1000 + j * 60000, k, sid, 'human', ((k + j) % ${LINKS})::int, NULL
         FROM b, generate_series(0, k % 2) j WHERE h >= 45000 AND h < 47000
       UNION ALL SELECT 5, k * 4 + j, 'click', s + 3000 + j * 150, k, sid, 'scanner', j::int, NULL
         FROM b, generate_series(0, ${LINKS - 1}) j WHERE (h >= 47000 AND h < 49000) OR h < 1000
       UNION ALL SELECT 6, k * 2 + j, 'conversion', fo + 720000 + (k % 20) * ${HOUR} + j * 60000, k, sid, NULL, NULL,
                        ${order('fo + 120000', `CASE WHEN h < 200 THEN 'USD' ELSE 'EUR' END`)}
         FROM b, generate_series(0, CASE WHEN h < 100 THEN 1 ELSE 0 END) j WHERE h < 2000
       UNION ALL SELECT 7, k, 'conversion', fo + 120000 + 30 * ${HOUR}, k, sid, NULL, NULL, ${order('fo + 120000', `'EUR'`)} FROM b WHERE h >= 2000 AND h < 2300
       UNION ALL SELECT 8, k, 'unsubscribe', CASE WHEN h >= 49000 THEN s + 7200000 + (k % 3600) * 1000 ELSE fo + 300000 END, k, sid, NULL, NULL, NULL
         FROM b WHERE (h >= 49000 AND h < 49300) OR (h >= 29000 AND h < 29200)
       UNION ALL SELECT 9, k, 'complaint', fo + 86400000, k, sid, NULL, NULL, '${complaint}'::jsonb FROM b WHERE h >= 29800 AND h < 29830
       UNION ALL SELECT 10, k, 'bounce', s + 60000 + (k % 600) * 1000, k, sid, NULL, NULL, '${hard}'::jsonb FROM b WHERE h >= 99000 AND h < 99700
       UNION ALL SELECT 11, k * 2 + j, 'bounce', s + 120000 + (k % 600) * 1000 + j * ${HOUR}, k, sid, NULL, NULL, '${soft}'::jsonb
         FROM b, generate_series(0, CASE WHEN h < 98300 THEN 1 ELSE 0 END) j WHERE h >= 98200 AND h < 99000
       UNION ALL SELECT 12, k * 2 + j, 'bounce', s + 60000 + j * 86400000, k, sid, NULL, NULL, (CASE WHEN j = 0 THEN '${soft}' ELSE '${hard}' END)::jsonb
         FROM b, generate_series(0, 1) j WHERE h >= 98000 AND h < 98200
     ) e
     ON CONFLICT (id) DO NOTHING`.replace(/FROM b\b/g, `FROM (SELECT * FROM bench_msg WHERE k <= ${Number(sent)}) b`),
    [campaign, HUMAN_AGENTS, GOOGLE_PROXY, SCANNER],
  );
  return rowCount ?? 0;
}

/** The openers (human and machine-only), numbered 0…n-1, for the repeat opens. */
export async function indexOpeners(c: Client, sent: number): Promise<number> {
  await c.query(
    `CREATE UNLOGGED TABLE bench_openers AS
     SELECT (row_number() OVER (ORDER BY k) - 1)::int8 AS j, k, sid, h < 30000 AS human FROM bench_msg WHERE k <= $1 AND h < 45000`,
    [sent],
  );
  await c.query(`ALTER TABLE bench_openers ADD PRIMARY KEY (j)`);
  await c.query(`ANALYZE bench_openers`);
  return Number((await c.query(`SELECT count(*) AS n FROM bench_openers`)).rows[0].n);
}

/**
 * Repeat opens g = from…to-1 of `repeats`, evenly spread over REPEATS_SPAN_MS from t0 + REPEATS_FROM_MS
 * (after every first open; at least a millisecond apart, so their stream ids are ms << 20), each of
 * opener (g·104729 mod openers): a person re-reading (a seventh of them through Gmail's image proxy),
 * or the machine that fetched the pixel before.
 */
export async function seedRepeatOpens(c: Client, campaign: string, t0: number, openers: number, repeats: number, from: number, to: number): Promise<number> {
  const { rowCount } = await c.query(
    `INSERT INTO events (id, type, at, campaign_id, subscriber_id, agent, slot, ip, user_agent, data)
     SELECT x.at << 20, 'open', to_timestamp(x.at / 1000.0), $1, o.sid, a.agent, NULL, ${ipOf('a.agent', 'o.k')},
            ${userAgentOf('a.agent', 'o.k')}, NULL
     FROM (SELECT g, $5::int8 + (g * $6::int8) / $7::int8 AS at, (g * 104729) % $8::int8 AS j FROM generate_series($9::int8, $10::int8 - 1) g) x
     JOIN bench_openers o ON o.j = x.j
     CROSS JOIN LATERAL (SELECT CASE WHEN o.human AND x.g % 7 <> 0 THEN 'human' WHEN o.human OR o.k % 3 = 2 THEN 'google_proxy' ELSE 'apple_proxy' END AS agent) a`,
    [campaign, HUMAN_AGENTS, GOOGLE_PROXY, SCANNER, t0 + REPEATS_FROM_MS, REPEATS_SPAN_MS, repeats, openers, from, to],
  );
  return rowCount ?? 0;
}

export async function dropHelpers(c: Client): Promise<void> {
  await c.query(`DROP TABLE IF EXISTS bench_openers, bench_msg`);
}

/** When the campaign started: AGE_MS ago, to the second. */
export function startTime(): number {
  return Math.floor((Date.now() - AGE_MS) / 1000) * 1000;
}
