import { Injectable } from '@nestjs/common';
import type { SegmentUsers } from '../segments/segment-users';
import { CampaignsRepository } from './campaigns.repository';

/** Campaigns not finished whose audience names a segment: while they run it cannot be deleted. */
@Injectable()
export class CampaignSegmentUsers implements SegmentUsers {
  constructor(private readonly campaigns: CampaignsRepository) {}

  async using(segmentId: string): Promise<string[]> {
    return (await this.campaigns.usingSegment(segmentId)).map((r) => `campaign "${r.name}" (${r.id})`);
  }
}
