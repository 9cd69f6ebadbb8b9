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
