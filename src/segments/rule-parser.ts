/*
 * Client JSON becomes a typed rule tree here, or a list of problems each naming the path of its
 * node (`rules.and[1].withinDays`); nothing else ever reads client rules.
 */

import { ErrorDetail } from '../common/errors';
import {
  BUILT_IN_FIELDS,
  BuiltInField,
  Comparison,
  CountRange,
  Engagement,
  EngagementRule,
  EventRule,
  FieldRule,
  isoInstant,
  ListRule,
  Op,
  OPS,
  PropertyFilter,
  RfmRule,
  Rule,
  SubscriptionStatus,
} from './rules';

const MAX_DEPTH = 16;
const MAX_NODES = 256;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const KINDS = ['and', 'or', 'not', 'field', 'attribute', 'list', 'engagement', 'event', 'rfm', 'segment'] as const;
const DATE_FIELDS: readonly BuiltInField[] = ['createdAt'];

export class RuleProblems extends Error {
  constructor(readonly details: ErrorDetail[]) {
    super(details.map((d) => `${d.field}: ${d.message}`).join('; '));
  }
}

/** The typed tree of `input`, or RuleProblems naming every bad node's path under `root`. */
export function parseRules(input: unknown, root = 'rules'): Rule {
  const parser = new Parser();
  const rule = parser.rule(input, root, 0);
  if (parser.problems.length || !rule) throw new RuleProblems(parser.problems.length ? parser.problems : [{ field: root, message: 'is not a rule' }]);
  return rule;
}

type Json = Record<string, unknown>;

class Parser {
  readonly problems: ErrorDetail[] = [];
  private nodes = 0;

  private fail(path: string, message: string): undefined {
    this.problems.push({ field: path, path, message });
    return undefined;
  }

  rule(x: unknown, path: string, depth: number): Rule | undefined {
    if (++this.nodes > MAX_NODES) return this.nodes === MAX_NODES + 1 ? this.fail(path, `a segment has at most ${MAX_NODES} rules`) : undefined;
    if (depth > MAX_DEPTH) return this.fail(path, `rules nest at most ${MAX_DEPTH} levels`);
    if (!isObject(x)) return this.fail(path, 'must be an object');
    const kinds = KINDS.filter((k) => k in x);
    if (kinds.length !== 1) {
      return this.fail(path, kinds.length ? `has ${kinds.join(' and ')}: a rule is one of ${KINDS.join(', ')}` : `must be one of ${KINDS.join(', ')}`);
    }
    const kind = kinds[0];
    switch (kind) {
      case 'and':
      case 'or':
        return this.group(kind, x, path, depth);
      case 'not': {
        this.only(x, path, ['not']);
        const inner = this.rule(x.not, `${path}.not`, depth + 1);
        return inner && { kind: 'not', rule: inner };
      }
      case 'field':
      case 'attribute':
        return this.field(kind, x, path);
      case 'list':
        return this.list(x, path);
      case 'engagement':
        return this.engagement(x, path);
      case 'event':
        return this.event(x, path);
      case 'rfm':
        return this.rfm(x, path);
      case 'segment':
        this.only(x, path, ['segment']);
        return this.uuid(x.segment, `${path}.segment`) ? { kind: 'segment', segment: (x.segment as string).toLowerCase() } : undefined;
    }
  }

  private only(x: Json, path: string, allowed: string[]): void {
    for (const key of Object.keys(x)) if (!allowed.includes(key)) this.fail(`${path}.${key}`, `is not allowed here (allowed: ${allowed.join(', ')})`);
  }

  private group(kind: 'and' | 'or', x: Json, path: string, depth: number): Rule | undefined {
    this.only(x, path, [kind]);
    const list = x[kind];
    if (!Array.isArray(list) || !list.length) return this.fail(`${path}.${kind}`, 'must be a non-empty array of rules');
    const rules = list.map((r, i) => this.rule(r, `${path}.${kind}[${i}]`, depth + 1));
    return rules.every((r) => r) ? { kind, rules: rules as Rule[] } : undefined;
  }

  private field(kind: 'field' | 'attribute', x: Json, path: string): FieldRule | undefined {
    this.only(x, path, [kind, 'op', 'value']);
    const name = x[kind];
    if (kind === 'field' || (typeof name === 'string' && (BUILT_IN_FIELDS as readonly string[]).includes(name))) {
      if (!(BUILT_IN_FIELDS as readonly unknown[]).includes(name)) return this.fail(`${path}.${kind}`, `must be one of ${BUILT_IN_FIELDS.join(', ')}`);
      const field = name as BuiltInField;
      const test = this.comparison(x, path, DATE_FIELDS.includes(field) ? 'date' : 'text');
      return test && { kind: 'field', field, test };
    }
    if (typeof name !== 'string' || !name.length || name.length > 200) return this.fail(`${path}.attribute`, 'must be an attribute name (1–200 characters)');
    const test = this.comparison(x, path, undefined);
    return test && { kind: 'attribute', attribute: name, test };
  }

  /**
   * `{op, value}` as a typed comparison. `fixed` is the type of a built-in field; for attributes and
   * event properties the operand's type decides.
   */
  comparison(x: Json, path: string, fixed: 'text' | 'date' | undefined): Comparison | undefined {
    const op = x.op as Op;
    if (!(OPS as readonly unknown[]).includes(op)) return this.fail(`${path}.op`, `must be one of ${OPS.join(', ')}`);
    const v = x.value;
    const at = `${path}.value`;
    const isDate = (d: unknown): d is string => typeof d === 'string' && isoInstant(d) !== null;
    const wrongFor = (what: string) => this.fail(at, `must be ${what} for ${op}${fixed ? ` on this ${fixed} field` : ''}`);
    switch (op) {
      case 'exists':
        if (v !== undefined && v !== true) return this.fail(at, 'exists takes no value (or true)');
        return { op };
      case 'eq':
      case 'neq': {
        if (fixed === 'date') return this.fail(`${path}.op`, 'a date field compares with before, after, between, gt, gte, lt, lte or withinLastDays');
        if (typeof v === 'string' && v.length <= 1000) return { op, type: 'text', value: v };
        if (fixed === 'text') return wrongFor('a string');
        if (typeof v === 'number' && Number.isFinite(v)) return { op, type: 'number', value: v };
        if (typeof v === 'boolean') return { op, type: 'boolean', value: v };
        return wrongFor('a string, a number or a boolean');
      }
      case 'in':
      case 'nin': {
        if (fixed === 'date') return this.fail(`${path}.op`, 'a date field compares with before, after, between, gt, gte, lt, lte or withinLastDays');
        if (!Array.isArray(v) || !v.length || v.length > 1000) return wrongFor('a non-empty array (at most 1,000 values)');
        const values = v as unknown[];
        if (values.every((e): e is string => typeof e === 'string')) return { op, type: 'text', values };
        if (fixed !== 'text' && values.every((e): e is number => typeof e === 'number' && Number.isFinite(e))) return { op, type: 'number', values };
        return wrongFor(fixed === 'text' ? 'an array of strings' : 'an array of strings or an array of numbers');
      }
      case 'contains':
      case 'startsWith':
        if (fixed === 'date') return this.fail(`${path}.op`, 'a date field compares with before, after, between, gt, gte, lt, lte or withinLastDays');
        return typeof v === 'string' && v.length && v.length <= 1000 ? { op, type: 'text', value: v } : wrongFor('a non-empty string');
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (isDate(v) && fixed !== 'text') return { op, type: 'date', value: v };
        if (typeof v === 'number' && Number.isFinite(v) && fixed === undefined) return { op, type: 'number', value: v };
        return wrongFor(fixed === 'date' ? 'an ISO 8601 date' : fixed === 'text' ? 'not used' : 'a number or an ISO 8601 date');
      case 'between': {
        if (!Array.isArray(v) || v.length !== 2) return wrongFor('[low, high]');
        const [low, high] = v as unknown[];
        if (isDate(low) && isDate(high) && fixed !== 'text') return { op, type: 'date', low, high };
        if (typeof low === 'number' && typeof high === 'number' && Number.isFinite(low) && Number.isFinite(high) && fixed === undefined) {
          return { op, type: 'number', low, high };
        }
        return wrongFor(fixed === 'date' ? 'two ISO 8601 dates' : fixed === 'text' ? 'not used' : 'two numbers or two ISO 8601 dates');
      }
      case 'before':
      case 'after':
        return isDate(v) && fixed !== 'text' ? { op, type: 'date', value: v } : wrongFor('an ISO 8601 date');
      case 'withinLastDays':
        return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 36_500 && fixed !== 'text'
          ? { op, type: 'date', days: v }
          : wrongFor('a number of days (0–36,500]');
    }
  }

  private list(x: Json, path: string): ListRule | undefined {
    this.only(x, path, ['list', 'status']);
    const status = x.status ?? 'confirmed';
    if (!['confirmed', 'pending', 'unsubscribed'].includes(status as string)) this.fail(`${path}.status`, 'must be confirmed, pending or unsubscribed');
    if (!this.uuid(x.list, `${path}.list`)) return undefined;
    return { kind: 'list', list: (x.list as string).toLowerCase(), status: status as SubscriptionStatus };
  }

  private engagement(x: Json, path: string): EngagementRule | undefined {
    this.only(x, path, ['engagement', 'campaign', 'withinDays', 'humanOnly', 'count']);
    const engagement = x.engagement as Engagement;
    if (!['received', 'opened', 'clicked', 'converted'].includes(engagement))
      return this.fail(`${path}.engagement`, 'must be received, opened, clicked or converted');
    if (x.campaign !== undefined && !this.uuid(x.campaign, `${path}.campaign`)) return undefined;
    if (x.humanOnly !== undefined && typeof x.humanOnly !== 'boolean') return this.fail(`${path}.humanOnly`, 'must be a boolean');
    const withinDays = this.days(x.withinDays, `${path}.withinDays`);
    const count = this.range(x.count, `${path}.count`);
    if (withinDays === null || count === null) return undefined;
    return {
      kind: 'engagement',
      engagement,
      ...(x.campaign ? { campaign: (x.campaign as string).toLowerCase() } : {}),
      ...(withinDays !== undefined ? { withinDays } : {}),
      humanOnly: x.humanOnly !== false,
      ...(count ? { count } : {}),
    };
  }

  private event(x: Json, path: string): EventRule | undefined {
    this.only(x, path, ['event', 'where', 'withinDays', 'count', 'sum']);
    if (typeof x.event !== 'string' || !x.event.length || x.event.length > 200) return this.fail(`${path}.event`, 'must be an event name (1–200 characters)');
    const where: PropertyFilter[] = [];
    if (x.where !== undefined) {
      if (!Array.isArray(x.where) || x.where.length > 20) return this.fail(`${path}.where`, 'must be an array of at most 20 property filters');
      x.where.forEach((f: unknown, i) => {
        const at = `${path}.where[${i}]`;
        if (!isObject(f)) return this.fail(at, 'must be an object');
        this.only(f, at, ['property', 'op', 'value']);
        if (typeof f.property !== 'string' || !f.property.length || f.property.length > 200) return this.fail(`${at}.property`, 'must be a property name');
        const test = this.comparison(f, at, undefined);
        if (test) where.push({ property: f.property, test });
      });
    }
    const withinDays = this.days(x.withinDays, `${path}.withinDays`);
    const count = this.range(x.count, `${path}.count`);
    let sum: EventRule['sum'];
    if (x.sum !== undefined) {
      const s = x.sum;
      if (!isObject(s) || typeof s.property !== 'string' || !s.property.length) return this.fail(`${path}.sum`, 'must be {property, gte?, lte?}');
      this.only(s, `${path}.sum`, ['property', 'gte', 'lte']);
      const bounds = this.range({ gte: s.gte, lte: s.lte }, `${path}.sum`, false);
      if (!bounds) return this.fail(`${path}.sum`, 'needs gte or lte');
      sum = { property: s.property, ...bounds };
    }
    if (withinDays === null || count === null || this.problems.length) return undefined;
    return {
      kind: 'event',
      event: x.event,
      where,
      ...(withinDays !== undefined ? { withinDays } : {}),
      ...(count ? { count } : {}),
      ...(sum ? { sum } : {}),
    };
  }

  private rfm(x: Json, path: string): RfmRule | undefined {
    this.only(x, path, ['rfm', 'withinDays']);
    const spec = x.rfm;
    if (!isObject(spec)) return this.fail(`${path}.rfm`, 'must be {r?, f?, m?}');
    this.only(spec, `${path}.rfm`, ['r', 'f', 'm']);
    const out: RfmRule = { kind: 'rfm' };
    for (const k of ['r', 'f', 'm'] as const) {
      const q = spec[k];
      if (q === undefined) continue;
      if (!Array.isArray(q) || q.length !== 2 || !q.every((n) => Number.isInteger(n) && n >= 1 && n <= 5) || q[0] > q[1]) {
        this.fail(`${path}.rfm.${k}`, 'must be [low, high], quintiles 1–5 (5 = best), low ≤ high');
      } else out[k] = [q[0], q[1]];
    }
    if (!out.r && !out.f && !out.m) return this.fail(`${path}.rfm`, 'needs r, f or m');
    const withinDays = this.days(x.withinDays, `${path}.withinDays`);
    if (withinDays === null) return undefined;
    return withinDays !== undefined ? { ...out, withinDays } : out;
  }

  private uuid(x: unknown, path: string): boolean {
    if (typeof x === 'string' && UUID.test(x)) return true;
    this.fail(path, 'must be an id (uuid)');
    return false;
  }

  /** undefined: absent; null: bad (reported). */
  private days(x: unknown, path: string): number | undefined | null {
    if (x === undefined) return undefined;
    if (typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= 36_500) return x;
    this.fail(path, 'must be a number of days (0–36,500]');
    return null;
  }

  private range(x: unknown, path: string, whole = true): CountRange | undefined | null {
    if (x === undefined) return undefined;
    if (!isObject(x)) return (this.fail(path, 'must be {gte?, lte?}'), null);
    this.only(x, path, ['gte', 'lte']);
    const out: CountRange = {};
    for (const k of ['gte', 'lte'] as const) {
      const n = x[k];
      if (n === undefined) continue;
      if (typeof n !== 'number' || !Number.isFinite(n) || (whole && (!Number.isInteger(n) || n < 0))) {
        this.fail(`${path}.${k}`, whole ? 'must be a whole number ≥ 0' : 'must be a number');
        return null;
      }
      out[k] = n;
    }
    if (out.gte === undefined && out.lte === undefined) return whole ? (this.fail(path, 'needs gte or lte'), null) : undefined;
    return out;
  }
}

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
