import { z } from 'zod';
import type { MessageRef } from '../../tracking/message-tokens';
import type { ReportEvent } from '../../tracking/tracking-event';
import { check, emailField, ParseContext, timeOf, toEvent } from './webhook-event';

const recordSchema = z.object({ RecordType: z.string() }).passthrough();

const bounceSchema = z.object({
  Type: z.string(),
  Email: emailField,
  BouncedAt: z.string().nullish(),
  Description: z.string().nullish(),
  Details: z.string().nullish(),
  MessageID: z.string().nullish(),
  Metadata: z.record(z.unknown()).nullish(),
  Content: z.string().nullish(),
});

/** Postmark's bounce types that say the address is gone: a hard bounce, suppressed at once. */
const HARD = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);

/**
 * Types that say nothing about the address: replies (auto-responders, address changes,
 * subscribe/unsubscribe requests, challenge-response verification) and failures of our own
 * sending (unconfirmed sender signature, DMARC policy of our domain, API or template errors, relay
 * tests, inbound processing). Every other type — SoftBounce, Transient, DnsError, Blocked,
 * SpamNotification, VirusNotification, Unknown, and any type Postmark adds later — means this
 * message did not arrive for a reason that may pass: a soft bounce, counted by the ingestor.
 */
const IGNORED = new Set([
  'AutoResponder',
  'AddressChange',
  'Subscribe',
  'Unsubscribe',
  'ChallengeVerification',
  'Unconfirmed',
  'DMARCPolicy',
  'SMTPApiError',
  'TemplateRenderingFailed',
  'OpenRelayTest',
  'InboundError',
]);

/**
 * One Postmark webhook post: `RecordType: "Bounce"` or `"SpamComplaint"` (a complaint); the
 * other record types (Delivery, Open, Click, SubscriptionChange) are ignored.
 */
export function parsePostmarkRecord(payload: unknown, ctx: ParseContext): ReportEvent[] {
  const { RecordType } = check('postmark', recordSchema, payload);
  if (RecordType !== 'Bounce' && RecordType !== 'SpamComplaint') return [];
  const r = check('postmark', bounceSchema, payload);
  const at = timeOf(r.BouncedAt);
  const reason = r.Details || r.Description;
  const message = messageOf(r, ctx);
  if (RecordType === 'SpamComplaint' || r.Type === 'SpamComplaint')
    return [toEvent('postmark', { type: 'complaint', email: r.Email, reason, at, message }, ctx.now)];
  if (IGNORED.has(r.Type)) return [];
  const bounce = HARD.has(r.Type) ? 'hard' : 'soft';
  return [toEvent('postmark', { type: 'bounce', email: r.Email, bounce, reason: reason ? `${r.Type}: ${reason}` : r.Type, at, message }, ctx.now)];
}

/**
 * Postmark reports its own MessageID. Ours can come back as metadata (an `X-PM-Metadata-*`
 * header set when sending) or in the bounce dump's quoted headers; any of these that verifies as
 * our token names the message, and nothing that does not verify can.
 */
function messageOf(r: z.output<typeof bounceSchema>, ctx: ParseContext): MessageRef | null {
  const candidates: unknown[] = [r.MessageID, ...Object.values(r.Metadata ?? {})];
  const dump = r.Content?.slice(0, 65_536) ?? '';
  for (const m of dump.matchAll(/^Message-ID:\s*(<[^>\r\n]+>)/gim)) candidates.push(m[1]);
  for (const c of candidates) {
    const ref = ctx.messageRef(c);
    if (ref) return ref;
  }
  return null;
}
