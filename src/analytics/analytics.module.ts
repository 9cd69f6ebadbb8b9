import { Module } from '@nestjs/common';
import { CampaignsModule } from '../campaigns/campaigns.module';
import { ContentModule } from '../content/content.module';
import { TokenSigner } from '../common/tokens';
import { AudienceModule } from '../audience/audience.module';
import { CountersRepository } from './ingestion/counters.repository';
import { EventApplier } from './ingestion/event-applier';
import { EventsRepository } from './ingestion/events.repository';
import { EventIngestor } from './ingestion/event-ingestor';
import { CampaignMailCopy } from './report/campaign-mail-copy';
import { ReportLinks } from './report/report-link';
import { ReportController } from './report/report.controller';
import { ReportService } from './report/report.service';
import { StatsController } from './stats.controller';
import { SubscriberActivity } from './subscriber-activity';
import { StatsRepository } from './stats.repository';
import { StatsService } from './stats.service';
import { TrackingModule } from '../tracking/tracking.module';

/**
 * Campaign reports: counters, time series, links, the report page and its shared links (HTTP side).
 * The public page of a shared link is composed at the root (SharedReportsModule): journeys' reports are shared too.
 */
@Module({
  imports: [CampaignsModule, TrackingModule, ContentModule],
  controllers: [StatsController, ReportController],
  providers: [StatsService, StatsRepository, ReportService, CampaignMailCopy, ReportLinks, TokenSigner],
  exports: [StatsService, ReportService, ReportLinks],
})
export class AnalyticsModule {}

/** The queue side: drains the event buffer into Postgres, keeping the counters. */
@Module({
  imports: [AudienceModule, CampaignsModule, TrackingModule],
  providers: [EventApplier, EventIngestor, EventsRepository, CountersRepository],
})
export class AnalyticsWorkerModule {}

/** What the audience's GDPR erase and export ask of analytics (the person's events and orders), for every process. */
@Module({
  providers: [EventsRepository, SubscriberActivity],
  exports: [SubscriberActivity],
})
export class AnalyticsDataModule {}
