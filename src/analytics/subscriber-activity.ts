import { Injectable } from '@nestjs/common';
import type { SubscriberDataSource } from '../audience/subscriber-data';
import type { Queryable } from '../database/queryable';
import { EventsRepository } from './ingestion/events.repository';

/** What analytics keeps about a person, for the audience's GDPR erase and export: the events of their messages, and their orders. */
@Injectable()
export class SubscriberActivity implements SubscriberDataSource {
  constructor(private readonly events: EventsRepository) {}

  /** Opens, clicks and conversions stay counted (aggregates are kept); their IP and user agent go. */
  forget(q: Queryable, subscriberId: string): Promise<void> {
    return this.events.forget(q, subscriberId);
  }

  /** `activity`: opens, clicks, conversions, unsubscribes, bounces and complaints of the person's messages; `conversions`: their orders. */
  async export(subscriberId: string): Promise<Record<string, unknown>> {
    const [activity, conversions] = await Promise.all([this.events.activityOf(subscriberId), this.events.ordersOf(subscriberId)]);
    return { activity, conversions };
  }
}
