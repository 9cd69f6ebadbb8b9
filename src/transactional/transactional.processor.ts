import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DelayedError, Job, Queue } from 'bullmq';
import { OnePassAtATime } from '../common/one-pass';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ClaimsReaper } from '../delivery/claims-reaper';
import { QUEUES } from '../queue/queue.module';
import { TransactionalMessagesRepository } from './transactional-messages.repository';
import { TransactionalSender } from './transactional-sender';
import { TransactionalJob, transactionalJob } from './transactional.service';

const RECONCILE_MS = 5_000;
/** A queued row due this long without being sent has probably lost its job. */
const OVERDUE_MS = 15_000;
const OVERDUE_BATCH = 1_000;

/**
 * One job per message on the `transactional` queue, with its own concurrency
 * (TRANSACTIONAL_CONCURRENCY): campaign dispatch jobs are on another queue and never hold it up.
 * A retry is the same job delayed (the row says when), so a message has one job id.
 */
@Processor(QUEUES.transactional)
export class TransactionalProcessor extends WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TransactionalProcessor.name);
  private timer?: NodeJS.Timeout;
  private readonly passes = new OnePassAtATime(
    () => this.reconcile(),
    (e) => this.logger.warn(`reconciliation: ${e.message}`),
  );

  constructor(
    private readonly sender: TransactionalSender,
    private readonly messages: TransactionalMessagesRepository,
    private readonly reaper: ClaimsReaper,
    @InjectQueue(QUEUES.transactional) private readonly queue: Queue<TransactionalJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: Job<TransactionalJob>, token?: string): Promise<void> {
    const result = await this.sender.send(job.data.messageId);
    if (result.kind === 'done') return;
    await job.moveToDelayed(Math.max(result.at.getTime(), Date.now() + 100), token);
    throw new DelayedError();
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<TransactionalJob> | undefined, error: Error): void {
    this.logger.warn(`transactional job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${error.message}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`transactional queue: ${error.message}`);
  }

  /** At start, and every few seconds: what a dead worker or a lost job left behind. */
  async onApplicationBootstrap(): Promise<void> {
    this.worker.concurrency = this.config.sending.transactionalConcurrency;
    this.passes.tick();
    await this.passes.settled();
    this.timer = setInterval(() => this.passes.tick(), RECONCILE_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.passes.settled();
  }

  /**
   * `submitting` rows of a dead worker (or of an ended send of this one) were maybe delivered: they
   * become `unknown`, never sent again. `queued` rows long overdue get their job again — a no-op
   * when it still exists (the job id is the message id), and harmless when it has run: the claim
   * takes only a queued row.
   */
  async reconcile(): Promise<void> {
    const stale = await this.reaper.stopped(await this.messages.claimTokens(), (t) => this.sender.runs.has(t));
    if (stale.length) {
      const n = await this.messages.markUnknown(stale);
      if (n) this.logger.warn(`${n} transactional messages left in SMTP by stopped sends are now unknown`);
    }
    const overdue = await this.messages.overdue(OVERDUE_MS, OVERDUE_BATCH);
    if (overdue.length) await this.queue.addBulk(overdue.map((r) => ({ name: 'send', data: { messageId: r.id }, opts: transactionalJob(r.id) })));
  }
}
