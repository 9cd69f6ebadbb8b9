/** What a recipient (or a machine acting for one) did. */
export type EventType = 'open' | 'click' | 'conversion' | 'unsubscribe' | 'bounce' | 'complaint';

/** Who fetched a pixel or followed a link. Only `human` counts toward the open and click rates. */
export type Agent = 'human' | 'apple_proxy' | 'google_proxy' | 'scanner' | 'prefetch';

/**
 * One event as the HTTP side hands it to the buffer. Everything the ingestor needs is here, so
 * a public endpoint answers without reading Postgres.
 */
export interface TrackingEvent {
  type: EventType;
  /** When the platform received it (epoch ms). */
  at: number;
  /** The message it belongs to; null for a bounce or complaint that names only an address. */
  campaignId: string | null;
  subscriberId: string | null;
  /** Open and click. */
  agent?: Agent;
  ip?: string;
  userAgent?: string;
  /** Click: the campaign's link slot. */
  slot?: number;
  /** Conversion. */
  orderId?: string;
  value?: number;
  currency?: string;
  /** Conversion: when the click that carried the conversion token happened (epoch ms). */
  clickedAt?: number;
  /** Bounce and complaint: the address the provider reported, and what it said. */
  email?: string;
  bounce?: 'hard' | 'soft';
  reason?: string;
  provider?: string;
}

/**
 * An event as the buffer stores it: JSON. Opens and clicks, nearly every event there is, are
 * written field by field — JSON.stringify of the object costs about three times as much — with
 * only their free-text fields (address, user agent) through JSON.stringify; the rest are ids and
 * numbers the platform made. Every other event is JSON.stringify'd.
 */
export function encodeEvent(e: TrackingEvent): string {
  const { type, campaignId, subscriberId, agent, ip, userAgent } = e;
  const engagement = type === 'open' || (type === 'click' && Number.isInteger(e.slot));
  if (!engagement || !campaignId || !subscriberId || !agent || typeof ip !== 'string' || typeof userAgent !== 'string') return JSON.stringify(e);
  const slot = type === 'click' ? `,"slot":${e.slot}` : '';
  return `{"type":"${type}","at":${e.at},"campaignId":"${campaignId}","subscriberId":"${subscriberId}"${slot},"agent":"${agent}","ip":${JSON.stringify(ip)},"userAgent":${JSON.stringify(userAgent)}}`;
}
