import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { SendMailOptions, Transporter } from 'nodemailer';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

export interface SentInfo {
  messageId: string;
  /** The SMTP server's reply, or the outbox file written. */
  response: string;
}

/**
 * The only place that sends mail. With SMTP_URL: a pooled nodemailer SMTP transport.
 * Without: every message is written as an .eml file in DATA_DIR/outbox (the embedded default).
 */
@Injectable()
export class MailTransport implements OnModuleDestroy {
  private readonly logger = new Logger(MailTransport.name);
  private readonly transporter: Transporter;
  private readonly outbox: string | null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const { smtpUrl, poolSize, outboxDir } = config.mail;
    if (smtpUrl) {
      this.transporter = nodemailer.createTransport({ url: smtpUrl, pool: true, maxConnections: poolSize } as never);
      this.outbox = null;
    } else {
      this.transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
      this.outbox = outboxDir;
      this.logger.log(`SMTP_URL is not set: mail is written to ${outboxDir}`);
    }
  }

  async send(message: SendMailOptions): Promise<SentInfo> {
    const info = (await this.transporter.sendMail({ from: this.config.mail.from, ...message })) as {
      messageId: string;
      response: string | Buffer;
      message?: Buffer;
    };
    if (!this.outbox) return { messageId: info.messageId, response: String(info.response) };
    await mkdir(this.outbox, { recursive: true });
    const file = join(this.outbox, `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[^A-Za-z0-9@.-]/g, '')}.eml`);
    await writeFile(file, info.message as Buffer);
    this.logger.log(`mail to ${String(message.to)} written to ${file}`);
    return { messageId: info.messageId, response: `written to ${file}` };
  }

  onModuleDestroy(): void {
    this.transporter.close();
  }
}
