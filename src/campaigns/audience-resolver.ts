import { Injectable } from '@nestjs/common';
import { SegmentsService } from '../segments/segments.service';
import type { Audience } from './campaigns.repository';
import { MessagesRepository } from './messages.repository';

/** Postgres runs an INSERT … SELECT on one core: ranges of the subscriber ids resolve side by side. */
const RESOLVE_PARTITIONS = 2;

/** The lowest uuid of part k of n equal ranges of the uuid space. */
function bound(k: number, n: number): string {
  const head = Math.floor((k * 0x1_0000_0000) / n)
    .toString(16)
    .padStart(8, '0');
  return `${head}-0000-0000-0000-000000000000`;
}

/**
 * Who a campaign's mail may go to, in one place: the audience's published recipients of the chosen
 * lists (confirmed, with an address, not suppressed), frozen into messages when sending starts, and
 * asked again for each chunk just before SMTP. A segment compiler narrows both the same way.
 */
@Injectable()
export class AudienceResolver {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly segments: SegmentsService,
  ) {}

  /**
   * One set-based statement per range of subscriber ids, side by side on their own connections.
   * A crash between them is harmless: a rerun fills in what is missing. The segments narrow the
   * lists' recipients as they are at this moment: the audience is frozen when sending starts.
   * Returns how many messages the campaign has, when that is known without counting them.
   */
  async freeze(campaignId: string, audience: Audience): Promise<{ total: number | null }> {
    const parts = RESOLVE_PARTITIONS;
    const narrowing = await this.segments.narrowing(audience.segmentId ?? null, audience.excludeSegmentIds ?? []);
    const rerun = await this.messages.any(campaignId);
    const added = await Promise.all(
      Array.from({ length: parts }, (_, k) =>
        this.messages.freeze(campaignId, audience.lists, bound(k, parts), k + 1 < parts ? bound(k + 1, parts) : null, narrowing),
      ),
    );
    // The first run added every message; after a stopped one, what it added is only part of them.
    return { total: rerun ? null : added.reduce((a, b) => a + b, 0) };
  }

  /** The claimed messages of a run that may still be sent: they become `submitting`, the others `skipped`. */
  recheck(messageIds: string[], run: string, lists: string[]): Promise<string[]> {
    return this.messages.markSubmitting(messageIds, run, lists);
  }
}
