import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { CreatedWebhookDto, CreateWebhookDto, WebhookDeliveryDto, WebhookDto } from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** The answer carries the signing secret, shown this once. */
  @Post()
  create(@Body() dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    return this.webhooks.create(dto);
  }

  @Get()
  list(@Query() q: PageQuery): Promise<Page<WebhookDto>> {
    return this.webhooks.list(q);
  }

  @Get(':id')
  get(@Param('id', idParam('Webhook')) id: string): Promise<WebhookDto> {
    return this.webhooks.get(id);
  }

  /** Every delivery attempt to the endpoint, oldest first. */
  @Get(':id/deliveries')
  deliveries(@Param('id', idParam('Webhook')) id: string, @Query() q: PageQuery): Promise<Page<WebhookDeliveryDto>> {
    return this.webhooks.deliveries(id, q);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('Webhook')) id: string): Promise<void> {
    return this.webhooks.remove(id);
  }
}
