/**
 * The statistics behind a campaign A/B test: given the counts so far, is there a winner, may we
 * keep waiting, or has the deadline come? Pure functions, no database, no Nest.
 *
 * Method
 * - Each variant is compared with the control (variant 0) on the relative lift of the metric per
 *   recipient with two one-sided always-valid tests, "better than the control" and "worse than the
 *   control", each at level α (default 0.05). A winner is a variant significantly better than the
 *   control; a variant significantly worse loses. Each test is a mixture SPRT whose mixing
 *   distribution is a single point (a linear boundary; see ./mixture.ts and Howard et al. 2021,
 *   arXiv:1810.08240; Johari et al., arXiv:1512.04922): a non-negative martingale under "no
 *   effect in that direction" at every sample size, so by Ville's inequality the scheduler may call
 *   decide() every hour, or every minute, without raising the error rate. Spending α on one side
 *   and putting the mixture at one point makes the boundary z ≥ sqrt(2 ln(1/α)) = 2.45 at the planned
 *   size, against 3.03 for the two-sided normal mixture GrowthBook uses at α = 0.05; that is what
 *   takes 3.0 % vs 3.6 % at 20,000 per variant from about 70 % to about 86 % power.
 * - Error rates, honestly: P(some challenger falsely called better) ≤ α and P(some challenger
 *   falsely called worse) ≤ α, so a decision of either kind is wrong with probability at most 2α
 *   (0.1 by default; the two-sided equivalent of α = 0.1). With 24 hourly looks and the test
 *   ending at the planned size the measured A/A rate is lower, 4.4 % over 20,000 simulated tests
 *   (3.4–5.0 % in batches of 2,000 with different seeds; power 86 %, wrong winner 0), because the
 *   guarantee also covers looking continuously and forever, which a campaign does not. That margin
 *   under a 5 % target is thin: for a wider one tune at a larger size than the test will reach,
 *   which lowers the A/A rate and the power together. A false "worse" makes the control win, which
 *   in an A/A test sends the same mail. Pass alpha = 0.025 for at most 5 % across both directions,
 *   at the cost of power (about 79 % in the same simulation).
 * - The single tuning parameter is the expected number of recipients per variant
 *   (`expectedPerVariant`, use testShareNeeded().perVariant); the boundary is lowest there and
 *   valid everywhere (higher before and after: 3.1 at a quarter and at four times the size). In
 *   simulation, tuning at 0.75 to 1 times the final size gave the most power; tuning it larger
 *   lowers the A/A rate and the power together.
 * - The statistic is the log of the ratio of the means, log(m_B/m_A), with the delta-method
 *   standard error sqrt(v_B/(n_B·m_B²) + v_A/(n_A·m_A²)); its interval, mapped back with exp − 1, is
 *   the printed interval of the relative lift, so the words and the decision always agree.
 * - Several variants: Holm's step-down procedure, once per direction, over the one-sided
 *   always-valid p-values of the comparisons with the control (Holm 1979, Scand. J. Statist.
 *   6:65–70). Running Holm at every look stays valid: wrongly rejecting a true null needs one of the m₀ true-null p-values to fall
 *   below α/m₀ at some time, and each does so with probability at most α/m₀. We compare with the
 *   control rather than pairwise against the leader because (a) the control is what is sent when
 *   nothing is shown, so "beats the control" is the claim a marketer acts on, (b) k − 1
 *   comparisons instead of a leader-vs-all family that changes with the data keep the test
 *   stronger, and (c) guardrails are measured against the control too. When several variants beat
 *   the control the one with the highest estimate is sent, and the reason says so.
 * - Sample-ratio mismatch: chi-square goodness of fit of the assigned counts against an even split;
 *   p < 0.001 blocks every automatic decision, fallbacks included, since the counts cannot be trusted.
 * - Guardrails (unsubscribes and complaints per recipient reached, bounces per recipient assigned):
 *   one-sided always-valid test (half-normal mixture), at level `guardrailAlpha` (default α) without
 *   multiplicity correction: a stricter guardrail only costs a variant its chance to win. A failing
 *   variant cannot win, by test or by fallback. Guardrail events are rare, so a moderate increase
 *   (say 0.2 % → 0.4 % unsubscribes) is often not yet significant when the metric already is; the
 *   guardrail then cannot stop the variant. decide() is stateless: a guardrail that failed at an
 *   earlier look and no longer does is not remembered (the caller may keep it).
 * - No decision before `minPerVariant` recipients per variant (the normal approximation needs a few
 *   dozen events); at `maxHours` without a decision the fallback applies.
 */
import { holm, sampleRatioMismatch, SRM_THRESHOLD } from './checks';
import { failedGuardrails, guardrailSentence } from './guardrails';
import { linearBoundary, linearPValue, linearScale, mixtureHalfWidthFactor, mixtureScale } from './mixture';
import { afterPhrase, formatCount, formatLevel, formatLift, formatValue, metricLabel } from './wording';

export { testShareNeeded } from './power';
export type { PowerInput, PowerResult } from './power';
export { holm, sampleRatioMismatch, SRM_THRESHOLD };

export type AbMetric = 'click' | 'conversion' | 'revenue' | 'open';
export type AbFallback = 'control' | 'leader' | 'hold';
export type Guardrail = 'unsubscribes' | 'complaints' | 'bounces';

export interface VariantCounts {
  id: string;
  /** Recipients assigned to the variant (for the sample-ratio check and the bounce rate). */
  assigned: number;
  /** Recipients reached (delivered): the denominator of the metric. */
  recipients: number;
  /** Recipients with a unique human click, conversion or human open; unused for revenue. */
  successes: number;
  /** Revenue: sum and sum of squares of revenue per recipient reached (recipients without a purchase count as 0). */
  sum?: number;
  sumSquares?: number;
  unsubscribes: number;
  complaints: number;
  bounces: number;
}

export interface AbSettings {
  metric: AbMetric;
  /**
   * One-sided error rate per direction across all comparisons (Holm): a challenger is falsely called
   * better with probability at most α, and falsely called worse with probability at most α; default 0.05.
   * The printed intervals of the lift are the two one-sided bounds together, at level 1 − 2α.
   */
  alpha?: number;
  /**
   * One-sided level of the guardrail tests; default α. A larger value makes a harmful variant lose
   * its chance to win sooner, at the price of now and then excluding a harmless one.
   */
  guardrailAlpha?: number;
  /** No decision before every variant has reached this many recipients; default 1,000. */
  minPerVariant?: number;
  /** Tuning of the linear boundary: recipients per variant at which the intervals should be narrowest; default 10,000. */
  expectedPerVariant?: number;
  maxHours: number;
  fallback: AbFallback;
}

export interface Interval {
  value: number;
  low: number;
  high: number;
}

export interface Comparison {
  /** Relative lift over the control with its always-valid interval; null while the control's metric is 0. */
  lift: Interval | null;
  /** Confidence level of `lift`: 1 − 2 × the Holm level this comparison was judged at (in the direction of its estimate). */
  level: number;
  pValue: number;
  significant: 'better' | 'worse' | null;
  failedGuardrails: Guardrail[];
}

export interface VariantResult {
  id: string;
  sent: number;
  /** Clicks, conversions or opens; for revenue the number of recipients reached. */
  successes: number;
  /** Total revenue (revenue metric only). */
  value?: number;
  /** Metric per recipient with its always-valid interval at level 1 − α (not adjusted for multiplicity). */
  metric: Interval;
  /** Absent for the control. */
  vsControl?: Comparison;
}

export interface AbDecision {
  state: 'testing' | 'decided' | 'inconclusive';
  winner?: string;
  /** Whether a decided winner was shown by the test or chosen by the fallback at maxHours. */
  basis?: 'significance' | 'fallback';
  reason: string;
  variants: VariantResult[];
  srm: { chiSquare: number; pValue: number; mismatch: boolean };
  warnings: string[];
}

const DEFAULTS = { alpha: 0.05, minPerVariant: 1_000, expectedPerVariant: 10_000 };

interface Moments {
  n: number;
  mean: number;
  /** Per-recipient variance. */
  variance: number;
}

function moments(v: VariantCounts, metric: AbMetric): Moments {
  const n = v.recipients;
  if (metric === 'revenue') {
    const sum = v.sum ?? 0;
    const mean = n > 0 ? sum / n : 0;
    const variance = n > 1 ? Math.max(0, ((v.sumSquares ?? 0) - sum * mean) / (n - 1)) : 0;
    return { n, mean, variance };
  }
  const mean = n > 0 ? v.successes / n : 0;
  return { n, mean, variance: mean * (1 - mean) };
}

function check(variants: VariantCounts[], settings: AbSettings, alpha: number): void {
  if (variants.length < 2 || variants.length > 8) throw new RangeError(`an A/B test has 2 to 8 variants, got ${variants.length}`);
  if (new Set(variants.map((v) => v.id)).size !== variants.length) throw new RangeError('variant ids must be distinct');
  if (!(alpha > 0 && alpha < 0.5)) throw new RangeError(`alpha must be in (0, 0.5), got ${alpha}`);
  if (!(settings.maxHours > 0)) throw new RangeError('maxHours must be positive');
  for (const v of variants) {
    const counts = [v.assigned, v.recipients, v.successes, v.unsubscribes, v.complaints, v.bounces];
    if (counts.some((c) => !Number.isFinite(c) || c < 0)) throw new RangeError(`variant ${v.id}: counts must be finite and non-negative`);
    if (v.recipients > v.assigned) throw new RangeError(`variant ${v.id}: more recipients reached than assigned`);
    if (settings.metric !== 'revenue' && v.successes > v.recipients) throw new RangeError(`variant ${v.id}: more successes than recipients`);
    if (settings.metric === 'revenue' && (v.sum === undefined || v.sumSquares === undefined))
      throw new RangeError(`variant ${v.id}: revenue needs sum and sumSquares`);
  }
}

function metricInterval(m: Moments, metric: AbMetric, alpha: number, expected: number): Interval {
  if (m.n === 0) return { value: 0, low: metric === 'revenue' ? -Infinity : 0, high: metric === 'revenue' ? Infinity : 1 };
  const half = mixtureHalfWidthFactor(alpha, mixtureScale(m.n, expected, alpha)) * Math.sqrt(m.variance / m.n);
  if (metric === 'revenue') return { value: m.mean, low: m.mean - half, high: m.mean + half };
  return { value: m.mean, low: Math.max(0, m.mean - half), high: Math.min(1, m.mean + half) };
}

/**
 * Lift of b over a on the log scale, log(m_b/m_a), with its delta-method standard error
 * sqrt(v_b/(n_b·m_b²) + v_a/(n_a·m_a²)) and the mixture scale x of the pair. The log ratio is
 * symmetric in the two variants (swapping them only flips the sign), unlike m_b/m_a − 1 whose
 * standard error grows with m_b and so would make a better variant harder to detect than a worse
 * one; its interval maps back to an interval of the lift that agrees with the decision exactly.
 * A rate of 0 is replaced by 0.5/n (Haldane's correction) so a variant without a single click can
 * still be found worse; a revenue mean of 0 leaves the lift undefined.
 */
function logLift(a: Moments, b: Moments, metric: AbMetric, alpha: number, expected: number): { log: number; se: number; z: number; x: number } | null {
  if (a.n === 0 || b.n === 0) return null;
  const corrected = (m: Moments): Moments => {
    if (m.mean > 0 || metric === 'revenue') return m;
    const mean = 0.5 / m.n;
    return { n: m.n, mean, variance: mean * (1 - mean) };
  };
  const ca = corrected(a);
  const cb = corrected(b);
  if (!(ca.mean > 0 && cb.mean > 0)) return null;
  const log = Math.log(cb.mean / ca.mean);
  const se = Math.sqrt(cb.variance / (cb.n * cb.mean ** 2) + ca.variance / (ca.n * ca.mean ** 2));
  const x = linearScale(a.n + b.n, 2 * expected, alpha);
  return { log, se, z: se > 0 ? log / se : 0, x };
}

/**
 * Where an A/B test stands. `variants[0]` is the control; `elapsedHours` is the time since the
 * test was sent, compared with `settings.maxHours` for the fallback.
 */
export function decide(variants: VariantCounts[], settings: AbSettings, elapsedHours: number): AbDecision {
  const alpha = settings.alpha ?? DEFAULTS.alpha;
  const minPerVariant = settings.minPerVariant ?? DEFAULTS.minPerVariant;
  const expected = settings.expectedPerVariant ?? DEFAULTS.expectedPerVariant;
  const guardrailAlpha = settings.guardrailAlpha ?? alpha;
  check(variants, settings, alpha);
  if (!(guardrailAlpha > 0 && guardrailAlpha < 1)) throw new RangeError(`guardrailAlpha must be in (0, 1), got ${guardrailAlpha}`);
  const { metric } = settings;
  const label = metricLabel(metric);
  const warnings: string[] = [];
  if (metric === 'open') {
    warnings.push('Opens are a weak signal: privacy features (Apple Mail Privacy Protection) and security scanners open mail without a reader; prefer clicks.');
  }

  const control = variants[0];
  const mom = variants.map((v) => moments(v, metric));
  const challengers = variants.slice(1).map((v, j) => {
    const i = j + 1;
    const rel = logLift(mom[0], mom[i], metric, alpha, expected);
    const pBetter = rel ? linearPValue(rel.z, rel.x) : 1;
    const pWorse = rel ? linearPValue(-rel.z, rel.x) : 1;
    return { i, v, rel, pBetter, pWorse, pValue: Math.min(pBetter, pWorse), failed: failedGuardrails(control, v, guardrailAlpha, expected) };
  });
  // One Holm family per direction, each at α: "better than the control" and "worse than the control".
  const better = holm(
    challengers.map((c) => c.pBetter),
    alpha,
  );
  const worse = holm(
    challengers.map((c) => c.pWorse),
    alpha,
  );
  const comparisons: Comparison[] = challengers.map((c, j) => {
    const up = !c.rel || c.rel.log >= 0;
    const level = up ? better.levels[j] : worse.levels[j];
    const half = c.rel ? linearBoundary(level, c.rel.x) * c.rel.se : 0;
    const significant = !c.rel ? null : better.rejected[j] ? 'better' : worse.rejected[j] ? 'worse' : null;
    return {
      lift: c.rel ? { value: Math.expm1(c.rel.log), low: Math.expm1(c.rel.log - half), high: Math.expm1(c.rel.log + half) } : null,
      level: 1 - 2 * level,
      pValue: c.pValue,
      significant,
      failedGuardrails: c.failed,
    };
  });
  const results: VariantResult[] = variants.map((v, i) => ({
    id: v.id,
    sent: v.recipients,
    successes: metric === 'revenue' ? v.recipients : v.successes,
    ...(metric === 'revenue' ? { value: v.sum ?? 0 } : {}),
    metric: metricInterval(mom[i], metric, alpha, expected),
    ...(i > 0 ? { vsControl: comparisons[i - 1] } : {}),
  }));
  const srm = sampleRatioMismatch(variants.map((v) => v.assigned));
  const after = afterPhrase(variants.map((v) => v.recipients));
  const deadline = elapsedHours >= settings.maxHours;
  const base = { variants: results, srm, warnings };
  const guardNotes = challengers.filter((c) => c.failed.length > 0).map((c) => guardrailSentence(control, c.v, c.failed));
  const withNotes = (s: string) => [s, ...guardNotes].join(' ');

  if (srm.mismatch) {
    const counts = variants.map((v) => `${v.id} ${formatCount(v.assigned)}`).join(', ');
    return {
      ...base,
      state: 'testing',
      reason:
        `Sample-ratio mismatch: the assigned counts (${counts}) are too uneven for an even split (chi-square p = ${srm.pValue.toExponential(1)}), ` +
        `so no automatic decision is made${deadline ? ', not even the fallback' : ''}; check the assignment before trusting these results.`,
    };
  }

  const short = variants.filter((v) => v.recipients < minPerVariant);
  if (short.length === 0) {
    const winners = challengers.filter((c, j) => comparisons[j].significant === 'better' && c.failed.length === 0);
    if (winners.length > 0) {
      const best = winners.reduce((a, b) => (mom[b.i].mean > mom[a.i].mean ? b : a));
      const cmp = comparisons[best.i - 1];
      const holmNote = challengers.length > 1 ? `, Holm-adjusted for ${challengers.length} comparisons` : '';
      const others = winners.filter((c) => c !== best).map((c) => `${c.v.id} (${formatValue(metric, mom[c.i].mean)})`);
      const alsoNote = others.length > 0 ? ` ${others.join(' and ')} also beat ${control.id}, but ${best.v.id} is ahead.` : '';
      return {
        ...base,
        state: 'decided',
        winner: best.v.id,
        basis: 'significance',
        reason: withNotes(
          `${best.v.id} beat ${control.id} on ${label}: ${formatValue(metric, mom[best.i].mean)} vs ${formatValue(metric, mom[0].mean)} ` +
            `(always-valid ${formatLevel(1 - cmp.level)} % interval of the lift ${formatLift(cmp.lift!.low)} to ${formatLift(cmp.lift!.high)}${holmNote}) ${after}.${alsoNote}`,
        ),
      };
    }
    const worse = comparisons.filter((c) => c.significant === 'worse');
    if (worse.length > 0 && comparisons.every((c) => c.significant === 'worse' || c.failedGuardrails.length > 0)) {
      const lifts = challengers
        .filter((_, j) => comparisons[j].significant === 'worse')
        .map((c) => {
          const l = comparisons[c.i - 1].lift!;
          return `${c.v.id} ${formatValue(metric, mom[c.i].mean)}, lift ${formatLift(l.low)} to ${formatLift(l.high)}`;
        });
      return {
        ...base,
        state: 'decided',
        winner: control.id,
        basis: 'significance',
        reason: withNotes(
          `${control.id} beat ${challengers.length > 1 ? 'every variant' : challengers[0].v.id} on ${label}: ${formatValue(metric, mom[0].mean)} vs ` +
            `${lifts.join('; ')} (always-valid intervals${challengers.length > 1 ? ', Holm-adjusted' : ''}) ${after}.`,
        ),
      };
    }
  }

  if (deadline) return { ...base, ...fallback(settings.fallback, variants, mom, challengers, metric, label, settings.maxHours, withNotes) };

  if (short.length > 0) {
    const list = short.map((v) => `${v.id} ${formatCount(v.recipients)}`).join(', ');
    return { ...base, state: 'testing', reason: withNotes(`Waiting for at least ${formatCount(minPerVariant)} recipients per variant (so far ${list}).`) };
  }
  const closest = challengers.reduce((a, b) => (b.pValue < a.pValue ? b : a));
  const cmp = comparisons[closest.i - 1];
  const liftText = cmp.lift
    ? `; ${closest.v.id} vs ${control.id}: ${formatValue(metric, mom[closest.i].mean)} vs ${formatValue(metric, mom[0].mean)}, ` +
      `always-valid ${formatLevel(1 - cmp.level)} % interval of the lift ${formatLift(cmp.lift.low)} to ${formatLift(cmp.lift.high)}`
    : '';
  return {
    ...base,
    state: 'testing',
    reason: withNotes(`No winner on ${label} yet${liftText} ${after}; the test runs up to ${settings.maxHours} h.`),
  };
}

function fallback(
  kind: AbFallback,
  variants: VariantCounts[],
  mom: Moments[],
  challengers: { i: number; failed: Guardrail[] }[],
  metric: AbMetric,
  label: string,
  maxHours: number,
  withNotes: (s: string) => string,
): Pick<AbDecision, 'state' | 'winner' | 'basis' | 'reason'> {
  const intro = `No winner on ${label} after ${maxHours} h`;
  switch (kind) {
    case 'hold':
      return { state: 'inconclusive', reason: withNotes(`${intro}; the result is inconclusive and the rest of the audience is held.`) };
    case 'control':
      return { state: 'decided', winner: variants[0].id, basis: 'fallback', reason: withNotes(`${intro}; falling back to the control ${variants[0].id}.`) };
    case 'leader': {
      // Only variants that pass the guardrails may be sent; the control always does.
      const eligible = [0, ...challengers.filter((c) => c.failed.length === 0).map((c) => c.i)];
      const lead = eligible.reduce((a, b) => (mom[b].mean > mom[a].mean ? b : a));
      const vs = lead === 0 ? '' : ` (${formatValue(metric, mom[lead].mean)} vs ${formatValue(metric, mom[0].mean)}, not a significant result)`;
      return {
        state: 'decided',
        winner: variants[lead].id,
        basis: 'fallback',
        reason: withNotes(`${intro}; falling back to the leader ${variants[lead].id}${vs}.`),
      };
    }
  }
}
