import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ReportLinkDto, ReportLinkRequest } from '../analytics/dto/report.dto';
import { sendPage } from '../common/html';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { EnrolDto, EnrolmentCreatedDto, EnrolmentDto, EnrolmentQuery, JourneyBodyDto, JourneyDto, JourneyStatsDto } from './dto/journey.dto';
import { EnrolmentsService } from './enrolments.service';
import { JourneysService } from './journeys.service';

@ApiTags('journeys')
@ApiBearerAuth()
@Controller('v1/journeys')
export class JourneysController {
  constructor(
    private readonly journeys: JourneysService,
    private readonly enrolments: EnrolmentsService,
  ) {}

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

  /** Enrols one person in an active journey whose trigger is `api`. */
  @Post(':id/enrol')
  enrol(@Param('id', idParam('Journey')) id: string, @Body() dto: EnrolDto): Promise<EnrolmentCreatedDto> {
    return this.enrolments.enrol(id, dto);
  }

  /** Per step: entered, waiting, completed, exited; send steps add their mail's stats; the goal's conversions. */
  @Get(':id/stats')
  stats(@Param('id', idParam('Journey')) id: string): Promise<JourneyStatsDto> {
    return this.enrolments.stats(id);
  }

  /** The stats as an HTML page: totals, the goal, each step's funnel and send steps' mail, charts drawn in (inline SVG, no script). */
  @Get(':id/report')
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'the report page', content: { 'text/html': { schema: { type: 'string' } } } })
  async report(@Param('id', idParam('Journey')) id: string, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, await this.enrolments.report(id));
  }

  /** A signed link that shows the report without an API key until it expires (at the same /r/ address as campaigns'). */
  @Post(':id/report-link')
  reportLink(@Param('id', idParam('Journey')) id: string, @Body() dto: ReportLinkRequest): Promise<ReportLinkDto> {
    return this.enrolments.reportLink(id, dto);
  }

  /** Where each enrolment is, with the steps behind it (newest first; `subscriber` for one person's). */
  @Get(':id/enrolments')
  enrolmentsOf(@Param('id', idParam('Journey')) id: string, @Query() q: EnrolmentQuery): Promise<EnrolmentDto[]> {
    return this.enrolments.list(id, q);
  }

  /** Only a journey never published; a published one is archived. */
  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('Journey')) id: string): Promise<void> {
    return this.journeys.remove(id);
  }
}
