import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { StatsService } from '../analytics/stats.service';
import { SubscribersService } from '../audience/subscribers.service';
import { CampaignMailLog } from '../campaigns/campaign-mail-log';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { Queryable } from '../database/queryable';
import { CustomerEventsService } from '../customers/customer-events.service';
import { isTransientDbError } from '../delivery/db-retry';
import { SegmentsService } from '../segments/segments.service';
import { WebhookOutbox } from '../webhooks/webhook-outbox';
import { BranchRule } from './definition-check';
import { Batch, change, Progress, Run } from './journey-batch';
import { EnrolmentsRepository } from './enrolments.repository';
import { Step } from './journey-definition';
import { JourneyMessagesRepository } from './journey-messages.repository';
import { journeyMailingId, JourneyVersions, RunnableVersion } from './journey-versions';
import { localDate } from './local-time';
import { addDuration, capAllows, resolveMatch } from './step-rules';

export interface BatchResult {
  /** Enrolments looked at. */
  processed: number;
  /** Step executions begun or finished. */
  transitions: number;
  /** When the enrolments of the batch that now wait fall due. */
  wakeups: Date[];
  /** Messages queued. */
  sends: number;
}

/**
 * Runs due enrolments, a batch at a time, each batch in one transaction: the enrolments are locked
 * (FOR UPDATE SKIP LOCKED, so processes share the work), every step they can take now is taken —
 * until each waits, ends, or needs what only the database knows (a branch's rules, the frequency
 * cap), which is then asked for the whole batch at once — and the outcome is written set-based:
 * step executions, the enrolments' new state, the mail queued, `journey.completed` webhooks. A step
 * execution's key is (enrolment, seq), and the enrolment's seq moves with it in the same
 * transaction: a step runs once, whatever dies when.
 */
@Injectable()
export class JourneyRunner {
  private readonly logger = new Logger(JourneyRunner.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly enrolments: EnrolmentsRepository,
    private readonly messages: JourneyMessagesRepository,
    private readonly versions: JourneyVersions,
    private readonly subscribers: SubscribersService,
    private readonly segments: SegmentsService,
    private readonly stats: StatsService,
    private readonly campaignMail: CampaignMailLog,
    private readonly events: CustomerEventsService,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * One batch. When it fails for a reason of its own (not Postgres being away, which only calls for
   * running it again), its enrolments run one by one, and one that fails alone ends with
   * `endReason: "error"` and the error on its step: one bad enrolment never holds up the rest.
   */
  async runBatch(limit: number): Promise<BatchResult> {
    try {
      return await this.db.transaction((tx) => this.run(tx, limit));
    } catch (e) {
      if (isTransientDbError(e)) throw e;
      this.logger.error(`journey batch failed, running its enrolments one by one: ${(e as Error).message}`);
      return this.isolate(limit);
    }
  }

  /**
   * Only when some enrolments of the round run does a failing one count as its own fault; when
   * none does, the fault is everyone's (a bug, not a bad enrolment): nothing is ended, the error
   * goes up, and the round is tried again later.
   */
  private async isolate(limit: number): Promise<BatchResult> {
    const total: BatchResult = { processed: 0, transitions: 0, wakeups: [], sends: 0 };
    const failed: { id: string; error: Error }[] = [];
    for (const id of await this.enrolments.dueIds(limit)) {
      try {
        const r = await this.db.transaction((tx) => this.run(tx, 1, id));
        total.processed += r.processed;
        total.transitions += r.transitions;
        total.wakeups.push(...r.wakeups);
        total.sends += r.sends;
      } catch (e) {
        if (isTransientDbError(e)) throw e;
        failed.push({ id, error: e as Error });
      }
    }
    if (failed.length && !total.processed) throw failed[0].error;
    for (const { id, error } of failed) {
      const reason = `error: ${error.message}`.slice(0, 500);
      this.logger.error(`journey enrolment ${id} ended: ${reason}`);
      await this.db.transaction((tx) => this.enrolments.fail(tx, id, reason));
      total.processed += 1;
    }
    return total;
  }

  private async run(tx: Queryable, limit: number, only?: string): Promise<BatchResult> {
    const rows = await this.enrolments.due(tx, limit, only);
    if (!rows.length) return { processed: 0, transitions: 0, wakeups: [], sends: 0 };
    const now = new Date();
    const versions = await Promise.all(rows.map((row) => this.versions.get(row.journey_id, row.version)));
    // Time zones only for versions that wait for a local time or keep quiet hours.
    const local = [...new Set(rows.filter((_, i) => versions[i].usesLocalTime).map((r) => r.subscriber_id))];
    const zones = new Map((await this.subscribers.profiles(local)).map((p) => [p.id, p.timezone]));
    const runs: Run[] = [];
    for (const [i, row] of rows.entries()) {
      runs.push({
        row,
        v: versions[i],
        tz: this.zone(zones.get(row.subscriber_id)),
        stepId: row.step_id,
        seq: row.seq,
        waiting: row.waiting,
        dueAt: row.due_at,
        waitEvent: null,
        waitMatch: null,
        resumedBy: row.resumed_by,
        status: row.status,
        endReason: null,
      });
    }
    const batch = new Batch(now);
    for (let moving = runs; moving.length;) {
      const branching: Run[] = [];
      const capped: Run[] = [];
      const awaiting: Run[] = [];
      for (const r of moving) {
        let p: Progress;
        do p = batch.step(r);
        while (p === 'moved' && r.status === 'active');
        if (p === 'branch') branching.push(r);
        if (p === 'send') capped.push(r);
        if (p === 'await') awaiting.push(r);
      }
      await this.branch(batch, branching);
      await this.cap(tx, batch, capped);
      await this.await(batch, awaiting);
      moving = [...branching, ...capped, ...awaiting].filter((r) => r.status === 'active' && !r.waiting);
    }

    await this.enrolments.apply(tx, [...batch.steps.values()], runs.map(change));
    await this.messages.insert(tx, batch.queued);
    const ended = runs.filter((r) => r.status !== 'active');
    await this.outbox.record(
      tx,
      'journey.completed',
      ended.map((r) => ({ data: { journeyId: r.row.journey_id, subscriberId: r.row.subscriber_id } })),
    );
    return {
      processed: rows.length,
      transitions: batch.steps.size,
      wakeups: runs.filter((r) => r.status === 'active' && r.dueAt).map((r) => r.dueAt!),
      sends: batch.queued.length,
    };
  }

  /**
   * waitForEvent steps beginning now: an event that came since the step fell due (while the engine
   * was busy, or in the same instant as the trigger) counts; otherwise the wait starts.
   */
  private async await(batch: Batch, runs: Run[]): Promise<void> {
    for (const group of groupBy(runs, (r) => `${r.row.journey_id}:${r.row.version}:${r.stepId}`)) {
      const step = group[0].v.steps.get(group[0].stepId!) as Extract<Step, { type: 'waitForEvent' }>;
      const since = new Date(Math.min(...group.map((r) => (r.dueAt ?? batch.now).getTime())));
      const came = await this.events.receivedSince([...new Set(group.map((r) => r.row.subscriber_id))], step.event, since);
      for (const r of group) {
        const match = resolveMatch(step.match, r.row.trigger);
        const hit = came.some((e) => e.subscriber_id === r.row.subscriber_id && contains(e.properties, match));
        if (hit) batch.finish(r, step, 'event', step.next);
        else batch.wait(r, step, addDuration(batch.now, step.timeout), step.event, match);
      }
    }
  }

  /** Branch steps reached by the batch, asked per step for everyone there at once. */
  private async branch(batch: Batch, runs: Run[]): Promise<void> {
    for (const group of groupBy(runs, (r) => `${r.row.journey_id}:${r.row.version}:${r.stepId}`)) {
      const v = group[0].v;
      const step = v.steps.get(group[0].stepId!) as Extract<Step, { type: 'branch' }>;
      const yes = await this.matching(v.branches.get(step.id)!, v, [...new Set(group.map((r) => r.row.subscriber_id))]);
      for (const r of group) {
        const taken = yes.has(r.row.subscriber_id);
        batch.finish(r, step, taken ? 'yes' : 'no', taken ? step.yes : step.no);
      }
    }
  }

  private async matching(rule: BranchRule, v: RunnableVersion, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    switch (rule.kind) {
      case 'and': {
        let left = ids;
        for (const r of rule.rules) left = [...(await this.matching(r, v, left))];
        return new Set(left);
      }
      case 'or': {
        const found = new Set<string>();
        for (const r of rule.rules)
          for (const id of await this.matching(
            r,
            v,
            ids.filter((i) => !found.has(i)),
          ))
            found.add(id);
        return found;
      }
      case 'not': {
        const hit = await this.matching(rule.rule, v, ids);
        return new Set(ids.filter((id) => !hit.has(id)));
      }
      case 'stepEngagement':
        return this.stats.engaged(journeyMailingId(v.journeyId, v.version, rule.step), ids, rule.engagement);
      case 'segmentRule':
        return this.segments.matching(rule.rule, ids);
    }
  }

  /**
   * Send steps under a frequency cap: the mail each person got in the window — campaigns' and
   * journeys', this batch's included — decides whether this one goes now or waits until it may.
   */
  private async cap(tx: Queryable, batch: Batch, runs: Run[]): Promise<void> {
    if (!runs.length) return;
    const hours = Math.max(...runs.map((r) => r.v.definition.settings.frequencyCap!.perHours));
    const since = new Date(batch.now.getTime() - hours * 3_600_000);
    const ids = [...new Set(runs.map((r) => r.row.subscriber_id))];
    const [journeys, campaigns] = await Promise.all([this.messages.recent(tx, ids, since), this.campaignMail.sentSince(ids, since)]);
    for (const m of [...journeys, ...campaigns]) batch.sentTo(m.subscriber_id, m.at);
    for (const r of runs) {
      const step = r.v.steps.get(r.stepId!) as Extract<Step, { type: 'send' }>;
      const until = capAllows(batch.sentSoFar(r.row.subscriber_id), r.v.definition.settings.frequencyCap!, batch.now);
      if (until) batch.wait(r, step, until);
      else batch.queue(r, step);
    }
  }

  /** The subscriber's zone, or the default when it has none (or one this Node does not know). */
  private zone(tz: string | null | undefined): string {
    if (tz) {
      try {
        localDate(new Date(), tz);
        return tz;
      } catch {
        // An unknown zone name: the default serves.
      }
    }
    return this.config.defaultTimezone;
  }
}

/** Whether an event's properties carry every awaited one (JSON containment, as Postgres' @> decides for events that come later). */
function contains(properties: Record<string, unknown>, match: Record<string, unknown>): boolean {
  return Object.entries(match).every(([k, v]) => JSON.stringify(properties[k]) === JSON.stringify(v));
}

function groupBy<T>(items: T[], key: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  return [...groups.values()];
}
