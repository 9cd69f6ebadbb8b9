import { Inject, Injectable } from '@nestjs/common';
import { createHash, createHmac } from 'node:crypto';
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
  private readonly campaigns = new Map<string, { bytes: Buffer; head: string }>();
  private readonly scratch = Buffer.alloc(32);
  private readonly tail = Buffer.alloc(18);

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.base = config.http.publicUrl;
    this.key = createHmac('sha256', config.secret).update('edm-token:message').digest();
  }

  forMessage(m: MessageRef, linkCount: number): MessageUrls {
    const campaign = this.campaign(m.campaignId);
    const p = this.scratch; // filled and used synchronously: one buffer serves every message
    campaign.bytes.copy(p, 0);
    writeUuid(p, 16, m.subscriberId);
    const tags = this.tags(p, FIRST_LINK + linkCount);
    const tag = (i: number) => tags.slice(i * TAG_CHARS, (i + 1) * TAG_CHARS);
    // base64 turns 3 bytes into 4 characters, so the payload encodes in pieces: bytes 0–14 (the
    // campaign's alone, encoded once per campaign), 15–29, and then 30–31 — followed, in a click
    // token, by the 2-byte slot. Bytes 15–31 and a zero byte encode together; for slots under 256
    // the zero is the slot's high byte, and the low byte's two characters come from a table.
    const tail = this.tail;
    p.copy(tail, 0, 15, 32); // tail[17] stays 0
    const encoded = tail.toString('base64url'); // 24 characters
    const head = campaign.head + encoded.slice(0, 20);
    const p64 = head + encoded.slice(20, 23);
    const clickHead = `${this.base}/t/c/${head}${encoded.slice(20)}`;
    const clicks: string[] = new Array(linkCount);
    for (let slot = 0; slot < linkCount; slot++) {
      const t = tag(FIRST_LINK + slot);
      clicks[slot] = slot < 256 ? `${clickHead}${LOW_SLOT[slot]}.${t}` : `${this.base}/t/c/${clickPayload(p, slot)}.${t}`;
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
    return `${p.toString('base64url')}.${this.tags(p, 1)}`;
  }

  verifyConversion(token: string): (MessageRef & { clickedAt: number }) | null {
    const parsed = split(token, 36);
    if (!parsed || !this.check(parsed.payload, parsed.tag, 0)) return null;
    return { ...ref(parsed.payload), clickedAt: parsed.payload.readUInt32BE(32) * 1000 };
  }

  private check(p: Buffer, tag: string, index: number): boolean {
    return sameText(tag, this.tags(p, index + 1).slice(index * TAG_CHARS));
  }

  /**
   * The message's tag stream, `count` tags long, as base64url text: 15-byte tags are 20 characters
   * each, so the text splits into tags exactly. (A digest as text also skips allocating a Buffer,
   * which costs more than the hash itself.)
   */
  private tags(p: Buffer, count: number): string {
    return createHash('shake256', { outputLength: count * TAG }).update(this.key).update(p).digest('base64url');
  }

  private payload(m: MessageRef): Buffer {
    const p = Buffer.allocUnsafe(32);
    this.campaign(m.campaignId).bytes.copy(p, 0);
    writeUuid(p, 16, m.subscriberId);
    return p;
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

function clickPayload(p: Buffer, slot: number): string {
  const b = Buffer.allocUnsafe(34);
  p.copy(b, 0, 0, 32);
  b.writeUInt16BE(slot, 32);
  return b.toString('base64url');
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = HEX['0123456789ABCDEF'.charCodeAt(i)] = i;

/** The 16 bytes of a UUID in its usual 8-4-4-4-12 spelling, without building an undashed copy first. */
function writeUuid(into: Buffer, at: number, id: string): void {
  let n = 0;
  for (let i = 0; i < id.length && n < 16; i++) {
    if (id.charCodeAt(i) === 45) continue; // '-'
    const hi = HEX[id.charCodeAt(i)];
    const lo = HEX[id.charCodeAt(++i)];
    if (hi === undefined || hi < 0 || lo === undefined || lo < 0) throw new Error(`not a UUID: ${id}`);
    into[at + n++] = (hi << 4) | lo;
  }
  if (n !== 16 || id.length !== 36) throw new Error(`not a UUID: ${id}`);
}

/** A token's payload, and its tag as text: 20 characters, one spelling for each of 15 bytes. */
function split(token: string, payloadBytes: number): { payload: Buffer; tag: string } | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length - dot - 1 !== TAG_CHARS || token.length > 200) return null;
  const p64 = token.slice(0, dot);
  const payload = Buffer.from(p64, 'base64url');
  // Re-encoding must give the same text: no padding tricks, no second spelling of one token.
  if (payload.length !== payloadBytes || payload.toString('base64url') !== p64) return null;
  return { payload, tag: token.slice(dot + 1) };
}

/** Equality of two strings in time that depends on their length only (a tag's length is public). */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function ref(p: Buffer): MessageRef {
  return { campaignId: bytesToUuid(p.subarray(0, 16)), subscriberId: bytesToUuid(p.subarray(16, 32)) };
}
