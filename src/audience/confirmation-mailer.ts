import { Inject, Injectable } from '@nestjs/common';
import type { SendMailOptions } from 'nodemailer';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { escapeHtml } from '../common/html';
import { bytesToUuid, TokenSigner, uuidToBytes } from '../common/tokens';
import { SubscriptionsRepository } from './subscriptions.repository';

export interface ConfirmationJob {
  subscriberId: string;
  listId: string;
}

export interface ConfirmationClaim extends ConfirmationJob {
  issuedAt: Date;
}

/** Builds and verifies double opt-in links, and writes the confirmation mail (delivery sends it). */
@Injectable()
export class ConfirmationMailer {
  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: TokenSigner,
  ) {}

  token(subscriberId: string, listId: string, issuedAt = new Date()): string {
    const payload = Buffer.alloc(36);
    uuidToBytes(subscriberId).copy(payload, 0);
    uuidToBytes(listId).copy(payload, 16);
    payload.writeUInt32BE(Math.floor(issuedAt.getTime() / 1000), 32);
    return this.tokens.sign('confirm', payload);
  }

  /** The claim of a genuine token; 'expired' once older than CONFIRM_TOKEN_TTL_HOURS; null when forged. */
  verify(token: string): ConfirmationClaim | 'expired' | null {
    const payload = this.tokens.verify('confirm', token);
    if (!payload || payload.length !== 36) return null;
    const issuedAt = new Date(payload.readUInt32BE(32) * 1000);
    if (Date.now() - issuedAt.getTime() > this.config.audience.confirmTokenTtlHours * 3_600_000) return 'expired';
    return { subscriberId: bytesToUuid(payload.subarray(0, 16)), listId: bytesToUuid(payload.subarray(16, 32)), issuedAt };
  }

  /** The mail, while the subscription is still pending; a confirmed or withdrawn one gets nothing (null). */
  async mail({ subscriberId, listId }: ConfirmationJob): Promise<SendMailOptions | null> {
    const row = await this.subscriptions.pending(subscriberId, listId);
    if (!row) return null;
    const url = `${this.config.http.publicUrl}/confirm/${this.token(subscriberId, listId)}`;
    const greeting = row.name ? `Hello ${row.name},` : 'Hello,';
    return {
      to: row.email,
      subject: `Please confirm your subscription to ${row.list_name}`,
      text: `${greeting}\n\nPlease confirm that you want to receive "${row.list_name}":\n\n${url}\n\nIf you did not ask for this, ignore this mail and you will hear nothing more.\n`,
      html:
        `<p>${escapeHtml(greeting)}</p><p>Please confirm that you want to receive <strong>${escapeHtml(row.list_name)}</strong>.</p>` +
        `<p><a href="${escapeHtml(url)}">Confirm my subscription</a></p>` +
        `<p>If you did not ask for this, ignore this mail and you will hear nothing more.</p>`,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-EDM-Kind': 'confirmation' },
    };
  }
}
