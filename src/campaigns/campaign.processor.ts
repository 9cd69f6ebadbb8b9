import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Job } from 'bullmq';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CampaignDispatcher } from '../delivery/campaign-dispatcher';
import { CampaignJob, CampaignLifecycle } from './campaign-lifecycle.service';
import { CampaignStarter } from './campaign-starter';

/** `start`: resolve the audience, then dispatch. `dispatch`: send what is due, come back when more is. */
@Processor('campaigns')
export class CampaignProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(CampaignProcessor.name);

  constructor(
    private readonly starter: CampaignStarter,
    private readonly dispatcher: CampaignDispatcher,
    private readonly lifecycle: CampaignLifecycle,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: Job<CampaignJob>): Promise<void> {
    const id = job.data.campaignId;
    if (job.name === 'start') {
      if (await this.starter.start(id)) await this.lifecycle.dispatch(id);
      return;
    }
    const result = await this.dispatcher.run(id);
    if (result.kind === 'later') await this.lifecycle.dispatch(id, Math.max(200, result.at.getTime() - Date.now()), 1);
  }

  /** State in Postgres wins: after a restart, scheduled campaigns get their start job and sending ones resume. */
  async onApplicationBootstrap(): Promise<void> {
    this.worker.concurrency = this.config.sending.workerConcurrency;
    const rows: { id: string; status: string }[] = await this.db.query(`SELECT id, status FROM campaigns WHERE status IN ('scheduled', 'sending')`);
    for (const r of rows) {
      if (r.status === 'scheduled') await this.lifecycle.ensureStartJob(r.id);
      else await this.lifecycle.dispatch(r.id);
    }
    if (rows.length) this.logger.log(`reconciled ${rows.length} scheduled or sending campaigns`);
  }
}
