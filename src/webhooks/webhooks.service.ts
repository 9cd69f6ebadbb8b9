import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CreatedWebhookDto, CreateWebhookDto, WebhookDeliveryDto, WebhookDto } from './dto/webhook.dto';
import { isPrivateAddress, resolveAll } from './webhook-address';
import { isWebhookEventType } from './webhook-events';
import { WebhookSecrets } from './webhook-secrets';
import { DeliveryRow, EndpointRow, WebhooksRepository } from './webhooks.repository';

/** Webhook endpoints: registration (URL rules, event types, a fresh secret), listing, removal and the deliveries log. */
@Injectable()
export class WebhooksService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: WebhooksRepository,
    private readonly secrets: WebhookSecrets,
  ) {}

  async create(dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    const url = await this.checkUrl(dto.url);
    dto.events.forEach((type, i) => {
      if (!isWebhookEventType(type)) throw AppError.invalid(`events[${i}]`, `unknown event type ${JSON.stringify(type)}`);
    });
    const secret = this.secrets.generate();
    const row = await this.repository.insertEndpoint(url, [...new Set(dto.events)], this.secrets.encrypt(secret));
    return { ...map(row), secret };
  }

  async list(q: PageQuery): Promise<Page<WebhookDto>> {
    const rows = await this.repository.pageEndpoints(decodeCursor(q.cursor), q.limit + 1);
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), map);
  }

  async get(id: string): Promise<WebhookDto> {
    return map(await this.endpoint(id));
  }

  async remove(id: string): Promise<void> {
    if (!(await this.repository.deleteEndpoint(id))) throw AppError.notFound('Webhook', id);
  }

  async deliveries(id: string, q: PageQuery): Promise<Page<WebhookDeliveryDto>> {
    await this.endpoint(id);
    const rows = await this.repository.pageDeliveries(id, decodeCursor(q.cursor), q.limit + 1);
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), mapDelivery);
  }

  private async endpoint(id: string): Promise<EndpointRow> {
    const row = await this.repository.findEndpoint(id);
    if (!row) throw AppError.notFound('Webhook', id);
    return row;
  }

  /** http(s) only, no credentials in it, and (unless allowed) a host that resolves to public addresses only. */
  private async checkUrl(input: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw AppError.invalid('url', 'must be an absolute http or https URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw AppError.invalid('url', 'must use http or https');
    if (url.username || url.password) throw AppError.invalid('url', 'must not carry credentials');
    if (!url.hostname) throw AppError.invalid('url', 'must name a host');
    if (!this.config.outgoingWebhooks.allowPrivateNetworks) {
      const addresses = await resolveAll(url.hostname).catch(() => {
        throw AppError.invalid('url', `host ${url.hostname} does not resolve`);
      });
      if (!addresses.length || addresses.some(isPrivateAddress))
        throw AppError.invalid('url', `host ${url.hostname} is on a loopback, private or link-local network`);
    }
    return url.toString();
  }
}

function map(r: EndpointRow): WebhookDto {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    status: r.status,
    failingSince: r.failing_since?.toISOString() ?? null,
    disabledAt: r.disabled_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
  };
}

function mapDelivery(r: DeliveryRow): WebhookDeliveryDto {
  return {
    id: r.id,
    webhookId: `msg_${r.event_id.replace(/-/g, '')}`,
    type: r.type,
    attempt: r.attempt,
    statusCode: r.status_code,
    ok: r.ok,
    durationMs: r.duration_ms,
    error: r.error,
    response: r.response_excerpt,
    attemptedAt: r.attempted_at.toISOString(),
  };
}
