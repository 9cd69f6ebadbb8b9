import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../api-keys/auth.decorators';
import { Page } from '../common/pagination';
import { Accepts, BODY_LIMIT } from '../common/request-input';
import { idParam } from '../common/uuid';
import { CustomerEventsService } from './customer-events.service';
import { BatchDto, CustomerEventDto, CustomerEventQuery, IdentifyDto, SegmentAnswerDto, TrackDto } from './dto/customer-event.dto';
import { SEGMENT_LIMITS } from './segment-message';

/** Segment's request limit, checked before the body is parsed. */
const SEGMENT_BODY = Accepts(['application/json'], { [BODY_LIMIT]: SEGMENT_LIMITS.requestBytes });

/**
 * Segment's HTTP tracking API (what `@segment/analytics-node` and the other server libraries post,
 * with the write key as `Basic base64(key:)` or `Bearer key`), and a subscriber's events. The bodies
 * are read by the service, not the validation pipe: Segment's libraries send fields of their own.
 */
@ApiTags('customer events')
@ApiBearerAuth()
@Controller('v1')
export class CustomerEventsController {
  constructor(private readonly events: CustomerEventsService) {}

  @Post('identify')
  @HttpCode(200)
  @RequireScope('events:write')
  @SEGMENT_BODY
  @ApiBody({ type: IdentifyDto })
  identify(@Body() body: unknown): Promise<SegmentAnswerDto> {
    return this.events.identify(body);
  }

  @Post('track')
  @HttpCode(200)
  @RequireScope('events:write')
  @SEGMENT_BODY
  @ApiBody({ type: TrackDto })
  track(@Body() body: unknown): Promise<SegmentAnswerDto> {
    return this.events.track(body);
  }

  @Post('batch')
  @HttpCode(200)
  @RequireScope('events:write')
  @SEGMENT_BODY
  @ApiBody({ type: BatchDto })
  batch(@Body() body: unknown): Promise<SegmentAnswerDto> {
    return this.events.batch(body);
  }

  @Get('subscribers/:id/events')
  list(@Param('id', idParam('Subscriber')) id: string, @Query() q: CustomerEventQuery): Promise<Page<CustomerEventDto>> {
    return this.events.list(id, q);
  }
}
