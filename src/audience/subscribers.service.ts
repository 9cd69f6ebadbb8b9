import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { normalizeTimeZone } from '../config/config';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import type { Queryable } from '../database/queryable';
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
import { ConsentRepository } from './consent.repository';
import { ListsRepository } from './lists.repository';
import { SUBSCRIBER_DATA, SubscriberDataSource } from './subscriber-data';
import { SubscriberProfile, SubscriberRow, SubscribersRepository } from './subscribers.repository';
import { SubscriptionsRepository } from './subscriptions.repository';
import { SubscriptionsService } from './subscriptions.service';
import { SuppressionsService } from './suppressions.service';
import { WebhookOutbox } from '../webhooks/webhook-outbox';

export type { SubscriberProfile };

@Injectable()
export class SubscribersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly subscribers: SubscribersRepository,
    private readonly subscriptionRows: SubscriptionsRepository,
    private readonly consent: ConsentRepository,
    private readonly lists: ListsRepository,
    private readonly subscriptions: SubscriptionsService,
    private readonly suppressions: SuppressionsService,
    private readonly outbox: WebhookOutbox,
    @Inject(SUBSCRIBER_DATA) private readonly data: SubscriberDataSource[],
  ) {}

  async create(dto: CreateSubscriberDto): Promise<SubscriberDetailDto> {
    const email = normalizeEmail(dto.email)!;
    const evidence: ConsentEvidence = { source: dto.consent?.source ?? 'api', text: dto.consent?.text, ip: dto.consent?.ip, userAgent: dto.consent?.userAgent };
    const pending: string[] = [];
    const id = await this.db.transaction(async (tx) => {
      const lists = await this.requireLists(tx, dto.lists ?? []);
      if (lists.length) await this.refuseSuppressed(tx, email);
      const id = await this.subscribers.insert(tx, {
        email,
        name: dto.name ?? null,
        attributes: dto.attributes ?? {},
        timezone: dto.timezone ? normalizeTimeZone(dto.timezone) : null,
      });
      if (!id) {
        const existing = await this.subscribers.idByEmail(tx, email);
        throw new AppError('already_exists', `a subscriber with email ${email} already exists`, [{ field: 'email', message: 'already exists', id: existing }]);
      }
      await this.outbox.record(tx, 'subscriber.created', [{ data: { subscriberId: id, email, source: evidence.source === 'form' ? 'form' : 'api' } }]);
      for (const list of lists) {
        const outcome = await this.subscriptions.subscribe(tx, id, list, evidence);
        if (outcome.confirmationNeeded) pending.push(list.id);
      }
      return id;
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
        email = (await this.subscribers.emailOf(tx, subscriberId)) ?? null;
        if (!email) throw AppError.notFound('Subscriber', subscriberId);
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
        const upserted = await this.subscribers.upsertByEmail(tx, email, who.name ?? null);
        subscriberId = upserted.id;
        if (upserted.created)
          await this.outbox.record(tx, 'subscriber.created', [{ data: { subscriberId, email, source: evidence.source === 'form' ? 'form' : 'api' } }]);
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
    return this.subscribers.profiles(ids);
  }

  /** Subscribers whose date attribute falls on one of these month-days ('MM-DD'), a page at a time by id. */
  anniversaries(
    attribute: string,
    monthDays: string[],
    afterId: string | null,
    limit: number,
  ): Promise<{ id: string; value: string; timezone: string | null }[]> {
    return this.subscribers.anniversaries(attribute, monthDays, afterId, limit);
  }

  /** Whether a subscriber exists (erased ones too: their row stays). */
  async exists(id: string): Promise<boolean> {
    return (await this.subscribers.find(this.db, id)) !== undefined;
  }

  /** Subscribers' addresses by id (null once erased), in the caller's transaction. */
  emails(q: Queryable, ids: string[]): Promise<Map<string, string | null>> {
    return this.subscribers.emails(q, ids);
  }

  /** The same for addresses (test copies to known subscribers). */
  profilesByEmail(emails: string[]): Promise<SubscriberProfile[]> {
    return this.subscribers.profilesByEmail(emails);
  }

  async get(id: string): Promise<SubscriberDetailDto> {
    const row = await this.require(id);
    const [subscriptions, consentLog] = await Promise.all([this.subscriptionsOf(id), this.consentLogOf(id)]);
    return { ...map(row), subscriptions, consentLog };
  }

  /** The subscriber a product knows by this user id (customer data's `userId`). */
  async getByExternalId(externalId: string): Promise<SubscriberDetailDto> {
    const id = (await this.subscribers.idsByExternalId(this.db.manager, [externalId])).get(externalId);
    if (!id) throw new AppError('not_found', `no subscriber with externalId ${externalId}`, [{ field: 'externalId', message: 'no subscriber has it' }]);
    return this.get(id);
  }

  async list(q: SubscriberQuery): Promise<Page<SubscriberDto>> {
    const rows = await this.subscribers.page({
      afterId: decodeCursor(q.cursor)?.id ?? null,
      email: q.email !== undefined ? q.email.trim().toLowerCase() : null,
      externalId: q.externalId ?? null,
      list: q.list ?? null,
      status: q.status ?? null,
      limit: q.limit + 1,
    });
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), map);
  }

  async update(id: string, dto: UpdateSubscriberDto): Promise<SubscriberDetailDto> {
    await this.db.transaction(async (tx) => {
      const current = await this.require(id, tx, true);
      const email = dto.email !== undefined ? normalizeEmail(dto.email)! : current.email;
      if (email !== current.email) {
        await this.refuseSuppressed(tx, email!);
        const taken = await this.subscribers.idByEmail(tx, email!);
        if (taken)
          throw new AppError('already_exists', `a subscriber with email ${email} already exists`, [{ field: 'email', message: 'already exists', id: taken }]);
      }
      const attributes = { ...current.attributes };
      for (const [k, v] of Object.entries(dto.attributes ?? {})) {
        if (v === null) delete attributes[k];
        else attributes[k] = v;
      }
      await this.subscribers.update(tx, id, {
        email,
        name: dto.name !== undefined ? dto.name : current.name,
        attributes,
        timezone: dto.timezone ? normalizeTimeZone(dto.timezone) : current.timezone,
      });
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
      await this.subscribers.erase(tx, id);
      await this.subscriptionRows.endAll(tx, id);
      await this.consent.forget(tx, id);
      // What other capabilities keep (opens, clicks, orders, customer events): what identifies the person goes, counts stay.
      for (const source of this.data) await source.forget(tx, id);
      if (row.email) await this.suppressions.forgetBounces(tx, row.email);
      await this.consent.record(tx, {
        subscriberId: id,
        listId: null,
        action: 'erase',
        source: 'api',
        status: null,
        text: null,
        version: null,
        ip: null,
        userAgent: null,
      });
    });
  }

  /** GDPR export: everything held about the person, machine-readable. */
  async export(id: string): Promise<Record<string, unknown>> {
    const row = await this.require(id);
    const [subscriptions, consentLog, suppression, sections] = await Promise.all([
      this.subscriptionsOf(id),
      this.consentLogOf(id),
      row.email ? this.suppressions.of(row.email) : null,
      Promise.all(this.data.map((source) => source.export(id))),
    ]);
    return {
      format: 'edm-subscriber-export/1',
      exportedAt: new Date().toISOString(),
      subscriber: map(row),
      subscriptions,
      consentLog,
      suppression,
      // analytics: `activity` (opens, clicks, conversions, unsubscribes, bounces, complaints of the person's messages)
      // and `conversions`; customers: `customerEvents`.
      ...Object.fromEntries(sections.flatMap((section) => Object.entries(section))),
    };
  }

  private async require(id: string, tx: Queryable = this.db.manager, lock = false): Promise<SubscriberRow> {
    const row = lock ? await this.subscribers.lock(tx, id) : await this.subscribers.find(tx, id);
    if (!row) throw AppError.notFound('Subscriber', id);
    return row;
  }

  private async requireLists(tx: Queryable, ids: string[]): Promise<Pick<MailingList, 'id' | 'name' | 'optIn'>[]> {
    const unique = [...new Set(ids)];
    if (!unique.length) return [];
    const rows = await this.lists.some(tx, unique);
    const missing = unique.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) {
      throw new AppError(
        'not_found',
        `list ${missing.join(', ')} not found`,
        missing.map((id) => ({ field: `lists[${ids.indexOf(id)}]`, message: `no list with id ${id}` })),
      );
    }
    return rows;
  }

  private async refuseSuppressed(tx: Queryable, email: string): Promise<void> {
    const reason = await this.suppressions.reasonFor(tx, email);
    if (reason) {
      throw new AddressSuppressed(email, reason);
    }
  }

  private async subscriptionsOf(id: string): Promise<SubscriptionDto[]> {
    const rows = await this.subscriptionRows.ofSubscriber(id);
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
    const rows = await this.consent.ofSubscriber(id);
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
      occurredAt: r.occurred_at.toISOString(),
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
    externalId: r.external_id,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    erasedAt: r.erased_at?.toISOString() ?? null,
  };
}
