/** A segment's rules as a typed tree (`rule-parser.ts` makes it from client JSON). */
export type Rule =
  | { kind: 'and'; rules: Rule[] }
  | { kind: 'or'; rules: Rule[] }
  | { kind: 'not'; rule: Rule }
  | FieldRule
  | ListRule
  | EngagementRule
  | EventRule
  | RfmRule
  | SegmentRule;

export const BUILT_IN_FIELDS = ['email', 'emailDomain', 'name', 'timezone', 'createdAt'] as const;
export type BuiltInField = (typeof BUILT_IN_FIELDS)[number];

export const OPS = [
  'eq',
  'neq',
  'in',
  'nin',
  'contains',
  'startsWith',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
  'between',
  'before',
  'after',
  'withinLastDays',
] as const;
export type Op = (typeof OPS)[number];

/**
 * One typed comparison. The operand's type decides how the stored value is read: a number compares
 * numbers (a numeric string counts), a date compares instants (an ISO 8601 string counts), text
 * compares text. A value that cannot be read that way does not match.
 */
export type Comparison =
  | { op: 'exists' }
  | { op: 'eq' | 'neq'; type: 'text' | 'number' | 'boolean'; value: string | number | boolean }
  | { op: 'in' | 'nin'; type: 'text' | 'number'; values: (string | number)[] }
  | { op: 'contains' | 'startsWith'; type: 'text'; value: string }
  | { op: 'gt' | 'gte' | 'lt' | 'lte'; type: 'number' | 'date'; value: number | string }
  | { op: 'between'; type: 'number' | 'date'; low: number | string; high: number | string }
  | { op: 'before' | 'after'; type: 'date'; value: string }
  | { op: 'withinLastDays'; type: 'date'; days: number };

/** A built-in field (`field`) or a key of `attributes` (`attribute`). */
export type FieldRule = { kind: 'field'; field: BuiltInField; test: Comparison } | { kind: 'attribute'; attribute: string; test: Comparison };

export type SubscriptionStatus = 'confirmed' | 'pending' | 'unsubscribed';
export interface ListRule {
  kind: 'list';
  list: string;
  status: SubscriptionStatus;
}

export interface CountRange {
  gte?: number;
  lte?: number;
}

export type Engagement = 'received' | 'opened' | 'clicked' | 'converted';
export interface EngagementRule {
  kind: 'engagement';
  engagement: Engagement;
  campaign?: string;
  withinDays?: number;
  humanOnly: boolean;
  /** Absent: at least once. */
  count?: CountRange;
}

export interface PropertyFilter {
  property: string;
  test: Comparison;
}
export interface EventRule {
  kind: 'event';
  event: string;
  where: PropertyFilter[];
  withinDays?: number;
  /** Neither count nor sum: at least once. */
  count?: CountRange;
  sum?: { property: string; gte?: number; lte?: number };
}

export type Quintiles = [number, number];
export interface RfmRule {
  kind: 'rfm';
  r?: Quintiles;
  f?: Quintiles;
  m?: Quintiles;
  withinDays?: number;
}

export interface SegmentRule {
  kind: 'segment';
  segment: string;
}

/**
 * An ISO 8601 date, or date and time to the millisecond with an optional offset (none: UTC). The
 * database's `segment_time` reads stored values with the same pattern.
 */
export const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,3}))?)?(Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)?)?$/;

/** The segments a tree refers to (`{"segment": id}`), each with the path of its node under `root`. */
export function segmentReferences(rule: Rule, root = 'rules'): { id: string; path: string }[] {
  switch (rule.kind) {
    case 'and':
    case 'or':
      return rule.rules.flatMap((r, i) => segmentReferences(r, `${root}.${rule.kind}[${i}]`));
    case 'not':
      return segmentReferences(rule.rule, `${root}.not`);
    case 'segment':
      return [{ id: rule.segment, path: `${root}.segment` }];
    case 'field':
    case 'attribute':
    case 'list':
    case 'engagement':
    case 'event':
    case 'rfm':
      return [];
  }
}

/** Milliseconds since the epoch of an ISO 8601 string (see ISO_DATE), or null when it is not a real date. */
export function isoInstant(text: string): number | null {
  const m = ISO_DATE.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map((x) => Number(x ?? 0));
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, sec, Number((m[7] ?? '').padEnd(3, '0')));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || y < 1) return null;
  const offset = m[8];
  if (!offset || offset === 'Z') return date.getTime();
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
  return date.getTime() - (offset.startsWith('-') ? -1 : 1) * minutes * 60_000;
}
