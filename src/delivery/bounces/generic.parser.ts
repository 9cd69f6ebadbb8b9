import { z } from 'zod';
import type { ReportEvent } from '../../tracking/tracking-event';
import { check, emailField, ParseContext, timeOf, toEvent } from './webhook-event';

/**
 * Our own shape, for any other sender (a bounce-processing mailbox, an MTA's hook, a script):
 * `{"events": [{"type": "bounce" | "complaint", "email", "bounceType": "hard" | "soft",
 * "messageId"?, "at"?, "reason"?}]}`. Strict like every other body of the API: unknown fields are
 * refused, so a misspelt `bounceType` is an error rather than a silently soft bounce.
 */
const eventSchema = z
  .object({
    type: z.enum(['bounce', 'complaint']),
    email: emailField,
    bounceType: z.enum(['hard', 'soft']).optional(),
    messageId: z.string().max(998).optional(),
    at: z.string().datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-01-31T12:00:00Z' }).optional(),
    reason: z.string().optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.type === 'bounce' && !e.bounceType)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bounceType'], message: 'Required for a bounce: hard or soft' });
  });

const payloadSchema = z.object({ events: z.array(eventSchema).max(10_000) }).strict();

export function parseGenericEvents(payload: unknown, ctx: ParseContext): ReportEvent[] {
  const { events } = check('generic', payloadSchema, payload);
  return events.map((e) =>
    toEvent(
      'generic',
      {
        type: e.type,
        email: e.email,
        bounce: e.type === 'bounce' ? e.bounceType : undefined,
        reason: e.reason,
        at: timeOf(e.at),
        message: ctx.messageRef(e.messageId),
      },
      ctx.now,
    ),
  );
}
