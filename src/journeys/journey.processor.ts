import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { OnePassAtATime } from '../common/one-pass';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ClaimsReaper } from '../delivery/claims-reaper';
import { QUEUES } from '../queue/queue.module';
import { EnrolmentsRepository } from './enrolments.repository';
import { JourneyMessagesRepository } from './journey-messages.repository';
import { JourneyRunner } from './journey-runner';
import { JourneyDispatcher } from './journey-dispatcher';
import { JourneyJob, JourneySendJob, JourneyTimers } from './journey-timers';
import { DateTriggers } from './date-triggers';

const RECONCILE_MS = 2_000;
/** Due this long without being run: its timer was lost (or its tick ran just before the commit that made it due). */
const OVERDUE_MS = 1_000;
/** Timers rebuilt at start, at most (the rest come from the ticks that run before them). */
const REBUILD_LIMIT = 10_000;

/**
 * The journeys' queue: `tick` runs the enrolments due, `dates` enrols yearly date triggers ahead
 * (journey mail has its own queue, `JourneySendProcessor`, so a long send never holds up a timer). At start the timers are rebuilt from Postgres; every two seconds a
 * check re-adds a lost timer and settles the mail claims of stopped runs (merely claimed → queued,
 * in SMTP → unknown: never sent twice).
 */
@Processor(QUEUES.journeys)
export class JourneyProcessor extends WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JourneyProcessor.name);
  private timer?: NodeJS.Timeout;
  private readonly passes = new OnePassAtATime(
    () => this.reconcile(),
    (e) => this.logger.warn(`journey reconciliation: ${e.message}`),
  );

  constructor(
    private readonly runner: JourneyRunner,
    private readonly dates: DateTriggers,
    private readonly timers: JourneyTimers,
    private readonly enrolments: EnrolmentsRepository,
    private readonly messages: JourneyMessagesRepository,
    private readonly reaper: ClaimsReaper,
    @InjectQueue(QUEUES.journeys) private readonly queue: Queue<JourneyJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: Job<JourneyJob>): Promise<void> {
    switch (job.data.kind) {
      case 'tick':
        return this.tick();
      case 'dates': {
        const n = await this.dates.scanDates();
        if (n) this.logger.log(`${n} enrolled ahead by yearly date triggers`);
        return;
      }
    }
  }

  /** Every enrolment due now, a batch per transaction; then the timers of those now waiting, and the mail they queued. */
  private async tick(): Promise<void> {
    const size = this.config.journeys.batchSize;
    for (;;) {
      const r = await this.runner.runBatch(size);
      const now = Date.now();
      if (r.wakeups.length) await this.timers.wake(r.wakeups.filter((w) => w.getTime() > now));
      if (r.sends) await this.timers.sendAt([new Date()]);
      if (r.processed < size) return;
    }
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<JourneyJob> | undefined, error: Error): void {
    this.logger.warn(`journey job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${error.message}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`journeys queue: ${error.message}`);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.worker.concurrency = this.config.journeys.concurrency;
    const every = Math.round(this.config.journeys.dateScanMinutes * 60_000);
    await this.queue.upsertJobScheduler(
      'journey-dates',
      { every },
      { name: 'dates', data: { kind: 'dates' }, opts: { removeOnComplete: 10, removeOnFail: 50 } },
    );
    await this.rebuild();
    this.passes.tick();
    await this.passes.settled();
    this.timer = setInterval(() => this.passes.tick(), RECONCILE_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.passes.settled();
  }

  /** The timers, from Postgres: a tick now for whatever is due, one per later second something falls due. */
  private async rebuild(): Promise<void> {
    const seconds = await this.enrolments.dueSeconds(new Date(0), REBUILD_LIMIT);
    await this.timers.wake(seconds.length ? [new Date(), ...seconds] : []);
    await this.timers.sendAt([new Date()]);
    await this.queue.add('dates', { kind: 'dates' }, { jobId: 'dates-at-start', removeOnComplete: true, removeOnFail: true });
  }

  /** Lost timers; mail claims of runs that stopped (this process's ended runs, dead workers' runs). */
  async reconcile(): Promise<void> {
    if (await this.enrolments.overdue(OVERDUE_MS)) this.timers.wakeSoon();
    const stale = await this.reaper.stopped(await this.messages.claimTokens());
    if (stale.length) {
      const n = await this.messages.handBack(stale);
      if (n) this.logger.warn(`${n} journey messages of stopped sends settled (claimed: queued again; in SMTP: unknown)`);
    }
    const next = await this.messages.nextDue();
    if (next && next.getTime() < Date.now() - OVERDUE_MS) await this.timers.sendAt([new Date()]);
  }
}

/**
 * Journey mail due: as many runs at once per process as campaign dispatch has (DISPATCH_JOBS); the
 * claims share the work between runs and processes. When nothing is due, the next due time
 * becomes the next job.
 */
@Processor(QUEUES.journeySends)
export class JourneySendProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(JourneySendProcessor.name);

  constructor(
    private readonly dispatcher: JourneyDispatcher,
    private readonly timers: JourneyTimers,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.sending.dispatchJobs;
  }

  async process(): Promise<void> {
    const result = await this.dispatcher.sendDue();
    if (result.kind === 'idle' && result.next) await this.timers.sendAt([result.next]);
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<JourneySendJob> | undefined, error: Error): void {
    this.logger.warn(`journey send job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${error.message}`);
  }
}
