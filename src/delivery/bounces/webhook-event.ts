import { z } from 'zod';
import { normalizeEmail } from '../../common/email';
import { AppError, ErrorDetail } from '../../common/errors';
import type { MessageRef, MessageTokens } from '../../tracking/message-tokens';
import type { ReportEvent } from '../../tracking/tracking-event';

/** The providers with a bounce webhook, as named in its URL. */
export const PROVIDERS = ['ses', 'sendgrid', 'postmark', 'generic'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** A provider's diagnostic is kept, but not without bound: some quote the whole remote SMTP dialogue. */
const MAX_REASON = 500;

/** What a parser needs from outside: the time of the request and the Message-ID check. */
export interface ParseContext {
  now: number;
  /** The message a quoted Message-ID names, when it is one of ours (its local part is a valid token). */
  messageRef(messageId: unknown): MessageRef | null;
}

export function parseContext(tokens: MessageTokens, now = Date.now()): ParseContext {
  return {
    now,
    messageRef: (messageId) => {
      if (typeof messageId !== 'string') return null;
      // `<TOKEN@domain>`, with or without the brackets; a token is base64url and one dot.
      const m = /^\s*<?([A-Za-z0-9_.-]{1,200})@[^<>\s@]+>?\s*$/.exec(messageId);
      return m ? tokens.verify('message-id', m[1]) : null;
    },
  };
}

/** One bounce or complaint as a provider reported it, before it is tied to a message. */
export interface Report {
  type: 'bounce' | 'complaint';
  /** Already lower-cased and checked. */
  email: string;
  bounce?: 'hard' | 'soft';
  reason?: string | null;
  /** The provider's event time (epoch ms), when it gave one that parses. */
  at?: number | null;
  /** The message it is about, when the payload quotes one of our Message-IDs. */
  message: MessageRef | null;
}

export function toEvent(provider: Provider, r: Report, now: number): ReportEvent {
  const reason = r.reason?.trim();
  const common = {
    at: r.at != null && Number.isFinite(r.at) ? r.at : now,
    campaignId: r.message?.campaignId ?? null,
    subscriberId: r.message?.subscriberId ?? null,
    email: r.email,
  };
  const said = reason ? { reason: reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason } : {};
  return r.type === 'bounce'
    ? { type: 'bounce', ...common, bounce: r.bounce ?? 'soft', ...said, provider }
    : { type: 'complaint', ...common, ...said, provider };
}

/** A reported address, lower-cased; one that could never have been a recipient is a malformed payload. */
export const emailField = z.string().transform((value, ctx) => {
  const email = normalizeEmail(value);
  if (email) return email;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a valid e-mail address' });
  return z.NEVER;
});

/** An ISO time (or any Date.parse-able one) as epoch ms, null when absent or unreadable. */
export function timeOf(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

/**
 * Checks a value against a schema and returns it typed, or throws a 400 whose details name every
 * wrong field by its path in the payload (`events[2].email`, `Message.bounce.bounceType`).
 */
export function check<S extends z.ZodTypeAny>(provider: Provider, schema: S, value: unknown, at: (string | number)[] = []): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as z.output<S>;
  const details: ErrorDetail[] = parsed.error.issues.map((i) => ({ field: fieldPath([...at, ...i.path]) || 'body', message: i.message }));
  throw new AppError('invalid_input', `not a ${provider} webhook payload: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, details);
}

export function invalidPayload(provider: Provider, field: string, message: string): AppError {
  return new AppError('invalid_input', `not a ${provider} webhook payload: ${field}: ${message}`, [{ field, message }]);
}

export function fieldPath(path: (string | number)[]): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}
