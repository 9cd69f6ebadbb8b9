import { Inject, Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Endpoint signing secrets: `whsec_<base64 of 32 random bytes>` (the Standard Webhooks format),
 * kept encrypted with AES-256-GCM under a key derived from APP_SECRET, so a copy of the database
 * alone cannot forge deliveries. Changing APP_SECRET makes the stored secrets unreadable.
 */
@Injectable()
export class WebhookSecrets {
  private readonly key: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.key = Buffer.from(hkdfSync('sha256', config.secret, Buffer.alloc(0), 'edm outgoing webhook secrets', 32));
  }

  generate(): string {
    return `whsec_${randomBytes(32).toString('base64')}`;
  }

  encrypt(secret: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  decrypt(stored: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, stored.subarray(0, IV_BYTES));
    decipher.setAuthTag(stored.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(stored.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
