import type { Comparison, CountRange, EngagementRule, EventRule, FieldRule, ListRule } from './rules';
import { isoInstant } from './rules';

/**
 * The values of a statement being built: each value becomes `$n` with its type, so no client text
 * ever becomes SQL. A caller with parameters of its own starts the list with them.
 */
export class SqlParams {
  constructor(readonly values: unknown[] = []) {}

  add(value: unknown, type: 'text' | 'numeric' | 'timestamptz' | 'uuid' | 'integer' | 'text[]' | 'numeric[]' | 'uuid[]'): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/**
 * How a stored value can be read by a comparison: as text, a number and an instant (SQL
 * expressions that are NULL when the value cannot be read that way), and whether it is there.
 */
export interface Readings {
  text: string;
  number: string;
  time: string;
  exists: string;
}

/** A jsonb value (an attribute, an event property) read through the segment_* functions. */
export function jsonReadings(json: string): Readings {
  return {
    text: `segment_text(${json})`,
    number: `segment_number(${json})`,
    time: `segment_time(${json})`,
    exists: `COALESCE(jsonb_typeof(${json}) <> 'null', false)`,
  };
}

/** A comparison as a boolean that is never NULL, so that `not` is its exact complement. */
export function compare(v: Readings, c: Comparison, p: SqlParams): string {
  const sure = (sql: string) => `COALESCE(${sql}, false)`;
  switch (c.op) {
    case 'exists':
      return v.exists;
    case 'eq':
    case 'neq': {
      const eq = c.type === 'number' ? sure(`${v.number} = ${p.add(c.value, 'numeric')}`) : sure(`${v.text} = ${p.add(String(c.value), 'text')}`);
      return c.op === 'eq' ? eq : `NOT ${eq}`;
    }
    case 'in':
    case 'nin': {
      const inn = c.type === 'number' ? sure(`${v.number} = ANY(${p.add(c.values, 'numeric[]')})`) : sure(`${v.text} = ANY(${p.add(c.values, 'text[]')})`);
      return c.op === 'in' ? inn : `NOT ${inn}`;
    }
    case 'contains':
      return sure(`strpos(lower(${v.text}), lower(${p.add(c.value, 'text')})) > 0`);
    case 'startsWith':
      return sure(`starts_with(lower(${v.text}), lower(${p.add(c.value, 'text')}))`);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const sign = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[c.op];
      return sure(`${operand(v, c.type)} ${sign} ${value(c.type, c.value, p)}`);
    }
    case 'between':
      return sure(`${operand(v, c.type)} BETWEEN ${value(c.type, c.low, p)} AND ${value(c.type, c.high, p)}`);
    case 'before':
      return sure(`${v.time} < ${value('date', c.value, p)}`);
    case 'after':
      return sure(`${v.time} > ${value('date', c.value, p)}`);
    case 'withinLastDays':
      return sure(`${v.time} BETWEEN now() - ${p.add(c.days, 'numeric')} * interval '1 day' AND now()`);
  }
}

function operand(v: Readings, type: 'number' | 'date'): string {
  return type === 'number' ? v.number : v.time;
}

function value(type: 'number' | 'date', x: number | string, p: SqlParams): string {
  return type === 'number' ? p.add(x, 'numeric') : p.add(new Date(isoInstant(x as string)!).toISOString(), 'timestamptz');
}

/** `at` within the last `days` days (none: any time). */
export function since(at: string, days: number | undefined, p: SqlParams): string {
  return days === undefined ? 'true' : `${at} >= now() - ${p.add(days, 'numeric')} * interval '1 day'`;
}

/**
 * Membership by an aggregate over a subscriber's rows (`rows`: `FROM … WHERE …` with a
 * `subscriber_id` column): at least one row, or counts and sums within bounds. Set-based, so that
 * Postgres hashes the matching subscribers once instead of probing per subscriber. When the bounds
 * hold for someone with no rows at all (`count ≤ 2`), the test is "not among those who break them".
 */
export function aggregateMember(id: string, rows: string, p: SqlParams, count?: CountRange, sum?: { expr: string; gte?: number; lte?: number }): string {
  if (!count && !sum) return `${id} IN (SELECT subscriber_id ${rows})`;
  const parts: string[] = [];
  const holdsAtZero: boolean[] = [];
  const bound = (expr: string, r: { gte?: number; lte?: number }) => {
    if (r.gte !== undefined) {
      parts.push(`${expr} >= ${p.add(r.gte, 'numeric')}`);
      holdsAtZero.push(0 >= r.gte);
    }
    if (r.lte !== undefined) {
      parts.push(`${expr} <= ${p.add(r.lte, 'numeric')}`);
      holdsAtZero.push(0 <= r.lte);
    }
  };
  if (count) bound('count(*)', count);
  if (sum) bound(`COALESCE(sum(${sum.expr}), 0)`, sum);
  const cond = parts.join(' AND ') || 'true';
  return holdsAtZero.every(Boolean)
    ? `${id} NOT IN (SELECT subscriber_id ${rows} GROUP BY subscriber_id HAVING NOT (${cond}))`
    : `${id} IN (SELECT subscriber_id ${rows} GROUP BY subscriber_id HAVING ${cond})`;
}

/*
 * What each owner of the data a rule reads contributes. Segments own no subscriber data: the
 * audience, campaigns, analytics and customer events each translate the rules about their own
 * tables, and the compiler only composes. Each is a global provider of its owner.
 */

/** The audience: subscribers, their fields, attributes and subscriptions. The subscriber row is `s`. */
export const PROFILE_SQL = Symbol('PROFILE_SQL');
export interface ProfileSql {
  /** Subscribers with an address (not erased) for which `condition` holds: `SELECT s.id …`, or `columns` of them. */
  select(condition: string, columns?: 'id' | 'summary'): string;
  field(rule: FieldRule, p: SqlParams): string;
  list(rule: ListRule, p: SqlParams): string;
}

/** Campaigns: the messages a subscriber was sent (`received`). */
export const DELIVERY_SQL = Symbol('DELIVERY_SQL');
export interface DeliverySql {
  received(id: string, rule: EngagementRule, p: SqlParams): string;
}

/** Analytics: opens, clicks and conversions, and the orders reported as conversions. */
export const ENGAGEMENT_SQL = Symbol('ENGAGEMENT_SQL');
export interface EngagementSql {
  engaged(id: string, rule: EngagementRule, p: SqlParams): string;
  /** `SELECT subscriber_id, order_id, at, amount` of orders since `days` ago (none: all). */
  purchases(days: number | undefined, p: SqlParams): string;
}

/** Customer events: what people did on the site, the shop, the app. */
export const EVENT_SQL = Symbol('EVENT_SQL');
export interface EventSql {
  occurred(id: string, rule: EventRule, p: SqlParams): string;
  /** `SELECT subscriber_id, order_id, at, amount` of purchase events (named `names`, with a revenue or value) since `days` ago. */
  purchases(names: string[], days: number | undefined, p: SqlParams): string;
}
