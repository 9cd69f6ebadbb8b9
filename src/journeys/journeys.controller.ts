import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { JourneyBodyDto, JourneyDto } from './dto/journey.dto';
import { JourneysService } from './journeys.service';

@ApiTags('journeys')
@ApiBearerAuth()
@Controller('v1/journeys')
export class JourneysController {
  constructor(private readonly journeys: JourneysService) {}

  @Post()
  create(@Body() dto: JourneyBodyDto): Promise<JourneyDto> {
    return this.journeys.create(dto);
  }

  @Get()
  list(@Query() q: PageQuery): Promise<Page<JourneyDto>> {
    return this.journeys.list(q);
  }

  @Get(':id')
  get(@Param('id', idParam('Journey')) id: string): Promise<JourneyDto> {
    return this.journeys.get(id);
  }

  /** Replaces the draft; the active version runs on until the next publish. */
  @Put(':id')
  update(@Param('id', idParam('Journey')) id: string, @Body() dto: JourneyBodyDto): Promise<JourneyDto> {
    return this.journeys.update(id, dto);
  }

  /** Freezes the draft as a new version and activates it; people already enrolled stay on their version. */
  @Post(':id/publish')
  @HttpCode(200)
  publish(@Param('id', idParam('Journey')) id: string): Promise<JourneyDto> {
    return this.journeys.publish(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  pause(@Param('id', idParam('Journey')) id: string): Promise<JourneyDto> {
    return this.journeys.transition(id, 'pause');
  }

  @Post(':id/resume')
  @HttpCode(200)
  resume(@Param('id', idParam('Journey')) id: string): Promise<JourneyDto> {
    return this.journeys.transition(id, 'resume');
  }

  @Post(':id/archive')
  @HttpCode(200)
  archive(@Param('id', idParam('Journey')) id: string): Promise<JourneyDto> {
    return this.journeys.transition(id, 'archive');
  }

  /** Only a journey never published; a published one is archived. */
  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('Journey')) id: string): Promise<void> {
    return this.journeys.remove(id);
  }
}
