import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AppError } from '../common/errors';
import { ParseUUIDPipe } from '@nestjs/common';
import {
  SendTransactionalDto,
  TransactionalAcceptedDto,
  TransactionalMessageDto,
  TransactionalStatsDto,
  TransactionalStatsQuery,
} from './dto/transactional.dto';
import { TransactionalService } from './transactional.service';

const messageIdParam = new ParseUUIDPipe({
  exceptionFactory: () => new AppError('not_found', 'message not found', [{ field: 'messageId', message: 'is not an id this API issued' }]),
});

@ApiTags('transactional')
@ApiBearerAuth()
@Controller('v1/transactional')
export class TransactionalController {
  constructor(private readonly transactional: TransactionalService) {}

  /** Queues one transactional mail (no list consent needed; hard-bounced, complained, erased or manually suppressed addresses are refused). */
  @Post()
  @HttpCode(202)
  send(@Body() dto: SendTransactionalDto): Promise<TransactionalAcceptedDto> {
    return this.transactional.accept(dto);
  }

  /** A template's transactional mail: messages by status, opens, clicks, conversions. */
  @Get('stats')
  stats(@Query() q: TransactionalStatsQuery): Promise<TransactionalStatsDto> {
    return this.transactional.templateStats(q.templateId);
  }

  @Get(':messageId')
  get(@Param('messageId', messageIdParam) id: string): Promise<TransactionalMessageDto> {
    return this.transactional.get(id);
  }
}
