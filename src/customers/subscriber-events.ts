import { Injectable } from '@nestjs/common';
import type { SubscriberDataSource } from '../audience/subscriber-data';
import type { Queryable } from '../database/queryable';
import { CustomerEventsRepository } from './customer-events.repository';
import { toCustomerEventDto } from './customer-events.service';

/** What customers keeps about a person, for the audience's GDPR erase and export: the events linked to them. */
@Injectable()
export class SubscriberEvents implements SubscriberDataSource {
  constructor(private readonly events: CustomerEventsRepository) {}

  /** The person's events go; nothing of them is an aggregate another report needs. */
  forget(q: Queryable, subscriberId: string): Promise<void> {
    return this.events.forget(q, subscriberId);
  }

  /** `customerEvents`: every identify and track event linked to the person, oldest first. */
  async export(subscriberId: string): Promise<Record<string, unknown>> {
    return { customerEvents: (await this.events.ofSubscriber(subscriberId)).map(toCustomerEventDto) };
  }
}
