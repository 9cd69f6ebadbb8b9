import { Injectable } from '@nestjs/common';
import type { Queryable } from '../database/queryable';
import { WebhookOutbox } from '../webhooks/webhook-outbox';
import { SubscribersRepository, TraitsRow } from './subscribers.repository';

/** What an identify call changes on one profile. */
export interface ProfileChange {
  /** Who: a subscriber already linked to the caller's user id, or an address (a subscriber created if new). */
  who: { subscriberId: string } | { email: string };
  /** By address only: the external id (Segment's userId) to link, when the subscriber has none and nobody else has it. */
  externalId: string | null;
  /** Fills in a missing name; never replaces one. */
  name: string | null;
  /** Merged shallowly into the attributes; a key set to null is removed. */
  attributes: Record<string, unknown>;
}

/** A subscriber found or created by address. */
export interface IdentifiedProfile {
  subscriberId: string;
  email: string;
  /** Its external id after the change: the one asked for, or the one it already had. */
  externalId: string | null;
}

/**
 * Subscribers as customer data sees them: linked to a product's user id (`external_id`) and
 * created from an identify call. ⚑ An event is never consent: nothing here subscribes anyone, so
 * a subscriber created from an event gets no mail until a subscription (with its own consent) says so.
 */
@Injectable()
export class SubscriberIdentities {
  constructor(
    private readonly subscribers: SubscribersRepository,
    private readonly outbox: WebhookOutbox,
  ) {}

  /** Subscriber ids by external id, for the external ids linked to one. */
  byExternalIds(q: Queryable, externalIds: string[]): Promise<Map<string, string>> {
    return this.subscribers.idsByExternalId(q, [...new Set(externalIds)]);
  }

  /**
   * Applies identify calls in the caller's transaction, each profile once (the caller merges the
   * calls for one profile in order): addresses without a subscriber get one (no subscription),
   * traits are merged, and external ids linked. Answers the subscribers found or created by address.
   */
  async identify(q: Queryable, changes: ProfileChange[]): Promise<IdentifiedProfile[]> {
    const byEmail: (TraitsRow & { email: string; external_id: string | null })[] = [];
    const byId: (TraitsRow & { id: string })[] = [];
    for (const c of changes) {
      const traits = { name: c.name, ...split(c.attributes) };
      if ('email' in c.who) byEmail.push({ ...traits, email: c.who.email, external_id: c.externalId });
      else byId.push({ ...traits, id: c.who.subscriberId });
    }
    const created = await this.subscribers.ensureEmails(
      q,
      byEmail.map((c) => c.email),
    );
    await this.outbox.record(
      q,
      'subscriber.created',
      created.map((s) => ({ data: { subscriberId: s.id, email: s.email, source: 'identify' as const } })),
    );
    const found = await this.subscribers.mergeByEmail(q, byEmail);
    await this.subscribers.mergeById(q, byId);
    return found.map((r) => ({ subscriberId: r.id, email: r.email, externalId: r.external_id }));
  }

  /**
   * Of these subscribers, those not erased, share-locked until the caller's transaction ends, so
   * that what the caller stores about them is either seen by a concurrent erase or left unlinked.
   */
  lockLive(q: Queryable, ids: string[]): Promise<Set<string>> {
    return this.subscribers.lockLive(q, [...new Set(ids)]);
  }

  /** Whether the subscriber exists and is not erased. */
  async exists(q: Queryable, id: string): Promise<boolean> {
    return (await this.subscribers.find(q, id)) !== undefined;
  }
}

function split(attributes: Record<string, unknown>): { attributes: Record<string, unknown>; removed: string[] } {
  const kept: Record<string, unknown> = {};
  const removed: string[] = [];
  for (const [k, v] of Object.entries(attributes)) {
    if (v === null) removed.push(k);
    else kept[k] = v;
  }
  return { attributes: kept, removed };
}
