/** What a recipient (or a machine acting for one) did. */
export type EventType = 'open' | 'click' | 'conversion' | 'unsubscribe' | 'bounce' | 'complaint';

/** Who fetched a pixel or followed a link. Only `human` counts toward the open and click rates. */
export type Agent = 'human' | 'apple_proxy' | 'google_proxy' | 'scanner' | 'prefetch';

/** The message an open, click, conversion or unsubscribe belongs to. */
interface OfMessage {
  /** When the platform received it (epoch ms). */
  at: number;
  campaignId: string;
  subscriberId: string;
  /** The request's, kept with the raw event (GDPR export shows them; an erase blanks them). */
  ip?: string;
  userAgent?: string;
}

export interface OpenEvent extends OfMessage {
  type: 'open';
  agent: Agent;
}

export interface ClickEvent extends OfMessage {
  type: 'click';
  agent: Agent;
  /** The campaign's link slot. */
  slot: number;
}

export interface ConversionEvent extends OfMessage {
  type: 'conversion';
  orderId: string;
  value?: number;
  currency?: string;
  /** When the click that carried the conversion token happened (epoch ms). */
  clickedAt?: number;
}

export interface UnsubscribeEvent extends OfMessage {
  type: 'unsubscribe';
}

/** A provider's report: it names the message when it quoted our Message-ID, else only the address. */
interface Report {
  at: number;
  campaignId: string | null;
  subscriberId: string | null;
  /** The address the provider reported. */
  email?: string;
  /** What the provider said. */
  reason?: string;
  provider?: string;
}

export interface BounceEvent extends Report {
  type: 'bounce';
  bounce: 'hard' | 'soft';
}

export interface ComplaintEvent extends Report {
  type: 'complaint';
}

/**
 * One event as the HTTP side hands it to the buffer: everything the ingestor needs is here, so a
 * public endpoint answers without reading Postgres. One type per kind; `parseTrackingEvent` is the
 * one check of what comes back out of the buffer.
 */
export type TrackingEvent = OpenEvent | ClickEvent | ConversionEvent | UnsubscribeEvent | BounceEvent | ComplaintEvent;

/** What mail providers report (bounce webhooks). */
export type ReportEvent = BounceEvent | ComplaintEvent;

/** The latest epoch ms a Date can hold, and the earliest a timestamptz can (4713 BC). */
const MAX_TIME = 8.64e15;
const MIN_TIME = -210_866_803_200_000;
const INT4_MAX = 2 ** 31 - 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AGENTS: readonly unknown[] = ['human', 'apple_proxy', 'google_proxy', 'scanner', 'prefetch'] satisfies Agent[];

/**
 * A buffered event, if it is one the ingestor can store; null otherwise. The buffer is written only
 * by this platform, but a stream can be written by anyone with Redis access — and a value Postgres
 * refuses (a NUL byte, a time before 4713 BC, a slot outside int4) would fail its whole batch.
 */
export function parseTrackingEvent(value: unknown): TrackingEvent | null {
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Record<string, unknown>;
  if (typeof e.at !== 'number' || !(e.at >= MIN_TIME && e.at <= MAX_TIME)) return null;
  if (!optionalText(e.ip) || !optionalText(e.userAgent)) return null;
  switch (e.type) {
    case 'open':
      return ofMessage(e) && AGENTS.includes(e.agent) ? (value as OpenEvent) : null;
    case 'click':
      return ofMessage(e) && AGENTS.includes(e.agent) && isInt4(e.slot) ? (value as ClickEvent) : null;
    case 'conversion':
      return ofMessage(e) &&
        typeof e.orderId === 'string' &&
        text(e.orderId) &&
        optionalNumber(e.value) &&
        optionalText(e.currency) &&
        optionalNumber(e.clickedAt)
        ? (value as ConversionEvent)
        : null;
    case 'unsubscribe':
      return ofMessage(e) ? (value as UnsubscribeEvent) : null;
    case 'bounce':
      return report(e) && (e.bounce === 'hard' || e.bounce === 'soft') ? (value as BounceEvent) : null;
    case 'complaint':
      return report(e) ? (value as ComplaintEvent) : null;
    default:
      return null;
  }
}

function ofMessage(e: Record<string, unknown>): boolean {
  return typeof e.campaignId === 'string' && UUID.test(e.campaignId) && typeof e.subscriberId === 'string' && UUID.test(e.subscriberId);
}

/** A message (both ids) or only an address; and text Postgres can store. */
function report(e: Record<string, unknown>): boolean {
  const named = e.campaignId !== null && e.campaignId !== undefined;
  if (named ? !ofMessage(e) : e.subscriberId !== null && e.subscriberId !== undefined) return false;
  if (!named && (typeof e.email !== 'string' || !e.email)) return false;
  return optionalText(e.email) && optionalText(e.reason) && optionalText(e.provider);
}

function isInt4(v: unknown): boolean {
  return Number.isInteger(v) && Math.abs(v as number) <= INT4_MAX;
}

function optionalNumber(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'number' && Number.isFinite(v));
}

/** Text Postgres can store: a NUL byte is refused by text and jsonb alike. */
function text(v: string): boolean {
  return !v.includes('\u0000');
}

function optionalText(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && text(v));
}

/**
 * An event as the buffer stores it: JSON. Opens and clicks, nearly every event there is, are
 * written field by field — JSON.stringify of the object costs about three times as much — with
 * only their free-text fields (address, user agent) through JSON.stringify; the rest are ids and
 * numbers the platform made. Every other event is JSON.stringify'd.
 */
export function encodeEvent(e: TrackingEvent): string {
  if (e.type !== 'open' && e.type !== 'click') return JSON.stringify(e);
  const { type, campaignId, subscriberId, agent, ip, userAgent } = e;
  if (typeof ip !== 'string' || typeof userAgent !== 'string' || (type === 'click' && !Number.isInteger(e.slot))) return JSON.stringify(e);
  const slot = type === 'click' ? `,"slot":${e.slot}` : '';
  return `{"type":"${type}","at":${e.at},"campaignId":"${campaignId}","subscriberId":"${subscriberId}"${slot},"agent":"${agent}","ip":${JSON.stringify(ip)},"userAgent":${JSON.stringify(userAgent)}}`;
}
