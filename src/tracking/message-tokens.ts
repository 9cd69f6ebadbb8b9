import { Inject, Injectable } from '@nestjs/common';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { bytesToUuid, uuidToBytes } from '../common/tokens';

/** A test send has no real recipient: its tokens carry this subscriber id and record nothing. */
export const TEST_RECIPIENT = '00000000-0000-0000-0000-000000000000';

export interface MessageRef {
  campaignId: string;
  subscriberId: string;
}

/** Every public URL of one message, and its Message-ID tag. */
export interface MessageUrls {
  open: string;
  unsubscribeToken: string;
  unsubscribe: string;
  preferences: string;
  clicks: string[];
  /** The local part of the message's Message-ID: a token too, so a bounce report that quotes it names the message. */
  messageIdToken: string;
}

/** 120-bit tags: a multiple of 3 bytes, so every tag of a message comes out of one base64 encoding. */
const TAG = 15;
const TAG_CHARS = 20;
// Which 15-byte slice of the message's tag stream authenticates which URL.
const OPEN = 0;
const UNSUBSCRIBE = 1;
const PREFERENCES = 2;
const MESSAGE_ID = 3;
const FIRST_LINK = 4;
const MAX_SLOT = 4096;

/**
 * Tokens of a message's public URLs. The payload is the message — campaign (16 bytes) and
 * subscriber (16), plus the link slot (2) for clicks — and each URL's tag is its own slice of a
 * keyed SHAKE256 stream over that payload: SHAKE256(key ‖ campaign ‖ subscriber), a keyed sponge,
 * i.e. a MAC (the construction of KMAC). One hash per message yields every tag, so building a
 * message costs one hash whatever its number of links; slices are independent, so an open-pixel
 * token (which image proxies see) reveals nothing about the unsubscribe or a click token.
 * Tokens are `base64url(payload).base64url(tag)`, verified in constant time.
 */
@Injectable()
export class MessageTokens {
  private readonly base: string;
  private readonly key: Buffer;
  private readonly campaigns = new Map<string, Buffer>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.base = config.http.publicUrl;
    this.key = createHmac('sha256', config.secret).update('edm-token:message').digest();
  }

  forMessage(m: MessageRef, linkCount: number): MessageUrls {
    const p = this.payload(m);
    const tags = this.tags(p, FIRST_LINK + linkCount).toString('base64url');
    const tag = (i: number) => tags.slice(i * TAG_CHARS, (i + 1) * TAG_CHARS);
    // The first 30 payload bytes encode on their own (30 is a multiple of 3); only the last two bytes
    // — and a click's slot after them — are encoded per token.
    const head = p.toString('base64url', 0, 30);
    const p64 = head + p.toString('base64url', 30, 32);
    const clicks: string[] = new Array(linkCount);
    const tail = Buffer.allocUnsafe(4);
    p.copy(tail, 0, 30, 32);
    for (let slot = 0; slot < linkCount; slot++) {
      tail.writeUInt16BE(slot, 2);
      clicks[slot] = `${this.base}/t/c/${head}${tail.toString('base64url')}.${tag(FIRST_LINK + slot)}`;
    }
    const unsubscribeToken = `${p64}.${tag(UNSUBSCRIBE)}`;
    return {
      open: `${this.base}/t/o/${p64}.${tag(OPEN)}`,
      unsubscribeToken,
      unsubscribe: `${this.base}/u/${unsubscribeToken}`,
      preferences: `${this.base}/p/${p64}.${tag(PREFERENCES)}`,
      clicks,
      messageIdToken: `${p64}.${tag(MESSAGE_ID)}`,
    };
  }

  verify(kind: 'open' | 'unsubscribe' | 'preferences' | 'message-id', token: string): MessageRef | null {
    const parsed = split(token, 32);
    if (!parsed) return null;
    const index = kind === 'open' ? OPEN : kind === 'unsubscribe' ? UNSUBSCRIBE : kind === 'preferences' ? PREFERENCES : MESSAGE_ID;
    return this.check(parsed.payload, parsed.tag, index) ? ref(parsed.payload) : null;
  }

  verifyClick(token: string): (MessageRef & { slot: number }) | null {
    const parsed = split(token, 34);
    if (!parsed) return null;
    const slot = parsed.payload.readUInt16BE(32);
    if (slot >= MAX_SLOT) return null;
    return this.check(parsed.payload.subarray(0, 32), parsed.tag, FIRST_LINK + slot) ? { ...ref(parsed.payload), slot } : null;
  }

  /**
   * The token a click appends to its destination (`edm_token`), for the landing site to report a
   * conversion with: the message and the time of the click (seconds), which the attribution window
   * counts from. Its payload is longer than any URL token's, so neither can stand for the other.
   */
  conversionToken(m: MessageRef, clickedAt: number): string {
    const p = Buffer.allocUnsafe(36);
    this.payload(m).copy(p);
    p.writeUInt32BE(Math.floor(clickedAt / 1000), 32);
    return `${p.toString('base64url')}.${this.tags(p, 1).toString('base64url')}`;
  }

  verifyConversion(token: string): (MessageRef & { clickedAt: number }) | null {
    const parsed = split(token, 36);
    if (!parsed || !this.check(parsed.payload, parsed.tag, 0)) return null;
    return { ...ref(parsed.payload), clickedAt: parsed.payload.readUInt32BE(32) * 1000 };
  }

  private check(p: Buffer, tag: Buffer, index: number): boolean {
    const expected = this.tags(p, index + 1).subarray(index * TAG);
    return timingSafeEqual(tag, expected);
  }

  private tags(p: Buffer, count: number): Buffer {
    return createHash('shake256', { outputLength: count * TAG }).update(this.key).update(p).digest();
  }

  private payload(m: MessageRef): Buffer {
    let c = this.campaigns.get(m.campaignId);
    if (!c) {
      c = uuidToBytes(m.campaignId);
      if (this.campaigns.size > 1000) this.campaigns.clear();
      this.campaigns.set(m.campaignId, c);
    }
    const p = Buffer.allocUnsafe(32);
    c.copy(p, 0);
    p.write(m.subscriberId.replace(/-/g, ''), 16, 'hex');
    return p;
  }
}

function split(token: string, payloadBytes: number): { payload: Buffer; tag: Buffer } | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 200) return null;
  const p64 = token.slice(0, dot);
  const payload = Buffer.from(p64, 'base64url');
  const tag = Buffer.from(token.slice(dot + 1), 'base64url');
  // Re-encoding must give the same text: no padding tricks, no second spelling of one token.
  if (payload.length !== payloadBytes || tag.length !== TAG || payload.toString('base64url') !== p64 || tag.toString('base64url') !== token.slice(dot + 1)) return null;
  return { payload, tag };
}

function ref(p: Buffer): MessageRef {
  return { campaignId: bytesToUuid(p.subarray(0, 16)), subscriberId: bytesToUuid(p.subarray(16, 32)) };
}
