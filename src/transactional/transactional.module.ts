import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AnalyticsModule } from '../analytics/analytics.module';
import { AudienceModule } from '../audience/audience.module';
import { ContentModule } from '../content/content.module';
import { DeliveryWorkerModule } from '../delivery/delivery.module';
import { QUEUES } from '../queue/queue.module';
import { TrackingModule } from '../tracking/tracking.module';
import { TransactionalMessagesRepository } from './transactional-messages.repository';
import { TransactionalSubscriberData } from './transactional-subscriber-data';
import { TransactionalController } from './transactional.controller';
import { TransactionalProcessor } from './transactional.processor';
import { TransactionalSender } from './transactional-sender';
import { TransactionalService } from './transactional.service';

/** The rules and storage of transactional mail, for both roles. */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.transactional }), AudienceModule, ContentModule, AnalyticsModule],
  providers: [TransactionalService, TransactionalMessagesRepository],
  exports: [TransactionalService, TransactionalMessagesRepository],
})
export class TransactionalCoreModule {}

/** HTTP side: POST /v1/transactional and its reads. */
@Module({
  imports: [TransactionalCoreModule],
  controllers: [TransactionalController],
})
export class TransactionalModule {}

/** The queue side: the `transactional` queue's processor, sender and reconciler. */
@Module({
  imports: [
    BullModule.registerQueue({ name: QUEUES.transactional }),
    TransactionalCoreModule,
    DeliveryWorkerModule,
    AudienceModule,
    ContentModule,
    TrackingModule,
  ],
  providers: [TransactionalSender, TransactionalProcessor],
})
export class TransactionalWorkerModule {}

/** What the audience's GDPR erase and export ask of transactional mail, for every process. */
@Module({
  providers: [TransactionalMessagesRepository, TransactionalSubscriberData],
  exports: [TransactionalSubscriberData],
})
export class TransactionalDataModule {}
