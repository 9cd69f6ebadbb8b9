import type { QueryRunner } from 'typeorm';
import { pgArray } from '../database/pg-array';
import { emptyEngagement, Engagement } from './engagement';

/** Reading, locking and writing rows of `engagements` for the ingestor: one statement per batch each. */

/** A row of engagements with its times as epoch ms (as a Date would hold them: whole ms), not timestamps to parse. */
interface EngagementRow {
  campaign_id: string;
  subscriber_id: string;
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
  'e.campaign_id',
  'e.subscriber_id',
  ...ENGAGEMENT_TIMES.map((c) => `floor(extract(epoch FROM e.${c}) * 1000)::float8 AS ${c}`),
  'e.clicked_slots',
  'e.human_clicked_slots',
  'e.bounced',
].join(', ');

/**
 * Locks the rows of the batch's messages and reads them: the existing rows first, in key order (two
 * workers never wait on each other in a circle), then the missing ones are created (a row this
 * transaction created is locked by its insert, and empty). Most messages of a batch have a row
 * already, so checking for a conflict on every key first would cost more than it saves. A row
 * another worker created meanwhile is locked and read in a second pass.
 */
export async function lockEngagements(qr: QueryRunner, campaigns: string[], subscribers: string[]): Promise<Map<string, Engagement>> {
  const states = await lockExisting(qr, campaigns, subscribers);
  if (states.size === campaigns.length) return states;
  const missing = campaigns.map((c, i) => `${c}|${subscribers[i]}`).filter((k) => !states.has(k));
  const created: { campaign_id: string; subscriber_id: string }[] = await qr.query(
    `INSERT INTO engagements (campaign_id, subscriber_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING
     RETURNING campaign_id, subscriber_id`,
    [pgArray(missing.map((k) => k.slice(0, 36))), pgArray(missing.map((k) => k.slice(37)))],
  );
  for (const r of created) states.set(`${r.campaign_id}|${r.subscriber_id}`, emptyEngagement());
  if (created.length === missing.length) return states;
  const raced = missing.filter((k) => !states.has(k));
  for (const [k, v] of await lockExisting(qr, raced.map((k) => k.slice(0, 36)), raced.map((k) => k.slice(37)))) states.set(k, v);
  return states;
}

async function lockExisting(qr: QueryRunner, campaigns: string[], subscribers: string[]): Promise<Map<string, Engagement>> {
  const rows: EngagementRow[] = await qr.query(
    `SELECT ${ENGAGEMENT_COLUMNS} FROM engagements e JOIN unnest($1::uuid[], $2::uuid[]) AS t(c, s) ON e.campaign_id = t.c AND e.subscriber_id = t.s
     ORDER BY e.campaign_id, e.subscriber_id FOR UPDATE OF e`,
    [pgArray(campaigns), pgArray(subscribers)],
  );
  return new Map(rows.map((r) => [`${r.campaign_id}|${r.subscriber_id}`, fromRow(r)]));
}

export async function saveEngagements(qr: QueryRunner, changed: { key: string; next: Engagement }[]): Promise<void> {
  if (!changed.length) return;
  const ts = (f: (e: Engagement) => number | null) => pgArray(changed.map((c) => f(c.next)));
  await qr.query(
    `UPDATE engagements e SET
       opened_at = to_timestamp(t.opened_at / 1000.0), human_opened_at = to_timestamp(t.human_opened_at / 1000.0),
       clicked_at = to_timestamp(t.clicked_at / 1000.0), human_clicked_at = to_timestamp(t.human_clicked_at / 1000.0),
       clicked_slots = t.clicked_slots::int[], human_clicked_slots = t.human_clicked_slots::int[],
       converted_at = to_timestamp(t.converted_at / 1000.0), unsubscribed_at = to_timestamp(t.unsubscribed_at / 1000.0),
       bounced = t.bounced, complained_at = to_timestamp(t.complained_at / 1000.0)
     FROM unnest($1::uuid[], $2::uuid[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::text[], $8::text[],
                 $9::float8[], $10::float8[], $11::text[], $12::float8[])
       AS t(c, s, opened_at, human_opened_at, clicked_at, human_clicked_at, clicked_slots, human_clicked_slots,
            converted_at, unsubscribed_at, bounced, complained_at)
     WHERE e.campaign_id = t.c AND e.subscriber_id = t.s`,
    [
      pgArray(changed.map((c) => c.key.slice(0, 36))),
      pgArray(changed.map((c) => c.key.slice(37))),
      ts((e) => e.openedAt),
      ts((e) => e.humanOpenedAt),
      ts((e) => e.clickedAt),
      ts((e) => e.humanClickedAt),
      pgArray(changed.map((c) => `{${c.next.clickedSlots.join(',')}}`)),
      pgArray(changed.map((c) => `{${c.next.humanClickedSlots.join(',')}}`)),
      ts((e) => e.convertedAt),
      ts((e) => e.unsubscribedAt),
      pgArray(changed.map((c) => c.next.bounced)),
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
