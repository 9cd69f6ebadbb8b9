import type { EventRule } from '../segments/rules';
import { aggregateMember, compare, EventSql, jsonReadings, since, SqlParams } from '../segments/segment-sql';

const AMOUNT = `COALESCE(segment_number(properties -> 'revenue'), segment_number(properties -> 'value'))`;

/** Customer events' part of segment rules: track events of linked subscribers, and purchases among them. */
export class SegmentEventSql implements EventSql {
  /** Served by customer_events (subscriber_id, event, at). */
  occurred(id: string, rule: EventRule, p: SqlParams): string {
    const filters = rule.where.map((f) => ` AND ${compare(jsonReadings(`properties -> ${p.add(f.property, 'text')}`), f.test, p)}`).join('');
    const rows = `FROM customer_events WHERE subscriber_id IS NOT NULL AND type = 'track' AND event = ${p.add(rule.event, 'text')} AND ${since('at', rule.withinDays, p)}${filters}`;
    const sum = rule.sum && { expr: `segment_number(properties -> ${p.add(rule.sum.property, 'text')})`, gte: rule.sum.gte, lte: rule.sum.lte };
    return aggregateMember(id, rows, p, rule.count, sum);
  }

  /** Track events named as purchases that carry a revenue (or else a value) that is a number. */
  purchases(names: string[], days: number | undefined, p: SqlParams): string {
    return `SELECT subscriber_id, properties ->> 'order_id' AS order_id, at, ${AMOUNT} AS amount FROM customer_events
            WHERE subscriber_id IS NOT NULL AND type = 'track' AND event = ANY(${p.add(names, 'text[]')}) AND ${since('at', days, p)} AND ${AMOUNT} IS NOT NULL`;
  }
}
