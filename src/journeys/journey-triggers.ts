import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ActivitySignals, TrackedEvent } from '../activity/activity-signals';
import type { Queryable } from '../database/queryable';
import { WebhookOutbox } from '../webhooks/webhook-outbox';
import { Entrant, EnrolmentsRepository } from './enrolments.repository';
import { matchesFilters } from './event-filter';
import { JourneyTimers } from './journey-timers';
import { LiveJourney, JourneyVersions } from './journey-versions';

/**
 * Who enters which journey: the reactions to activity (a confirmed subscription, a tracked event,
 * entering a segment) in the transaction that records it, and enrolment by API (the yearly date
 * scan is `DateTriggers`). Tracked events also move people waiting for them and end journeys whose goal they are.
 */
@Injectable()
export class JourneyTriggers implements ActivitySignals {
  private readonly logger = new Logger(JourneyTriggers.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly versions: JourneyVersions,
    private readonly enrolments: EnrolmentsRepository,
    private readonly timers: JourneyTimers,
    private readonly outbox: WebhookOutbox,
  ) {}

  async subscriptionsConfirmed(q: Queryable, confirmed: { subscriberId: string; listId: string }[]): Promise<void> {
    for (const j of await this.versions.enrolling(q)) {
      const t = j.trigger;
      if (t.type !== 'listJoined') continue;
      const who = confirmed.filter((c) => c.listId === t.listId);
      await this.enrol(
        q,
        j,
        who.map((c) => entrant(c.subscriberId, { listId: c.listId })),
      );
    }
  }

  async eventsTracked(q: Queryable, events: TrackedEvent[]): Promise<void> {
    for (const j of await this.versions.enrolling(q)) {
      const t = j.trigger;
      if (t.type !== 'event') continue;
      const where = j.triggerWhere;
      const who = events.filter((e) => e.event === t.event && matchesFilters(e.properties, where));
      await this.enrol(
        q,
        j,
        who.map((e) => entrant(e.subscriberId, { event: e.event, properties: e.properties })),
      );
    }
    if (await this.enrolments.resumeWaiting(q, events)) this.timers.wakeSoon();
    const ended = await this.enrolments.reachGoals(q, events);
    await this.outbox.record(
      q,
      'journey.completed',
      ended.map((e) => ({ data: { journeyId: e.journey_id, subscriberId: e.subscriber_id } })),
    );
  }

  async segmentEntered(q: Queryable, segmentId: string, subscriberIds: string[]): Promise<void> {
    for (const j of await this.versions.enrolling(q)) {
      if (j.trigger.type === 'segmentEntered' && j.trigger.segmentId === segmentId)
        await this.enrol(
          q,
          j,
          subscriberIds.map((id) => entrant(id, { segmentId })),
        );
    }
  }

  /** Enrolment by API: the id of the new enrolment, or null when the person may not (re-)enter now. */
  async enrolOne(journey: LiveJourney, subscriberId: string, data: Record<string, unknown>): Promise<string | null> {
    const [row] = await this.db.transaction((tx) => this.enrol(tx, journey, [{ subscriberId, trigger: {}, data, dueAt: null }]));
    return row?.id ?? null;
  }

  /** Enrols who may enter, in the caller's transaction, and sets their timers. */
  async enrol(q: Queryable, j: LiveJourney, entrants: Entrant[]) {
    if (!entrants.length) return [];
    const { reentry, goal } = j.definition.settings;
    const rows = await this.enrolments.enrol(q, { journeyId: j.journeyId, version: j.version, entryStep: j.definition.steps[0].id, reentry, goal }, entrants);
    if (rows.length) {
      const now = Date.now();
      const later = rows.filter((r) => r.due_at.getTime() > now + 1_000).map((r) => r.due_at);
      if (later.length < rows.length) this.timers.wakeSoon();
      if (later.length) await this.timers.wake(later).catch((e: Error) => this.logger.warn(`journey timers not added (rebuilt at start): ${e.message}`));
    }
    return rows;
  }
}

function entrant(subscriberId: string, trigger: Record<string, unknown>): Entrant {
  return { subscriberId, trigger, data: {}, dueAt: null };
}
