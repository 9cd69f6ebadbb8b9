import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { normalizeTimeZone } from '../config/config';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import { AddressSuppressed } from './audience.errors';
import { decodeCursor, Page, toPage } from '../common/pagination';
import type { MailingList, SubscriptionStatus } from './audience.entities';
import type { ConsentEvidence } from './consent';
import {
  ConsentEventDto,
  CreateSubscriberDto,
  SubscriberDetailDto,
  SubscriberDto,
  SubscriberQuery,
  SubscriptionDto,
  UpdateSubscriberDto,
} from './dto/subscriber.dto';
import { SubscriptionsService } from './subscriptions.service';
import { SuppressionsService } from './suppressions.service';

/** A subscriber as templates see them. */
export interface SubscriberProfile {
  id: string;
  email: string | null;
  name: string | null;
  attributes: Record<string, unknown>;
  timezone: string | null;
}

interface SubscriberRow {
  id: string;
  email: string | null;
  name: string | null;
  attributes: Record<string, unknown>;
  timezone: string | null;
  created_at: Date;
  updated_at: Date;
  erased_at: Date | null;
  ts: string;
}

const SUBSCRIBER_COLUMNS = `s.id, s.email, s.name, s.attributes, s.timezone, s.created_at, s.updated_at, s.erased_at, s.created_at::text AS ts`;

@Injectable()
export class SubscribersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly subscriptions: SubscriptionsService,
    private readonly suppressions: SuppressionsService,
  ) {}

  async create(dto: CreateSubscriberDto): Promise<SubscriberDetailDto> {
    const email = normalizeEmail(dto.email)!;
    const evidence: ConsentEvidence = { source: dto.consent?.source ?? 'api', text: dto.consent?.text, ip: dto.consent?.ip, userAgent: dto.consent?.userAgent };
    const pending: string[] = [];
    const id = await this.db.transaction(async (tx) => {
      const lists = await this.requireLists(tx, dto.lists ?? []);
      if (lists.length) await this.refuseSuppressed(tx, email);
      const [row]: { id: string }[] = await tx.query(
        `INSERT INTO subscribers (email, name, attributes, timezone) VALUES ($1, $2, $3, $4)
         ON CONFLICT (email) DO NOTHING RETURNING id`,
        [email, dto.name ?? null, dto.attributes ?? {}, dto.timezone ? normalizeTimeZone(dto.timezone) : null],
      );
      if (!row) {
        const [existing]: { id: string }[] = await tx.query(`SELECT id FROM subscribers WHERE email = $1`, [email]);
        throw new AppError('already_exists', `a subscriber with email ${email} already exists`, [
          { field: 'email', message: 'already exists', id: existing.id },
        ]);
      }
      for (const list of lists) {
        const outcome = await this.subscriptions.subscribe(tx, row.id, list, evidence);
        if (outcome.confirmationNeeded) pending.push(list.id);
      }
      return row.id;
    });
    await Promise.all(pending.map((listId) => this.subscriptions.requestConfirmation(id, listId)));
    return this.get(id);
  }

  /**
   * Adds a subscriber (by id, or by email, created if new) to a list under that list's opt-in rule.
   * `silentIfSuppressed` is for the public form, which must not reveal who is on the suppression list.
   */
  async subscribe(
    list: MailingList,
    who: { subscriberId?: string; email?: string; name?: string },
    evidence: ConsentEvidence,
    silentIfSuppressed = false,
  ): Promise<{ subscriberId: string; status: SubscriptionStatus } | null> {
    const result = await this.db.transaction(async (tx) => {
      let subscriberId = who.subscriberId;
      let email: string | null;
      if (subscriberId) {
        const [row]: { email: string | null }[] = await tx.query(`SELECT email FROM subscribers WHERE id = $1`, [subscriberId]);
        if (!row || !row.email) throw AppError.notFound('Subscriber', subscriberId);
        email = row.email;
      } else {
        email = normalizeEmail(who.email);
        if (!email) throw AppError.invalid('email', 'give subscriberId or a valid email');
      }
      if (silentIfSuppressed) {
        if (await this.suppressions.reasonFor(tx, email)) return null;
      } else {
        await this.refuseSuppressed(tx, email);
      }
      if (!subscriberId) {
        const [row]: { id: string }[] = await tx.query(
          `INSERT INTO subscribers (email, name) VALUES ($1, $2)
           ON CONFLICT (email) DO UPDATE SET name = COALESCE(subscribers.name, EXCLUDED.name)
           RETURNING id`,
          [email, who.name ?? null],
        );
        subscriberId = row.id;
      }
      const outcome = await this.subscriptions.subscribe(tx, subscriberId, list, evidence);
      return { subscriberId, ...outcome };
    });
    if (!result) return null;
    if (result.confirmationNeeded) await this.subscriptions.requestConfirmation(result.subscriberId, list.id);
    return { subscriberId: result.subscriberId, status: result.status };
  }

  /** What templates see of each recipient (an erased one has no address), by id. */
  profiles(ids: string[]): Promise<SubscriberProfile[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.query(`SELECT id, email, name, attributes, timezone FROM subscribers WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /** The same for addresses (test copies to known subscribers). */
  profilesByEmail(emails: string[]): Promise<SubscriberProfile[]> {
    return this.db.query(`SELECT id, email, name, attributes, timezone FROM subscribers WHERE email = ANY($1::text[])`, [emails]);
  }

  async get(id: string): Promise<SubscriberDetailDto> {
    const row = await this.require(id);
    const [subscriptions, consentLog] = await Promise.all([this.subscriptionsOf(id), this.consentLogOf(id)]);
    return { ...map(row), subscriptions, consentLog };
  }

  async list(q: SubscriberQuery): Promise<Page<SubscriberDto>> {
    const after = decodeCursor(q.cursor);
    const where = ['s.erased_at IS NULL'];
    const params: unknown[] = [];
    const param = (v: unknown) => `$${params.push(v)}`;
    // Ids are time-ordered (uuid_v7), so the primary key alone orders the pages.
    if (after) where.push(`s.id > ${param(after.id)}::uuid`);
    if (q.email !== undefined) where.push(`s.email = ${param(q.email.trim().toLowerCase())}`);
    if (q.list || q.status) {
      const cond = [`sub.subscriber_id = s.id`];
      if (q.list) cond.push(`sub.list_id = ${param(q.list)}`);
      if (q.status) cond.push(`sub.status = ${param(q.status)}`);
      where.push(`EXISTS (SELECT 1 FROM subscriptions sub WHERE ${cond.join(' AND ')})`);
    }
    const rows: SubscriberRow[] = await this.db.query(
      `SELECT ${SUBSCRIBER_COLUMNS} FROM subscribers s WHERE ${where.join(' AND ')}
       ORDER BY s.id LIMIT ${param(q.limit + 1)}`,
      params,
    );
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), map);
  }

  async update(id: string, dto: UpdateSubscriberDto): Promise<SubscriberDetailDto> {
    await this.db.transaction(async (tx) => {
      const current = await this.require(id, tx, true);
      const email = dto.email !== undefined ? normalizeEmail(dto.email)! : current.email;
      if (email !== current.email) {
        await this.refuseSuppressed(tx, email!);
        const [taken]: { id: string }[] = await tx.query(`SELECT id FROM subscribers WHERE email = $1`, [email]);
        if (taken) throw new AppError('already_exists', `a subscriber with email ${email} already exists`, [{ field: 'email', message: 'already exists', id: taken.id }]);
      }
      const attributes = { ...current.attributes };
      for (const [k, v] of Object.entries(dto.attributes ?? {})) {
        if (v === null) delete attributes[k];
        else attributes[k] = v;
      }
      await tx.query(
        `UPDATE subscribers SET email = $2, name = $3, attributes = $4, timezone = $5, updated_at = now() WHERE id = $1`,
        [id, email, dto.name !== undefined ? dto.name : current.name, attributes, dto.timezone ? normalizeTimeZone(dto.timezone) : current.timezone],
      );
    });
    return this.get(id);
  }

  /**
   * GDPR erase: the profile's personal data goes, the address survives only as a hash in the
   * suppression list (so no import can bring it back), and the row stays so aggregates keep adding up.
   */
  async erase(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.require(id, tx, true);
      // An address blanked by an earlier version's PATCH {"email": null} leaves nothing to suppress.
      if (row.email) await this.suppressions.suppress(tx, row.email, 'erased', null);
      await tx.query(
        `UPDATE subscribers SET email = NULL, name = NULL, attributes = '{}', timezone = NULL, erased_at = now(), updated_at = now() WHERE id = $1`,
        [id],
      );
      await tx.query(
        `UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = COALESCE(unsubscribed_at, now()), updated_at = now()
         WHERE subscriber_id = $1 AND status <> 'unsubscribed'`,
        [id],
      );
      await tx.query(`UPDATE consent_events SET ip = NULL, user_agent = NULL WHERE subscriber_id = $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL)`, [id]);
      // Opens, clicks and conversions stay counted (aggregates are kept); what identifies the person goes.
      await tx.query(`UPDATE events SET ip = NULL, user_agent = NULL WHERE subscriber_id = $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL)`, [id]);
      if (row.email) await tx.query(`DELETE FROM bounce_counts WHERE email_hash = email_hash($1)`, [row.email]);
      await tx.query(`INSERT INTO consent_events (subscriber_id, action, source) VALUES ($1, 'erase', 'api')`, [id]);
    });
  }

  /** GDPR export: everything held about the person, machine-readable. */
  async export(id: string): Promise<Record<string, unknown>> {
    const row = await this.require(id);
    const [subscriptions, consentLog, suppression, activity, orders] = await Promise.all([
      this.subscriptionsOf(id),
      this.consentLogOf(id),
      this.db.query(`SELECT reason, note, created_at AS "createdAt" FROM suppressions WHERE email_hash = email_hash($1)`, [row.email]),
      this.db.query(
        `SELECT type, at, campaign_id AS "campaignId", agent, slot, host(ip) AS ip, user_agent AS "userAgent", data
         FROM events WHERE subscriber_id = $1 ORDER BY id`,
        [id],
      ),
      this.db.query(
        `SELECT order_id AS "orderId", campaign_id AS "campaignId", value::float8 AS value, currency, attributed, at
         FROM conversions WHERE subscriber_id = $1 ORDER BY at`,
        [id],
      ),
    ]);
    return {
      format: 'edm-subscriber-export/1',
      exportedAt: new Date().toISOString(),
      subscriber: map(row),
      subscriptions,
      consentLog,
      suppression: (suppression as unknown[])[0] ?? null,
      /** Opens, clicks, conversions, unsubscribes, bounces and complaints recorded for the person's messages. */
      activity,
      conversions: orders,
    };
  }

  private async require(id: string, tx: EntityManager = this.db.manager, lock = false): Promise<SubscriberRow> {
    const [row]: SubscriberRow[] = await tx.query(
      `SELECT ${SUBSCRIBER_COLUMNS} FROM subscribers s WHERE s.id = $1 AND s.erased_at IS NULL ${lock ? 'FOR UPDATE' : ''}`,
      [id],
    );
    if (!row) throw AppError.notFound('Subscriber', id);
    return row;
  }

  private async requireLists(tx: EntityManager, ids: string[]): Promise<MailingList[]> {
    const unique = [...new Set(ids)];
    if (!unique.length) return [];
    const rows: MailingList[] = await tx.query(`SELECT id, name, opt_in AS "optIn" FROM lists WHERE id = ANY($1::uuid[])`, [unique]);
    const missing = unique.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) {
      throw new AppError('not_found', `list ${missing.join(', ')} not found`, missing.map((id) => ({ field: `lists[${ids.indexOf(id)}]`, message: `no list with id ${id}` })));
    }
    return rows;
  }

  private async refuseSuppressed(tx: EntityManager, email: string): Promise<void> {
    const reason = await this.suppressions.reasonFor(tx, email);
    if (reason) {
      throw new AddressSuppressed(email, reason);
    }
  }

  private async subscriptionsOf(id: string): Promise<SubscriptionDto[]> {
    const rows: { list_id: string; list_name: string; status: SubscriptionStatus; created_at: Date; confirmed_at: Date | null; unsubscribed_at: Date | null }[] =
      await this.db.query(
        `SELECT sub.list_id, l.name AS list_name, sub.status, sub.created_at, sub.confirmed_at, sub.unsubscribed_at
         FROM subscriptions sub JOIN lists l ON l.id = sub.list_id WHERE sub.subscriber_id = $1 ORDER BY sub.created_at`,
        [id],
      );
    return rows.map((r) => ({
      listId: r.list_id,
      listName: r.list_name,
      subscriberId: id,
      status: r.status,
      createdAt: r.created_at.toISOString(),
      confirmedAt: r.confirmed_at?.toISOString() ?? null,
      unsubscribedAt: r.unsubscribed_at?.toISOString() ?? null,
    }));
  }

  private async consentLogOf(id: string): Promise<ConsentEventDto[]> {
    const rows: Record<string, never>[] = await this.db.query(
      `SELECT id::text, list_id, action, source, status, consent_text, consent_version, host(ip) AS ip, user_agent, import_id, occurred_at
       FROM consent_events WHERE subscriber_id = $1 ORDER BY id`,
      [id],
    );
    return rows.map((r) => ({
      id: r.id,
      listId: r.list_id,
      action: r.action,
      source: r.source,
      status: r.status,
      consentText: r.consent_text,
      consentVersion: r.consent_version,
      ip: r.ip,
      userAgent: r.user_agent,
      importId: r.import_id,
      occurredAt: (r.occurred_at as Date).toISOString(),
    }));
  }
}

function map(r: SubscriberRow): SubscriberDto {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    attributes: r.attributes,
    timezone: r.timezone,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    erasedAt: r.erased_at?.toISOString() ?? null,
  };
}
