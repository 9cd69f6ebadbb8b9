import type { QueryRunner } from 'typeorm';
import { pgArray } from '../../database/pg-array';
import { tidArray, timestamptzArray, uuidArray } from '../../database/pg-binary';
import { CounterSink, emptyEngagement, Engagement } from './engagement';
import { queryRows } from '../../database/queryable';

/** Reading, locking and writing rows of `engagements` for the ingestor: one statement per batch each. */

/** The messages of a batch: parallel arrays, in key order (campaign, then subscriber), UUIDs in lower case. */
export interface MessageKeys {
  campaigns: string[];
  subscribers: string[];
}

/** A message's new state from the one stored (`base`); what changed is told to `sink`. */
export type EngagementStep = (i: number, base: Engagement, sink: CounterSink) => Engagement;

/** A row this transaction holds locked: its state, and its address (ctid), where the update finds it. */
interface Locked {
  state: Engagement;
  tid: string;
}

const TIMES = ['opened_at', 'human_opened_at', 'clicked_at', 'human_clicked_at', 'converted_at', 'unsubscribed_at', 'complained_at'] as const;
/**
 * A locked row comes back as one text field: position|ctid|seven times in epoch ms|bounced|slots|human
 * slots (concat makes a null empty). Column by column, the driver's parsing of eleven fields per row
 * cost the worker about twice what the lookup and the lock cost the server. date_part is float8
 * arithmetic (extract has been numeric since Postgres 14, four times the cost); the ingestor writes
 * whole ms, so the rounding is exact.
 */
const LOCKED_ROW = `concat_ws('|', t.i, e.ctid, ${TIMES.map((c) => `concat((date_part('epoch', e.${c}) * 1000)::int8)`).join(', ')},
  concat(e.bounced), array_to_string(e.clicked_slots, ','), array_to_string(e.human_clicked_slots, ','))`;

/** Tells no one: for a state computed ahead, before it is known which stored state it starts from. */
const UNTOLD: CounterSink = { add: () => undefined, addLink: () => undefined, addRevenue: () => undefined };

/**
 * Brings the engagement of each message of `keys` from its stored state to the one `step` gives,
 * and tells `sink` what changed, once per message. Existing rows are locked first, in key order (two
 * workers never wait on each other in a circle). A message without a row gets its row in its final
 * state at once; where another worker created that row meanwhile, the insert waits for it and skips
 * it, and the row is then locked and read like the others. Only rows whose state changed are written.
 */
export async function applyToEngagements(qr: QueryRunner, keys: MessageKeys, step: EngagementStep, sink: CounterSink): Promise<void> {
  const n = keys.campaigns.length;
  const stored = new Array<Locked | undefined>(n);
  const created = new Array<boolean>(n).fill(false);
  let pending = positionsWhere(n, () => true);
  while (pending.length) {
    const found = await lockExisting(qr, keysAt(keys, pending));
    const absent = pending.filter((_, k) => !found[k]);
    pending.forEach((i, k) => (stored[i] = found[k]));
    if (!absent.length) break;
    const inserted = await createEngagements(
      qr,
      keysAt(keys, absent),
      absent.map((i) => step(i, emptyEngagement(), UNTOLD)),
    );
    absent.forEach((i, k) => (created[i] = inserted[k]));
    pending = absent.filter((_, k) => !inserted[k]);
  }
  const tids: string[] = [];
  const states: Engagement[] = [];
  for (let i = 0; i < n; i++) {
    const before = stored[i]?.state ?? emptyEngagement();
    const after = step(i, before, sink);
    if (created[i] || sameEngagement(after, before)) continue;
    tids.push(stored[i]!.tid);
    states.push(after);
  }
  await saveEngagements(qr, tids, states);
}

/** The existing rows of `keys`, locked, by position in `keys` (undefined where there is none). */
async function lockExisting(qr: QueryRunner, keys: MessageKeys): Promise<(Locked | undefined)[]> {
  const rows = await queryRows<{ r: string }>(
    qr,
    `SELECT ${LOCKED_ROW} AS r FROM engagements e
     JOIN unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(c, s, i) ON e.campaign_id = t.c AND e.subscriber_id = t.s
     ORDER BY e.campaign_id, e.subscriber_id FOR UPDATE OF e`,
    [uuidArray(keys.campaigns), uuidArray(keys.subscribers)],
  );
  const out = new Array<Locked | undefined>(keys.campaigns.length);
  for (const { r } of rows) {
    const f = r.split('|');
    const time = (k: number) => (f[k] === '' ? null : Number(f[k]));
    out[Number(f[0]) - 1] = {
      tid: f[1],
      state: {
        openedAt: time(2),
        humanOpenedAt: time(3),
        clickedAt: time(4),
        humanClickedAt: time(5),
        convertedAt: time(6),
        unsubscribedAt: time(7),
        complainedAt: time(8),
        bounced: (f[9] || null) as Engagement['bounced'],
        clickedSlots: slots(f[10]),
        humanClickedSlots: slots(f[11]),
      },
    };
  }
  return out;
}

function slots(list: string): number[] {
  return list === '' ? [] : list.split(',').map(Number);
}

/** Inserts the rows of `keys` in these states; tells, by position, which were inserted (false: another worker's row was there). */
async function createEngagements(qr: QueryRunner, keys: MessageKeys, states: Engagement[]): Promise<boolean[]> {
  const rows = await queryRows<{ k: string }>(
    qr,
    `INSERT INTO engagements (campaign_id, subscriber_id, opened_at, human_opened_at, clicked_at, human_clicked_at, clicked_slots, human_clicked_slots,
                              converted_at, unsubscribed_at, bounced, complained_at)
     SELECT c, s, opened_at, human_opened_at, clicked_at, human_clicked_at, clicked_slots::int[], human_clicked_slots::int[],
            converted_at, unsubscribed_at, bounced, complained_at
     FROM unnest($1::uuid[], $2::uuid[], ${stateTypes(3)}) AS t(c, s, ${STATE_COLUMNS})
     ON CONFLICT DO NOTHING RETURNING campaign_id::text || '|' || subscriber_id::text AS k`,
    [uuidArray(keys.campaigns), uuidArray(keys.subscribers), ...stateParams(states)],
  );
  if (rows.length === states.length) return states.map(() => true);
  const ours = new Set(rows.map((r) => r.k));
  return keys.campaigns.map((c, i) => ours.has(`${c}|${keys.subscribers[i]}`));
}

/** Writes new states to rows this transaction holds locked, found by address (no index lookup). */
async function saveEngagements(qr: QueryRunner, tids: string[], states: Engagement[]): Promise<void> {
  if (!states.length) return;
  await qr.query(
    `UPDATE engagements e SET
       opened_at = t.opened_at, human_opened_at = t.human_opened_at, clicked_at = t.clicked_at, human_clicked_at = t.human_clicked_at,
       clicked_slots = t.clicked_slots::int[], human_clicked_slots = t.human_clicked_slots::int[],
       converted_at = t.converted_at, unsubscribed_at = t.unsubscribed_at, bounced = t.bounced, complained_at = t.complained_at
     FROM unnest($1::tid[], ${stateTypes(2)}) AS t(tid, ${STATE_COLUMNS})
     WHERE e.ctid = t.tid`,
    [tidArray(tids), ...stateParams(states)],
  );
}

const STATE_COLUMNS = `opened_at, human_opened_at, clicked_at, human_clicked_at, clicked_slots, human_clicked_slots, converted_at, unsubscribed_at, bounced, complained_at`;
const STATE_TYPES = ['timestamptz', 'timestamptz', 'timestamptz', 'timestamptz', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'timestamptz'];
/** The array parameters of stateParams, numbered from $first. */
const stateTypes = (first: number) => STATE_TYPES.map((t, k) => `$${first + k}::${t}[]`).join(', ');

/** The states as ten array parameters, in the order of STATE_COLUMNS. */
function stateParams(states: Engagement[]): unknown[] {
  const ts = (f: (e: Engagement) => number | null) => timestamptzArray(states.map(f));
  return [
    ts((e) => e.openedAt),
    ts((e) => e.humanOpenedAt),
    ts((e) => e.clickedAt),
    ts((e) => e.humanClickedAt),
    pgArray(states.map((e) => `{${e.clickedSlots.join(',')}}`)),
    pgArray(states.map((e) => `{${e.humanClickedSlots.join(',')}}`)),
    ts((e) => e.convertedAt),
    ts((e) => e.unsubscribedAt),
    pgArray(states.map((e) => e.bounced)),
    ts((e) => e.complainedAt),
  ];
}

/** The positions 0…n-1 that `pick` chooses, in order. */
export function positionsWhere(n: number, pick: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (pick(i)) out.push(i);
  return out;
}

/** The keys at these positions of `keys`, in that order. */
export function keysAt(keys: MessageKeys, positions: number[]): MessageKeys {
  return { campaigns: positions.map((i) => keys.campaigns[i]), subscribers: positions.map((i) => keys.subscribers[i]) };
}

export function sameEngagement(a: Engagement, b: Engagement): boolean {
  return (
    a.openedAt === b.openedAt &&
    a.humanOpenedAt === b.humanOpenedAt &&
    a.clickedAt === b.clickedAt &&
    a.humanClickedAt === b.humanClickedAt &&
    a.convertedAt === b.convertedAt &&
    a.unsubscribedAt === b.unsubscribedAt &&
    a.bounced === b.bounced &&
    a.complainedAt === b.complainedAt &&
    sameSlots(a.clickedSlots, b.clickedSlots) &&
    sameSlots(a.humanClickedSlots, b.humanClickedSlots)
  );
}

function sameSlots(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
