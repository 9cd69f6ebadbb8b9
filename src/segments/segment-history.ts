import { Injectable } from '@nestjs/common';
import type { Queryable } from '../database/queryable';
import { SegmentsRepository } from './segments.repository';

/** What segments keep about a person — their stays in each segment — for the audience's GDPR erase and export. */
@Injectable()
export class SegmentHistory {
  constructor(private readonly repository: SegmentsRepository) {}

  /** Erase: the stays go (the segments' counts are refreshed from the rules, not from history). */
  forget(q: Queryable, subscriberId: string): Promise<void> {
    return this.repository.forget(q, subscriberId);
  }

  /** Export: `segments`, every stay, newest first. */
  async export(subscriberId: string): Promise<Record<string, unknown>> {
    const rows = await this.repository.historyOf(subscriberId);
    return {
      segments: rows.map((r) => ({ segmentId: r.segment_id, name: r.name, enteredAt: r.entered_at.toISOString(), leftAt: r.left_at?.toISOString() ?? null })),
    };
  }
}
