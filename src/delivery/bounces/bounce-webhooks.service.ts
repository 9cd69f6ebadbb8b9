import { Inject, Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { AppError, assertUnreachable } from '../../common/errors';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { EventBuffer } from '../../tracking/event-buffer';
import { MessageTokens } from '../../tracking/message-tokens';
import type { ReportEvent } from '../../tracking/tracking-event';
import { parseGenericEvents } from './generic.parser';
import { parsePostmarkRecord } from './postmark.parser';
import { verifySendgridSignature } from './sendgrid-signature';
import { parseSendgridEvents } from './sendgrid.parser';
import { parseSesNotification, parseSnsEnvelope } from './ses.parser';
import { SnsVerifier } from './sns-verifier';
import type { WebhookAnswerDto } from './webhook-answer.dto';
import { invalidPayload, ParseContext, parseContext, Provider, PROVIDERS } from './webhook-event';

export interface WebhookPost {
  body: unknown;
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
}

/**
 * Bounce and complaint reports from mail providers, turned into tracking events. Only the HTTP
 * side: the events are appended to the event stream before the provider gets its 200, and the
 * ingestor applies them (suppression, soft-bounce counts, campaign counters).
 */
@Injectable()
export class BounceWebhooksService {
  constructor(
    private readonly buffer: EventBuffer,
    private readonly tokens: MessageTokens,
    private readonly sns: SnsVerifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async receive(provider: string, post: WebhookPost): Promise<WebhookAnswerDto> {
    if (!isProvider(provider)) {
      throw new AppError('not_found', `no bounce webhook for provider ${provider}`, [{ field: 'provider', message: `must be one of ${PROVIDERS.join(', ')}` }]);
    }
    const events = await this.parse(provider, post, parseContext(this.tokens));
    await this.buffer.appendMany(events);
    return { accepted: events.length };
  }

  private async parse(provider: Provider, post: WebhookPost, ctx: ParseContext): Promise<ReportEvent[]> {
    switch (provider) {
      case 'ses':
        return this.ses(jsonOf(provider, post.body), ctx);
      case 'sendgrid':
        // The signature first: an unsigned or altered body is refused before anything in it is read.
        if (this.config.webhooks.sendgridPublicKey) verifySendgridSignature(this.config.webhooks.sendgridPublicKey, post.headers, post.rawBody);
        return parseSendgridEvents(jsonOf(provider, post.body), ctx);
      case 'postmark':
        return parsePostmarkRecord(jsonOf(provider, post.body), ctx);
      case 'generic':
        return parseGenericEvents(jsonOf(provider, post.body), ctx);
      default:
        return assertUnreachable(provider);
    }
  }

  private async ses(payload: unknown, ctx: ParseContext): Promise<ReportEvent[]> {
    const envelope = parseSnsEnvelope(payload);
    const topics = this.config.webhooks.sesTopicArns;
    if (topics.length && !topics.includes(envelope.TopicArn)) {
      throw new AppError('forbidden', `SNS topic ${envelope.TopicArn} is not one of SES_TOPIC_ARNS`, [{ field: 'TopicArn', message: 'not an accepted topic' }]);
    }
    await this.sns.verify(envelope);
    switch (envelope.Type) {
      case 'SubscriptionConfirmation':
        await this.sns.confirm(envelope);
        return [];
      case 'UnsubscribeConfirmation':
        return [];
      case 'Notification':
        return parseSesNotification(envelope.Message, ctx);
      default:
        return assertUnreachable(envelope.Type);
    }
  }
}

function isProvider(value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value);
}

/** SNS posts JSON as `text/plain`, which reaches us as a string; the others are parsed already. */
function jsonOf(provider: Provider, body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    throw invalidPayload(provider, 'body', 'is not JSON');
  }
}
