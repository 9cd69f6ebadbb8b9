import { Module } from '@nestjs/common';
import { CampaignLinks } from './campaign-links';
import { EventApplier } from './event-applier';
import { EventBuffer } from './event-buffer';
import { EventIngestor } from './event-ingestor';
import { TrackingController, TrackingRoutes } from './tracking.controller';
import { TrackingService } from './tracking.service';

/** Public tracking endpoints and the event buffer they write to (HTTP side). */
@Module({
  controllers: [TrackingController],
  providers: [EventBuffer, CampaignLinks, TrackingService, TrackingRoutes],
  exports: [EventBuffer, TrackingRoutes],
})
export class TrackingModule {}

/** The queue side: drains the event buffer into Postgres. */
@Module({
  providers: [EventApplier, EventIngestor],
})
export class TrackingWorkerModule {}
