import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { AudienceModule } from '../audience/audience.module';
import { CampaignMailLog } from './campaign-mail-log';
import { ContentModule } from '../content/content.module';
import { QUEUES } from '../queue/queue.module';
import { DELIVERY_SQL } from '../segments/segment-sql';
import { SegmentsModule } from '../segments/segments.module';
import { TrackingModule } from '../tracking/tracking.module';
import { AudienceResolver } from './audience-resolver';
import { CampaignAbTests } from './campaign-ab-tests';
import { CampaignLifecycle } from './campaign-lifecycle.service';
import { CampaignReconciler } from './campaign-reconciler';
import { CampaignSegmentUsers } from './campaign-segment-users';
import { CampaignSends } from './campaign-sends';
import { CampaignStarter } from './campaign-starter';
import { CampaignsController } from './campaigns.controller';
import { CampaignsRepository } from './campaigns.repository';
import { CampaignsService } from './campaigns.service';
import { MessagesRepository } from './messages.repository';
import { SegmentDeliverySql } from './segment-delivery.repository';

/** Campaigns: CRUD, the lifecycle, their messages and audience resolution (HTTP side). */
@Module({
  imports: [ContentModule, AudienceModule, TrackingModule, SegmentsModule, BullModule.registerQueue({ name: QUEUES.campaigns })],
  controllers: [CampaignsController],
  providers: [CampaignsService, CampaignLifecycle, CampaignsRepository, MessagesRepository, AudienceResolver, CampaignSends, CampaignAbTests],
  exports: [CampaignsService, CampaignLifecycle, CampaignSends, CampaignAbTests],
})
export class CampaignsModule {}

/** The queue side: starting campaigns (audience resolution) and re-creating their jobs from Postgres. */
@Module({
  imports: [CampaignsModule, ContentModule, SegmentsModule],
  providers: [CampaignStarter, CampaignReconciler, CampaignsRepository, MessagesRepository, AudienceResolver],
  exports: [CampaignsModule, CampaignStarter],
})
export class CampaignsWorkerModule {}

/**
 * What other capabilities ask of campaigns without depending on them, for every process: the
 * audience's pages (which list a mail went out for: the root composes MESSAGE_DIRECTORY), journeys (the frequency cap), segments (the mail a subscriber received;
 * which campaigns still need a segment).
 */
@Global()
@Module({
  providers: [MessagesRepository, CampaignsRepository, { provide: DELIVERY_SQL, useClass: SegmentDeliverySql }, CampaignSegmentUsers, CampaignMailLog],
  exports: [DELIVERY_SQL, CampaignSegmentUsers, CampaignMailLog],
})
export class CampaignsDirectoryModule {}
