import { Inject, Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';

/** Each purpose signs with its own derived key, so a token minted for one use is worthless for another. */
export type TokenPurpose = 'confirm' | 'report';

const MAC_BYTES = 16;

/**
 * Opaque public tokens: `base64url(payload).base64url(mac)`, the mac an HMAC-SHA256
 * (truncated to 128 bits) under a key derived from APP_SECRET. Verified in constant time.
 */
@Injectable()
export class TokenSigner {
  private readonly keys = new Map<TokenPurpose, Buffer>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  sign(purpose: TokenPurpose, payload: Buffer): string {
    return `${payload.toString('base64url')}.${this.mac(purpose, payload).toString('base64url')}`;
  }

  /** The payload of a genuine token, or null for anything forged, altered or malformed. */
  verify(purpose: TokenPurpose, token: string): Buffer | null {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 512) return null;
    const payload = Buffer.from(token.slice(0, dot), 'base64url');
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    // Re-encoding must give the token back: base64 has spare bits, and a second spelling of one token is an alteration.
    if (given.length !== MAC_BYTES || payload.toString('base64url') !== token.slice(0, dot) || given.toString('base64url') !== token.slice(dot + 1))
      return null;
    return timingSafeEqual(given, this.mac(purpose, payload)) ? payload : null;
  }

  private mac(purpose: TokenPurpose, payload: Buffer): Buffer {
    let key = this.keys.get(purpose);
    if (!key) {
      key = createHmac('sha256', this.config.secret).update(`edm-token:${purpose}`).digest();
      this.keys.set(purpose, key);
    }
    return createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

function nibble(c: number): number {
  return c < 128 ? HEX[c] : -1;
}

/**
 * Writes the 16 bytes of a UUID in its usual 8-4-4-4-12 spelling (either case) at `at`, without
 * building an undashed copy first; anything else is refused rather than written as other bytes.
 */
export function writeUuidBytes(into: Buffer, at: number, id: string): void {
  if (id.length !== 36) throw new TypeError(`not a UUID: ${id}`);
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (id.charCodeAt(i) !== 45) throw new TypeError(`not a UUID: ${id}`);
      continue;
    }
    const hi = nibble(id.charCodeAt(i));
    const lo = nibble(id.charCodeAt(++i));
    if (hi < 0 || lo < 0) throw new TypeError(`not a UUID: ${id}`);
    into[at++] = (hi << 4) | lo;
  }
}

export function uuidToBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

/** The UUID spelling of the 16 bytes of `b` from `at`. */
export function bytesToUuid(b: Buffer, at = 0): string {
  const h = b.toString('hex', at, at + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
