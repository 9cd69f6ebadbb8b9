import type { Queryable } from '../database/queryable';

/**
 * What a person did with the mail they got (opens, clicks, orders) is kept by analytics, which
 * provides this (a global provider): the audience's GDPR erase and export ask it, without the
 * audience depending on analytics.
 */
export const SUBSCRIBER_ACTIVITY = Symbol('SUBSCRIBER_ACTIVITY');

export interface SubscriberActivity {
  /** Erase, in the erase's transaction: what identifies the person goes (the counts stay). */
  forget(q: Queryable, subscriberId: string): Promise<void>;
  /** Export: every event recorded for the person's messages, and their orders. */
  export(subscriberId: string): Promise<{ activity: unknown[]; orders: unknown[] }>;
}
