import type { WebhookEventInput } from '../../webhooks/webhook-events';
import type { ClickEvent, OpenEvent, TrackingEvent } from '../../tracking/tracking-event';
import type { Engagement } from './engagement';

/**
 * The webhook events of a batch's engagement changes: a message's first open and its first click
 * (by anyone or anything — the agent says which), each once, as the engagement row decides it.
 */
export function firstEngagements() {
  const opened: WebhookEventInput<'message.opened'>[] = [];
  const clicked: WebhookEventInput<'message.clicked'>[] = [];
  return {
    opened,
    clicked,
    note(before: Engagement, after: Engagement, events: TrackingEvent[]): void {
      if (before.openedAt === null && after.openedAt !== null) {
        const e = events.find((x): x is OpenEvent | ClickEvent => (x.type === 'open' || x.type === 'click') && x.at === after.openedAt);
        if (e) opened.push({ at: e.at, data: { campaignId: e.campaignId, subscriberId: e.subscriberId, agent: e.agent ?? 'human' } });
      }
      if (before.clickedAt === null && after.clickedAt !== null) {
        const e = events.find((x): x is ClickEvent => x.type === 'click' && x.at === after.clickedAt);
        if (e) clicked.push({ at: e.at, data: { campaignId: e.campaignId, subscriberId: e.subscriberId, agent: e.agent ?? 'human', link: e.slot ?? 0 } });
      }
    },
  };
}
