import type { Queryable } from '../database/queryable';

/**
 * Other capabilities keep data about a person too: analytics what they did with the mail they got
 * (opens, clicks, orders), customers the events a product sent about them. Each provides a source,
 * and the composition root gathers them under SUBSCRIBER_DATA (a global provider): the audience's
 * GDPR erase and export ask every source, without the audience depending on any of them.
 */
export const SUBSCRIBER_DATA = Symbol('SUBSCRIBER_DATA');

export interface SubscriberDataSource {
  /** Erase, in the erase's transaction (the subscriber row is locked): what identifies the person goes. */
  forget(q: Queryable, subscriberId: string): Promise<void>;
  /** Export: the sections this source adds to the person's export document, by name. */
  export(subscriberId: string): Promise<Record<string, unknown>>;
}
