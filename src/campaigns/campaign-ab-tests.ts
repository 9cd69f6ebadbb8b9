import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CampaignsRepository } from './campaigns.repository';
import { MessagesRepository } from './messages.repository';
import type { AbBasis, AbState } from './variants';

/** What the A/B tests ask of campaigns: which tests run, where each stands, and the winner given to the rest. */
@Injectable()
export class CampaignAbTests {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly campaigns: CampaignsRepository,
    private readonly messages: MessagesRepository,
  ) {}

  /**
   * The A/B test's outcome, if it is still in one of `from`: with a winner, the rest of the audience
   * gets it and joins the queue in the same transaction; without (inconclusive), the rest stays
   * held. False when a concurrent look or decision got there first.
   */
  concludeAbTest(id: string, from: AbState[], d: { winner: number | null; basis: AbBasis | null; reason: string }): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (!(await this.campaigns.decideAbTest(tx, id, from, d))) return false;
      if (d.winner !== null) await this.messages.releaseHeld(tx, id, d.winner);
      return true;
    });
  }

  /** While the A/B test runs: where it stands after the latest look. */
  noteAbTest(id: string, reason: string): Promise<void> {
    return this.campaigns.noteAbTest(id, reason);
  }

  /** Campaigns whose A/B test is running. */
  async testing(): Promise<string[]> {
    return (await this.campaigns.testing()).map((r) => r.id);
  }
}
