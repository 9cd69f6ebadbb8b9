import { createHash } from 'node:crypto';
import { Duration, parseDuration } from './journey-definition';

/**
 * The pure parts of running steps: when a wait ends, which arm of a split a person takes, what an
 * awaited event must carry, and when the frequency cap lets a mail go.
 */

/** `at` plus an ISO 8601 duration: years, months and days on the calendar (UTC), the rest in seconds. */
export function addDuration(at: Date, text: string): Date {
  const d = parseDuration(text) as Duration;
  const t = new Date(at.getTime());
  if (d.years || d.months) t.setUTCMonth(t.getUTCMonth() + d.years * 12 + d.months);
  if (d.weeks || d.days) t.setUTCDate(t.getUTCDate() + d.weeks * 7 + d.days);
  return new Date(t.getTime() + ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000);
}

/** The arm of a split a subscriber takes: the same every time (a hash of the person and the step), in proportion to the weights. */
export function splitArm(subscriberId: string, journeyId: string, stepId: string, weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  const h = createHash('sha256').update(`${journeyId}:${stepId}:${subscriberId}`).digest().readUInt32BE(0);
  let point = (h / 2 ** 32) * total;
  for (let i = 0; i < weights.length; i++) {
    if (point < weights[i]) return i;
    point -= weights[i];
  }
  return weights.length - 1;
}

const TRIGGER_REF = /^\{\{\s*trigger\.properties\.([^}\s]+)\s*\}\}$/;

/**
 * A waitForEvent's `match` with `{{trigger.properties.<p>}}` replaced by the triggering event's
 * values: the properties the awaited event must carry (a JSON containment test in Postgres).
 */
export function resolveMatch(match: Record<string, string | number | boolean>, trigger: Record<string, unknown>): Record<string, unknown> {
  const properties = (trigger.properties ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(match)) {
    const ref = typeof v === 'string' ? TRIGGER_REF.exec(v) : null;
    out[k] = ref ? (pathOf(properties, ref[1]) ?? null) : v;
  }
  return out;
}

function pathOf(o: Record<string, unknown>, path: string): unknown {
  let v: unknown = o;
  for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/**
 * With `sent` the times a person got marketing mail in the window, whether one more is allowed now
 * (null), or else the moment it will be: when enough of them have left the window.
 */
export function capAllows(sent: readonly Date[], cap: { max: number; perHours: number }, now: Date): Date | null {
  const windowMs = cap.perHours * 3_600_000;
  const inWindow = sent.filter((t) => now.getTime() - t.getTime() < windowMs).sort((a, b) => a.getTime() - b.getTime());
  if (inWindow.length < cap.max) return null;
  return new Date(inWindow[inWindow.length - cap.max].getTime() + windowMs);
}
