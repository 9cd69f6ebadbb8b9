/**
 * Who uses a segment: campaigns name segments in their audiences, journeys in their triggers and
 * branches. Each provides a SegmentUsers, and the composition root gathers them under SEGMENT_USERS
 * (a global provider, an array), so that a segment in use is not deleted without segments
 * depending on either.
 */
export const SEGMENT_USERS = Symbol('SEGMENT_USERS');

export interface SegmentUsers {
  /** Descriptions such as `campaign "Spring sale" (id)` of what still needs the segment. */
  using(segmentId: string): Promise<string[]>;
}
