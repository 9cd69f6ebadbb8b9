import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ChallengeBasicAuth } from '../../api-keys/auth.decorators';
import { Accepts } from '../../common/request-input';
import { BounceWebhooksService } from './bounce-webhooks.service';
import { RAW_BODY, rawBodyOf } from './raw-body';
import { WebhookAnswerDto } from './webhook-answer.dto';
import { PROVIDERS } from './webhook-event';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks/bounces')
export class BounceWebhooksController {
  constructor(private readonly webhooks: BounceWebhooksService) {}

  @Post(':provider')
  @HttpCode(200)
  @ChallengeBasicAuth()
  @Accepts(['application/json', 'text/plain'], { [RAW_BODY]: true })
  @ApiOperation({
    summary: 'Bounce and complaint reports from a mail provider',
    description:
      'Each provider posts its own payload (SNS envelopes for SES, as text/plain). The API key (write scope) may also be the password of HTTP Basic auth in the webhook URL.',
  })
  @ApiParam({ name: 'provider', enum: PROVIDERS })
  @ApiBody({ schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] } })
  @ApiOkResponse({ type: WebhookAnswerDto })
  receive(@Param('provider') provider: string, @Req() req: FastifyRequest): Promise<WebhookAnswerDto> {
    return this.webhooks.receive(provider, { body: req.body, rawBody: rawBodyOf(req), headers: req.headers });
  }
}
