import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SubscriberIdentities } from '../audience/subscriber-identities.service';
import { ACTIVITY_SIGNALS, ActivitySignals } from '../activity/activity-signals';
import { AppError, ErrorDetail } from '../common/errors';
import { decodeCursor, Page, toPage } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { Queryable } from '../database/queryable';
import { postgresError } from '../database/pg-error';
import { CustomerEventsRepository, EventRow, NewEventRow } from './customer-events.repository';
import { CustomerEventDto, CustomerEventQuery, SegmentAnswerDto } from './dto/customer-event.dto';
import { planIdentities, resolveTargets } from './identity-plan';
import { CustomerMessage, parseMessage } from './segment-message';

const ACCEPTED: SegmentAnswerDto = { success: true };
/** A deadlock between two requests that change the same profiles in different orders: Postgres rolls one back, and it runs again. */
const ATTEMPTS = 3;

/**
 * Customer events through Segment's HTTP tracking API: identify, track and batch calls are
 * checked, deduplicated by messageId, linked to subscribers, and committed before the answer
 * (durable once acknowledged), all of a request's events in one INSERT.
 */
@Injectable()
export class CustomerEventsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: CustomerEventsRepository,
    private readonly identities: SubscriberIdentities,
    @Inject(ACTIVITY_SIGNALS) private readonly signals: ActivitySignals,
  ) {}

  identify(body: unknown): Promise<SegmentAnswerDto> {
    return this.accept([parseMessage(body, 'identify', '')]);
  }

  track(body: unknown): Promise<SegmentAnswerDto> {
    return this.accept([parseMessage(body, 'track', '')]);
  }

  /** Segment's batch: the good messages are stored even when others are refused; then a 400 names the refused ones. */
  batch(body: unknown): Promise<SegmentAnswerDto> {
    if (!isObject(body)) throw AppError.invalid('body', 'must be an object with a batch array');
    if (!Array.isArray(body.batch)) throw AppError.invalid('batch', 'must be an array of Segment messages');
    if (body.context != null && !isObject(body.context)) throw AppError.invalid('context', 'must be an object');
    const context = isObject(body.context) ? body.context : null;
    return this.accept(body.batch.map((raw, i) => parseMessage(raw, null, `batch[${i}]`, context)));
  }

  /** A subscriber's events, newest first. */
  async list(subscriberId: string, q: CustomerEventQuery): Promise<Page<CustomerEventDto>> {
    const position = decodeCursor(q.cursor);
    if (position && !/^\d{1,18}$/.test(position.id)) throw AppError.invalid('cursor', 'is not a cursor this API returned');
    if (!(await this.identities.exists(this.db.manager, subscriberId))) throw AppError.notFound('Subscriber', subscriberId);
    const rows = await this.events.page(subscriberId, position && { at: position.createdAt, id: position.id }, q.limit + 1);
    return toPage(rows, q.limit, (r) => ({ createdAt: r.at_text, id: r.id }), toCustomerEventDto);
  }

  /** Track events of this name these people sent since `since`: a journey step that starts waiting for one may find it came already. */
  receivedSince(subscriberIds: string[], event: string, since: Date): Promise<{ subscriber_id: string; properties: Record<string, unknown> }[]> {
    return subscriberIds.length ? this.events.receivedSince(subscriberIds, event, since) : Promise.resolve([]);
  }

  /** Message ids past the dedupe window go (the repeatable purge job). */
  purgeMessageIds(): Promise<number> {
    return this.events.purgeMessageIds(this.config.customers.dedupeDays);
  }

  private async accept(parsed: ReturnType<typeof parseMessage>[]): Promise<SegmentAnswerDto> {
    const messages: CustomerMessage[] = [];
    const problems: ErrorDetail[] = [];
    for (const p of parsed) {
      if (p.kind === 'message') messages.push(p.message);
      else if (p.kind === 'refused') problems.push(...p.problems);
    }
    if (messages.length) await this.store(messages);
    if (!problems.length) return ACCEPTED;
    const refused = new Set(problems.map((p) => p.field?.replace(/^(batch\[\d+\]).*$/, '$1'))).size;
    const stored = messages.length ? ' (the others are stored)' : '';
    const message = parsed.length > 1 ? `${refused} of ${parsed.length} messages refused${stored}: ${summary(problems)}` : summary(problems);
    throw new AppError('invalid_input', message, problems);
  }

  private async store(messages: CustomerMessage[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.transaction((tx) => this.storeIn(tx, messages));
        return;
      } catch (e) {
        if (attempt >= ATTEMPTS || postgresError(e)?.code !== '40P01') throw e;
      }
    }
  }

  private async storeIn(tx: Queryable, all: CustomerMessage[]): Promise<void> {
    await this.events.lockIdentities(tx, lockKeys(all));
    const fresh = await this.events.claimMessageIds(tx, [...new Set(all.map((m) => m.messageId))], this.config.customers.dedupeDays);
    // A retry of a stored message is not stored again; nor is a message repeated within the request.
    const messages = all.filter((m) => fresh.delete(m.messageId));
    if (!messages.length) return;

    const known = {
      users: await this.identities.byExternalIds(tx, present(messages.map((m) => m.userId))),
      anonymous: await this.events.subscribersOfAnonymousIds(tx, present(messages.map((m) => m.anonymousId))),
    };
    const plan = planIdentities(messages, known);
    const profiles = await this.identities.identify(tx, plan.changes);
    const wanted = resolveTargets(plan.targets, profiles);
    // A subscriber erased meanwhile is left out: the events stay unlinked, as for an unknown person.
    const live = await this.identities.lockLive(tx, present(wanted));
    const subscriberIds = wanted.map((id) => (id !== null && live.has(id) ? id : null));

    const rows = messages.map((m, i) => toRow(m, subscriberIds[i]));
    await this.events.insert(tx, rows);
    const tracked = rows.flatMap((r) =>
      r.type === 'track' && r.subscriber_id ? [{ subscriberId: r.subscriber_id, event: r.event!, properties: r.properties }] : [],
    );
    if (tracked.length) await this.signals.eventsTracked(tx, tracked);

    // UserIds this request linked: their earlier events, kept unlinked, join the subscriber.
    const byEmail = new Map(profiles.map((p) => [p.email, p]));
    const users = new Map<string, string>();
    for (const { who, externalId } of plan.changes) {
      const p = 'email' in who ? byEmail.get(who.email) : undefined;
      if (externalId !== null && p?.externalId === externalId && live.has(p.subscriberId)) users.set(externalId, p.subscriberId);
    }
    const anonymous = new Map<string, string>();
    messages.forEach((m, i) => {
      if (m.anonymousId !== null && subscriberIds[i] !== null) anonymous.set(m.anonymousId, subscriberIds[i]);
    });
    await this.events.attach(tx, users, anonymous);
  }
}

/** The one place a stored event becomes what the API shows (the events list, the GDPR export). */
export function toCustomerEventDto(r: EventRow): CustomerEventDto {
  return {
    id: r.id,
    type: r.type,
    event: r.event,
    ...(r.type === 'identify' ? { traits: r.properties } : { properties: r.properties }),
    timestamp: r.at.toISOString(),
    receivedAt: r.received_at.toISOString(),
    messageId: r.message_id,
    userId: r.user_id,
    anonymousId: r.anonymous_id,
    context: r.context,
  };
}

function toRow(m: CustomerMessage, subscriberId: string | null): NewEventRow {
  const common = { subscriber_id: subscriberId, at: m.at, user_id: m.userId, anonymous_id: m.anonymousId, message_id: m.messageId, context: m.context };
  return m.type === 'identify'
    ? { ...common, type: 'identify', event: null, properties: m.traits }
    : { ...common, type: 'track', event: m.event, properties: m.properties };
}

/**
 * The identities a request touches: exclusive where an identify may link or change a profile (its
 * userId, anonymousId and address), shared where an event only reads the links — so that an event
 * stored unlinked is always seen by the identify that links its userId, whichever commits first.
 */
function lockKeys(messages: CustomerMessage[]): Map<string, boolean> {
  const keys = new Map<string, boolean>();
  const add = (key: string, exclusive: boolean) => keys.set(key, exclusive || (keys.get(key) ?? false));
  for (const m of messages) {
    const exclusive = m.type === 'identify';
    if (m.userId !== null) add(`u:${m.userId}`, exclusive);
    if (m.anonymousId !== null) add(`a:${m.anonymousId}`, exclusive);
    if (m.type === 'identify' && m.email !== null) add(`e:${m.email}`, true);
  }
  return keys;
}

function present<T>(values: (T | null)[]): T[] {
  return [...new Set(values.filter((v): v is T => v !== null))];
}

function summary(problems: ErrorDetail[]): string {
  const shown = problems.slice(0, 3).map((p) => `${p.field} ${p.message}`);
  return problems.length > 3 ? `${shown.join('; ')}; and ${problems.length - 3} more` : shown.join('; ');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
