import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { QUEUES } from '../queue/queue.module';
import { CustomerEventsService } from './customer-events.service';

const PURGE = 'purge-message-ids';
const HOUR_MS = 3_600_000;

/** Hourly, whichever worker gets the job: message ids past the dedupe window go. */
@Processor(QUEUES.customers)
export class MessageIdsProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly events: CustomerEventsService,
    @InjectQueue(QUEUES.customers) private readonly queue: Queue,
  ) {
    super();
  }

  /** One scheduler for all workers: upserting it again on every start changes nothing. */
  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(PURGE, { every: HOUR_MS }, { name: PURGE, opts: { removeOnComplete: 10, removeOnFail: 10 } });
  }

  process(): Promise<number> {
    return this.events.purgeMessageIds();
  }
}
