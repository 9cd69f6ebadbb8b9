import { EndReason, EnrolmentChange, EnrolmentRow, StepChange } from './enrolments.repository';
import { Step } from './journey-definition';
import { NewJourneyMessage } from './journey-messages.repository';
import { journeyMailingId, RunnableVersion } from './journey-versions';
import { nextLocalTime, quietUntil } from './local-time';
import { addDuration, splitArm } from './step-rules';

/**
 * The engine's decisions for one batch, without the database: each enrolment's steps taken as far
 * as they go (a wait, an end, or a question only Postgres answers: a branch, the cap, an awaited
 * event that may have come), the step executions begun or finished, and the mail to queue.
 */
/** One enrolment while the engine works on it: its state as it will be written back. */
export interface Run {
  row: EnrolmentRow;
  v: RunnableVersion;
  tz: string;
  stepId: string | null;
  seq: number;
  waiting: boolean;
  dueAt: Date | null;
  waitEvent: string | null;
  waitMatch: Record<string, unknown> | null;
  resumedBy: string | null;
  status: EnrolmentRow['status'];
  endReason: EndReason | null;
}

export type Progress = 'moved' | 'stopped' | 'branch' | 'send' | 'await';

/** What one batch decides: step executions by (enrolment, seq), mail to queue, and mail sent lately by person. */
export class Batch {
  readonly steps = new Map<string, StepChange>();
  readonly queued: NewJourneyMessage[] = [];
  private readonly sent = new Map<string, Date[]>();

  constructor(readonly now: Date) {}

  /** Takes the enrolment's current step as far as it goes without the database. */
  step(r: Run): Progress {
    const s = r.v.steps.get(r.stepId!)!;
    const { now } = this;
    switch (s.type) {
      case 'wait':
        if (!r.waiting) return this.wait(r, s, addDuration(now, s.duration));
        return this.finish(r, s, 'next', s.next);
      case 'waitUntil':
        if (!r.waiting) return this.wait(r, s, nextLocalTime(now, s.at, r.tz, s.days));
        return this.finish(r, s, 'next', s.next);
      case 'waitForEvent': {
        if (!r.waiting) return 'await';
        const came = r.resumedBy === 'event';
        return this.finish(r, s, came ? 'event' : 'timeout', came ? s.next : s.timeoutNext);
      }
      case 'branch':
        return 'branch';
      case 'split': {
        const arm = splitArm(r.row.subscriber_id, r.row.journey_id, s.id, s.weights);
        return this.finish(r, s, `split:${arm}`, s.next[arm]);
      }
      case 'exit':
        return this.finish(r, s, 'exit', undefined, 'exit');
      case 'send': {
        // Transactional mail (a receipt) is exempt from quiet hours and the cap.
        const { quietHours, frequencyCap } = r.v.definition.settings;
        if (s.transactional) return this.queue(r, s);
        const quietEnd = quietHours ? quietUntil(now, quietHours, r.tz) : null;
        if (quietEnd) return this.wait(r, s, quietEnd);
        return frequencyCap ? 'send' : this.queue(r, s);
      }
    }
  }

  /** The step begins (unless it already has) and waits until `due` — or, for waitForEvent, until the event. */
  wait(r: Run, s: Step, due: Date, event: string | null = null, match: Record<string, unknown> | null = null): Progress {
    if (!r.waiting) this.begin(r, s);
    r.waiting = true;
    r.dueAt = due;
    r.waitEvent = event ?? r.waitEvent;
    r.waitMatch = match ?? r.waitMatch;
    return 'stopped';
  }

  /** The step is done: on to `next`, or the journey ends here. */
  finish(r: Run, s: Step, outcome: string, next: string | undefined, reason: EndReason = 'completed'): Progress {
    this.steps.set(`${r.row.id}:${r.seq}`, { enrolmentId: r.row.id, seq: r.seq, journeyId: r.row.journey_id, stepId: s.id, done: true, outcome, ended: !next });
    r.waiting = false;
    r.waitEvent = null;
    r.waitMatch = null;
    r.resumedBy = null;
    if (next) {
      r.stepId = next;
      r.seq += 1;
      r.dueAt = this.now;
    } else {
      r.status = reason === 'exit' ? 'exited' : 'completed';
      r.endReason = reason;
      r.stepId = null;
      r.dueAt = null;
    }
    return 'moved';
  }

  /** The send step's mail, queued in this transaction (one per step execution), and the step done. */
  queue(r: Run, s: Extract<Step, { type: 'send' }>): Progress {
    this.queued.push({
      enrolmentId: r.row.id,
      seq: r.seq,
      journeyId: r.row.journey_id,
      version: r.row.version,
      stepId: s.id,
      mailingId: journeyMailingId(r.row.journey_id, r.row.version, s.id),
      subscriberId: r.row.subscriber_id,
      transactional: s.transactional,
    });
    if (!s.transactional) this.sentTo(r.row.subscriber_id, this.now);
    return this.finish(r, s, 'sent', s.next);
  }

  sentTo(subscriberId: string, at: Date): void {
    const list = this.sent.get(subscriberId);
    if (list) list.push(at);
    else this.sent.set(subscriberId, [at]);
  }

  sentSoFar(subscriberId: string): Date[] {
    return this.sent.get(subscriberId) ?? [];
  }

  private begin(r: Run, s: Step): void {
    this.steps.set(`${r.row.id}:${r.seq}`, {
      enrolmentId: r.row.id,
      seq: r.seq,
      journeyId: r.row.journey_id,
      stepId: s.id,
      done: false,
      outcome: null,
      ended: false,
    });
  }
}

export function change(r: Run): EnrolmentChange {
  return {
    id: r.row.id,
    stepId: r.stepId,
    seq: r.seq,
    waiting: r.waiting,
    dueAt: r.dueAt,
    waitEvent: r.waitEvent,
    waitMatch: r.waitMatch,
    status: r.status,
    endReason: r.endReason,
  };
}
