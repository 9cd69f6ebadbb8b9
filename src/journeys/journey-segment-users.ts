import { Injectable } from '@nestjs/common';
import type { SegmentUsers } from '../segments/segment-users';
import { JourneysRepository } from './journeys.repository';

/** Journeys not archived whose draft or a version names a segment: it cannot be deleted. */
@Injectable()
export class JourneySegmentUsers implements SegmentUsers {
  constructor(private readonly journeys: JourneysRepository) {}

  async using(segmentId: string): Promise<string[]> {
    return (await this.journeys.usingSegment(segmentId)).map((j) => `journey "${j.name}" (${j.id})`);
  }
}
