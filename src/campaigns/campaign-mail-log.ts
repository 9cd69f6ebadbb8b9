import { Injectable } from '@nestjs/common';
import { MessagesRepository } from './messages.repository';

/** Who got which campaign mail: its list (for the audience's pages) and when (the frequency cap that journeys keep across campaigns and journeys). */
@Injectable()
export class CampaignMailLog {
  constructor(private readonly messages: MessagesRepository) {}

  /** The list a campaign mail went out for (its unsubscribe and preference pages). */
  listOf(campaignId: string, subscriberId: string): Promise<string | undefined> {
    return this.messages.listOf(campaignId, subscriberId);
  }

  sentSince(subscriberIds: string[], since: Date): Promise<{ subscriber_id: string; at: Date }[]> {
    return subscriberIds.length ? this.messages.sentSince(subscriberIds, since) : Promise.resolve([]);
  }
}
