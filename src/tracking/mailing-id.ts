import { createHash } from 'node:crypto';

/**
 * Tracking, engagements and counters are keyed by a "campaign id" that is really a *mailing* id. A
 * mailing that is not a campaign row (a template's transactional mail, a journey's send step) gets
 * an id derived from what it is — the same in every process and after every restart, with nothing
 * stored: the first 16 bytes of SHA-256(key) with the version (8, "custom") and RFC 4122 variant
 * bits set, so it is a valid UUID that no uuid_v7() campaign id can equal.
 */
export function derivedMailingId(key: string): string {
  const b = createHash('sha256').update(key).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
