import { Comparison, CountRange, isoInstant, Rule } from '../../src/segments/rules';

/**
 * A plain TypeScript evaluator of segment rules over an in-memory data set: the oracle the SQL
 * compiler is checked against. It follows the rules' written definitions, not the SQL.
 */
export interface Data {
  subscribers: { id: string; email: string | null; name: string | null; attributes: Record<string, unknown>; timezone: string | null; createdAt: number }[];
  subscriptions: { subscriberId: string; listId: string; status: string }[];
  messages: { campaignId: string; subscriberId: string; status: string; sentAt: number | null }[];
  engagements: {
    campaignId: string;
    subscriberId: string;
    openedAt: number | null;
    humanOpenedAt: number | null;
    clickedAt: number | null;
    humanClickedAt: number | null;
    convertedAt: number | null;
  }[];
  conversions: { orderId: string; campaignId: string; subscriberId: string; value: number | null; at: number }[];
  events: { subscriberId: string | null; type: 'track' | 'identify'; event: string | null; properties: Record<string, unknown>; at: number }[];
}

const DAY = 86_400_000;
const NUMBER = /^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$/;

interface Readings {
  text: string | null;
  number: number | null;
  time: number | null;
  exists: boolean;
}

function json(v: unknown): Readings {
  const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  const number = typeof v === 'number' ? v : typeof v === 'string' && NUMBER.test(v) ? Number(v) : null;
  const time = typeof v === 'string' ? isoInstant(v) : null;
  return { text, number, time, exists: v !== undefined && v !== null };
}

function column(text: string | null): Readings {
  return { text, number: null, time: null, exists: text !== null };
}

export function compare(v: Readings, c: Comparison, now: number): boolean {
  const at = (x: number | string) => isoInstant(x as string)!;
  switch (c.op) {
    case 'exists':
      return v.exists;
    case 'eq':
    case 'neq': {
      const eq = c.type === 'number' ? v.number !== null && v.number === c.value : v.text !== null && v.text === String(c.value);
      return c.op === 'eq' ? eq : !eq;
    }
    case 'in':
    case 'nin': {
      const found =
        c.type === 'number' ? v.number !== null && (c.values as number[]).includes(v.number) : v.text !== null && (c.values as string[]).includes(v.text);
      return c.op === 'in' ? found : !found;
    }
    case 'contains':
      return v.text !== null && v.text.toLowerCase().includes(c.value.toLowerCase());
    case 'startsWith':
      return v.text !== null && v.text.toLowerCase().startsWith(c.value.toLowerCase());
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const x = c.type === 'number' ? v.number : v.time;
      const y = c.type === 'number' ? (c.value as number) : at(c.value);
      if (x === null) return false;
      return c.op === 'gt' ? x > y : c.op === 'gte' ? x >= y : c.op === 'lt' ? x < y : x <= y;
    }
    case 'between': {
      const x = c.type === 'number' ? v.number : v.time;
      const [lo, hi] = c.type === 'number' ? [c.low as number, c.high as number] : [at(c.low), at(c.high)];
      return x !== null && x >= lo && x <= hi;
    }
    case 'before':
      return v.time !== null && v.time < at(c.value);
    case 'after':
      return v.time !== null && v.time > at(c.value);
    case 'withinLastDays':
      return v.time !== null && v.time >= now - c.days * DAY && v.time <= now;
  }
}

function inRange(n: number, r: CountRange | { gte?: number; lte?: number }): boolean {
  return (r.gte === undefined || n >= r.gte) && (r.lte === undefined || n <= r.lte);
}

function within(at: number | null, days: number | undefined, now: number): boolean {
  return at !== null && (days === undefined || at >= now - days * DAY);
}

/** Quintile of each buyer's value: the share of buyers at or below it, in fifths rounded up. */
function quintiles(values: Map<string, number>): Map<string, number> {
  const all = [...values.values()];
  const n = all.length;
  return new Map([...values].map(([id, v]) => [id, Math.floor((5 * all.filter((x) => x <= v).length + n - 1) / n)]));
}

export class ReferenceEvaluator {
  constructor(
    private readonly data: Data,
    private readonly segments: ReadonlyMap<string, Rule>,
    private readonly now: number,
    private readonly purchaseEvents: string[],
  ) {}

  /** The ids of the subscribers with an address that match, sorted. */
  members(rule: Rule): string[] {
    return this.data.subscribers
      .filter((s) => s.email !== null && this.matches(rule, s.id))
      .map((s) => s.id)
      .sort();
  }

  matches(rule: Rule, id: string): boolean {
    const d = this.data;
    const s = d.subscribers.find((x) => x.id === id)!;
    switch (rule.kind) {
      case 'and':
        return rule.rules.every((r) => this.matches(r, id));
      case 'or':
        return rule.rules.some((r) => this.matches(r, id));
      case 'not':
        return !this.matches(rule.rule, id);
      case 'attribute':
        return compare(json(s.attributes[rule.attribute]), rule.test, this.now);
      case 'field': {
        const readings =
          rule.field === 'createdAt'
            ? { text: null, number: null, time: s.createdAt, exists: true }
            : column(rule.field === 'emailDomain' ? (s.email === null ? null : (s.email.split('@')[1] ?? '')) : s[rule.field]);
        return compare(readings, rule.test, this.now);
      }
      case 'list':
        return d.subscriptions.some((x) => x.subscriberId === id && x.listId === rule.list && x.status === rule.status);
      case 'engagement': {
        const times =
          rule.engagement === 'received'
            ? d.messages.filter((m) => m.subscriberId === id && m.status === 'sent' && (!rule.campaign || m.campaignId === rule.campaign)).map((m) => m.sentAt)
            : d.engagements
                .filter((e) => e.subscriberId === id && (!rule.campaign || e.campaignId === rule.campaign))
                .map((e) =>
                  rule.engagement === 'opened'
                    ? rule.humanOnly
                      ? e.humanOpenedAt
                      : e.openedAt
                    : rule.engagement === 'clicked'
                      ? rule.humanOnly
                        ? e.humanClickedAt
                        : e.clickedAt
                      : e.convertedAt,
                );
        const n = times.filter((t) => within(t, rule.withinDays, this.now)).length;
        return rule.count ? inRange(n, rule.count) : n >= 1;
      }
      case 'event': {
        const rows = d.events.filter(
          (e) =>
            e.subscriberId === id &&
            e.type === 'track' &&
            e.event === rule.event &&
            within(e.at, rule.withinDays, this.now) &&
            rule.where.every((f) => compare(json(e.properties[f.property]), f.test, this.now)),
        );
        if (!rule.count && !rule.sum) return rows.length >= 1;
        const sum = rule.sum ? rows.reduce((acc, e) => acc + (json(e.properties[rule.sum!.property]).number ?? 0), 0) : 0;
        return (!rule.count || inRange(rows.length, rule.count)) && (!rule.sum || inRange(sum, rule.sum));
      }
      case 'rfm': {
        const scores = this.rfm(rule.withinDays);
        const mine = scores.get(id);
        if (!mine) return false;
        return (['r', 'f', 'm'] as const).every((k) => !rule[k] || (mine[k] >= rule[k][0] && mine[k] <= rule[k][1]));
      }
      case 'segment':
        return this.matches(this.segments.get(rule.segment)!, id);
    }
  }

  private rfm(days: number | undefined): Map<string, { r: number; f: number; m: number }> {
    const d = this.data;
    const conversions = d.conversions.filter((c) => within(c.at, days, this.now));
    const amount = (p: Record<string, unknown>) => json(p.revenue).number ?? json(p.value).number;
    const fromEvents = d.events
      .filter(
        (e) =>
          e.subscriberId !== null &&
          e.type === 'track' &&
          this.purchaseEvents.includes(e.event!) &&
          within(e.at, days, this.now) &&
          amount(e.properties) !== null,
      )
      .filter((e) => {
        const order =
          json(e.properties.order_id).text ??
          (e.properties.order_id === undefined || e.properties.order_id === null ? null : JSON.stringify(e.properties.order_id));
        return order === null || !conversions.some((c) => c.subscriberId === e.subscriberId && c.orderId === order);
      })
      .map((e) => ({ subscriberId: e.subscriberId!, at: e.at, amount: amount(e.properties)! }));
    const purchases = [...conversions.map((c) => ({ subscriberId: c.subscriberId, at: c.at, amount: c.value ?? 0 })), ...fromEvents];
    const last = new Map<string, number>();
    const count = new Map<string, number>();
    const total = new Map<string, number>();
    for (const p of purchases) {
      last.set(p.subscriberId, Math.max(last.get(p.subscriberId) ?? -Infinity, p.at));
      count.set(p.subscriberId, (count.get(p.subscriberId) ?? 0) + 1);
      total.set(p.subscriberId, (total.get(p.subscriberId) ?? 0) + p.amount);
    }
    const [r, f, m] = [quintiles(last), quintiles(count), quintiles(total)];
    return new Map([...last.keys()].map((id) => [id, { r: r.get(id)!, f: f.get(id)!, m: m.get(id)! }]));
  }
}
