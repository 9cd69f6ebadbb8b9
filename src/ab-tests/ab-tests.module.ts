import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AnalyticsModule } from '../analytics/analytics.module';
import { CampaignsModule } from '../campaigns/campaigns.module';
import { QUEUES } from '../queue/queue.module';
import { AbTestPowerController, AbTestsController } from './ab-tests.controller';
import { AbTestsProcessor } from './ab-tests.processor';
import { AbTestsService } from './ab-tests.service';

/** A/B tests of campaigns: the manual decision and the test-size helper (HTTP side). */
@Module({
  imports: [CampaignsModule, AnalyticsModule],
  controllers: [AbTestsController, AbTestPowerController],
  providers: [AbTestsService],
  exports: [AbTestsService],
})
export class AbTestsModule {}

/** The queue side: the periodic look at running tests. */
@Module({
  imports: [CampaignsModule, AnalyticsModule, BullModule.registerQueue({ name: QUEUES.abTests })],
  providers: [AbTestsService, AbTestsProcessor],
})
export class AbTestsWorkerModule {}
