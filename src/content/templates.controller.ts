import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { CreateTemplateDto, PreviewDto, PreviewResultDto, TemplateDto, TemplateSummaryDto, UpdateTemplateDto } from './dto/template.dto';
import { TemplatePreview } from './template-preview';
import { TemplatesService } from './templates.service';

@ApiTags('templates')
@ApiBearerAuth()
@Controller('v1/templates')
export class TemplatesController {
  constructor(
    private readonly templates: TemplatesService,
    private readonly previews: TemplatePreview,
  ) {}

  /** Invalid MJML or Handlebars → 422 with MJML's messages and line numbers. */
  @Post()
  create(@Body() dto: CreateTemplateDto): Promise<TemplateDto> {
    return this.templates.create(dto);
  }

  /** Includes the starters shipped in templates/. */
  @Get()
  list(@Query() q: PageQuery): Promise<Page<TemplateSummaryDto>> {
    return this.templates.list(q);
  }

  @Get(':id')
  get(@Param('id', idParam('Template')) id: string): Promise<TemplateDto> {
    return this.templates.get(id);
  }

  @Patch(':id')
  update(@Param('id', idParam('Template')) id: string, @Body() dto: UpdateTemplateDto): Promise<TemplateDto> {
    return this.templates.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('Template')) id: string): Promise<void> {
    return this.templates.remove(id);
  }

  @Post(':id/preview')
  @HttpCode(200)
  preview(@Param('id', idParam('Template')) id: string, @Body() dto: PreviewDto): Promise<PreviewResultDto> {
    return this.previews.preview(id, dto);
  }
}
