import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AnalyticsModule } from '../analytics/analytics.module';
import { AudienceModule } from '../audience/audience.module';
import { ContentModule } from '../content/content.module';
import { CustomersModule } from '../customers/customers.module';
import { DeliveryWorkerModule } from '../delivery/delivery.module';
import { QUEUES } from '../queue/queue.module';
import { SegmentsModule } from '../segments/segments.module';
import { TrackingModule } from '../tracking/tracking.module';
import { TransactionalCoreModule } from '../transactional/transactional.module';
import { DateTriggers } from './date-triggers';
import { EnrolmentsRepository } from './enrolments.repository';
import { EnrolmentsService } from './enrolments.service';
import { JourneyDispatcher } from './journey-dispatcher';
import { JourneyMessagesRepository } from './journey-messages.repository';
import { JourneyRunner } from './journey-runner';
import { JourneySegmentUsers } from './journey-segment-users';
import { JourneySubscriberData } from './journey-subscriber-data';
import { JourneyTimers } from './journey-timers';
import { JourneyTriggers } from './journey-triggers';
import { JourneyVersions } from './journey-versions';
import { JourneyProcessor, JourneySendProcessor } from './journey.processor';
import { JourneysController } from './journeys.controller';
import { JourneysRepository } from './journeys.repository';
import { JourneysService } from './journeys.service';

/**
 * What every process has of journeys, because others call it inside their own transactions (the
 * root makes it ACTIVITY_SIGNALS, MESSAGE_DIRECTORY's journey half, a SUBSCRIBER_DATA source and a
 * SEGMENT_USERS entry): triggers, versions, timers, and the tables' repositories.
 */
@Module({
  imports: [BullModule.registerQueue({ name: QUEUES.journeys }, { name: QUEUES.journeySends })],
  providers: [
    JourneysRepository,
    EnrolmentsRepository,
    JourneyMessagesRepository,
    JourneyVersions,
    JourneyTimers,
    JourneyTriggers,
    JourneySegmentUsers,
    JourneySubscriberData,
  ],
  exports: [
    BullModule,
    JourneysRepository,
    EnrolmentsRepository,
    JourneyMessagesRepository,
    JourneyVersions,
    JourneyTimers,
    JourneyTriggers,
    JourneySegmentUsers,
    JourneySubscriberData,
  ],
})
export class JourneyDirectoryModule {}

/** HTTP side: definitions, versions and lifecycle; enrolment by API, enrolments and stats. */
@Module({
  imports: [JourneyDirectoryModule, ContentModule, AudienceModule, SegmentsModule, AnalyticsModule],
  controllers: [JourneysController],
  providers: [JourneysService, EnrolmentsService],
  exports: [EnrolmentsService],
})
export class JourneysModule {}

/** The queue side: the engine (ticks), journey mail, yearly date triggers. */
@Module({
  imports: [
    JourneyDirectoryModule,
    AudienceModule,
    ContentModule,
    CustomersModule,
    SegmentsModule,
    AnalyticsModule,
    TrackingModule,
    DeliveryWorkerModule,
    TransactionalCoreModule,
  ],
  providers: [JourneyRunner, JourneyDispatcher, DateTriggers, JourneyProcessor, JourneySendProcessor],
})
export class JourneysWorkerModule {}
