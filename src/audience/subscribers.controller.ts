import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page } from '../common/pagination';
import { idParam } from '../common/uuid';
import { CreateSubscriberDto, SubscriberDetailDto, SubscriberDto, SubscriberQuery, UpdateSubscriberDto } from './dto/subscriber.dto';
import { SubscribersService } from './subscribers.service';

@ApiTags('subscribers')
@ApiBearerAuth()
@Controller('v1/subscribers')
export class SubscribersController {
  constructor(private readonly subscribers: SubscribersService) {}

  @Post()
  create(@Body() dto: CreateSubscriberDto): Promise<SubscriberDetailDto> {
    return this.subscribers.create(dto);
  }

  @Get()
  list(@Query() q: SubscriberQuery): Promise<Page<SubscriberDto>> {
    return this.subscribers.list(q);
  }

  @Get(':id')
  get(@Param('id', idParam('Subscriber')) id: string): Promise<SubscriberDetailDto> {
    return this.subscribers.get(id);
  }

  @Get(':id/export')
  export(@Param('id', idParam('Subscriber')) id: string): Promise<Record<string, unknown>> {
    return this.subscribers.export(id);
  }

  @Patch(':id')
  update(@Param('id', idParam('Subscriber')) id: string, @Body() dto: UpdateSubscriberDto): Promise<SubscriberDetailDto> {
    return this.subscribers.update(id, dto);
  }

  /** GDPR erase. */
  @Delete(':id')
  @HttpCode(204)
  erase(@Param('id', idParam('Subscriber')) id: string): Promise<void> {
    return this.subscribers.erase(id);
  }
}
