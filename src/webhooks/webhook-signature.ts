import { createHmac } from 'node:crypto';

/**
 * The Standard Webhooks headers of one delivery: HMAC-SHA256 over `<id>.<timestamp>.<body>` with
 * the base64-decoded part of the `whsec_` secret. The id stays the same on every retry, so a
 * receiver can drop repeats; the timestamp is the attempt's, so it can refuse stale replays.
 */
export function signedHeaders(secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
