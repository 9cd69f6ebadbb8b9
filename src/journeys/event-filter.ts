import { ISO_DATE } from '../segments/rules';
import type { Comparison, PropertyFilter } from '../segments/rules';

/**
 * An event trigger's `where`, tested on an event as it is stored — in memory, since the event is at
 * hand in the transaction that stores it. Same grammar and reading as the segments' SQL: a number
 * compares numbers (a numeric string counts), a date compares instants, text compares text; a
 * value that cannot be read that way does not match.
 */
export function matchesFilters(properties: Record<string, unknown>, where: readonly PropertyFilter[]): boolean {
  return where.every((f) => matches(valueAt(properties, f.property), f.test));
}

function valueAt(o: Record<string, unknown>, path: string): unknown {
  if (path in o) return o[path];
  let v: unknown = o;
  for (const part of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

function matches(v: unknown, t: Comparison): boolean {
  if (t.op === 'exists') return v !== undefined && v !== null;
  if (v === undefined || v === null) return t.op === 'neq' || t.op === 'nin';
  switch (t.op) {
    case 'eq':
    case 'neq': {
      const same =
        t.type === 'number' ? asNumber(v) === t.value : t.type === 'boolean' ? v === t.value || asText(v) === String(t.value) : asText(v) === t.value;
      return t.op === 'eq' ? same : !same;
    }
    case 'in':
    case 'nin': {
      const hit = t.type === 'number' ? t.values.includes(asNumber(v) as number) : t.values.includes(asText(v) as string);
      return t.op === 'in' ? hit : !hit;
    }
    case 'contains':
      return asText(v)?.includes(t.value) ?? false;
    case 'startsWith':
      return asText(v)?.startsWith(t.value) ?? false;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const a = t.type === 'number' ? asNumber(v) : asTime(v);
      const b = t.type === 'number' ? Number(t.value) : asTime(t.value);
      if (a === null || b === null) return false;
      return t.op === 'gt' ? a > b : t.op === 'gte' ? a >= b : t.op === 'lt' ? a < b : a <= b;
    }
    case 'between': {
      const read = t.type === 'number' ? asNumber : asTime;
      const [a, lo, hi] = [read(v), read(t.low), read(t.high)];
      return a !== null && lo !== null && hi !== null && a >= lo && a <= hi;
    }
    case 'before':
    case 'after': {
      const [a, b] = [asTime(v), asTime(t.value)];
      return a !== null && b !== null && (t.op === 'before' ? a < b : a > b);
    }
    case 'withinLastDays': {
      const a = asTime(v);
      return a !== null && a >= Date.now() - t.days * 86_400_000 && a <= Date.now();
    }
  }
}

function asText(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

function asNumber(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

function asTime(v: unknown): number | null {
  if (typeof v !== 'string' || !ISO_DATE.test(v)) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}
