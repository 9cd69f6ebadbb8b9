import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { idParam } from '../common/uuid';
import { CampaignStatsDto, LinkStatsDto, TimeseriesDto, TimeseriesQuery } from './dto/stats.dto';
import { StatsService } from './stats.service';

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns/:id')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('stats')
  get(@Param('id', idParam('Campaign')) id: string): Promise<CampaignStatsDto> {
    return this.stats.stats(id);
  }

  @Get('stats/timeseries')
  timeseries(@Param('id', idParam('Campaign')) id: string, @Query() q: TimeseriesQuery): Promise<TimeseriesDto> {
    return this.stats.timeseries(id, q);
  }

  @Get('links')
  links(@Param('id', idParam('Campaign')) id: string): Promise<LinkStatsDto[]> {
    return this.stats.links(id);
  }
}
