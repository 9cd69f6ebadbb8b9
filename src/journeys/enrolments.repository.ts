import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changed, Queryable, queryRows } from '../database/queryable';

export type EnrolmentStatus = 'active' | 'completed' | 'exited';
export type EndReason = 'completed' | 'exit' | 'goal' | 'error';

export interface EnrolmentRow {
  id: string;
  journey_id: string;
  version: number;
  subscriber_id: string;
  status: EnrolmentStatus;
  step_id: string | null;
  seq: number;
  waiting: boolean;
  due_at: Date | null;
  resumed_by: string | null;
  trigger: Record<string, unknown>;
  data: Record<string, unknown>;
  entered_at: Date;
  ended_at: Date | null;
  end_reason: EndReason | null;
  goal_at: Date | null;
}

export interface StepRow {
  enrolment_id: string;
  seq: number;
  step_id: string;
  entered_at: Date;
  done_at: Date | null;
  outcome: string | null;
  ended: boolean;
}

/** Who enters, and with what. `dueAt`: when the entry step runs (a yearly date trigger enrols ahead of time). */
export interface Entrant {
  subscriberId: string;
  trigger: Record<string, unknown>;
  data: Record<string, unknown>;
  dueAt: Date | null;
}

/** What one version asks of every entry. */
export interface EntryRules {
  journeyId: string;
  version: number;
  entryStep: string;
  reentry: 'never' | 'afterExit' | { afterDays: number };
  goal: { event: string; withinDays?: number } | undefined;
}

/** An enrolment's state after the engine looked at it. */
export interface EnrolmentChange {
  id: string;
  stepId: string | null;
  seq: number;
  waiting: boolean;
  dueAt: Date | null;
  waitEvent: string | null;
  waitMatch: Record<string, unknown> | null;
  status: EnrolmentStatus;
  endReason: EndReason | null;
}

/** A step execution begun, finished, or both. */
export interface StepChange {
  enrolmentId: string;
  seq: number;
  journeyId: string;
  stepId: string;
  done: boolean;
  outcome: string | null;
  ended: boolean;
}

export interface StepCounts {
  step_id: string;
  entered: number;
  waiting: number;
  completed: number;
  exited: number;
}

const ENROLMENT = `id, journey_id, version, subscriber_id, status, step_id, seq, waiting, due_at, resumed_by, trigger, data, entered_at, ended_at, end_reason, goal_at`;

/** `journey_enrolments` and `journey_steps`: where each person is in each journey, and what ran. */
@Injectable()
export class EnrolmentsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * New enrolments, in the caller's transaction; who may not enter (an active enrolment — the
   * unique index decides, also between racing triggers — or the re-entry rule) is left out.
   */
  async enrol(q: Queryable, rules: EntryRules, entrants: Entrant[]): Promise<{ id: string; subscriber_id: string; due_at: Date }[]> {
    if (!entrants.length) return [];
    const reentry = typeof rules.reentry === 'string' ? rules.reentry : 'afterDays';
    const days = typeof rules.reentry === 'object' ? rules.reentry.afterDays : null;
    return queryRows(
      q,
      // Earlier enrolments are looked up by `= ANY` on the index, then anti-joined: the plan stays
      // one index probe per person even while the table's statistics still say it is empty.
      `WITH earlier AS (
         SELECT DISTINCT e.subscriber_id, max(e.entered_at) OVER (PARTITION BY e.subscriber_id) AS last_entry
         FROM journey_enrolments e WHERE e.subscriber_id = ANY($6::uuid[]) AND e.journey_id = $1 AND $10::text <> 'afterExit'
       )
       INSERT INTO journey_enrolments (journey_id, version, subscriber_id, step_id, due_at, trigger, data, goal_event, goal_until, entered_at)
       SELECT $1, $2, p.subscriber_id, $3, COALESCE(p.due_at, now()), p.trigger, p.data, $4,
              CASE WHEN $5::int IS NULL THEN NULL ELSE COALESCE(p.due_at, now()) + make_interval(days => $5::int) END, COALESCE(p.due_at, now())
       FROM unnest($6::uuid[], $7::jsonb[], $8::jsonb[], $9::timestamptz[]) AS p (subscriber_id, trigger, data, due_at)
       WHERE NOT EXISTS (SELECT 1 FROM earlier x WHERE x.subscriber_id = p.subscriber_id
                           AND ($10::text = 'never' OR x.last_entry > COALESCE(p.due_at, now()) - make_interval(days => $11::int)))
       ON CONFLICT (journey_id, subscriber_id) WHERE status = 'active' DO NOTHING
       RETURNING id, subscriber_id, due_at`,
      [
        rules.journeyId,
        rules.version,
        rules.entryStep,
        rules.goal?.event ?? null,
        rules.goal?.withinDays ?? null,
        entrants.map((e) => e.subscriberId),
        entrants.map((e) => JSON.stringify(e.trigger)),
        entrants.map((e) => JSON.stringify(e.data)),
        entrants.map((e) => e.dueAt),
        reentry,
        days,
      ],
    );
  }

  /**
   * Active enrolments of these people waiting for one of these events: the ones whose awaited
   * properties the event carries move on now. Returns how many.
   */
  async resumeWaiting(q: Queryable, events: { subscriberId: string; event: string; properties: Record<string, unknown> }[]): Promise<number> {
    const { affected } = await changed(
      q,
      `UPDATE journey_enrolments e SET due_at = now(), resumed_by = 'event'
       WHERE e.subscriber_id = ANY($1::uuid[]) AND e.status = 'active' AND e.waiting AND e.wait_event IS NOT NULL AND e.resumed_by IS NULL
         AND EXISTS (SELECT 1 FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS ev (subscriber_id, event, properties)
                     WHERE ev.subscriber_id = e.subscriber_id AND ev.event = e.wait_event AND ev.properties @> COALESCE(e.wait_match, '{}'))`,
      [events.map((e) => e.subscriberId), events.map((e) => e.event), events.map((e) => JSON.stringify(e.properties))],
    );
    return affected;
  }

  /**
   * Goal events: the journeys of these people with this goal count a conversion (once per
   * enrolment, within its window), and the active ones end here. Returns the enrolments ended.
   */
  async reachGoals(q: Queryable, hits: { subscriberId: string; event: string }[]): Promise<{ id: string; journey_id: string; subscriber_id: string }[]> {
    const params = [hits.map((h) => h.subscriberId), hits.map((h) => h.event)];
    const { rows: ended } = await changed<{ id: string; journey_id: string; subscriber_id: string; seq: number; waiting: boolean; just_ended: boolean }>(
      q,
      `WITH hit AS (
         SELECT e.id FROM journey_enrolments e
         WHERE e.subscriber_id = ANY($1::uuid[]) AND e.goal_event IS NOT NULL AND e.goal_at IS NULL
           AND (e.goal_until IS NULL OR e.goal_until >= now()) AND (e.status = 'active' OR e.goal_until IS NOT NULL)
           AND EXISTS (SELECT 1 FROM unnest($1::uuid[], $2::text[]) AS g (subscriber_id, event) WHERE g.subscriber_id = e.subscriber_id AND g.event = e.goal_event)
       )
       UPDATE journey_enrolments e SET goal_at = now(),
              status = CASE WHEN e.status = 'active' THEN 'completed' ELSE e.status END,
              end_reason = CASE WHEN e.status = 'active' THEN 'goal' ELSE e.end_reason END,
              ended_at = COALESCE(e.ended_at, now()), due_at = NULL, step_id = CASE WHEN e.status = 'active' THEN NULL ELSE e.step_id END
       FROM hit WHERE e.id = hit.id
       RETURNING e.id, e.journey_id, e.subscriber_id, e.seq, e.waiting, (e.end_reason = 'goal' AND e.ended_at = now()) AS just_ended`,
      params,
    );
    const justEnded = ended.filter((r) => r.just_ended);
    const waiting = justEnded.filter((r) => r.waiting);
    if (waiting.length)
      await q.query(
        `UPDATE journey_steps s SET done_at = now(), outcome = 'goal', ended = true
         FROM unnest($1::uuid[], $2::int[]) AS w (enrolment_id, seq)
         WHERE s.enrolment_id = w.enrolment_id AND s.seq = w.seq AND s.enrolment_id = ANY($1::uuid[]) AND s.done_at IS NULL`,
        [waiting.map((w) => w.id), waiting.map((w) => w.seq)],
      );
    return justEnded.map(({ id, journey_id, subscriber_id }) => ({ id, journey_id, subscriber_id }));
  }

  /**
   * Active enrolments due now, oldest first, locked for this transaction (others skip them); paused
   * journeys hold theirs. The paused journeys are read first and left out by a filter, so that the
   * due index is walked in order and the walk stops at `limit` — however many are due (an anti-join
   * there made Postgres sort every due row on each batch).
   */
  async due(q: Queryable, limit: number, only?: string): Promise<EnrolmentRow[]> {
    return queryRows<EnrolmentRow>(
      q,
      `SELECT ${ENROLMENT.split(', ')
        .map((c) => `e.${c}`)
        .join(', ')}
       FROM journey_enrolments e
       WHERE e.status = 'active' AND e.due_at <= now() AND e.journey_id <> ALL($2::uuid[]) AND ($3::uuid IS NULL OR e.id = $3)
       ORDER BY e.due_at LIMIT $1
       FOR UPDATE OF e SKIP LOCKED`,
      [limit, await this.paused(q), only ?? null],
    );
  }

  /** The ids `due` would take, without locking them (a failed batch, run again one by one). */
  async dueIds(limit: number): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      this.db,
      `SELECT id FROM journey_enrolments WHERE status = 'active' AND due_at <= now() AND journey_id <> ALL($2::uuid[]) ORDER BY due_at LIMIT $1`,
      [limit, await this.paused(this.db)],
    );
    return rows.map((r) => r.id);
  }

  /** An enrolment that cannot run ends here, the error on the step it was at. */
  async fail(q: Queryable, id: string, reason: string): Promise<void> {
    await q.query(
      `INSERT INTO journey_steps (enrolment_id, seq, journey_id, step_id, done_at, outcome, ended)
       SELECT id, seq, journey_id, step_id, now(), $2, true FROM journey_enrolments WHERE id = $1 AND status = 'active' AND step_id IS NOT NULL
       ON CONFLICT (enrolment_id, seq) DO UPDATE SET done_at = EXCLUDED.done_at, outcome = EXCLUDED.outcome, ended = true`,
      [id, reason],
    );
    await q.query(
      `UPDATE journey_enrolments SET status = 'exited', end_reason = 'error', ended_at = now(), due_at = NULL, step_id = NULL, waiting = false
       WHERE id = $1 AND status = 'active'`,
      [id],
    );
  }

  /** Distinct seconds at which active enrolments of running journeys fall due, from `from` on (timers rebuilt at start). */
  async dueSeconds(from: Date, limit: number): Promise<Date[]> {
    const rows = await queryRows<{ at: Date }>(
      this.db,
      `SELECT DISTINCT date_trunc('second', e.due_at) + interval '1 second' AS at FROM journey_enrolments e
       WHERE e.status = 'active' AND e.due_at >= $1 AND e.journey_id <> ALL($3::uuid[])
       ORDER BY 1 LIMIT $2`,
      [from, limit, await this.paused(this.db)],
    );
    return rows.map((r) => r.at);
  }

  /** Whether something of a running journey is overdue by `graceMs` (its timer lost). */
  async overdue(graceMs: number): Promise<boolean> {
    const rows = await queryRows(
      this.db,
      `SELECT 1 FROM journey_enrolments e
       WHERE e.status = 'active' AND e.due_at < now() - make_interval(secs => $1::double precision / 1000) AND e.journey_id <> ALL($2::uuid[])
       LIMIT 1`,
      [graceMs, await this.paused(this.db)],
    );
    return rows.length > 0;
  }

  private async paused(q: Queryable): Promise<string[]> {
    return (await queryRows<{ id: string }>(q, `SELECT id FROM journeys WHERE status = 'paused'`)).map((r) => r.id);
  }

  /** The engine's decisions for a batch, in its transaction: step executions (begun or finished) and enrolments' new state. */
  async apply(q: Queryable, steps: StepChange[], enrolments: EnrolmentChange[]): Promise<void> {
    if (steps.length)
      await q.query(
        `INSERT INTO journey_steps (enrolment_id, seq, journey_id, step_id, done_at, outcome, ended)
         SELECT v.enrolment_id, v.seq, v.journey_id, v.step_id, CASE WHEN v.done THEN now() END, v.outcome, v.ended
         FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::bool[], $6::text[], $7::bool[]) AS v (enrolment_id, seq, journey_id, step_id, done, outcome, ended)
         ON CONFLICT (enrolment_id, seq) DO UPDATE SET done_at = EXCLUDED.done_at, outcome = EXCLUDED.outcome, ended = EXCLUDED.ended`,
        [
          steps.map((s) => s.enrolmentId),
          steps.map((s) => s.seq),
          steps.map((s) => s.journeyId),
          steps.map((s) => s.stepId),
          steps.map((s) => s.done),
          steps.map((s) => s.outcome),
          steps.map((s) => s.ended),
        ],
      );
    if (enrolments.length)
      await q.query(
        `UPDATE journey_enrolments e SET step_id = v.step_id, seq = v.seq, waiting = v.waiting, due_at = v.due_at,
                wait_event = v.wait_event, wait_match = v.wait_match, resumed_by = NULL, status = v.status, end_reason = v.end_reason,
                ended_at = CASE WHEN v.status <> 'active' THEN now() END
         FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bool[], $5::timestamptz[], $6::text[], $7::jsonb[], $8::text[], $9::text[])
           AS v (id, step_id, seq, waiting, due_at, wait_event, wait_match, status, end_reason)
         WHERE e.id = v.id AND e.id = ANY($1::uuid[])`,
        [
          enrolments.map((e) => e.id),
          enrolments.map((e) => e.stepId),
          enrolments.map((e) => e.seq),
          enrolments.map((e) => e.waiting),
          enrolments.map((e) => e.dueAt),
          enrolments.map((e) => e.waitEvent),
          enrolments.map((e) => (e.waitMatch ? JSON.stringify(e.waitMatch) : null)),
          enrolments.map((e) => e.status),
          enrolments.map((e) => e.endReason),
        ],
      );
  }

  /** What a journey mail's template sees of its enrolment: `{{data.x}}` and `{{trigger.properties.x}}`. */
  personal(ids: string[]): Promise<{ id: string; data: Record<string, unknown>; trigger: Record<string, unknown> }[]> {
    return queryRows(this.db, `SELECT id, data, trigger FROM journey_enrolments WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /** GET /v1/journeys/:id/stats: per step. */
  stepCounts(journeyId: string): Promise<StepCounts[]> {
    return queryRows<StepCounts>(
      this.db,
      `SELECT step_id, count(*)::int AS entered, count(*) FILTER (WHERE done_at IS NULL)::int AS waiting,
              count(*) FILTER (WHERE done_at IS NOT NULL)::int AS completed, count(*) FILTER (WHERE ended)::int AS exited
       FROM journey_steps WHERE journey_id = $1 GROUP BY step_id`,
      [journeyId],
    );
  }

  async totals(journeyId: string): Promise<{ enrolled: number; active: number; completed: number; exited: number; goals: number }> {
    const [row] = await queryRows<{ enrolled: number; active: number; completed: number; exited: number; goals: number }>(
      this.db,
      `SELECT count(*)::int AS enrolled, count(*) FILTER (WHERE status = 'active')::int AS active,
              count(*) FILTER (WHERE status = 'completed')::int AS completed, count(*) FILTER (WHERE status = 'exited')::int AS exited,
              count(goal_at)::int AS goals
       FROM journey_enrolments WHERE journey_id = $1`,
      [journeyId],
    );
    return row;
  }

  /** A journey's enrolments, newest first (of one subscriber, or keyset-paged by id). */
  page(journeyId: string, subscriberId: string | null, before: string | null, limit: number): Promise<EnrolmentRow[]> {
    return queryRows<EnrolmentRow>(
      this.db,
      `SELECT ${ENROLMENT} FROM journey_enrolments
       WHERE journey_id = $1 AND ($2::uuid IS NULL OR subscriber_id = $2) AND ($3::uuid IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [journeyId, subscriberId, before, limit],
    );
  }

  history(enrolmentIds: string[]): Promise<StepRow[]> {
    return queryRows<StepRow>(this.db, `SELECT * FROM journey_steps WHERE enrolment_id = ANY($1::uuid[]) ORDER BY enrolment_id, seq`, [enrolmentIds]);
  }

  /** A person's enrolments in every journey (the GDPR export). */
  ofSubscriber(subscriberId: string): Promise<EnrolmentRow[]> {
    return queryRows<EnrolmentRow>(this.db, `SELECT ${ENROLMENT} FROM journey_enrolments WHERE subscriber_id = $1 ORDER BY entered_at`, [subscriberId]);
  }

  /** GDPR erase: the person's journeys end, and what they carried about them goes. */
  async forget(q: Queryable, subscriberId: string): Promise<void> {
    await q.query(
      `UPDATE journey_enrolments SET trigger = '{}', data = '{}', wait_match = NULL,
              status = CASE WHEN status = 'active' THEN 'exited' ELSE status END, due_at = NULL,
              ended_at = COALESCE(ended_at, now()), end_reason = COALESCE(end_reason, 'exit')
       WHERE subscriber_id = $1`,
      [subscriberId],
    );
  }
}
