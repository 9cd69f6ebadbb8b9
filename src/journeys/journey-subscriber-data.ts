import { Injectable } from '@nestjs/common';
import type { MessageDirectory } from '../audience/pages/message-directory';
import type { SubscriberDataSource } from '../audience/subscriber-data';
import type { Queryable } from '../database/queryable';
import { EnrolmentsRepository } from './enrolments.repository';
import { JourneyMessagesRepository } from './journey-messages.repository';

/**
 * What the audience asks of journeys without depending on them: GDPR erase and export (a person's
 * enrolments, with the trigger properties and data they carry; erase ends the active ones), and
 * which list a journey mail went out for (its unsubscribe and preference pages).
 */
@Injectable()
export class JourneySubscriberData implements SubscriberDataSource, MessageDirectory {
  constructor(
    private readonly enrolments: EnrolmentsRepository,
    private readonly messages: JourneyMessagesRepository,
  ) {}

  forget(q: Queryable, subscriberId: string): Promise<void> {
    return this.enrolments.forget(q, subscriberId);
  }

  async export(subscriberId: string): Promise<Record<string, unknown>> {
    const rows = await this.enrolments.ofSubscriber(subscriberId);
    return {
      journeyEnrolments: rows.map((r) => ({
        enrolmentId: r.id,
        journeyId: r.journey_id,
        version: r.version,
        status: r.status,
        trigger: r.trigger,
        data: r.data,
        enteredAt: r.entered_at.toISOString(),
        endedAt: r.ended_at?.toISOString() ?? null,
      })),
    };
  }

  listOf(mailingId: string, subscriberId: string): Promise<string | undefined> {
    return this.messages.listOf(mailingId, subscriberId);
  }
}
