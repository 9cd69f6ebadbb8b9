import { Injectable } from '@nestjs/common';
import type { Queryable } from '../database/queryable';
import { AudienceResolver } from './audience-resolver';
import { CampaignsRepository, CampaignStatus } from './campaigns.repository';
import { ClaimedMessage, MessagesRepository, SendOutcome } from './messages.repository';

export type { ClaimedMessage, SendOutcome };

/**
 * A campaign's messages as the sending side works them: claim due ones, re-check permission,
 * record outcomes, hand back what a run still holds, and complete the campaign when nothing is left.
 */
@Injectable()
export class CampaignSends {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly messages: MessagesRepository,
    private readonly resolver: AudienceResolver,
  ) {}

  status(campaignId: string): Promise<CampaignStatus | undefined> {
    return this.campaigns.status(campaignId);
  }

  claim(campaignId: string, run: string, limit: number): Promise<ClaimedMessage[]> {
    return this.messages.claim(campaignId, run, limit);
  }

  markSubmitting(messageIds: string[], run: string, lists: string[]): Promise<string[]> {
    return this.resolver.recheck(messageIds, run, lists);
  }

  release(messageIds: string[], run: string, to: 'queued' | 'cancelled'): Promise<void> {
    return this.messages.release(messageIds, run, to);
  }

  record(q: Queryable, outcomes: SendOutcome[], run: string, sentBy: string): Promise<void> {
    return this.messages.record(q, outcomes, run, sentBy);
  }

  handBack(run: string, handed: string[]): Promise<number> {
    return this.messages.handBack(run, handed);
  }

  claimTokens(): Promise<string[]> {
    return this.messages.claimTokens();
  }

  reclaim(tokens: string[]): Promise<number> {
    return this.messages.reclaim(tokens);
  }

  nextDue(campaignId: string): Promise<{ at: Date | null; busy: boolean }> {
    return this.messages.nextDue(campaignId);
  }

  complete(campaignId: string): Promise<boolean> {
    return this.campaigns.complete(campaignId);
  }

  /** After a run stopped: a cancelled campaign whose last messages it held keeps its counts. */
  keepCancelledCounts(campaignId: string): Promise<void> {
    return this.campaigns.keepCancelledCounts(campaignId);
  }
}
