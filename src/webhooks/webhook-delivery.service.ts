import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { WebhookSecrets } from './webhook-secrets';
import { postJson } from './webhook-sender';
import { signedHeaders } from './webhook-signature';
import { DueEventRow, WebhooksRepository } from './webhooks.repository';

/**
 * Sends what the outbox holds. A worker claims due events (several workers skip each other's),
 * posts each signed, logs the attempt, and either marks it delivered (2xx), schedules the next
 * attempt with exponential backoff and jitter until the retry window has passed, or gives it up.
 * Events of one endpoint may go out side by side and out of order; receivers order by timestamp.
 */
@Injectable()
export class WebhookDelivery {
  private readonly logger = new Logger(WebhookDelivery.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: WebhooksRepository,
    private readonly secrets: WebhookSecrets,
  ) {}

  /** Sends batches until nothing is due; returns how many attempts were made. */
  async deliverDue(): Promise<number> {
    const c = this.config.outgoingWebhooks;
    let attempts = 0;
    for (;;) {
      const due = await this.repository.claimDue(c.batchSize, c.timeoutMs + 30_000);
      if (!due.length) return attempts;
      // One attempt that cannot even be recorded (the database gone) must not hold up the others; its lease runs out and it comes due again.
      for (const r of await Promise.allSettled(due.map((e) => this.attempt(e))))
        if (r.status === 'rejected') this.logger.error(`webhook delivery not recorded: ${(r.reason as Error).message}`);
      attempts += due.length;
    }
  }

  private async attempt(e: DueEventRow): Promise<void> {
    const c = this.config.outgoingWebhooks;
    const body = JSON.stringify(e.payload);
    const headers = signedHeaders(this.secrets.decrypt(e.secret), `msg_${e.event_id.replace(/-/g, '')}`, Math.floor(Date.now() / 1000), body);
    const r = await postJson(e.url, headers, body, c.timeoutMs, c.allowPrivateNetworks);
    const ok = r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;
    const retryAt = ok ? null : this.nextAttempt(e.attempts, e.created_at);
    const disabled = await this.repository.recordAttempt(
      {
        eventRowId: e.id,
        endpointId: e.endpoint_id,
        attempt: e.attempts,
        statusCode: r.statusCode,
        ok,
        durationMs: r.durationMs,
        error: r.error,
        excerpt: r.excerpt,
      },
      retryAt,
      c.disableAfterMs,
    );
    if (disabled) this.logger.warn(`webhook endpoint ${e.endpoint_id} disabled: failing for ${c.disableAfterMs / 3_600_000} h with no success`);
  }

  /**
   * base·2^(n-1), capped, times a jitter of ±50 % so that endpoints coming back are not hit by every
   * retry at once. The last attempt falls at the end of the retry window; after it, null (give up).
   */
  nextAttempt(attemptsSoFar: number, createdAt: Date): Date | null {
    const c = this.config.outgoingWebhooks;
    const deadline = createdAt.getTime() + c.retryWindowMs;
    const now = Date.now();
    if (now >= deadline) return null;
    const delay = Math.min(c.retryBaseMs * 2 ** Math.min(attemptsSoFar - 1, 30), c.retryMaxMs) * (0.5 + Math.random());
    return new Date(Math.min(now + delay, deadline));
  }
}
