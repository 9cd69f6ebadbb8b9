/** Every event type an endpoint may subscribe to. `journey.completed` is accepted, though nothing produces it yet. */
export const WEBHOOK_EVENT_TYPES = [
  'subscriber.created',
  'subscription.confirmed',
  'subscription.unsubscribed',
  'message.bounced',
  'message.complained',
  'message.opened',
  'message.clicked',
  'conversion.created',
  'journey.completed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(value);
}

/** `email` is left out where the subscriber has been erased (null address). */
interface OfSubscriber {
  subscriberId: string;
  email?: string;
}

/** The `data` of each event type: what a receiver may rely on. */
export interface WebhookData {
  'subscriber.created': OfSubscriber & { source: 'api' | 'import' | 'form' | 'identify' };
  'subscription.confirmed': OfSubscriber & { listId: string };
  'subscription.unsubscribed': OfSubscriber & { listId: string };
  'message.bounced': { campaignId: string | null; subscriberId: string | null; email?: string; bounce: 'hard' | 'soft'; reason?: string };
  'message.complained': { campaignId: string | null; subscriberId: string | null; email?: string };
  'message.opened': { campaignId: string; subscriberId: string; agent: string };
  'message.clicked': { campaignId: string; subscriberId: string; agent: string; link: number };
  'conversion.created': { campaignId: string; subscriberId: string; orderId: string; value: number | null; currency: string | null; attributed: boolean };
  'journey.completed': { journeyId: string; subscriberId: string };
}

/** One event to record: its data and when it happened (default: now). */
export interface WebhookEventInput<T extends WebhookEventType> {
  data: WebhookData[T];
  at?: Date | number;
}
