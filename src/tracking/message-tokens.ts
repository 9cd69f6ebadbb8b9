import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { bytesToUuid, TokenSigner, uuidToBytes } from '../common/tokens';

/** A test send has no real recipient: its tokens carry this subscriber id and record nothing. */
export const TEST_RECIPIENT = '00000000-0000-0000-0000-000000000000';

export interface MessageRef {
  campaignId: string;
  subscriberId: string;
}

/**
 * The signed tokens of one message's public URLs: open pixel, each tracked link, unsubscribe and
 * preference centre. Payload: campaign (16 bytes) + subscriber (16) [+ link slot (2)]; every kind
 * is signed under its own key, so no token can be turned into another.
 */
@Injectable()
export class MessageTokens {
  private readonly base: string;

  constructor(
    private readonly signer: TokenSigner,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.base = config.http.publicUrl;
  }

  openUrl(m: MessageRef): string {
    return `${this.base}/t/o/${this.signer.sign('open', payload(m))}`;
  }

  clickUrl(m: MessageRef, slot: number): string {
    const p = Buffer.alloc(34);
    payload(m).copy(p);
    p.writeUInt16BE(slot, 32);
    return `${this.base}/t/c/${this.signer.sign('click', p)}`;
  }

  unsubscribeToken(m: MessageRef): string {
    return this.signer.sign('unsubscribe', payload(m));
  }

  unsubscribeUrl(m: MessageRef): string {
    return `${this.base}/u/${this.unsubscribeToken(m)}`;
  }

  preferencesUrl(m: MessageRef): string {
    return `${this.base}/p/${this.signer.sign('preferences', payload(m))}`;
  }

  verify(kind: 'open' | 'unsubscribe' | 'preferences', token: string): MessageRef | null {
    const p = this.signer.verify(kind, token);
    return p && p.length === 32 ? ref(p) : null;
  }

  verifyClick(token: string): (MessageRef & { slot: number }) | null {
    const p = this.signer.verify('click', token);
    return p && p.length === 34 ? { ...ref(p), slot: p.readUInt16BE(32) } : null;
  }
}

function payload(m: MessageRef): Buffer {
  return Buffer.concat([uuidToBytes(m.campaignId), uuidToBytes(m.subscriberId)]);
}

function ref(p: Buffer): MessageRef {
  return { campaignId: bytesToUuid(p.subarray(0, 16)), subscriberId: bytesToUuid(p.subarray(16, 32)) };
}
