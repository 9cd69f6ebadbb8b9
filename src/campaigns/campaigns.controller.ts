import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { CampaignsService } from './campaigns.service';
import { CampaignLifecycle } from './campaign-lifecycle.service';
import { CampaignDto, CreateCampaignDto, ScheduleDto, UpdateCampaignDto } from './dto/campaign.dto';

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns')
export class CampaignsController {
  constructor(
    private readonly campaigns: CampaignsService,
    private readonly lifecycle: CampaignLifecycle,
  ) {}

  @Post()
  create(@Body() dto: CreateCampaignDto): Promise<CampaignDto> {
    return this.campaigns.create(dto);
  }

  @Get()
  list(@Query() q: PageQuery): Promise<Page<CampaignDto>> {
    return this.campaigns.list(q);
  }

  @Get(':id')
  get(@Param('id', idParam('Campaign')) id: string): Promise<CampaignDto> {
    return this.campaigns.get(id);
  }

  @Patch(':id')
  update(@Param('id', idParam('Campaign')) id: string, @Body() dto: UpdateCampaignDto): Promise<CampaignDto> {
    return this.campaigns.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('Campaign')) id: string): Promise<void> {
    return this.campaigns.remove(id);
  }

  @Post(':id/schedule')
  @HttpCode(200)
  schedule(@Param('id', idParam('Campaign')) id: string, @Body() dto: ScheduleDto): Promise<CampaignDto> {
    return this.lifecycle.schedule(id, dto);
  }

  @Post(':id/send')
  @HttpCode(200)
  send(@Param('id', idParam('Campaign')) id: string): Promise<CampaignDto> {
    return this.lifecycle.send(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  pause(@Param('id', idParam('Campaign')) id: string): Promise<CampaignDto> {
    return this.lifecycle.pause(id);
  }

  @Post(':id/resume')
  @HttpCode(200)
  resume(@Param('id', idParam('Campaign')) id: string): Promise<CampaignDto> {
    return this.lifecycle.resume(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id', idParam('Campaign')) id: string): Promise<CampaignDto> {
    return this.lifecycle.cancel(id);
  }
}
