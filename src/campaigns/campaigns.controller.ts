import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { CampaignsService } from './campaigns.service';
import { CampaignDto, CreateCampaignDto, TestSendDto, UpdateCampaignDto } from './dto/campaign.dto';

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns')
export class CampaignsController {
  constructor(private readonly campaigns: CampaignsService) {}

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

  /** Sends test copies (subject "[TEST] …") to up to 20 addresses. */
  @Post(':id/test')
  @HttpCode(200)
  test(@Param('id', idParam('Campaign')) id: string, @Body() dto: TestSendDto): Promise<{ sent: string[] }> {
    return this.campaigns.sendTest(id, dto);
  }
}
