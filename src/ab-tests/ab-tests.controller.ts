import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CampaignsService } from '../campaigns/campaigns.service';
import { CampaignDto } from '../campaigns/dto/campaign.dto';
import { idParam } from '../common/uuid';
import { AbTestsService } from './ab-tests.service';
import { DecideAbTestDto } from './dto/decide.dto';
import { PowerDto, PowerQuery } from './dto/power.dto';

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

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/ab-tests')
export class AbTestPowerController {
  constructor(private readonly tests: AbTestsService) {}

  /** How many recipients per variant, and what test share, find a given lift over a base rate. */
  @Get('power')
  power(@Query() q: PowerQuery): PowerDto {
    return this.tests.power(q);
  }
}
