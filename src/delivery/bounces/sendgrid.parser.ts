import { z } from 'zod';
import type { ReportEvent } from '../../tracking/tracking-event';
import { check, emailField, ParseContext, Report, toEvent } from './webhook-event';

/** Every element of the posted array is an event; the other kinds (delivered, open, …) are not read further. */
const batchSchema = z.array(z.object({ event: z.string() }).passthrough());

const reportSchema = z.object({
  email: emailField,
  /** Unix seconds. */
  timestamp: z.coerce.number().optional(),
  'smtp-id': z.string().optional(),
  reason: z.string().optional(),
  status: z.string().optional(),
  type: z.string().optional(),
});

const READ = new Set(['bounce', 'dropped', 'spamreport']);

/**
 * The Event Webhook's JSON array. `bounce` with `type: "bounce"` is a hard bounce and with
 * `type: "blocked"` (the receiver refused this message, not the address) a soft one; `spamreport`
 * is a complaint. `dropped` means SendGrid did not even try: for "Bounced Address" and "Invalid"
 * the address is known bad (a hard bounce, which also keeps reach right: the message never
 * arrived); for "Spam Reporting Address" the recipient complained about an earlier message, so it
 * is a complaint for suppression without counting against this campaign; the other reasons
 * (unsubscribed in SendGrid, quota, spam content, SMTPAPI header) say nothing about the address.
 * Deferrals and engagement events are ignored. Our Message-ID comes back as `smtp-id`.
 */
export function parseSendgridEvents(payload: unknown, ctx: ParseContext): ReportEvent[] {
  const batch = check('sendgrid', batchSchema, payload);
  const events: ReportEvent[] = [];
  batch.forEach((raw, i) => {
    if (!READ.has(raw.event)) return;
    const e = check('sendgrid', reportSchema, raw, [i]);
    const kind = classify(raw.event, e);
    if (!kind) return;
    const report: Report = {
      ...kind,
      email: e.email,
      at: e.timestamp !== undefined && Number.isFinite(e.timestamp) ? e.timestamp * 1000 : null,
      message: kind.attributed ? ctx.messageRef(e['smtp-id']) : null,
    };
    events.push(toEvent('sendgrid', report, ctx.now));
  });
  return events;
}

type Kind = Pick<Report, 'type' | 'bounce' | 'reason'> & { attributed: boolean };

function classify(event: string, e: z.output<typeof reportSchema>): Kind | null {
  if (event === 'spamreport') return { type: 'complaint', reason: 'spam report', attributed: true };
  if (event === 'bounce') {
    // Older payloads may lack `type`: then the SMTP status class decides (4.x.x is temporary).
    const soft = e.type === 'blocked' || (e.type !== 'bounce' && e.status?.startsWith('4') === true);
    return { type: 'bounce', bounce: soft ? 'soft' : 'hard', reason: e.reason ?? e.status, attributed: true };
  }
  if (e.reason === 'Bounced Address' || e.reason === 'Invalid') return { type: 'bounce', bounce: 'hard', reason: `dropped: ${e.reason}`, attributed: true };
  if (e.reason === 'Spam Reporting Address') return { type: 'complaint', reason: `dropped: ${e.reason}`, attributed: false };
  return null;
}
