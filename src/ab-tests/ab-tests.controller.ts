import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CampaignsService } from '../campaigns/campaigns.service';
import { CampaignDto } from '../campaigns/dto/campaign.dto';
import { idParam } from '../common/uuid';
import { AbTestsService } from './ab-tests.service';
import { DecideAbTestDto } from './dto/decide.dto';

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns/:id/ab')
export class AbTestsController {
  constructor(
    private readonly tests: AbTestsService,
    private readonly campaigns: CampaignsService,
  ) {}

  /** Picks the winner by hand (overriding the test): the rest of the audience gets it. */
  @Post('decide')
  @HttpCode(200)
  async decide(@Param('id', idParam('Campaign')) id: string, @Body() dto: DecideAbTestDto): Promise<CampaignDto> {
    await this.tests.decide(id, dto.variantId);
    return this.campaigns.get(id);
  }
}
