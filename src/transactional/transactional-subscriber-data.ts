import { Injectable } from '@nestjs/common';
import type { SubscriberDataSource } from '../audience/subscriber-data';
import type { Queryable } from '../database/queryable';
import { TransactionalMessagesRepository } from './transactional-messages.repository';

/** GDPR erase and export ask transactional mail for what it keeps about a person: the address and data of their messages. */
@Injectable()
export class TransactionalSubscriberData implements SubscriberDataSource {
  constructor(private readonly messages: TransactionalMessagesRepository) {}

  forget(q: Queryable, subscriberId: string): Promise<void> {
    return this.messages.forget(q, subscriberId);
  }

  async export(subscriberId: string): Promise<Record<string, unknown>> {
    const rows = await this.messages.ofSubscriber(subscriberId);
    return {
      transactionalMessages: rows.map((r) => ({
        messageId: r.id,
        templateId: r.template_id,
        to: r.to_email,
        status: r.status,
        data: r.data,
        createdAt: r.created_at.toISOString(),
        sentAt: r.sent_at?.toISOString() ?? null,
      })),
    };
  }
}
