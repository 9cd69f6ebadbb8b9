import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { CreateSuppressionDto, SuppressionDto } from './dto/suppression.dto';
import { SuppressionsService } from './suppressions.service';

@ApiTags('suppressions')
@ApiBearerAuth()
@Controller('v1/suppressions')
export class SuppressionsController {
  constructor(private readonly suppressions: SuppressionsService) {}

  @Post()
  add(@Body() dto: CreateSuppressionDto): Promise<SuppressionDto> {
    return this.suppressions.add(dto);
  }

  @Get()
  list(@Query() q: PageQuery): Promise<Page<SuppressionDto>> {
    return this.suppressions.list(q);
  }

  @Delete(':email')
  @HttpCode(204)
  remove(@Param('email') email: string): Promise<void> {
    return this.suppressions.remove(email);
  }
}
