import type { QueryRunner } from 'typeorm';
import { pgArray } from '../database/pg-array';
import { timestamptzArray, uuidArray } from '../database/pg-binary';
import { emptyEngagement, Engagement } from './engagement';

/** Reading, locking and writing rows of `engagements` for the ingestor: one statement per batch each. */

/** The messages of a batch: parallel arrays, in key order (campaign, then subscriber). */
export interface MessageKeys {
  campaigns: string[];
  subscribers: string[];
}

/**
 * A row of engagements, with the position of its key in the request (1-based) and its times as
 * epoch ms, not timestamps to parse. The ingestor writes whole ms, so the rounding is exact.
 */
interface EngagementRow {
  i: number;
  opened_at: number | null;
  human_opened_at: number | null;
  clicked_at: number | null;
  human_clicked_at: number | null;
  clicked_slots: number[];
  human_clicked_slots: number[];
  converted_at: number | null;
  unsubscribed_at: number | null;
  bounced: 'hard' | 'soft' | null;
  complained_at: number | null;
}

const ENGAGEMENT_TIMES = ['opened_at', 'human_opened_at', 'clicked_at', 'human_clicked_at', 'converted_at', 'unsubscribed_at', 'complained_at'];
const ENGAGEMENT_COLUMNS = [
  't.i::int AS i',
  // date_part is float8 arithmetic; extract(epoch …) has been numeric since Postgres 14, and costs
  // about four times as much over thousands of rows.
  ...ENGAGEMENT_TIMES.map((c) => `round(date_part('epoch', e.${c}) * 1000) AS ${c}`),
  'e.clicked_slots',
  'e.human_clicked_slots',
  'e.bounced',
].join(', ');

/**
 * Locks the rows of the batch's messages and reads them, in the order of `keys`: the existing rows
 * first, in key order (two workers never wait on each other in a circle), then the missing ones are
 * created (a row this transaction created is locked by its insert, and empty). Most messages of a
 * batch have a row already, so checking for a conflict on every key first would cost more than it
 * saves. Rows another worker created meanwhile are locked and read in a second pass.
 */
export async function lockEngagements(qr: QueryRunner, keys: MessageKeys): Promise<Engagement[]> {
  const states = await lockExisting(qr, keys);
  const absent = positionsWhere(states.length, (i) => !states[i]);
  if (!absent.length) return states as Engagement[];
  const missing = keysAt(keys, absent);
  const created: { campaign_id: string; subscriber_id: string }[] = await qr.query(
    `INSERT INTO engagements (campaign_id, subscriber_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING
     RETURNING campaign_id, subscriber_id`,
    [uuidArray(missing.campaigns), uuidArray(missing.subscribers)],
  );
  for (const i of absent) states[i] = emptyEngagement();
  if (created.length === absent.length) return states as Engagement[];
  const ours = new Set(created.map((r) => `${r.campaign_id}|${r.subscriber_id}`));
  const raced = absent.filter((i) => !ours.has(`${keys.campaigns[i]}|${keys.subscribers[i]}`));
  const read = await lockExisting(qr, keysAt(keys, raced));
  raced.forEach((i, k) => (states[i] = read[k] ?? emptyEngagement()));
  return states as Engagement[];
}

/** The existing rows of `keys`, locked, by position in `keys` (undefined where there is none). */
async function lockExisting(qr: QueryRunner, keys: MessageKeys): Promise<(Engagement | undefined)[]> {
  const rows: EngagementRow[] = await qr.query(
    `SELECT ${ENGAGEMENT_COLUMNS} FROM engagements e
     JOIN unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(c, s, i) ON e.campaign_id = t.c AND e.subscriber_id = t.s
     ORDER BY e.campaign_id, e.subscriber_id FOR UPDATE OF e`,
    [uuidArray(keys.campaigns), uuidArray(keys.subscribers)],
  );
  const states = new Array<Engagement | undefined>(keys.campaigns.length);
  for (const r of rows) states[r.i - 1] = fromRow(r);
  return states;
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

/** Writes the new state of the messages of `keys`, whose rows this transaction holds locked. */
export async function saveEngagements(qr: QueryRunner, keys: MessageKeys, states: Engagement[]): Promise<void> {
  if (!states.length) return;
  const ts = (f: (e: Engagement) => number | null) => timestamptzArray(states.map(f));
  await qr.query(
    `UPDATE engagements e SET
       opened_at = t.opened_at, human_opened_at = t.human_opened_at, clicked_at = t.clicked_at, human_clicked_at = t.human_clicked_at,
       clicked_slots = t.clicked_slots::int[], human_clicked_slots = t.human_clicked_slots::int[],
       converted_at = t.converted_at, unsubscribed_at = t.unsubscribed_at, bounced = t.bounced, complained_at = t.complained_at
     FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::text[],
                 $9::timestamptz[], $10::timestamptz[], $11::text[], $12::timestamptz[])
       AS t(c, s, opened_at, human_opened_at, clicked_at, human_clicked_at, clicked_slots, human_clicked_slots,
            converted_at, unsubscribed_at, bounced, complained_at)
     WHERE e.campaign_id = t.c AND e.subscriber_id = t.s`,
    [
      uuidArray(keys.campaigns),
      uuidArray(keys.subscribers),
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
    ],
  );
}

function fromRow(r: EngagementRow): Engagement {
  return {
    openedAt: r.opened_at,
    humanOpenedAt: r.human_opened_at,
    clickedAt: r.clicked_at,
    humanClickedAt: r.human_clicked_at,
    clickedSlots: r.clicked_slots,
    humanClickedSlots: r.human_clicked_slots,
    convertedAt: r.converted_at,
    unsubscribedAt: r.unsubscribed_at,
    bounced: r.bounced,
    complainedAt: r.complained_at,
  };
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
