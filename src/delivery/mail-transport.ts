import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { SendMailOptions, Transporter } from 'nodemailer';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AppError } from '../common/errors';

export interface SentInfo {
  messageId: string;
  /** The SMTP server's reply, or the outbox file written. */
  response: string;
}

/** Headers DKIM signs, when DKIM is configured; RFC 8058 requires the List-Unsubscribe pair to be signed. */
const DKIM_HEADERS = 'from:to:subject:date:message-id:reply-to:list-unsubscribe:list-unsubscribe-post:list-id:mime-version:content-type';

/**
 * The only place that sends mail. Named transports from config (`default` is SMTP_URL); each is a
 * pooled nodemailer SMTP transport, or — without a URL — the outbox: every message written as an
 * .eml file in DATA_DIR/outbox. DKIM signing applies to all of them.
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private readonly logger = new Logger(MailTransport.name);
  private readonly transporters = new Map<string, Transporter>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    if (!config.mail.transports.default.url) this.logger.log(`SMTP_URL is not set: mail is written to ${config.mail.outboxDir}`);
  }

  names(): string[] {
    return Object.keys(this.config.mail.transports);
  }

  async send(message: SendMailOptions, transport = 'default'): Promise<SentInfo> {
    const info = (await this.transporter(transport).sendMail({ from: this.config.mail.from, ...message })) as {
      messageId: string;
      response: string | Buffer;
      message?: Buffer;
    };
    if (this.config.mail.transports[transport].url) return { messageId: info.messageId, response: String(info.response) };
    const dir = this.config.mail.outboxDir;
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[^A-Za-z0-9@.-]/g, '')}.eml`);
    await writeFile(file, info.message as Buffer);
    this.logger.log(`mail to ${recipients(message.to) || '(nobody)'} written to ${file}`);
    return { messageId: info.messageId, response: `250 written to ${file}` };
  }

  private transporter(name: string): Transporter {
    const existing = this.transporters.get(name);
    if (existing) return existing;
    const t = this.config.mail.transports[name];
    if (!t) throw AppError.invalid('transport', `no transport named "${name}" (configured: ${this.names().join(', ')})`);
    const dkim = this.config.mail.dkim ? { ...this.config.mail.dkim, headerFieldNames: DKIM_HEADERS } : undefined;
    const created = t.url
      ? nodemailer.createTransport({ url: t.url, pool: true, maxConnections: t.pool, dkim } as never)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows', dkim } as never);
    this.transporters.set(name, created);
    return created;
  }

  /** The last shutdown hook: senders have drained by then. */
  onApplicationShutdown(): void {
    for (const t of this.transporters.values()) t.close();
  }
}

/** Who a message is for, as text: nodemailer takes a string, an address object, or lists of them. */
function recipients(to: unknown): string {
  if (typeof to === 'string') return to;
  if (Array.isArray(to)) return to.map(recipients).filter(Boolean).join(', ');
  if (typeof to === 'object' && to !== null && 'address' in to) return String(to.address);
  return '';
}
