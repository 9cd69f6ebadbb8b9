import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { ContentModule } from '../content/content.module';
import { CampaignDispatcher } from '../delivery/campaign-dispatcher';
import { ClaimsReaper } from '../delivery/claims-reaper';
import { DeliveryModule } from '../delivery/delivery.module';
import { TrackingModule } from '../tracking/tracking.module';
import { SendThrottle } from '../delivery/throttle';
import { QUEUES } from '../queue/queue.module';
import { CampaignLifecycle } from './campaign-lifecycle.service';
import { CampaignProcessor } from './campaign.processor';
import { CampaignReconciler } from './campaign-reconciler';
import { CampaignStarter } from './campaign-starter';
import { CampaignsController } from './campaigns.controller';
import { CampaignsService } from './campaigns.service';

/** Campaigns: CRUD, test sends and the lifecycle (HTTP side). */
@Module({
  imports: [ContentModule, DeliveryModule, TrackingModule, BullModule.registerQueue({ name: QUEUES.campaigns })],
  controllers: [CampaignsController],
  providers: [CampaignsService, CampaignLifecycle],
  exports: [CampaignsService, CampaignLifecycle, ContentModule, DeliveryModule, TrackingModule],
})
export class CampaignsModule {}

/** The send engine (queue side): audience resolution, dispatch, claim recovery, lost-job recovery. */
@Module({
  imports: [CampaignsModule],
  providers: [CampaignStarter, CampaignDispatcher, SendThrottle, ClaimsReaper, CampaignProcessor, CampaignReconciler],
})
export class CampaignsWorkerModule {}
