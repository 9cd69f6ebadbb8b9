import { z } from 'zod';

/**
 * A journey's definition as clients write it (`{trigger, steps, settings}`), checked for shape
 * here; `definition-graph.ts` checks how the steps connect, the service what they name.
 */

const STEP_ID = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or - (at most 64)');
const ID = z.string().uuid('must be an id (uuid)');
const NAME = z.string().min(1).max(200);
const TIME_OF_DAY = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day, HH:MM (24 h)');
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** ISO 8601 durations from a second to a year: P1Y2M3W4DT5H6M7S, any part left out. */
const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export function parseDuration(text: string): Duration | null {
  const m = DURATION.exec(text);
  if (!m) return null;
  const [years, months, weeks, days, hours, minutes, seconds] = m.slice(1).map((x) => Number(x ?? 0));
  return { years, months, weeks, days, hours, minutes, seconds };
}

/** An upper bound in seconds (a month counts 31 days, a year 366), to keep waits within reason. */
export function longestSeconds(d: Duration): number {
  return ((d.years * 366 + d.months * 31 + d.weeks * 7 + d.days) * 24 + d.hours) * 3600 + d.minutes * 60 + d.seconds;
}

const duration = z.string().refine((s) => {
  const d = parseDuration(s);
  return d !== null && longestSeconds(d) >= 1 && longestSeconds(d) <= 2 * 366 * 86_400;
}, 'must be an ISO 8601 duration from PT1S to P2Y, such as PT2S, PT4H or P3D');

const comparisonValue = z.union([z.string().max(1000), z.number(), z.boolean(), z.array(z.union([z.string().max(1000), z.number()])).max(1000)]);
const propertyFilter = z.object({ property: z.string().min(1).max(200), op: z.string(), value: comparisonValue.optional() }).strict();

export const triggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('listJoined'), listId: ID }).strict(),
  z.object({ type: z.literal('event'), event: NAME, where: z.array(propertyFilter).max(20).default([]) }).strict(),
  z.object({ type: z.literal('segmentEntered'), segmentId: ID }).strict(),
  z
    .object({
      type: z.literal('date'),
      attribute: z.string().min(1).max(200),
      at: TIME_OF_DAY,
      offsetDays: z.number().int().min(-366).max(366).default(0),
    })
    .strict(),
  z.object({ type: z.literal('api') }).strict(),
]);

const base = { id: STEP_ID };
const next = STEP_ID.optional();

export const stepSchema = z.discriminatedUnion('type', [
  z
    .object({
      ...base,
      type: z.literal('send'),
      templateId: ID,
      subject: z.string().min(1).max(998),
      fromName: z.string().min(1).max(200),
      fromEmail: z.string().email().max(320),
      transactional: z.boolean().default(false),
      next,
    })
    .strict(),
  z.object({ ...base, type: z.literal('wait'), duration, next }).strict(),
  z
    .object({
      ...base,
      type: z.literal('waitUntil'),
      at: TIME_OF_DAY,
      days: z.array(z.enum(WEEKDAYS)).min(1).max(7).optional(),
      next,
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('waitForEvent'),
      event: NAME,
      /** Properties the awaited event must carry: literal values, or `{{trigger.properties.<p>}}` for the triggering event's. */
      match: z.record(z.string().min(1).max(200), z.union([z.string().max(1000), z.number(), z.boolean()])).default({}),
      timeout: duration,
      next,
      timeoutNext: next,
    })
    .strict(),
  z.object({ ...base, type: z.literal('branch'), rules: z.record(z.unknown()), yes: next, no: next }).strict(),
  z
    .object({
      ...base,
      type: z.literal('split'),
      weights: z.array(z.number().int().min(0).max(1000)).min(2).max(10),
      next: z.array(STEP_ID).min(2).max(10),
    })
    .strict(),
  z.object({ ...base, type: z.literal('exit') }).strict(),
]);

export const settingsSchema = z
  .object({
    /** Send steps (unless transactional) need a confirmed subscription to one of these lists. */
    lists: z.array(ID).max(100).default([]),
    reentry: z.union([z.enum(['never', 'afterExit']), z.object({ afterDays: z.number().int().min(1).max(3650) }).strict()]).default('never'),
    goal: z
      .object({ event: NAME, withinDays: z.number().int().min(1).max(3650).optional() })
      .strict()
      .optional(),
    quietHours: z.object({ from: TIME_OF_DAY, to: TIME_OF_DAY }).strict().optional(),
    frequencyCap: z
      .object({
        max: z.number().int().min(1).max(1000),
        perHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 366),
      })
      .strict()
      .optional(),
  })
  .strict();

export const definitionSchema = z
  .object({
    trigger: triggerSchema,
    steps: z.array(stepSchema).min(1).max(200),
    settings: settingsSchema.default({}),
  })
  .strict();

export type Trigger = z.infer<typeof triggerSchema>;
export type Step = z.infer<typeof stepSchema>;
export type JourneySettings = z.infer<typeof settingsSchema>;
export type JourneyDefinition = z.infer<typeof definitionSchema>;

/** The steps a step can go to next, each with the field that names it. */
export function successors(step: Step): { field: string; id: string }[] {
  const named = (field: string, id: string | undefined) => (id === undefined ? [] : [{ field, id }]);
  switch (step.type) {
    case 'send':
    case 'wait':
    case 'waitUntil':
      return named('next', step.next);
    case 'waitForEvent':
      return [...named('next', step.next), ...named('timeoutNext', step.timeoutNext)];
    case 'branch':
      return [...named('yes', step.yes), ...named('no', step.no)];
    case 'split':
      return step.next.map((id, i) => ({ field: `next[${i}]`, id }));
    case 'exit':
      return [];
  }
}

/** Steps that make a person wait: a cycle must pass one, or it would run forever at once. */
export function waits(step: Step): boolean {
  return step.type === 'wait' || step.type === 'waitUntil' || step.type === 'waitForEvent';
}
