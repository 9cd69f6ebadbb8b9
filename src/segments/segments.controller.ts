import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import {
  CreateSegmentDto,
  PreviewSegmentDto,
  SegmentCountDto,
  SegmentDto,
  SegmentMemberDto,
  SegmentPreviewDto,
  SegmentRefreshDto,
  UpdateSegmentDto,
} from './dto/segment.dto';
import { SegmentsService } from './segments.service';

@ApiTags('segments')
@ApiBearerAuth()
@Controller('v1/segments')
export class SegmentsController {
  constructor(private readonly segments: SegmentsService) {}

  @Post()
  create(@Body() dto: CreateSegmentDto): Promise<SegmentDto> {
    return this.segments.create(dto);
  }

  /** Count and a sample of unsaved rules. */
  @Post('preview')
  @HttpCode(200)
  preview(@Body() dto: PreviewSegmentDto): Promise<SegmentPreviewDto> {
    return this.segments.preview(dto.rules, dto.limit);
  }

  @Get()
  list(@Query() q: PageQuery): Promise<Page<SegmentDto>> {
    return this.segments.list(q);
  }

  @Get(':id')
  get(@Param('id', idParam('Segment')) id: string): Promise<SegmentDto> {
    return this.segments.get(id);
  }

  /** The number of subscribers matching now (live, not the last refresh). */
  @Get(':id/count')
  count(@Param('id', idParam('Segment')) id: string): Promise<SegmentCountDto> {
    return this.segments.count(id);
  }

  /** Members as of the last refresh, with when each entered. */
  @Get(':id/members')
  members(@Param('id', idParam('Segment')) id: string, @Query() q: PageQuery): Promise<Page<SegmentMemberDto>> {
    return this.segments.members(id, q);
  }

  /** Refresh the membership now: who entered and who left since the last refresh. */
  @Post(':id/refresh')
  @HttpCode(200)
  refresh(@Param('id', idParam('Segment')) id: string): Promise<SegmentRefreshDto> {
    return this.segments.refresh(id);
  }

  @Patch(':id')
  update(@Param('id', idParam('Segment')) id: string, @Body() dto: UpdateSegmentDto): Promise<SegmentDto> {
    return this.segments.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('Segment')) id: string): Promise<void> {
    return this.segments.remove(id);
  }
}
