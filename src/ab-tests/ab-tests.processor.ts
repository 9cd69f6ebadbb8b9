import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { QUEUES } from '../queue/queue.module';
import { AbTestsService } from './ab-tests.service';

/** Looks at the running A/B tests every AB_LOOK_SECONDS, on a schedule BullMQ keeps once for all workers. */
@Processor(QUEUES.abTests, { concurrency: 1 })
export class AbTestsProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly tests: AbTestsService,
    @InjectQueue(QUEUES.abTests) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const every = Math.round(this.config.abTests.lookSeconds * 1000);
    await this.queue.upsertJobScheduler('look-ab-tests', { every }, { name: 'look', opts: { removeOnComplete: 10, removeOnFail: 50 } });
  }

  process(): Promise<void> {
    return this.tests.lookAll();
  }
}
