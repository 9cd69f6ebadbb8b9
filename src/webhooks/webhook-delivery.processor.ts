import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { QUEUES } from '../queue/queue.module';
import { WebhookDelivery } from './webhook-delivery.service';

/** Looks for due webhook deliveries on a schedule BullMQ keeps once for all workers; the claim lets several workers share them. */
@Processor(QUEUES.webhooks, { concurrency: 1 })
export class WebhookDeliveryProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly delivery: WebhookDelivery,
    @InjectQueue(QUEUES.webhooks) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    const every = this.config.outgoingWebhooks.pollMs;
    await this.queue.upsertJobScheduler('deliver-webhooks', { every }, { name: 'deliver-due', opts: { removeOnComplete: 10, removeOnFail: 50 } });
  }

  async process(): Promise<void> {
    await this.delivery.deliverDue();
  }
}
