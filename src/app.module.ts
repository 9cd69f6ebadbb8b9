import { DynamicModule, Global, Module, Type } from '@nestjs/common';
import { AbTestsModule, AbTestsWorkerModule } from './ab-tests/ab-tests.module';
import { AnalyticsDataModule, AnalyticsModule, AnalyticsWorkerModule } from './analytics/analytics.module';
import { SharedReportController } from './analytics/report/report.controller';
import { ReportService } from './analytics/report/report.service';
import { REPORT_PAGES, ReportPages, SharedReports } from './analytics/report/shared-reports';
import { SubscriberActivity } from './analytics/subscriber-activity';
import { SegmentEngagementSql } from './analytics/segment-engagement.repository';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AudienceModule, AudienceWorkerModule } from './audience/audience.module';
import { SUBSCRIBER_DATA, SubscriberDataSource } from './audience/subscriber-data';
import { SegmentProfileSql } from './audience/segment-profile.repository';
import { CampaignSegmentUsers } from './campaigns/campaign-segment-users';
import { CampaignsDirectoryModule, CampaignsModule, CampaignsWorkerModule } from './campaigns/campaigns.module';
import type { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ContentModule } from './content/content.module';
import { CustomerDataModule, CustomersModule, CustomersWorkerModule } from './customers/customers.module';
import { SegmentEventSql } from './customers/segment-predicates.repository';
import { SubscriberEvents } from './customers/subscriber-events';
import { DatabaseModule } from './database/database.module';
import { BounceWebhooksModule } from './delivery/bounces/bounce-webhooks.module';
import { DeliveryWorkerModule, TestSendsModule } from './delivery/delivery.module';
import { JourneySegmentUsers } from './journeys/journey-segment-users';
import { JourneySubscriberData } from './journeys/journey-subscriber-data';
import { JourneyTriggers } from './journeys/journey-triggers';
import { JourneyDirectoryModule, JourneysModule, JourneysWorkerModule } from './journeys/journeys.module';
import { EnrolmentsService } from './journeys/enrolments.service';
import { ACTIVITY_SIGNALS } from './activity/activity-signals';
import { MESSAGE_DIRECTORY, MessageDirectory } from './audience/pages/message-directory';
import { CampaignMailLog } from './campaigns/campaign-mail-log';
import { HealthController } from './observability/health.controller';
import { MetricsModule } from './observability/metrics';
import { QueueModule } from './queue/queue.module';
import { ENGAGEMENT_SQL, EVENT_SQL, PROFILE_SQL } from './segments/segment-sql';
import { SEGMENT_USERS, SegmentUsers } from './segments/segment-users';
import { SegmentHistory } from './segments/segment-history';
import { SegmentDataModule, SegmentsModule, SegmentsWorkerModule } from './segments/segments.module';
import { TrackingModule } from './tracking/tracking.module';
import { WebhookOutboxModule, WebhooksModule, WebhooksWorkerModule } from './webhooks/webhooks.module';
import { TransactionalSubscriberData } from './transactional/transactional-subscriber-data';
import { TransactionalDataModule, TransactionalModule, TransactionalWorkerModule } from './transactional/transactional.module';

@Module({ controllers: [HealthController] })
class HealthModule {}

/** Every capability that keeps data about a person, for the audience's GDPR erase and export (SUBSCRIBER_DATA). */
@Global()
@Module({
  imports: [AnalyticsDataModule, CustomerDataModule, SegmentDataModule, TransactionalDataModule, JourneyDirectoryModule],
  providers: [
    {
      provide: SUBSCRIBER_DATA,
      inject: [SubscriberActivity, SubscriberEvents, SegmentHistory, TransactionalSubscriberData, JourneySubscriberData],
      useFactory: (...sources: SubscriberDataSource[]) => sources,
    },
  ],
  exports: [SUBSCRIBER_DATA],
})
class SubscriberDataModule {}

/**
 * Lower capabilities tell what happened to people (a confirmed subscription, a tracked event, a
 * segment entered) in the transaction that records it, and ask which list a mail went out for;
 * journeys react and campaigns and journeys answer, without the lower ones depending on them.
 */
@Global()
@Module({
  imports: [JourneyDirectoryModule],
  providers: [
    { provide: ACTIVITY_SIGNALS, useExisting: JourneyTriggers },
    {
      provide: MESSAGE_DIRECTORY,
      inject: [CampaignMailLog, JourneySubscriberData],
      useFactory: (campaigns: CampaignMailLog, journeys: JourneySubscriberData): MessageDirectory => ({
        listOf: async (mailingId, subscriberId) => (await campaigns.listOf(mailingId, subscriberId)) ?? journeys.listOf(mailingId, subscriberId),
      }),
    },
  ],
  exports: [ACTIVITY_SIGNALS, MESSAGE_DIRECTORY],
})
class ActivityModule {}

/**
 * What segments ask of the capabilities above them: the SQL of segment rules, each part from the
 * owner of the data it reads (campaigns provide theirs with their directory), and who still uses a
 * segment.
 */
@Global()
@Module({
  imports: [JourneyDirectoryModule],
  providers: [
    { provide: SEGMENT_USERS, inject: [CampaignSegmentUsers, JourneySegmentUsers], useFactory: (...users: SegmentUsers[]) => users },
    { provide: PROFILE_SQL, useClass: SegmentProfileSql },
    { provide: ENGAGEMENT_SQL, useClass: SegmentEngagementSql },
    { provide: EVENT_SQL, useClass: SegmentEventSql },
  ],
  exports: [PROFILE_SQL, ENGAGEMENT_SQL, EVENT_SQL, SEGMENT_USERS],
})
class SegmentSourcesModule {}

/**
 * The public page of a shared report link (`GET /r/:token`): one token format for every kind of
 * report, each page from the capability that owns it. Journeys depend on analytics, so the two meet here.
 */
@Module({
  imports: [AnalyticsModule, JourneysModule],
  controllers: [SharedReportController],
  providers: [
    SharedReports,
    {
      provide: REPORT_PAGES,
      inject: [ReportService, EnrolmentsService],
      useFactory: (campaigns: ReportService, journeys: EnrolmentsService): ReportPages => ({
        campaign: (id, until) => campaigns.page(id, until),
        journey: (id, until) => journeys.report(id, until),
      }),
    },
  ],
})
class SharedReportsModule {}

/**
 * What every process has: configuration, Postgres, Redis/BullMQ, the webhook outbox, and what one capability provides
 * for another that must not depend on it (the audience's pages and GDPR erase ask campaigns, analytics and customers).
 */
const core = (config: AppConfig): (Type | DynamicModule)[] => [
  ConfigModule.register(config),
  DatabaseModule,
  QueueModule,
  WebhookOutboxModule,
  CampaignsDirectoryModule,
  ActivityModule,
  SubscriberDataModule,
  SegmentSourcesModule,
];

/** HTTP: management API, public pages, health and metrics. */
const api: Type[] = [
  ApiKeysModule,
  AudienceModule,
  ContentModule,
  CampaignsModule,
  TrackingModule,
  AnalyticsModule,
  AbTestsModule,
  CustomersModule,
  SegmentsModule,
  JourneysModule,
  SharedReportsModule,
  TransactionalModule,
  TestSendsModule,
  BounceWebhooksModule,
  WebhooksModule,
  HealthModule,
  MetricsModule,
];

/** Queue processors only. */
const worker: Type[] = [
  AudienceWorkerModule,
  CampaignsWorkerModule,
  DeliveryWorkerModule,
  TransactionalWorkerModule,
  JourneysWorkerModule,
  AnalyticsWorkerModule,
  AbTestsWorkerModule,
  CustomersWorkerModule,
  SegmentsWorkerModule,
  WebhooksWorkerModule,
];

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    const roles = config.role === 'api' ? api : config.role === 'worker' ? worker : [...api, ...worker];
    return { module: AppModule, imports: [...core(config), ...roles] };
  }
}
