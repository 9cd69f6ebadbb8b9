import fc from 'fast-check';
import { Pool } from 'pg';
import { SegmentEngagementSql } from '../src/analytics/segment-engagement.repository';
import { SegmentProfileSql } from '../src/audience/segment-profile.repository';
import { SegmentDeliverySql } from '../src/campaigns/segment-delivery.repository';
import { loadConfig } from '../src/config/config';
import { SegmentEventSql } from '../src/customers/segment-predicates.repository';
import { parseRules } from '../src/segments/rule-parser';
import { BUILT_IN_FIELDS, OPS, Rule } from '../src/segments/rules';
import { SegmentCompiler } from '../src/segments/segment-compiler';
import { SqlParams } from '../src/segments/segment-sql';
import { createTestDatabase, databaseUrl, dropDatabase } from './support/databases';
import { Data, ReferenceEvaluator } from './support/segment-reference';

/*
 * Random rule trees over random data: the SQL the compiler builds, run by Postgres, selects exactly
 * the subscribers a plain TypeScript reading of the same rules selects. Every kind of rule and every
 * operator is generated, and the test checks that each appeared.
 */

const DAY = 86_400_000;
const id = (n: number, tag: string) => `00000000-0000-4000-8${tag}-${String(n).padStart(12, '0')}`;
const SUBSCRIBERS = Array.from({ length: 14 }, (_, i) => id(i + 1, '000'));
const LISTS = [id(1, '001'), id(2, '001')];
const CAMPAIGNS = [id(1, '002'), id(2, '002')];
const SAVED = [id(1, '003'), id(2, '003')];
const EVENTS = ['Order Completed', 'Product Viewed', 'Signed Up'];
const ATTRIBUTES = ['plan', 'age', 'score', 'birthday', 'vip'];
const PROPERTIES = ['revenue', 'value', 'category', 'price', 'order_id'];

/** Moments half a day away from any whole number of days before now, so that "within N days" is never on a boundary. */
const OFFSETS = [-3, 0, 1, 2, 5, 10, 30, 90, 400];
const NOW = Date.now();
const moment = (k: number) => NOW - (k + 0.5) * DAY;
const DATES = [...OFFSETS.map((k) => new Date(moment(k)).toISOString()), '2020-01-15', '2025-06-01T08:30:00+02:00', '2025-06-01 06:30'];
const STRINGS = [
  ...['pro', 'Pro', 'free', 'ÄRNE', '42', '7', '-3.5', '1e2', 'not a date', ...DATES.slice(0, 4), '2020-01-15'],
  ...['2024-02-30', '2024-02-29', '2023-02-29', '0000-01-01', '2025-06-01T08:30:00+14:00', '2025-06-01T08:30+15', '2025-13-01', '2025-06-01T24:00'],
];
const NUMBERS = [0, 7, 42, -3, 100, 250];

const time = fc.constantFrom(...OFFSETS).map(moment);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 3 });
const jsonValue = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS), fc.boolean(), fc.constant(null));

const dataArb: fc.Arbitrary<Data> = fc
  .record({
    subscribers: fc.tuple(
      ...SUBSCRIBERS.map((sid, i) =>
        fc.record({
          id: fc.constant(sid),
          email: fc.oneof(
            { weight: 9, arbitrary: fc.constantFrom('example.com', 'mail.test', 'shop.io').map((d) => `user${i}@${d}`) },
            { weight: 1, arbitrary: fc.constant(null) },
          ),
          name: maybe(fc.constantFrom('Ann', 'bob', 'ÄRNE', 'Zoë', '')),
          attributes: fc.dictionary(fc.constantFrom(...ATTRIBUTES), jsonValue, { maxKeys: 4 }),
          timezone: maybe(fc.constantFrom('Europe/Paris', 'America/New_York')),
          createdAt: time,
        }),
      ),
    ),
    subscriptions: fc
      .subarray(SUBSCRIBERS.flatMap((s) => LISTS.map((l) => [s, l] as const)))
      .chain((pairs) =>
        fc.tuple(...pairs.map(([s, l]) => fc.constantFrom('confirmed', 'pending', 'unsubscribed').map((status) => ({ subscriberId: s, listId: l, status })))),
      ),
    messages: fc
      .subarray(SUBSCRIBERS.flatMap((s) => CAMPAIGNS.map((c) => [s, c] as const)))
      .chain((pairs) =>
        fc.tuple(
          ...pairs.map(([s, c]) =>
            fc.record({ campaignId: fc.constant(c), subscriberId: fc.constant(s), status: fc.constantFrom('sent', 'sent', 'failed'), sentAt: time }),
          ),
        ),
      ),
    engagements: fc.subarray(SUBSCRIBERS.flatMap((s) => CAMPAIGNS.map((c) => [s, c] as const))).chain((pairs) =>
      fc.tuple(
        ...pairs.map(([s, c]) =>
          fc.record({
            campaignId: fc.constant(c),
            subscriberId: fc.constant(s),
            openedAt: maybe(time),
            humanOpenedAt: maybe(time),
            clickedAt: maybe(time),
            humanClickedAt: maybe(time),
            convertedAt: maybe(time),
          }),
        ),
      ),
    ),
    conversions: fc.array(
      fc.record({
        subscriberId: fc.constantFrom(...SUBSCRIBERS),
        campaignId: fc.constantFrom(...CAMPAIGNS),
        value: maybe(fc.integer({ min: 1, max: 500 })),
        at: time,
      }),
      { maxLength: 12 },
    ),
    events: fc.array(
      fc.record({
        subscriberId: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...SUBSCRIBERS) }, { weight: 1, arbitrary: fc.constant(null) }),
        type: fc.constantFrom<'track' | 'identify'>('track', 'track', 'track', 'identify'),
        event: fc.constantFrom(...EVENTS),
        properties: fc.dictionary(
          fc.constantFrom(...PROPERTIES),
          fc.oneof(jsonValue, fc.integer({ min: 1, max: 300 }), fc.constantFrom('o1', 'o2', 'o3', 'o4')),
          { maxKeys: 4 },
        ),
        at: time,
      }),
      { maxLength: 30 },
    ),
  })
  .map((d) => ({
    ...d,
    subscribers: [...d.subscribers],
    subscriptions: [...d.subscriptions],
    messages: [...d.messages],
    engagements: [...d.engagements],
    conversions: d.conversions.map((c, i) => ({ ...c, orderId: `o${i + 1}` })),
    events: d.events.map((e) => ({ ...e, event: e.type === 'track' ? e.event : null })),
  }));

/* Rules, as clients write them. */
const date = fc.constantFrom(...DATES);
const days = fc.integer({ min: 1, max: 100 });
const countRange = fc.oneof(
  fc.record({ gte: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ lte: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ gte: fc.integer({ min: 0, max: 2 }), lte: fc.integer({ min: 1, max: 4 }) }),
);
const anyComparison = fc.oneof(
  fc.constant({ op: 'exists' }),
  fc.record({ op: fc.constantFrom('eq', 'neq'), value: fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS), fc.boolean()) }),
  fc.record({ op: fc.constantFrom('in', 'nin'), value: fc.oneof(fc.subarray(STRINGS, { minLength: 1 }), fc.subarray(NUMBERS, { minLength: 1 })) }),
  fc.record({ op: fc.constantFrom('contains', 'startsWith'), value: fc.constantFrom('pro', 'PRO', 'a', '4', '2026', 'ärne') }),
  fc.record({ op: fc.constantFrom('gt', 'gte', 'lt', 'lte'), value: fc.oneof(fc.constantFrom(...NUMBERS), date) }),
  fc.record({ op: fc.constant('between'), value: fc.oneof(fc.tuple(fc.constantFrom(...NUMBERS), fc.constantFrom(...NUMBERS)), fc.tuple(date, date)) }),
  fc.record({ op: fc.constantFrom('before', 'after'), value: date }),
  fc.record({ op: fc.constant('withinLastDays'), value: days }),
);
const textComparison = fc.oneof(
  fc.constant({ op: 'exists' }),
  fc.record({ op: fc.constantFrom('eq', 'neq'), value: fc.constantFrom('Ann', 'bob', '', 'user3@example.com', 'example.com', 'Europe/Paris') }),
  fc.record({ op: fc.constantFrom('in', 'nin'), value: fc.subarray(['Ann', 'Zoë', 'mail.test', 'shop.io', 'America/New_York'], { minLength: 1 }) }),
  fc.record({ op: fc.constantFrom('contains', 'startsWith'), value: fc.constantFrom('an', 'user1', 'ZO', '.test', 'Europe', 'ärne') }),
);
const dateComparison = fc.oneof(
  fc.constant({ op: 'exists' }),
  fc.record({ op: fc.constantFrom('gt', 'gte', 'lt', 'lte', 'before', 'after'), value: date }),
  fc.record({ op: fc.constant('between'), value: fc.tuple(date, date) }),
  fc.record({ op: fc.constant('withinLastDays'), value: days }),
);
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const clean = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const leaf = fc.oneof(
  fc.tuple(fc.constantFrom(...ATTRIBUTES), anyComparison).map(([attribute, c]) => ({ attribute, ...c })),
  fc.constantFrom(...BUILT_IN_FIELDS).chain((field) => (field === 'createdAt' ? dateComparison : textComparison).map((c) => ({ field, ...c }))),
  fc.record({ list: fc.constantFrom(...LISTS), status: optional(fc.constantFrom('confirmed', 'pending', 'unsubscribed')) }).map(clean),
  fc
    .record({
      engagement: fc.constantFrom('received', 'opened', 'clicked', 'converted'),
      campaign: optional(fc.constantFrom(...CAMPAIGNS)),
      withinDays: optional(days),
      humanOnly: optional(fc.boolean()),
      count: optional(countRange),
    })
    .map(clean),
  fc
    .record({
      event: fc.constantFrom(...EVENTS),
      where: optional(
        fc.array(
          fc.tuple(fc.constantFrom(...PROPERTIES), anyComparison).map(([property, c]) => ({ property, ...c })),
          { maxLength: 2 },
        ),
      ),
      withinDays: optional(days),
      count: optional(countRange),
      sum: optional(
        fc.oneof(
          fc.record({ property: fc.constantFrom('revenue', 'price'), gte: fc.constantFrom(0, 50, 200) }),
          fc.record({ property: fc.constantFrom('revenue', 'price'), lte: fc.constantFrom(0, 50, 200) }),
        ),
      ),
    })
    .map(clean),
  fc
    .record({
      rfm: fc
        .record({ r: optional(quintileRange()), f: optional(quintileRange()), m: optional(quintileRange()) })
        .map(clean)
        .filter((q) => Object.keys(q).length > 0),
      withinDays: optional(days),
    })
    .map(clean),
);

function quintileRange(): fc.Arbitrary<[number, number]> {
  return fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]);
}

function tree(references: string[]): fc.Arbitrary<unknown> {
  const leaves = references.length
    ? fc.oneof({ weight: 6, arbitrary: leaf }, { weight: 1, arbitrary: fc.constantFrom(...references).map((segment) => ({ segment })) })
    : leaf;
  return fc.letrec<{ rule: unknown }>((tie) => ({
    rule: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 3, arbitrary: leaves },
      { weight: 1, arbitrary: fc.array(tie('rule'), { minLength: 1, maxLength: 3 }).map((and) => ({ and })) },
      { weight: 1, arbitrary: fc.array(tie('rule'), { minLength: 1, maxLength: 3 }).map((or) => ({ or })) },
      { weight: 1, arbitrary: tie('rule').map((not) => ({ not })) },
    ),
  })).rule;
}

async function load(db: Pool, d: Data): Promise<void> {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const rows = (sql: string, values: unknown[]) => db.query(sql, [JSON.stringify(values)]);
  await db.query('TRUNCATE customer_events, subscriptions, messages, engagements, conversions, subscribers');
  await rows(
    `INSERT INTO subscribers (id, email, name, attributes, timezone, created_at)
     SELECT * FROM jsonb_to_recordset($1) AS x(id uuid, email text, name text, attributes jsonb, timezone text, created_at timestamptz)`,
    d.subscribers.map((s) => ({ ...s, created_at: iso(s.createdAt) })),
  );
  await rows(
    `INSERT INTO subscriptions (subscriber_id, list_id, status) SELECT * FROM jsonb_to_recordset($1) AS x(subscriber_id uuid, list_id uuid, status text)`,
    d.subscriptions.map((s) => ({ subscriber_id: s.subscriberId, list_id: s.listId, status: s.status })),
  );
  await rows(
    `INSERT INTO messages (campaign_id, subscriber_id, list_id, status, send_at, sent_at)
     SELECT campaign_id, subscriber_id, '${LISTS[0]}', status, sent_at, sent_at
     FROM jsonb_to_recordset($1) AS x(campaign_id uuid, subscriber_id uuid, status text, sent_at timestamptz)`,
    d.messages.map((m) => ({ campaign_id: m.campaignId, subscriber_id: m.subscriberId, status: m.status, sent_at: iso(m.sentAt) })),
  );
  await rows(
    `INSERT INTO engagements (campaign_id, subscriber_id, opened_at, human_opened_at, clicked_at, human_clicked_at, converted_at)
     SELECT * FROM jsonb_to_recordset($1) AS x(campaign_id uuid, subscriber_id uuid, opened_at timestamptz, human_opened_at timestamptz,
                                               clicked_at timestamptz, human_clicked_at timestamptz, converted_at timestamptz)`,
    d.engagements.map((e) => ({
      campaign_id: e.campaignId,
      subscriber_id: e.subscriberId,
      opened_at: iso(e.openedAt),
      human_opened_at: iso(e.humanOpenedAt),
      clicked_at: iso(e.clickedAt),
      human_clicked_at: iso(e.humanClickedAt),
      converted_at: iso(e.convertedAt),
    })),
  );
  await rows(
    `INSERT INTO conversions (order_id, campaign_id, subscriber_id, value, currency, attributed, at)
     SELECT order_id, campaign_id, subscriber_id, value, 'EUR', true, at FROM jsonb_to_recordset($1) AS x(order_id text, campaign_id uuid, subscriber_id uuid, value numeric, at timestamptz)`,
    d.conversions.map((c) => ({ order_id: c.orderId, campaign_id: c.campaignId, subscriber_id: c.subscriberId, value: c.value, at: iso(c.at) })),
  );
  await rows(
    `INSERT INTO customer_events (subscriber_id, type, event, properties, at, message_id)
     SELECT subscriber_id, type, event, properties, at, gen_random_uuid()::text FROM jsonb_to_recordset($1) AS x(subscriber_id uuid, type text, event text, properties jsonb, at timestamptz)`,
    d.events.map((e) => ({ subscriber_id: e.subscriberId, type: e.type, event: e.event, properties: e.properties, at: iso(e.at) })),
  );
}

/** Kinds of rules, operators and options seen in the generated trees. */
function features(rule: Rule, seen: Set<string>): void {
  seen.add(rule.kind);
  switch (rule.kind) {
    case 'and':
    case 'or':
      return rule.rules.forEach((r) => features(r, seen));
    case 'not':
      return features(rule.rule, seen);
    case 'attribute':
    case 'field':
      seen.add(`op:${rule.test.op}`);
      return;
    case 'engagement':
      seen.add(`engagement:${rule.engagement}`);
      if (rule.count) seen.add('engagement:count');
      return;
    case 'event':
      rule.where.forEach((f) => seen.add(`op:${f.test.op}`));
      if (rule.where.length) seen.add('event:where');
      if (rule.count) seen.add('event:count');
      if (rule.sum) seen.add('event:sum');
      return;
    case 'list':
    case 'rfm':
    case 'segment':
      return;
  }
}

describe('segment rules compiled to SQL agree with a reference evaluator', () => {
  let dbName: string;
  let db: Pool;
  const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: 'x'.repeat(32) });
  const compiler = new SegmentCompiler(new SegmentProfileSql(), new SegmentDeliverySql(), new SegmentEngagementSql(), new SegmentEventSql(), config);

  beforeAll(async () => {
    dbName = await createTestDatabase();
    db = new Pool({ connectionString: databaseUrl(dbName), max: 2 });
  });
  afterAll(async () => {
    await db.end();
    await dropDatabase(dbName);
  });

  it('selects the same subscribers for random rules over random data', async () => {
    const seen = new Set<string>();
    let trees = 0;
    const sizes: number[] = [];
    await fc.assert(
      fc.asyncProperty(dataArb, tree([]), tree([SAVED[0]]), fc.array(tree(SAVED), { minLength: 8, maxLength: 12 }), async (data, first, second, rules) => {
        await load(db, data);
        const saved = new Map<string, Rule>([
          [SAVED[0], parseRules(first)],
          [SAVED[1], parseRules(second)],
        ]);
        const reference = new ReferenceEvaluator(data, saved, NOW, config.segments.purchaseEvents);
        for (const input of [first, second, ...rules]) {
          const rule = parseRules(input);
          features(rule, seen);
          trees++;
          const p = new SqlParams();
          const sql = compiler.members(rule, saved, p);
          const { rows } = await db.query<{ id: string }>(`SELECT id FROM (${sql}) m ORDER BY id`, p.values);
          sizes.push(rows.length);
          expect({ rules: input, members: rows.map((r) => r.id) }).toEqual({ rules: input, members: reference.members(rule) });
        }
      }),
      { numRuns: 150, endOnFailure: true },
    );
    const expected = [
      ...['and', 'or', 'not', 'attribute', 'field', 'list', 'engagement', 'event', 'rfm', 'segment'],
      ...OPS.map((op) => `op:${op}`),
      ...['received', 'opened', 'clicked', 'converted', 'count'].map((e) => `engagement:${e}`),
      ...['where', 'count', 'sum'].map((e) => `event:${e}`),
    ];
    expect(expected.filter((f) => !seen.has(f))).toEqual([]);
    expect(trees).toBeGreaterThan(900);
    // Rules that select someone, and rules that leave someone out, are both common.
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(sizes.length / 3);
    expect(sizes.filter((n) => n < 10).length).toBeGreaterThan(sizes.length / 3);
  }, 300_000);
});
