import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeController, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../api-keys/auth.decorators';
import { sendPage } from '../../common/html';
import { idParam } from '../../common/uuid';
import { ReportLinkDto, ReportLinkRequest } from '../dto/report.dto';
import { ReportService } from './report.service';
import { SharedReports } from './shared-reports';

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns/:id')
export class ReportController {
  constructor(private readonly reports: ReportService) {}

  /** The campaign's report: an HTML page with its charts drawn in (inline SVG, no script). */
  @Get('report')
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'the report page', content: { 'text/html': { schema: { type: 'string' } } } })
  async report(@Param('id', idParam('Campaign')) id: string, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, await this.reports.page(id));
  }

  /** A signed link that shows the report without an API key until it expires. */
  @Post('report-link')
  link(@Param('id', idParam('Campaign')) id: string, @Body() dto: ReportLinkRequest): Promise<ReportLinkDto> {
    return this.reports.link(id, dto);
  }
}

/** A shared report, a campaign's or a journey's: the signed, expiring token is the credential. */
@ApiExcludeController()
@Public()
@Controller()
export class SharedReportController {
  constructor(private readonly reports: SharedReports) {}

  @Get('r/:token')
  async shared(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, await this.reports.page(token));
  }
}
