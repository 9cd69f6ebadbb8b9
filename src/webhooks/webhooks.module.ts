import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { QUEUES } from '../queue/queue.module';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';
import { WebhookDelivery } from './webhook-delivery.service';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSecrets } from './webhook-secrets';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** The outbox every capability that reports changes writes to, in every role (global, like the database). */
@Global()
@Module({
  providers: [WebhooksRepository, WebhookOutbox],
  exports: [WebhookOutbox],
})
export class WebhookOutboxModule {}

/** HTTP: /v1/webhooks. */
@Module({
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhooksRepository, WebhookSecrets],
})
export class WebhooksModule {}

/** The queue side: the scheduled delivery of due events. */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.webhooks })],
  providers: [WebhookDelivery, WebhooksRepository, WebhookSecrets, WebhookDeliveryProcessor],
})
export class WebhooksWorkerModule {}
