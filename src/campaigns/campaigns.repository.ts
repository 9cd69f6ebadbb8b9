import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows, changed, type Queryable } from '../database/queryable';
import type { AbBasis, AbState, AbTestSpec, VariantSpec } from './variants';

export type CampaignStatus = 'draft' | 'scheduled' | 'sending' | 'paused' | 'sent' | 'cancelled';

/** Confirmed on one of the lists, in the segment (if any), in none of the excluded ones. */
export interface Audience {
  lists: string[];
  segmentId?: string | null;
  excludeSegmentIds?: string[];
}

export interface CampaignRow {
  id: string;
  name: string;
  subject: string;
  template_id: string;
  template_version: number | null;
  from_name: string;
  from_email: string;
  reply_to: string | null;
  audience: Audience;
  data: Record<string, unknown>;
  send_rate: number | null;
  transport: string;
  postal_address: string | null;
  utm: Record<string, string> | null;
  attribution_window_hours: number | null;
  status: CampaignStatus;
  scheduled_at: Date | null;
  local_time: boolean;
  default_timezone: string;
  started_at: Date | null;
  finished_at: Date | null;
  /** Messages by status ({"sent": n, …}), stored when the campaign finished. */
  message_counts: Record<string, number> | null;
  /** Sent messages by recipient domain (see MAILBOX_DOMAINS), stored with message_counts. */
  mailbox_domains: Record<string, number> | null;
  /** The frozen audience's recipients by domain (see AUDIENCE_DOMAINS), stored with started_at. */
  audience_domains: Record<string, number> | null;
  /** How many messages the frozen audience has, stored with started_at (null: started before it was kept). */
  message_total: number | null;
  variants: VariantSpec[] | null;
  ab_test: AbTestSpec | null;
  ab_state: AbState | null;
  ab_winner: number | null;
  ab_basis: AbBasis | null;
  ab_decided_at: Date | null;
  /** Where the test stands, in words: the last look's while it runs, the decision's after. */
  ab_reason: string | null;
  created_at: Date;
  updated_at: Date;
  /** created_at as Postgres text: a JS Date would drop the microseconds the keyset compares. */
  ts: string;
}

/** What a campaign is made of: written on create and on every edit of a draft. */
export interface CampaignValues {
  name: string;
  subject: string;
  templateId: string;
  fromName: string;
  fromEmail: string;
  replyTo: string | null;
  audience: Audience;
  data: Record<string, unknown>;
  sendRate: number | null;
  transport: string;
  postalAddress: string | null;
  utm: Record<string, string> | null;
  attributionWindowHours: number | null;
  variants: VariantSpec[] | null;
  abTest: AbTestSpec | null;
}

/**
 * What a state transition changes besides the status. `scheduledAt: 'now'` is the database's now;
 * fields left out keep their value.
 */
export interface TransitionChanges {
  scheduledAt?: Date | 'now';
  localTime?: boolean;
  defaultTimezone?: string;
  finished?: boolean;
}

const COLUMNS = `*, created_at::text AS ts`;

/** The key of sent messages whose recipient has been erased since, and of the domains past the largest 50. */
export const ERASED_DOMAIN = '(erased)';
export const OTHER_DOMAINS = '(other)';

/**
 * Of these subscribers (a query of subscriber ids), how many have an address at each domain, as a
 * JSON object: the 50 largest domains and the rest summed under OTHER_DOMAINS (enough for a
 * report's top eight after aliases are merged, and small whatever the audience). The domains come
 * from the audience's published `audience_email_domains`.
 */
const domainsOf = (subscriberIds: string) => `(SELECT jsonb_object_agg(d.key, d.n) FROM (
    SELECT CASE WHEN r.rank <= 50 THEN COALESCE(r.domain, '${ERASED_DOMAIN}') ELSE '${OTHER_DOMAINS}' END AS key, sum(r.n) AS n
    FROM (SELECT domain, n, row_number() OVER (ORDER BY n DESC, domain) AS rank FROM audience_email_domains(ARRAY(${subscriberIds}))) r
    GROUP BY 1) d)`;
/** Campaign $1's sent messages by recipient domain. */
const MAILBOX_DOMAINS = domainsOf(`SELECT subscriber_id FROM messages WHERE campaign_id = $1 AND status = 'sent'`);
/** Campaign $1's frozen audience (all its messages) by recipient domain. */
const AUDIENCE_DOMAINS = domainsOf(`SELECT subscriber_id FROM messages WHERE campaign_id = $1`);

/** `campaigns`: their settings and their place in the state machine. */
@Injectable()
export class CampaignsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(v: CampaignValues): Promise<string> {
    const [{ id }]: { id: string }[] = await this.db.query(
      `INSERT INTO campaigns (name, subject, template_id, from_name, from_email, reply_to, audience, data, send_rate, transport, postal_address,
         utm, attribution_window_hours, variants, ab_test)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
      values(v),
    );
    return id;
  }

  async update(id: string, v: CampaignValues): Promise<void> {
    await this.db.query(
      `UPDATE campaigns SET name = $1, subject = $2, template_id = $3, from_name = $4, from_email = $5, reply_to = $6, audience = $7,
         data = $8, send_rate = $9, transport = $10, postal_address = $11, utm = $12, attribution_window_hours = $13,
         variants = $14, ab_test = $15, updated_at = now()
       WHERE id = $16`,
      [...values(v), id],
    );
  }

  async delete(id: string, q: Queryable = this.db): Promise<void> {
    await q.query(`DELETE FROM campaigns WHERE id = $1`, [id]);
  }

  /** Campaigns not finished whose audience names the segment. */
  usingSegment(segmentId: string): Promise<{ id: string; name: string }[]> {
    return queryRows(
      this.db,
      `SELECT id, name FROM campaigns
       WHERE status NOT IN ('sent', 'cancelled') AND (audience->>'segmentId' = $1 OR audience->'excludeSegmentIds' ? $1) ORDER BY created_at`,
      [segmentId],
    );
  }

  async find(id: string): Promise<CampaignRow | undefined> {
    const [row]: CampaignRow[] = await this.db.query(`SELECT ${COLUMNS} FROM campaigns WHERE id = $1`, [id]);
    return row;
  }

  page(after: { createdAt: string; id: string } | null, limit: number): Promise<CampaignRow[]> {
    return this.db.query(
      `SELECT ${COLUMNS} FROM campaigns
       WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid) ORDER BY created_at, id LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, limit],
    );
  }

  async status(id: string): Promise<CampaignStatus | undefined> {
    const [row]: { status: CampaignStatus }[] = await this.db.query(`SELECT status FROM campaigns WHERE id = $1`, [id]);
    return row?.status;
  }

  /** Moves the campaign to `to` if it is in one of `from`; false when it is not (or does not exist). */
  async transition(q: Queryable, id: string, from: CampaignStatus[], to: CampaignStatus, c: TransitionChanges): Promise<boolean> {
    const { affected } = await changed(
      q,
      `UPDATE campaigns SET status = $3, updated_at = now(),
         scheduled_at = CASE $4::text WHEN 'now' THEN now() WHEN 'at' THEN $5::timestamptz ELSE scheduled_at END,
         local_time = COALESCE($6::boolean, local_time),
         default_timezone = COALESCE($7::text, default_timezone),
         finished_at = CASE WHEN $8::boolean THEN now() ELSE finished_at END
       WHERE id = $1 AND status = ANY($2::text[]) RETURNING id`,
      [
        id,
        from,
        to,
        c.scheduledAt === 'now' ? 'now' : c.scheduledAt ? 'at' : 'keep',
        c.scheduledAt instanceof Date ? c.scheduledAt : null,
        c.localTime ?? null,
        c.defaultTimezone ?? null,
        c.finished === true,
      ],
    );
    return affected > 0;
  }

  /** The template versions the campaign sends: its own and each variant's (stored in `variants`). */
  async pinTemplateVersions(id: string, version: number, variants: VariantSpec[] | null): Promise<void> {
    await this.db.query(`UPDATE campaigns SET template_version = $2, variants = $3 WHERE id = $1`, [
      id,
      version,
      variants === null ? null : JSON.stringify(variants),
    ]);
  }

  /**
   * Locks the campaign row for the rest of the transaction (a second start — a retried job,
   * another worker — waits, then sees started_at) and answers whether it had started.
   */
  async lockForStart(q: Queryable, id: string): Promise<boolean> {
    const { rows } = await changed<{ started_at: Date | null }>(q, `UPDATE campaigns SET updated_at = now() WHERE id = $1 RETURNING started_at`, [id]);
    return rows[0].started_at !== null;
  }

  /**
   * Sending has started (with an A/B test, the test has too), with the frozen audience's size kept
   * for the progress while it sends: `total` when the freeze knows it, else counted.
   */
  async markStarted(q: Queryable, id: string, total: number | null): Promise<void> {
    await q.query(
      `UPDATE campaigns SET started_at = now(), ab_state = CASE WHEN ab_test IS NOT NULL THEN 'testing' END,
         message_total = COALESCE($2::int, (SELECT count(*) FROM messages WHERE campaign_id = $1))
       WHERE id = $1`,
      [id, total],
    );
  }

  /**
   * The frozen audience's recipients by domain, kept for the report while the campaign sends: a join
   * of its messages to their subscribers (1–2 s at a million), done once, after sending has begun;
   * not for a campaign cancelled meanwhile (its report shows what it sent).
   */
  async keepAudienceDomains(id: string): Promise<void> {
    await this.db.query(
      `UPDATE campaigns SET audience_domains = ${AUDIENCE_DOMAINS} WHERE id = $1 AND status IN ('sending', 'paused') AND started_at IS NOT NULL AND audience_domains IS NULL`,
      [id],
    );
  }

  /**
   * Records the A/B test's outcome if it is still in one of `from` (a concurrent look or a manual
   * decision got there first otherwise); in the caller's transaction. `winner` null: inconclusive.
   */
  async decideAbTest(q: Queryable, id: string, from: AbState[], d: { winner: number | null; basis: AbBasis | null; reason: string }): Promise<boolean> {
    const { affected } = await changed(
      q,
      `UPDATE campaigns SET ab_state = CASE WHEN $3::smallint IS NULL THEN 'inconclusive' ELSE 'decided' END, ab_winner = $3, ab_basis = $4,
         ab_decided_at = CASE WHEN $3::smallint IS NULL THEN NULL ELSE now() END, ab_reason = $5, updated_at = now()
       WHERE id = $1 AND ab_state = ANY($2::text[]) RETURNING id`,
      [id, from, d.winner, d.basis, d.reason],
    );
    return affected > 0;
  }

  /** While the test runs: where it stands after the latest look. */
  async noteAbTest(id: string, reason: string): Promise<void> {
    await this.db.query(`UPDATE campaigns SET ab_reason = $2 WHERE id = $1 AND ab_state = 'testing'`, [id, reason]);
  }

  /** Campaigns whose A/B test is running, for the periodic look. */
  testing(): Promise<{ id: string }[]> {
    return this.db.query(`SELECT id FROM campaigns WHERE ab_state = 'testing' AND status IN ('sending', 'paused')`);
  }

  /** Sent, once nothing of it is queued or in flight; its message counts are kept with it. True when it was completed now. */
  async complete(id: string): Promise<boolean> {
    const { affected } = await changed(
      this.db,
      `UPDATE campaigns c SET status = 'sent', finished_at = now(), updated_at = now(),
         message_counts = (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM messages WHERE campaign_id = $1 GROUP BY status) m),
         mailbox_domains = ${MAILBOX_DOMAINS}
       WHERE c.id = $1 AND c.status = 'sending' AND c.started_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM messages WHERE campaign_id = $1 AND status IN ('held', 'queued', 'sending', 'submitting'))
       RETURNING c.id`,
      [id],
    );
    return affected > 0;
  }

  /**
   * A cancelled campaign's message counts, kept with it once nothing of it is queued or in flight:
   * from then on they cannot change. Nothing happens while a run still holds some of its messages
   * (that run does it when it stops).
   */
  async keepCancelledCounts(id: string, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE campaigns c SET message_counts = (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM messages WHERE campaign_id = $1 GROUP BY status) m),
         mailbox_domains = ${MAILBOX_DOMAINS}
       WHERE c.id = $1 AND c.status = 'cancelled' AND c.message_counts IS NULL
         AND NOT EXISTS (SELECT 1 FROM messages WHERE campaign_id = $1 AND status IN ('held', 'queued', 'sending', 'submitting'))`,
      [id],
    );
  }

  /** Scheduled and sending campaigns, for the jobs they need. */
  moving(): Promise<{ id: string; status: 'scheduled' | 'sending'; started: boolean }[]> {
    return this.db.query(`SELECT id, status, started_at IS NOT NULL AS started FROM campaigns WHERE status IN ('scheduled', 'sending')`);
  }

  attributionWindows(q: Queryable, ids: string[]): Promise<{ id: string; hours: number | null }[]> {
    return queryRows<{ id: string; hours: number | null }>(q, `SELECT id, attribution_window_hours AS hours FROM campaigns WHERE id = ANY($1::uuid[])`, [ids]);
  }
}

function values(v: CampaignValues): unknown[] {
  return [
    v.name,
    v.subject,
    v.templateId,
    v.fromName,
    v.fromEmail,
    v.replyTo,
    v.audience,
    v.data,
    v.sendRate,
    v.transport,
    v.postalAddress,
    v.utm,
    v.attributionWindowHours,
    v.variants === null ? null : JSON.stringify(v.variants),
    v.abTest,
  ];
}
