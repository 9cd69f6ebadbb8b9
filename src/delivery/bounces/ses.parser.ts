import { z } from 'zod';
import type { MessageRef } from '../../tracking/message-tokens';
import type { ReportEvent } from '../../tracking/tracking-event';
import { check, emailField, invalidPayload, ParseContext, timeOf, toEvent } from './webhook-event';

/**
 * What Amazon SNS posts to an HTTP(S) subscription: every field its signature covers. Unknown
 * fields are dropped, not refused — AWS adds fields to its envelopes over time.
 */
const envelopeSchema = z
  .object({
    Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
    MessageId: z.string().min(1),
    TopicArn: z.string().min(1),
    Subject: z.string().optional(),
    Message: z.string(),
    Timestamp: z.string().min(1),
    SignatureVersion: z.enum(['1', '2']),
    Signature: z.string().min(1),
    SigningCertURL: z.string().min(1),
    Token: z.string().min(1).optional(),
    SubscribeURL: z.string().min(1).optional(),
    UnsubscribeURL: z.string().optional(),
  })
  .superRefine((e, ctx) => {
    if (e.Type === 'Notification') return;
    for (const field of ['Token', 'SubscribeURL'] as const) {
      if (e[field] === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message: `Required in a ${e.Type}` });
    }
  });

export type SnsEnvelope = z.output<typeof envelopeSchema>;

export function parseSnsEnvelope(payload: unknown): SnsEnvelope {
  return check('ses', envelopeSchema, payload);
}

const mailSchema = z
  .object({
    headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
    commonHeaders: z.object({ messageId: z.string().optional() }).optional(),
  })
  .optional();

const bounceSchema = z.object({
  bounce: z.object({
    bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
    bounceSubType: z.string().optional(),
    bouncedRecipients: z.array(z.object({ emailAddress: emailField, diagnosticCode: z.string().optional(), status: z.string().optional() })).min(1),
    timestamp: z.string().optional(),
  }),
  mail: mailSchema,
});

const complaintSchema = z.object({
  complaint: z.object({
    complainedRecipients: z.array(z.object({ emailAddress: emailField })).min(1),
    complaintFeedbackType: z.string().optional(),
    complaintSubType: z.string().nullish(),
    timestamp: z.string().optional(),
  }),
  mail: mailSchema,
});

/**
 * An SES notification (the JSON text in an SNS Notification's `Message`), in either of SES's
 * formats: identity notifications (`notificationType`) and configuration-set event publishing
 * (`eventType`). Bounces and complaints become events; deliveries, sends, opens, clicks,
 * delays and SES's own "subscription succeeded" notice are ignored.
 */
export function parseSesNotification(text: string, ctx: ParseContext): ReportEvent[] {
  let n: unknown;
  try {
    n = JSON.parse(text);
  } catch {
    throw invalidPayload('ses', 'Message', 'is not JSON: not an SES notification');
  }
  const kind = typeof n === 'object' && n !== null ? ((n as Record<string, unknown>).notificationType ?? (n as Record<string, unknown>).eventType) : undefined;
  if (typeof kind !== 'string') throw invalidPayload('ses', 'Message.notificationType', 'Required (or eventType): not an SES notification');
  if (kind === 'Bounce') {
    const { bounce, mail } = check('ses', bounceSchema, n, ['Message']);
    const message = messageOf(mail, ctx);
    // Permanent: the address does not exist or refuses mail. Transient (full mailbox, greylisting,
    // content) and Undetermined (SES could not tell) may pass next time: soft, counted by the ingestor.
    const severity = bounce.bounceType === 'Permanent' ? 'hard' : 'soft';
    return bounce.bouncedRecipients.map((r) =>
      toEvent(
        'ses',
        {
          type: 'bounce',
          email: r.emailAddress,
          bounce: severity,
          reason: r.diagnosticCode ?? `${bounce.bounceType} ${bounce.bounceSubType ?? ''}`,
          at: timeOf(bounce.timestamp),
          message,
        },
        ctx.now,
      ),
    );
  }
  if (kind === 'Complaint') {
    const { complaint, mail } = check('ses', complaintSchema, n, ['Message']);
    const message = messageOf(mail, ctx);
    const reason = complaint.complaintFeedbackType ?? complaint.complaintSubType;
    return complaint.complainedRecipients.map((r) =>
      toEvent('ses', { type: 'complaint', email: r.emailAddress, reason, at: timeOf(complaint.timestamp), message }, ctx.now),
    );
  }
  return [];
}

/** Our Message-ID, from the parsed common headers or the raw header list, whichever holds it. */
function messageOf(mail: z.output<typeof mailSchema>, ctx: ParseContext): MessageRef | null {
  const quoted = [mail?.commonHeaders?.messageId, ...(mail?.headers ?? []).filter((h) => h.name.toLowerCase() === 'message-id').map((h) => h.value)];
  for (const id of quoted) {
    const ref = ctx.messageRef(id);
    if (ref) return ref;
  }
  return null;
}
