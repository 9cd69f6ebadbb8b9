import { Injectable } from '@nestjs/common';
import type { Queryable } from '../database/queryable';
import type { WebhookEventInput, WebhookEventType } from './webhook-events';
import { WebhooksRepository } from './webhooks.repository';

/**
 * What other capabilities call, inside the transaction that makes the change, to report it: the
 * events are written to the outbox with the change, so a rolled-back change reports nothing and a
 * committed one is delivered even if the process dies right after. One statement however many
 * events, after an index probe for an active endpoint that subscribes to the type.
 */
@Injectable()
export class WebhookOutbox {
  constructor(private readonly repository: WebhooksRepository) {}

  async record<T extends WebhookEventType>(q: Queryable, type: T, events: WebhookEventInput<T>[]): Promise<void> {
    // Asked first, in the same transaction: with nobody listening, the payloads (thousands of opens
    // in an ingestion batch) are never serialised, sent to Postgres and parsed there.
    if (!events.length || !(await this.repository.subscribed(q, type))) return;
    const payloads = events.map((e) => ({ type, timestamp: new Date(e.at ?? Date.now()).toISOString(), data: e.data }));
    await this.repository.enqueue(q, type, payloads);
  }
}
