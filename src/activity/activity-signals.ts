import type { Queryable } from '../database/queryable';

/**
 * What happened to people, told in the transaction that records it, to whatever reacts to it (the
 * journeys: triggers, awaited events, goals). The audience, customer data and segments call it;
 * the journeys provide it (a global provider composed at the root), so that none of them depends
 * on the journeys. Being in the same transaction, a reaction exists exactly when the change does.
 */
export const ACTIVITY_SIGNALS = Symbol('ACTIVITY_SIGNALS');

export interface TrackedEvent {
  subscriberId: string;
  event: string;
  properties: Record<string, unknown>;
}

export interface ActivitySignals {
  /** Subscriptions that have just become confirmed. */
  subscriptionsConfirmed(q: Queryable, confirmed: { subscriberId: string; listId: string }[]): Promise<void>;
  /** Track events of known subscribers, just stored. */
  eventsTracked(q: Queryable, events: TrackedEvent[]): Promise<void>;
  /** Subscribers who have just entered a saved segment (its membership refresh). */
  segmentEntered(q: Queryable, segmentId: string, subscriberIds: string[]): Promise<void>;
}
