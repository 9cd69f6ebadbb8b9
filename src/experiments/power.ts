/**
 * How much of the audience an A/B test needs: recipients per variant to detect a given relative
 * lift of a rate with the always-valid test of ./ab-decision.ts, and the textbook fixed-horizon
 * number for comparison.
 *
 * The sequential number asks that, at the planned size (where the one-sided linear boundary is
 * tuned, x = 2 ln(1/α)), the expected z statistic of the lift clears the boundary by z_{power}:
 *   n = (b + z_β)² · (q₁/p₁ + q₂/p₂) / ln(1 + L)²,   b = linearBoundary(α/(k − 1), 2 ln(1/α)),
 * the variance being that of the log ratio of the rates (delta method), as in decide(); for k = 2,
 * b = sqrt(2 ln(1/α)) = 2.45 at α = 0.05. It ignores the chance of stopping at an earlier look, so it
 * errs on the side of too many recipients: for 3 % vs 3.6 % it asks 19,241 per variant, and 24 hourly
 * looks at 20,000 per variant reached about 86 % power in simulation (the spec).
 * The fixed-horizon number is the usual two-proportion formula (Fleiss, Statistical Methods for
 * Rates and Proportions, 3rd ed., §4.2, without continuity correction) with the same one-sided error
 * α per direction as decide():
 *   n = (z_α·sqrt(2p̄q̄) + z_β·sqrt(p₁q₁ + p₂q₂))² / (p₂ − p₁)².
 * With k > 2 variants both use α/(k − 1), the level of Holm's first step (Bonferroni), which is
 * what the strongest comparison must clear.
 */
import { normalQuantile } from './distributions';
import { linearBoundary, linearTuning } from './mixture';

export interface PowerInput {
  /** Control rate, e.g. 0.03 for a 3 % click rate. */
  baseRate: number;
  /** Smallest relative lift worth detecting, e.g. 0.2 for +20 %. */
  relativeLift: number;
  /** Number of variants including the control (2–8). */
  variants: number;
  /** Recipients in the whole audience (test and remainder). */
  audience: number;
  alpha?: number;
  power?: number;
}

export interface PowerResult {
  /** Recipients per variant for the always-valid test; pass it as AbSettings.expectedPerVariant. */
  perVariant: number;
  /** Share of the audience the test needs (variants × perVariant / audience), capped at 1. */
  testShare: number;
  /** False when even the whole audience is not enough. */
  feasible: boolean;
  /** Recipients per variant a single, fixed-horizon look would need (for comparison only: peeking at it is not valid). */
  fixedHorizonPerVariant: number;
}

export function testShareNeeded(input: PowerInput): PowerResult {
  const { baseRate: p1, relativeLift: lift, variants, audience } = input;
  const alpha = input.alpha ?? 0.05;
  const power = input.power ?? 0.8;
  const p2 = p1 * (1 + lift);
  if (!(p1 > 0 && p1 < 1)) throw new RangeError(`baseRate must be in (0, 1), got ${p1}`);
  if (!(lift > 0 && p2 < 1)) throw new RangeError(`relativeLift must be positive and keep the rate below 1, got ${lift}`);
  if (!Number.isInteger(variants) || variants < 2 || variants > 8) throw new RangeError(`variants must be 2 to 8, got ${variants}`);
  if (!(audience > 0)) throw new RangeError('audience must be positive');
  if (!(alpha > 0 && alpha < 0.5) || !(power > 0.5 && power < 1)) throw new RangeError('alpha must be in (0, 0.5) and power in (0.5, 1)');

  const level = alpha / (variants - 1);
  const zBeta = normalQuantile(power);
  const q1 = 1 - p1;
  const q2 = 1 - p2;

  const boundary = linearBoundary(level, linearTuning(alpha));
  const perVariant = Math.ceil(((boundary + zBeta) ** 2 * (q1 / p1 + q2 / p2)) / Math.log1p(lift) ** 2);

  const pBar = (p1 + p2) / 2;
  const zAlpha = normalQuantile(1 - level);
  const fixedHorizonPerVariant = Math.ceil((zAlpha * Math.sqrt(2 * pBar * (1 - pBar)) + zBeta * Math.sqrt(p1 * q1 + p2 * q2)) ** 2 / (p2 - p1) ** 2);

  const needed = variants * perVariant;
  return { perVariant, testShare: Math.min(1, needed / audience), feasible: needed <= audience, fixedHorizonPerVariant };
}
