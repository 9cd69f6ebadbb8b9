import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AudienceModule } from '../audience/audience.module';
import { QUEUES } from '../queue/queue.module';
import { CustomerEventsController } from './customer-events.controller';
import { CustomerEventsRepository } from './customer-events.repository';
import { CustomerEventsService } from './customer-events.service';
import { MessageIdsProcessor } from './message-ids.processor';
import { SubscriberEvents } from './subscriber-events';

/** Customer events (Segment-compatible API) and a subscriber's events: the HTTP side. */
@Module({
  imports: [AudienceModule],
  controllers: [CustomerEventsController],
  providers: [CustomerEventsService, CustomerEventsRepository],
  exports: [CustomerEventsService],
})
export class CustomersModule {}

/** The queue side: the purge of message ids past the dedupe window. */
@Module({
  imports: [CustomersModule, BullModule.registerQueue({ name: QUEUES.customers })],
  providers: [MessageIdsProcessor],
})
export class CustomersWorkerModule {}

/** What the audience's GDPR erase and export ask of customers (the person's events), for every process. */
@Module({
  providers: [CustomerEventsRepository, SubscriberEvents],
  exports: [SubscriberEvents],
})
export class CustomerDataModule {}
