import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { RfmRule, Rule } from './rules';
import { DELIVERY_SQL, DeliverySql, ENGAGEMENT_SQL, EngagementSql, EVENT_SQL, EventSql, PROFILE_SQL, ProfileSql, SqlParams } from './segment-sql';

/** The rules of the segments a tree refers to, by id (the tree's own references and theirs). */
export type SegmentRules = ReadonlyMap<string, Rule>;

export class SegmentCycle extends Error {
  constructor(readonly path: string[]) {
    super(`segments refer to each other in a cycle: ${path.join(' → ')}`);
  }
}

/**
 * A rule tree as one parameterised SQL statement over the owners' data: each leaf is translated by
 * the capability that owns what it reads; this composes them with AND, OR and NOT, inlines the
 * segments a tree refers to (so counts are live), and ranks purchases for RFM.
 */
@Injectable()
export class SegmentCompiler {
  constructor(
    @Inject(PROFILE_SQL) private readonly profile: ProfileSql,
    @Inject(DELIVERY_SQL) private readonly delivery: DeliverySql,
    @Inject(ENGAGEMENT_SQL) private readonly engagement: EngagementSql,
    @Inject(EVENT_SQL) private readonly events: EventSql,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `SELECT s.id …` (or a summary of each) of the subscribers with an address that match `rule`. */
  members(rule: Rule, others: SegmentRules, p: SqlParams, columns: 'id' | 'summary' = 'id'): string {
    return this.profile.select(this.condition(rule, others, p, []), columns);
  }

  /** A boolean over the subscriber row `s` that is never NULL. */
  condition(rule: Rule, others: SegmentRules, p: SqlParams, via: string[]): string {
    switch (rule.kind) {
      case 'and':
      case 'or':
        return `(${rule.rules.map((r) => this.condition(r, others, p, via)).join(rule.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `NOT (${this.condition(rule.rule, others, p, via)})`;
      case 'field':
      case 'attribute':
        return this.profile.field(rule, p);
      case 'list':
        return this.profile.list(rule, p);
      case 'engagement':
        return rule.engagement === 'received' ? this.delivery.received('s.id', rule, p) : this.engagement.engaged('s.id', rule, p);
      case 'event':
        return this.events.occurred('s.id', rule, p);
      case 'rfm':
        return this.rfm(rule, p);
      case 'segment': {
        if (via.includes(rule.segment)) throw new SegmentCycle([...via, rule.segment]);
        const inner = others.get(rule.segment);
        if (!inner) throw new Error(`segment ${rule.segment} was not loaded`);
        return `(${this.condition(inner, others, p, [...via, rule.segment])})`;
      }
    }
  }

  /**
   * Quintiles 1–5 (5 = best) among everyone with a purchase in the window: the share of buyers at
   * or below one's own value, in fifths rounded up, so equal values share a score and a lone buyer
   * scores 5. Integer arithmetic, so the database and any other evaluator agree exactly. Orders
   * reported both as a conversion and as an event with the same order id count once.
   */
  private rfm(rule: RfmRule, p: SqlParams): string {
    const conversions = this.engagement.purchases(rule.withinDays, p);
    const events = this.events.purchases(this.config.segments.purchaseEvents, rule.withinDays, p);
    const score = (order: string) => `(5 * count(*) OVER (ORDER BY ${order}) + count(*) OVER () - 1) / count(*) OVER ()`;
    const bounds = (['r', 'f', 'm'] as const).flatMap((k) => {
      const q = rule[k];
      return q ? [`${k} BETWEEN ${p.add(q[0], 'integer')} AND ${p.add(q[1], 'integer')}`] : [];
    });
    return `s.id IN (
      WITH c AS (${conversions}), e AS (${events}),
           purchases AS (SELECT subscriber_id, at, amount FROM c
                         UNION ALL
                         SELECT subscriber_id, at, amount FROM e
                         WHERE e.order_id IS NULL OR NOT EXISTS (SELECT 1 FROM c WHERE c.subscriber_id = e.subscriber_id AND c.order_id = e.order_id)),
           buyers AS (SELECT subscriber_id, max(at) AS last_at, count(*) AS n, sum(amount) AS total FROM purchases GROUP BY subscriber_id)
      SELECT subscriber_id FROM (SELECT subscriber_id, ${score('last_at')} AS r, ${score('n')} AS f, ${score('total')} AS m FROM buyers) scored
      WHERE ${bounds.join(' AND ')})`;
  }
}
