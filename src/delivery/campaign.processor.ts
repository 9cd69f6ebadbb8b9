import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CampaignDispatcher } from './campaign-dispatcher';
import { CampaignJob, CampaignLifecycle } from '../campaigns/campaign-lifecycle.service';
import { CampaignStarter } from '../campaigns/campaign-starter';

/** `start`: resolve the audience, dispatch, count the audience's providers. `dispatch`: send what is due, come back when more is. */
@Processor('campaigns')
export class CampaignProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(CampaignProcessor.name);

  constructor(
    private readonly starter: CampaignStarter,
    private readonly dispatcher: CampaignDispatcher,
    private readonly lifecycle: CampaignLifecycle,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: Job<CampaignJob>, token?: string): Promise<void> {
    const id = job.data.campaignId;
    if (job.name === 'start') {
      if (!(await this.starter.start(id))) return;
      await this.lifecycle.dispatch(id);
      // While the dispatch jobs send: the providers of the audience, for the report.
      await this.starter.keepAudienceDomains(id);
      return;
    }
    const result = await this.dispatcher.run(id);
    if (result.kind !== 'later') return;
    // The same job comes back when more is due (not a new one), so a campaign has a fixed set of
    // dispatch job ids, which the reconciler can re-create when Redis has lost them.
    await job.moveToDelayed(Math.max(result.at.getTime(), Date.now() + 200), token);
    throw new DelayedError();
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<CampaignJob> | undefined, error: Error): void {
    this.logger.warn(`${job?.name ?? 'campaign'} job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${error.message}`);
  }

  /** Also what BullMQ reports of jobs that Redis lost while they ran ("Missing key", "Missing lock"): expected after a Redis restart. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.logger.warn(`campaign queue: ${error.message}`);
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.sending.workerConcurrency;
  }
}
