import type { EngagementRule } from '../segments/rules';
import { aggregateMember, DeliverySql, since, SqlParams } from '../segments/segment-sql';

/** Campaigns' part of segment rules: the mail a subscriber was sent. */
export class SegmentDeliverySql implements DeliverySql {
  /** Sent messages, one per campaign; one campaign's are served by messages (campaign_id, subscriber_id). */
  received(id: string, rule: EngagementRule, p: SqlParams): string {
    const campaign = rule.campaign ? ` AND campaign_id = ${p.add(rule.campaign, 'uuid')}` : '';
    return aggregateMember(id, `FROM messages WHERE status = 'sent'${campaign} AND ${since('sent_at', rule.withinDays, p)}`, p, rule.count);
  }
}
