import { Module } from '@nestjs/common';
import { CampaignLinks } from './campaign-links';
import { CampaignLinksRepository } from './campaign-links.repository';
import { EventBuffer } from './event-buffer';
import { MessageTokens } from './message-tokens';
import { TrackingController, TrackingRoutes } from './tracking.controller';
import { TrackingService } from './tracking.service';

/** Signed message tokens, the public tracking endpoints and the event buffer they write to. */
@Module({
  controllers: [TrackingController],
  providers: [MessageTokens, EventBuffer, CampaignLinks, CampaignLinksRepository, TrackingService, TrackingRoutes],
  exports: [MessageTokens, EventBuffer, CampaignLinks, TrackingRoutes],
})
export class TrackingModule {}
