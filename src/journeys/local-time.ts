// Wall-clock arithmetic in a recipient's IANA time zone, using nothing but Node's Intl data.
//
// Rules for wall times that do not map to exactly one instant (the same as Temporal's 'compatible'):
// - in a spring-forward gap the wall time is read with the offset in force before the gap, so it lands
//   after the gap shifted by the gap's length (Paris 2026-03-29 02:30 -> 03:30 CEST, New York 2026-03-08 02:30 -> 03:30 EDT);
// - in a fall-back overlap it is the first occurrence (Paris 2026-10-25 02:30 -> 02:30 CEST, 00:30Z).

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
/** 'HH:MM' 24 h */
export type TimeOfDay = string;

const MINUTE = 60_000;
const DAY = 86_400_000;
// Indexed by Date#getUTCDay().
const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** A UTC day of one zone: either a constant offset (ms), or the one transition inside it. */
type Chunk = number | { at: number; before: number; after: number };

interface Zone {
  format: Intl.DateTimeFormat;
  chunks: Map<number, Chunk>;
}

const zones = new Map<string, Zone>();
// A long-running worker sees many days and zones; forgetting a zone's days now and then keeps the cache bounded.
const MAX_CHUNKS_PER_ZONE = 4096;

function zone(tz: string): Zone {
  let z = zones.get(tz);
  if (!z) {
    // Throws a RangeError for an unknown zone, which is what callers catch to fall back to a default zone.
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    z = { format, chunks: new Map() };
    zones.set(tz, z);
  }
  return z;
}

const FORMATTED = /^(\d\d)\/(\d\d)\/(\d+), (\d\d):(\d\d):(\d\d)$/;

/** The zone's offset (ms, local minus UTC) at an instant, straight from Intl: about 1.5 µs, hence the cache in offsetAt. */
function rawOffset(z: Zone, t: number): number {
  const seconds = t - (((t % 1000) + 1000) % 1000);
  // format() plus a regex is about twice as fast as formatToParts(); the parts are only needed for odd years.
  const m = FORMATTED.exec(z.format.format(seconds));
  let wall: number;
  if (m) {
    wall = utc(+m[3], +m[1], +m[2]) + ((+m[4] * 60 + +m[5]) * 60 + +m[6]) * 1000;
  } else {
    const p: Record<string, number> = {};
    for (const part of z.format.formatToParts(seconds)) p[part.type] = +part.value;
    wall = utc(p.year, p.month, p.day) + ((p.hour * 60 + p.minute) * 60 + p.second) * 1000;
  }
  return wall - seconds;
}

/**
 * The zone's offset at an instant. Offsets are cached per UTC day: the offsets at both ends of the day are read,
 * and if they differ the transition is found by bisection to the second (transitions fall on whole seconds).
 * This assumes a zone never changes its offset twice within one day, which holds for every real zone.
 */
function offsetAt(z: Zone, t: number): number {
  const day = Math.floor(t / DAY);
  let chunk = z.chunks.get(day);
  if (chunk === undefined) {
    const start = day * DAY;
    const before = rawOffset(z, start);
    const after = rawOffset(z, start + DAY);
    if (before === after) {
      chunk = before;
    } else {
      let lo = start;
      let hi = start + DAY;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (rawOffset(z, mid) === before) lo = mid;
        else hi = mid;
      }
      chunk = { at: hi, before, after };
    }
    if (z.chunks.size >= MAX_CHUNKS_PER_ZONE) z.chunks.clear();
    z.chunks.set(day, chunk);
  }
  return typeof chunk === 'number' ? chunk : t < chunk.at ? chunk.before : chunk.after;
}

/** Date.UTC for a civil date, without its habit of reading years 0-99 as 1900-1999. */
function utc(year: number, month: number, day: number): number {
  const t = Date.UTC(year, month - 1, day);
  return year >= 0 && year < 100 ? new Date(t).setUTCFullYear(year) : t;
}

/** The instant of `minutes` after local midnight of `dayStart` (a civil date as UTC midnight ms), with the gap/overlap rules above. */
function wallToInstant(z: Zone, dayStart: number, minutes: number): number {
  const wall = dayStart + minutes * MINUTE;
  // Offsets a day either side of the wall time bracket any transition near it.
  const early = offsetAt(z, wall - DAY);
  const late = offsetAt(z, wall + DAY);
  const first = wall - early;
  // Valid with the earlier offset: the normal case, or the first occurrence in an overlap.
  if (offsetAt(z, first) === early) return first;
  const second = wall - late;
  if (offsetAt(z, second) === late) return second;
  // In a gap: read with the offset from before the gap, which lands after it.
  return first;
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutesOf(at: TimeOfDay): number {
  const m = TIME.exec(at);
  if (!m) throw new RangeError(`Invalid time of day ${JSON.stringify(at)} (expected HH:MM)`);
  return +m[1] * 60 + +m[2];
}

function instant(when: Date): number {
  const t = when.getTime();
  if (Number.isNaN(t)) throw new RangeError('Invalid Date');
  return t;
}

/** Local civil date (as UTC midnight ms) and milliseconds since local midnight. */
function local(z: Zone, t: number): { dayStart: number; ms: number } {
  const wall = t + offsetAt(z, t);
  const dayStart = Math.floor(wall / DAY) * DAY;
  return { dayStart, ms: wall - dayStart };
}

function isoDate(dayStart: number): string {
  return new Date(dayStart).toISOString().slice(0, 10);
}

/** The first instant >= `after` whose local wall time in `tz` is `at` on one of `days` (all days when omitted).
 * A wall time that does not exist that day (spring-forward gap) is shifted forward by the gap (02:30 -> 03:30 when clocks jump 02:00 -> 03:00);
 * a wall time that occurs twice (fall back) is its first occurrence, so an `after` between the two occurrences moves on to the next day.
 * An empty `days` can never match and throws a RangeError. */
export function nextLocalTime(after: Date, at: TimeOfDay, tz: string, days?: readonly Weekday[]): Date {
  const t = instant(after);
  const minutes = minutesOf(at);
  const z = zone(tz);
  if (days && days.length === 0) throw new RangeError('nextLocalTime: no weekdays to choose from');
  const { dayStart } = local(z, t);
  // Today's time may already have passed, so a weekday filter can need up to 7 days beyond today.
  for (let i = 0; i <= 7; i++) {
    const d = dayStart + i * DAY;
    if (days && !days.includes(WEEKDAYS[new Date(d).getUTCDay()])) continue;
    const candidate = wallToInstant(z, d, minutes);
    if (candidate >= t) return new Date(candidate);
  }
  // Unreachable: every weekday occurs within 8 consecutive days and only today's can be in the past.
  throw new Error('nextLocalTime: no candidate found');
}

/** Quiet hours from `from` to `to` local (may wrap midnight, e.g. 21:00→08:00; from === to means never quiet).
 * If `when` falls inside them ([from, to), to the minute), the instant they end (the next local `to`); otherwise null. */
export function quietUntil(when: Date, quiet: { from: TimeOfDay; to: TimeOfDay }, tz: string): Date | null {
  const from = minutesOf(quiet.from);
  const to = minutesOf(quiet.to);
  const t = instant(when);
  const z = zone(tz);
  if (from === to) return null;
  const m = Math.floor(local(z, t).ms / MINUTE);
  const inside = from < to ? m >= from && m < to : m >= from || m < to;
  return inside ? nextLocalTime(when, quiet.to, tz) : null;
}

// A calendar date, optionally followed by a time and zone; only the date as written counts.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

function monthDay(value: unknown): { month: number; day: number } | null {
  if (typeof value !== 'string') return null;
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const month = +m[2];
  const day = +m[3];
  // Checked against a leap year so that Feb 29 is kept whatever year was written.
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(2000, month, 0)).getUTCDate()) return null;
  return { month, day };
}

/** A yearly date attribute (e.g. a birthday): `value` is an ISO date 'YYYY-MM-DD' or an ISO date-time (its calendar date as written, year ignored);
 * anything else gives null. Returns the first instant >= `after` that is local time `at` in `tz` on the anniversary day shifted by
 * `offsetDays` (negative: before). Feb 29 falls on Feb 28 in years without it. */
export function nextAnniversary(after: Date, value: unknown, at: TimeOfDay, tz: string, offsetDays: number): Date | null {
  const t = instant(after);
  const minutes = minutesOf(at);
  const z = zone(tz);
  if (!Number.isInteger(offsetDays)) throw new RangeError(`offsetDays must be an integer, got ${offsetDays}`);
  const md = monthDay(value);
  if (!md) return null;
  const year = new Date(local(z, t).dayStart).getUTCFullYear();
  // A shift of more than a year can move an anniversary into an earlier or later year than `after`'s.
  const span = Math.ceil(Math.abs(offsetDays) / 365) + 1;
  for (let y = year - span; y <= year + span; y++) {
    const leap = new Date(Date.UTC(y, 1, 29)).getUTCDate() === 29;
    const day = md.month === 2 && md.day === 29 && !leap ? 28 : md.day;
    const candidate = wallToInstant(z, utc(y, md.month, day) + offsetDays * DAY, minutes);
    if (candidate >= t) return new Date(candidate);
  }
  // Unreachable: the last year tried is at least a year after `after`.
  return null;
}

/** The local calendar date ('YYYY-MM-DD') and weekday of an instant in tz, and whole minutes since local midnight. */
export function localDate(when: Date, tz: string): { date: string; weekday: Weekday; minutes: number } {
  const { dayStart, ms } = local(zone(tz), instant(when));
  return { date: isoDate(dayStart), weekday: WEEKDAYS[new Date(dayStart).getUTCDay()], minutes: Math.floor(ms / MINUTE) };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The instant of a local wall time (date 'YYYY-MM-DD', at 'HH:MM') in tz, with the gap/overlap rules above. */
export function zonedInstant(date: string, at: TimeOfDay, tz: string): Date {
  const m = DATE.exec(date);
  const dayStart = m ? utc(+m[1], +m[2], +m[3]) : NaN;
  // Date.UTC rolls 2026-02-30 over into March; a date that does not round-trip is not a date.
  if (!m || Number.isNaN(dayStart) || isoDate(dayStart) !== date) throw new RangeError(`Invalid date ${JSON.stringify(date)} (expected YYYY-MM-DD)`);
  return new Date(wallToInstant(zone(tz), dayStart, minutesOf(at)));
}
