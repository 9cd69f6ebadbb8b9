import { randomUUID } from 'node:crypto';
import { normalizeEmail } from '../common/email';
import type { ErrorDetail } from '../common/errors';
import { ATTRIBUTE_LIMITS, jsonProblem } from '../common/validation';

/** Segment's own limits: what its libraries split their batches by, so a client never meets ours first. */
export const SEGMENT_LIMITS = { requestBytes: 500 * 1024, eventBytes: 32 * 1024 };

/** Event names that Segment's page and screen calls are stored under (as track events). */
export const PAGE_VIEWED = 'Page Viewed';
export const SCREEN_VIEWED = 'Screen Viewed';

interface Envelope {
  /** At least one of userId and anonymousId is set. */
  userId: string | null;
  anonymousId: string | null;
  /** The client's, or one made here: a message without one cannot be recognised when retried. */
  messageId: string;
  /** When it happened; null: when it was received. */
  at: Date | null;
  context: Record<string, unknown> | null;
}

export interface IdentifyMessage extends Envelope {
  type: 'identify';
  traits: Record<string, unknown>;
  /** `traits.email`, normalised: the address the userId belongs to. */
  email: string | null;
}

export interface TrackMessage extends Envelope {
  type: 'track';
  event: string;
  properties: Record<string, unknown>;
}

export type CustomerMessage = IdentifyMessage | TrackMessage;

/** A message to store, one to accept without storing (group, alias), or what is wrong with it. */
export type Parsed = { kind: 'message'; message: CustomerMessage } | { kind: 'ignored' } | { kind: 'refused'; problems: ErrorDetail[] };

type Kind = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';
const KINDS: readonly string[] = ['identify', 'track', 'page', 'screen', 'group', 'alias'] satisfies Kind[];
const MAX_ID = 256;
const MAX_EVENT_NAME = 1000;
/** ISO 8601 date-time, as JSON.stringify writes a Date (an offset or Z; fractions optional), or a date. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/i;
const EARLIEST = Date.UTC(1000, 0, 1);

/**
 * One Segment message, checked: `kind` is the route's (`/v1/identify`, `/v1/track`) or, in a
 * batch, null (the message's own `type` decides). `at` names the message in errors: '' for a
 * route's body, `batch[3]` in a batch. Fields Segment's libraries add (`integrations`,
 * `_metadata`, `sentAt`, `writeKey`, `options`, …) are accepted and not kept; `context` is kept.
 * `batchContext` is a batch's top-level context, under each message's own.
 */
export function parseMessage(raw: unknown, kind: 'identify' | 'track' | null, at: string, batchContext: Record<string, unknown> | null = null): Parsed {
  const field = (name: string): string => (at ? `${at}.${name}` : name);
  const whole = at || 'body';
  if (!isObject(raw)) return refused(whole, 'must be an object (a Segment message)');
  const size = Buffer.byteLength(JSON.stringify(raw));
  if (size > SEGMENT_LIMITS.eventBytes) return refused(whole, `is ${Math.ceil(size / 1024)} KB: a message may have at most 32 KB`);

  const type = kind ?? raw.type;
  if (typeof type !== 'string' || !KINDS.includes(type))
    return refused(field('type'), 'must be identify, track, page or screen (group and alias are accepted and not stored)');
  if (type === 'group' || type === 'alias') return { kind: 'ignored' };

  const problems: ErrorDetail[] = [];
  const problem = (name: string, message: string): null => {
    problems.push({ field: field(name), message });
    return null;
  };
  const userId = identifier(raw.userId, () => problem('userId', `must be a string of at most ${MAX_ID} characters`));
  const anonymousId = identifier(raw.anonymousId, () => problem('anonymousId', `must be a string of at most ${MAX_ID} characters`));
  if (userId === null && anonymousId === null && !problems.length) problem('userId', 'give userId or anonymousId');
  const messageId =
    raw.messageId == null ? randomUUID() : identifier(raw.messageId, () => problem('messageId', `must be a string of at most ${MAX_ID} characters`));
  const time = timestamp(raw.timestamp, () => problem('timestamp', 'must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z'));
  const own = object(raw.context, () => problem('context', 'must be an object'));
  const context = batchContext || own ? { ...batchContext, ...own } : null;
  const envelope = { userId, anonymousId, messageId: messageId ?? '', at: time, context };

  let message: CustomerMessage | null = null;
  if (type === 'identify') {
    const traits = object(raw.traits, () => problem('traits', 'must be an object')) ?? {};
    const deep = jsonProblem(traits, ATTRIBUTE_LIMITS);
    if (deep) problem('traits', deep);
    const email = traits.email == null || traits.email === '' ? null : normalizeEmail(traits.email);
    if (email === null && traits.email != null && traits.email !== '') problem('traits.email', 'must be a valid e-mail address');
    message = { type, ...envelope, traits, email };
  } else {
    const properties = object(raw.properties, () => problem('properties', 'must be an object')) ?? {};
    const event = type === 'track' ? raw.event : type === 'page' ? PAGE_VIEWED : SCREEN_VIEWED;
    if (typeof event !== 'string' || !event.trim() || event.length > MAX_EVENT_NAME) {
      problem('event', `must be the event's name: a string of 1 to ${MAX_EVENT_NAME} characters`);
    } else {
      // A page or screen call's name and category, as Segment's destinations read them.
      const named = type === 'track' ? {} : pick(raw, ['name', 'category']);
      message = { type: 'track', ...envelope, event, properties: { ...named, ...properties } };
    }
  }
  return problems.length || !message ? { kind: 'refused', problems } : { kind: 'message', message };
}

function refused(field: string, message: string): Parsed {
  return { kind: 'refused', problems: [{ field, message }] };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Absent (undefined, null, ''): null. Segment's libraries send numbers as ids too; they are kept as text. */
function identifier(v: unknown, bad: () => null): string | null {
  if (v == null || v === '') return null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.length > MAX_ID) return bad();
  return v;
}

/** From year 1000 on (Postgres has no year 0); a time without an offset is UTC, whatever the server's zone. */
function timestamp(v: unknown, bad: () => null): Date | null {
  if (v == null || v === '') return null;
  const m = typeof v === 'string' ? ISO_TIME.exec(v) : null;
  if (!m) return bad();
  const ms = Date.parse(m[1] && !m[4] ? `${m[0]}Z` : m[0]);
  return Number.isNaN(ms) || ms < EARLIEST ? bad() : new Date(ms);
}

function object(v: unknown, bad: () => null): Record<string, unknown> | null {
  if (v == null) return null;
  return isObject(v) ? v : bad();
}

function pick(raw: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => typeof raw[k] === 'string').map((k) => [k, raw[k]]));
}
