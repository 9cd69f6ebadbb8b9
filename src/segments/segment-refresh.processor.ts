import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { QUEUES } from '../queue/queue.module';
import { SegmentsService } from './segments.service';

/** Refreshes every saved segment's membership on a schedule that BullMQ keeps once for all workers. */
@Processor(QUEUES.segments, { concurrency: 1 })
export class SegmentRefreshProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(SegmentRefreshProcessor.name);

  constructor(
    private readonly segments: SegmentsService,
    @InjectQueue(QUEUES.segments) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const every = Math.round(this.config.segments.refreshMinutes * 60_000);
    await this.queue.upsertJobScheduler('refresh-segments', { every }, { name: 'refresh-all', opts: { removeOnComplete: 10, removeOnFail: 50 } });
  }

  async process(): Promise<void> {
    const started = Date.now();
    const { refreshed, failed } = await this.segments.refreshAll();
    for (const f of failed) this.logger.error(`segment ${f.id} was not refreshed: ${f.error}`);
    if (refreshed) this.logger.log(`refreshed ${refreshed} segments in ${Date.now() - started} ms`);
  }
}
