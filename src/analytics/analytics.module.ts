import { Module } from '@nestjs/common';
import { CampaignsModule } from '../campaigns/campaigns.module';
import { EventApplier } from './ingestion/event-applier';
import { EventIngestor } from './ingestion/event-ingestor';
import { StatsController } from './stats.controller';
import { StatsRepository } from './stats.repository';
import { StatsService } from './stats.service';
import { TrackingModule } from '../tracking/tracking.module';

/** Campaign reports: counters, time series, links (HTTP side). */
@Module({
  imports: [CampaignsModule, TrackingModule],
  controllers: [StatsController],
  providers: [StatsService, StatsRepository],
})
export class AnalyticsModule {}

/** The queue side: drains the event buffer into Postgres, keeping the counters. */
@Module({
  providers: [EventApplier, EventIngestor],
})
export class AnalyticsWorkerModule {}
