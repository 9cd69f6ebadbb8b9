import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ReportLinkDto, ReportLinkRequest } from '../analytics/dto/report.dto';
import { ReportLinks } from '../analytics/report/report-link';
import { MailingCounters, StatsService } from '../analytics/stats.service';
import { SubscriberIdentities } from '../audience/subscriber-identities.service';
import { SubscribersService } from '../audience/subscribers.service';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import type { HtmlPage } from '../common/html';
import { EnrolDto, EnrolmentCreatedDto, EnrolmentDto, EnrolmentQuery, JourneyStatsDto, JourneyStepStatsDto } from './dto/journey.dto';
import { EnrolmentRow, EnrolmentsRepository } from './enrolments.repository';
import { NotEnrolled } from './journey.errors';
import { journeyReportPage } from './journey-report';
import { JourneyMessagesRepository } from './journey-messages.repository';
import { JourneyTriggers } from './journey-triggers';
import { journeyMailingId, JourneyVersions } from './journey-versions';
import { JourneysRepository } from './journeys.repository';

/** The people in a journey: enrolment by API, where each one is (with the steps behind them), and the stats per step. */
@Injectable()
export class EnrolmentsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly journeys: JourneysRepository,
    private readonly versions: JourneyVersions,
    private readonly triggers: JourneyTriggers,
    private readonly enrolments: EnrolmentsRepository,
    private readonly messages: JourneyMessagesRepository,
    private readonly identities: SubscriberIdentities,
    private readonly subscribers: SubscribersService,
    private readonly analytics: StatsService,
    private readonly reportLinks: ReportLinks,
  ) {}

  async enrol(journeyId: string, dto: EnrolDto): Promise<EnrolmentCreatedDto> {
    const given = (['email', 'subscriberId', 'userId'] as const).filter((k) => dto[k] !== undefined);
    if (given.length !== 1) throw AppError.invalid(given[1] ?? 'email', 'give exactly one of email, subscriberId and userId');
    const row = await this.journeys.find(journeyId);
    if (!row) throw AppError.notFound('Journey', journeyId);
    if (row.status !== 'active') throw new NotEnrolled(journeyId, 'status', `the journey is ${row.status}; only an active journey enrols`);
    this.versions.changed();
    const journey = (await this.versions.enrolling()).find((j) => j.journeyId === journeyId);
    if (!journey) throw new NotEnrolled(journeyId, 'status', 'the journey is not active');
    if (journey.trigger.type !== 'api') throw new NotEnrolled(journeyId, 'trigger.type', `the journey's trigger is ${journey.trigger.type}, not api`);
    const subscriberId = await this.subscriberFor(dto);
    const id = await this.triggers.enrolOne(journey, subscriberId, dto.data ?? {});
    if (!id) {
      const reentry = journey.definition.settings.reentry;
      throw new NotEnrolled(
        journeyId,
        given[0],
        `the subscriber is in the journey already, or may not enter it again (reentry: ${typeof reentry === 'string' ? reentry : `after ${reentry.afterDays} days`})`,
      );
    }
    return { enrolmentId: id, journeyId, version: journey.version, subscriberId };
  }

  /** An existing subscriber by id or userId; an address is found or gets a subscriber without any subscription (an enrolment is never consent). */
  private async subscriberFor(dto: EnrolDto): Promise<string> {
    if (dto.subscriberId) {
      if (!(await this.subscribers.exists(dto.subscriberId)))
        throw new AppError('not_found', `subscriber ${dto.subscriberId} not found`, [{ field: 'subscriberId', message: 'no subscriber with this id' }]);
      return dto.subscriberId;
    }
    if (dto.userId) {
      const id = (await this.identities.byExternalIds(this.db.manager, [dto.userId])).get(dto.userId);
      if (!id) throw new AppError('not_found', `no subscriber with userId ${dto.userId}`, [{ field: 'userId', message: 'no subscriber has this userId' }]);
      return id;
    }
    const email = normalizeEmail(dto.email!);
    if (!email) throw AppError.invalid('email', 'must be an email address');
    const [who] = await this.db.transaction((tx) => this.identities.identify(tx, [{ who: { email }, externalId: null, name: null, attributes: {} }]));
    return who.subscriberId;
  }

  async list(journeyId: string, q: EnrolmentQuery): Promise<EnrolmentDto[]> {
    if (!(await this.journeys.find(journeyId))) throw AppError.notFound('Journey', journeyId);
    const rows = await this.enrolments.page(journeyId, q.subscriber ?? null, q.before ?? null, q.limit);
    const ids = rows.map((r) => r.id);
    const [steps, messages] = await Promise.all([this.enrolments.history(ids), this.messages.ofEnrolments(ids)]);
    const mail = new Map(messages.map((m) => [`${m.enrolment_id}:${m.seq}`, { status: m.status, sentAt: m.sent_at?.toISOString() ?? null }]));
    return rows.map((r) => ({
      ...map(r),
      history: steps
        .filter((s) => s.enrolment_id === r.id)
        .map((s) => ({
          seq: s.seq,
          stepId: s.step_id,
          enteredAt: s.entered_at.toISOString(),
          doneAt: s.done_at?.toISOString() ?? null,
          outcome: s.outcome,
          ...(mail.has(`${r.id}:${s.seq}`) ? { message: mail.get(`${r.id}:${s.seq}`)! } : {}),
        })),
    }));
  }

  /** Per step of every version: entered, waiting, completed, exited; send steps add their mail's stats; the goal's conversions. */
  async stats(journeyId: string): Promise<JourneyStatsDto> {
    const row = await this.journeys.find(journeyId);
    if (!row) throw AppError.notFound('Journey', journeyId);
    const versions = await Promise.all((await this.journeys.versions([journeyId])).map((v) => this.versions.get(journeyId, v.version)));
    const [counts, totals] = await Promise.all([this.enrolments.stepCounts(journeyId), this.enrolments.totals(journeyId)]);
    const types = new Map<string, string>();
    const mailings = new Map<string, string[]>();
    for (const v of versions)
      for (const s of v.definition.steps) {
        types.set(s.id, s.type);
        if (s.type === 'send') mailings.set(s.id, [...(mailings.get(s.id) ?? []), journeyMailingId(journeyId, v.version, s.id)]);
      }
    const messageCounts = await this.messages.counts([...mailings.values()].flat());
    const steps: JourneyStepStatsDto[] = [];
    for (const [stepId, type] of types) {
      const c = counts.find((x) => x.step_id === stepId);
      const s: JourneyStepStatsDto = { stepId, type, entered: c?.entered ?? 0, waiting: c?.waiting ?? 0, completed: c?.completed ?? 0, exited: c?.exited ?? 0 };
      const ids = mailings.get(stepId);
      if (ids) {
        const messages: Record<string, number> = { queued: 0, sending: 0, submitting: 0, sent: 0, failed: 0, unknown: 0, skipped: 0 };
        for (const m of messageCounts) if (ids.includes(m.mailing_id)) messages[m.status] += m.n;
        s.messages = messages;
        s.engagement = sum(await Promise.all(ids.map((id) => this.analytics.mailingCounters(id))));
      }
      steps.push(s);
    }
    const hasGoal = versions.some((v) => v.definition.settings.goal);
    return {
      journeyId,
      enrolled: totals.enrolled,
      active: totals.active,
      completed: totals.completed,
      exited: totals.exited,
      steps,
      goal: hasGoal ? { reached: totals.goals, rate: totals.enrolled ? totals.goals / totals.enrolled : 0 } : null,
    };
  }

  /** The stats as an HTML page, with each step's funnel drawn in as SVG: every figure is the stats'. */
  async report(journeyId: string, sharedUntil: Date | null = null): Promise<HtmlPage> {
    const row = await this.journeys.find(journeyId);
    if (!row) throw AppError.notFound('Journey', journeyId);
    const stats = await this.stats(journeyId);
    return journeyReportPage({ journey: { name: row.name, status: row.status, version: row.version }, stats, sharedUntil: sharedUntil?.toISOString() ?? null });
  }

  async reportLink(journeyId: string, dto: ReportLinkRequest): Promise<ReportLinkDto> {
    if (!(await this.journeys.find(journeyId))) throw AppError.notFound('Journey', journeyId);
    return this.reportLinks.create('journey', journeyId, dto.expiresInHours);
  }
}

function map(r: EnrolmentRow): Omit<EnrolmentDto, 'history'> {
  return {
    id: r.id,
    journeyId: r.journey_id,
    version: r.version,
    subscriberId: r.subscriber_id,
    status: r.status,
    stepId: r.step_id,
    waiting: r.waiting,
    dueAt: r.due_at?.toISOString() ?? null,
    enteredAt: r.entered_at.toISOString(),
    endedAt: r.ended_at?.toISOString() ?? null,
    endReason: r.end_reason,
    goalAt: r.goal_at?.toISOString() ?? null,
  };
}

/** The counters of several mailings (a step's, over versions) added up. */
function sum(all: MailingCounters[]): MailingCounters {
  const total: MailingCounters = {
    opens: { unique: 0, total: 0, uniqueHuman: 0 },
    clicks: { unique: 0, total: 0, uniqueHuman: 0 },
    conversions: { unique: 0, total: 0, revenueByCurrency: {} },
    bounces: { hard: 0, soft: 0 },
    complaints: 0,
    unsubscribes: 0,
  };
  for (const c of all) {
    for (const k of ['opens', 'clicks'] as const) for (const f of ['unique', 'total', 'uniqueHuman'] as const) total[k][f] += c[k][f];
    total.conversions.unique += c.conversions.unique;
    total.conversions.total += c.conversions.total;
    for (const [cur, v] of Object.entries(c.conversions.revenueByCurrency))
      total.conversions.revenueByCurrency[cur] = (total.conversions.revenueByCurrency[cur] ?? 0) + v;
    total.bounces.hard += c.bounces.hard;
    total.bounces.soft += c.bounces.soft;
    total.complaints += c.complaints;
    total.unsubscribes += c.unsubscribes;
  }
  return total;
}
