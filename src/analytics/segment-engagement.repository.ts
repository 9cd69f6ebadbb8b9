import type { EngagementRule } from '../segments/rules';
import { aggregateMember, EngagementSql, since, SqlParams } from '../segments/segment-sql';

/** The moment of each engagement in `engagements` (one row per message), human-only or any. */
function column(rule: EngagementRule): string {
  switch (rule.engagement) {
    case 'opened':
      return rule.humanOnly ? 'human_opened_at' : 'opened_at';
    case 'clicked':
      return rule.humanOnly ? 'human_clicked_at' : 'clicked_at';
    case 'converted':
      return 'converted_at';
    case 'received':
      throw new Error('received is read from the messages campaigns keep');
  }
}

/** Analytics' part of segment rules: opens, clicks and conversions per message, and orders. */
export class SegmentEngagementSql implements EngagementSql {
  engaged(id: string, rule: EngagementRule, p: SqlParams): string {
    const at = column(rule);
    const campaign = rule.campaign ? ` AND campaign_id = ${p.add(rule.campaign, 'uuid')}` : '';
    return aggregateMember(id, `FROM engagements WHERE ${at} IS NOT NULL${campaign} AND ${since(at, rule.withinDays, p)}`, p, rule.count);
  }

  /** Every reported order is a purchase; one without a value counts with 0. */
  purchases(days: number | undefined, p: SqlParams): string {
    return `SELECT subscriber_id, order_id, at, COALESCE(value, 0) AS amount FROM conversions WHERE ${since('at', days, p)}`;
  }
}
