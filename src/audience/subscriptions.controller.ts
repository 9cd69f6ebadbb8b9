import { Body, Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AppError } from '../common/errors';
import { idParam } from '../common/uuid';
import { SubscribeDto } from './dto/subscriber.dto';
import { ListsService } from './lists.service';
import { SubscribersService } from './subscribers.service';
import { SubscriptionsService } from './subscriptions.service';
import type { SubscriptionStatus } from './audience.entities';

@ApiTags('subscriptions')
@ApiBearerAuth()
@Controller('v1/lists/:id/subscriptions')
export class SubscriptionsController {
  constructor(
    private readonly lists: ListsService,
    private readonly subscribers: SubscribersService,
    private readonly subscriptions: SubscriptionsService,
  ) {}

  /** Double opt-in lists answer `pending` and mail a confirmation link. */
  @Post()
  async subscribe(
    @Param('id', idParam('List')) listId: string,
    @Body() dto: SubscribeDto,
  ): Promise<{ listId: string; subscriberId: string; status: SubscriptionStatus }> {
    if (!dto.subscriberId && !dto.email) throw AppError.invalid('subscriberId', 'give subscriberId or email');
    const list = await this.lists.require(listId);
    const c = dto.consent;
    const result = await this.subscribers.subscribe(list, dto, { source: c?.source ?? 'api', text: c?.text, ip: c?.ip, userAgent: c?.userAgent });
    return { listId, ...result! };
  }

  @Delete(':subscriberId')
  @HttpCode(204)
  unsubscribe(@Param('id', idParam('List')) listId: string, @Param('subscriberId', idParam('Subscriber')) subscriberId: string): Promise<void> {
    return this.subscriptions.unsubscribe(subscriberId, listId, { source: 'api' });
  }
}
