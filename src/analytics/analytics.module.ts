import { Module } from '@nestjs/common';
import { CampaignsModule } from '../campaigns/campaigns.module';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';

/** Campaign reports: counters, time series, links. */
@Module({
  imports: [CampaignsModule],
  controllers: [StatsController],
  providers: [StatsService],
})
export class AnalyticsModule {}
