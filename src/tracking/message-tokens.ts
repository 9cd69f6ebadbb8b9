import { Inject, Injectable } from '@nestjs/common';
import { createHash, createHmac } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { bytesToUuid, uuidToBytes, writeUuidBytes } from '../common/tokens';

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
/** Bytes of the hash key. */
const KEY = 32;

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
  private readonly campaigns = new Map<string, { bytes: Buffer; head: string }>();
  /**
   * The key followed by room for the longest payload: a payload is written (or decoded) right
   * after the key and hashed in one update. Used synchronously, so one buffer serves every call.
   */
  private readonly keyed = Buffer.alloc(KEY + 36);
  private readonly message = this.keyed.subarray(0, KEY + 32);
  private readonly conversion = this.keyed.subarray(0, KEY + 36);
  private readonly tail = Buffer.alloc(18);

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.base = config.http.publicUrl;
    createHmac('sha256', config.secret).update('edm-token:message').digest().copy(this.keyed);
  }

  /** `clicks[i]` is the URL of link slot `firstSlot + i` (a campaign variant's links follow the previous variants'). */
  forMessage(m: MessageRef, linkCount: number, firstSlot = 0): MessageUrls {
    const campaign = this.campaign(m.campaignId);
    this.writeMessage(m);
    const tags = this.tags(this.message, FIRST_LINK + firstSlot + linkCount);
    const tag = (i: number) => tags.slice(i * TAG_CHARS, (i + 1) * TAG_CHARS);
    // base64 turns 3 bytes into 4 characters, so the payload encodes in pieces: bytes 0–14 (the
    // campaign's alone, encoded once per campaign), 15–29, and then 30–31 — followed, in a click
    // token, by the 2-byte slot. Bytes 15–31 and a zero byte encode together; for slots under 256
    // the zero is the slot's high byte, and the low byte's two characters come from a table.
    const tail = this.tail;
    this.keyed.copy(tail, 0, KEY + 15, KEY + 32); // tail[17] stays 0
    const encoded = tail.toString('base64url'); // 24 characters
    const head = campaign.head + encoded.slice(0, 20);
    const p64 = head + encoded.slice(20, 23);
    const clickHead = `${this.base}/t/c/${head}${encoded.slice(20)}`;
    const clicks = new Array<string>(linkCount);
    for (let i = 0; i < linkCount; i++) {
      const slot = firstSlot + i;
      const t = tag(FIRST_LINK + slot);
      clicks[i] = slot < 256 ? `${clickHead}${LOW_SLOT[slot]}.${t}` : `${this.base}/t/c/${this.clickPayload(slot)}.${t}`;
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
    const index = kind === 'open' ? OPEN : kind === 'unsubscribe' ? UNSUBSCRIBE : kind === 'preferences' ? PREFERENCES : MESSAGE_ID;
    const dot = this.decode(token, 32);
    return dot > 0 && this.check(this.message, token, dot, index) ? this.decodedRef() : null;
  }

  verifyClick(token: string): (MessageRef & { slot: number }) | null {
    const dot = this.decode(token, 34);
    if (dot < 0) return null;
    // The slot picks the tag; the hash covers the message (the first 32 bytes).
    const slot = this.keyed.readUInt16BE(KEY + 32);
    if (slot >= MAX_SLOT || !this.check(this.message, token, dot, FIRST_LINK + slot)) return null;
    const { campaignId, subscriberId } = this.decodedRef();
    return { campaignId, subscriberId, slot };
  }

  /**
   * The token a click appends to its destination (`edm_token`), for the landing site to report a
   * conversion with: the message and the time of the click (seconds), which the attribution window
   * counts from. Its payload is longer than any URL token's, so neither can stand for the other.
   */
  conversionToken(m: MessageRef, clickedAt: number): string {
    this.writeMessage(m);
    this.keyed.writeUInt32BE(Math.floor(clickedAt / 1000), KEY + 32);
    return `${this.keyed.toString('base64url', KEY, KEY + 36)}.${this.tags(this.conversion, 1)}`;
  }

  verifyConversion(token: string): (MessageRef & { clickedAt: number }) | null {
    const dot = this.decode(token, 36);
    if (dot < 0 || !this.check(this.conversion, token, dot, 0)) return null;
    const { campaignId, subscriberId } = this.decodedRef();
    return { campaignId, subscriberId, clickedAt: this.keyed.readUInt32BE(KEY + 32) * 1000 };
  }

  /**
   * Decodes a token's payload, which must be the one base64url spelling of `bytes` bytes, into the
   * buffer after the key; the position of the dot before the tag, or -1 for a token of the wrong shape.
   */
  private decode(token: string, bytes: number): number {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length - dot - 1 !== TAG_CHARS) return -1;
    return decodeBase64Url(token, dot, bytes, this.keyed, KEY) ? dot : -1;
  }

  /** Whether the tag after the dot is tag `index` of the stream for the payload in `hashed`. */
  private check(hashed: Buffer, token: string, dot: number, index: number): boolean {
    return sameText(token, dot + 1, this.tags(hashed, index + 1), index * TAG_CHARS, TAG_CHARS);
  }

  /**
   * The tag stream of the key and payload in `hashed`, `count` tags long, as base64url text: 15-byte
   * tags are 20 characters each, so the text splits into tags exactly. (A digest as text also skips
   * allocating a Buffer, which costs more than the hash itself.)
   */
  private tags(hashed: Buffer, count: number): string {
    return createHash('shake256', { outputLength: count * TAG })
      .update(hashed)
      .digest('base64url');
  }

  /** The message's 32 bytes after the key. */
  private writeMessage(m: MessageRef): void {
    this.campaign(m.campaignId).bytes.copy(this.keyed, KEY);
    writeUuidBytes(this.keyed, KEY + 16, m.subscriberId);
  }

  /** The message of the payload just decoded. */
  private decodedRef(): MessageRef {
    return { campaignId: bytesToUuid(this.keyed, KEY), subscriberId: bytesToUuid(this.keyed, KEY + 16) };
  }

  /** A click payload (message and 2-byte slot) as base64url, for slots past the table of single bytes. */
  private clickPayload(slot: number): string {
    const b = Buffer.allocUnsafe(34);
    this.keyed.copy(b, 0, KEY, KEY + 32);
    b.writeUInt16BE(slot, 32);
    return b.toString('base64url');
  }

  /** A campaign's 16 bytes and the base64url of the first 15, which every token of the campaign starts with. */
  private campaign(id: string): { bytes: Buffer; head: string } {
    let c = this.campaigns.get(id);
    if (!c) {
      const bytes = uuidToBytes(id);
      c = { bytes, head: bytes.toString('base64url', 0, 15) };
      if (this.campaigns.size > 1000) this.campaigns.clear();
      this.campaigns.set(id, c);
    }
    return c;
  }
}

/** base64url of one byte, as the last two characters of a click token's payload with a slot under 256. */
const LOW_SLOT = Array.from({ length: 256 }, (_, b) => Buffer.from([b]).toString('base64url'));

const B64URL = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/**
 * Decodes `text[0, length)` into `into` at `at` when it is the base64url of exactly `bytes` bytes in
 * its one spelling (no padding, unused low bits zero), without allocating: a second spelling of a
 * token must not verify.
 */
function decodeBase64Url(text: string, length: number, bytes: number, into: Buffer, at: number): boolean {
  if (length !== Math.ceil((bytes * 4) / 3)) return false;
  let acc = 0;
  let bits = 0;
  let o = at;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64URL[c] : -1;
    if (v < 0) return false;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      into[o++] = (acc >> bits) & 0xff;
    }
  }
  return (acc & ((1 << bits) - 1)) === 0;
}

/** Whether `a[ai, ai + n)` equals `b[bi, bi + n)`, in time that depends on `n` only (a tag's length is public). */
function sameText(a: string, ai: number, b: string, bi: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(ai + i) ^ b.charCodeAt(bi + i);
  return diff === 0;
}
