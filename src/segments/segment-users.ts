/**
 * Who uses a segment: campaigns (and later journeys) name segments in their audiences. Campaigns
 * provide this (a global provider), so that a segment in use is not deleted without segments
 * depending on campaigns.
 */
export const SEGMENT_USERS = Symbol('SEGMENT_USERS');

export interface SegmentUsers {
  /** Descriptions such as `campaign "Spring sale" (id)` of what still needs the segment. */
  using(segmentId: string): Promise<string[]>;
}
