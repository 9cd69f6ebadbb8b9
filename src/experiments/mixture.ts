/**
 * Always-valid inference with a normal-mixture martingale (mixture SPRT), in the form GrowthBook
 * uses for its sequential testing: an asymptotic confidence sequence whose width at N observations
 * is
 *
 *   halfWidth = se · sqrt( 2(x + 1)/x · ln( sqrt(x + 1)/α ) ),   x = N·ρ²,
 *
 * and whose coverage holds simultaneously for every N, so the result may be looked at after every
 * batch of data (continuous monitoring) without inflating the error rate. ρ is the one tuning
 * parameter: ρ² = (−2 ln α + ln(1 − 2 ln α)) / N*, which makes the interval narrowest at the
 * expected sample size N*. Writing x = c(α)·N/N* keeps ρ out of the code entirely.
 *
 * The same martingale gives always-valid p-values (1 / its value, by Ville's inequality), which is
 * what Holm's procedure needs; the one-sided version mixes over positive effects only (half-normal
 * mixing distribution), for guardrails where only "worse than the control" matters.
 *
 * References:
 * - S. R. Howard, A. Ramdas, J. McAuliffe, J. Sekhon, "Time-uniform, nonparametric, nonasymptotic
 *   confidence sequences", Annals of Statistics 49(2), 2021, arXiv:1810.08240 (normal mixture
 *   boundary and the choice of ρ).
 * - I. Waudby-Smith, D. Arbour, R. Sinha, E. H. Kennedy, A. Ramdas, "Time-uniform central limit
 *   theory and asymptotic confidence sequences", Annals of Statistics 52(6), 2024, arXiv:2103.06476
 *   (validity with an estimated variance, which is what makes it usable for rates and revenue).
 * - GrowthBook documentation, "Sequential Testing": https://docs.growthbook.io/statistics/sequential
 * - R. Johari, L. Pekelis, D. Walsh, "Always valid inference", arXiv:1512.04922 (always-valid p-values).
 */
import { logNormalCdf } from './distributions';

/** c(α): the value of x = N·ρ² at which the interval is narrowest (Howard et al. 2021, §3.5). */
export function mixtureTuning(alpha: number): number {
  const l = -2 * Math.log(alpha);
  return l + Math.log(1 + l);
}

/**
 * x = N·ρ² for N observations when the mixture was tuned, at level `designAlpha`, for N* expected
 * observations. ρ must be fixed before the data are seen, so it is tuned with the design level even
 * when a comparison is then judged at a stricter, Holm-adjusted level.
 */
export function mixtureScale(n: number, expectedN: number, designAlpha: number): number {
  return (mixtureTuning(designAlpha) * n) / expectedN;
}

/** The multiple of the standard error that makes the always-valid interval at level α, at scale x. */
export function mixtureHalfWidthFactor(alpha: number, x: number): number {
  if (!(x > 0)) return Infinity;
  return Math.sqrt(((2 * (x + 1)) / x) * Math.log(Math.sqrt(x + 1) / alpha));
}

/** ln of the two-sided normal-mixture likelihood ratio for a z statistic at scale x. */
function logMixture(z: number, x: number): number {
  return -0.5 * Math.log1p(x) + (x * z * z) / (2 * (1 + x));
}

/** Two-sided always-valid p-value of H0: effect = 0; it is below α exactly when the interval at α excludes 0. */
export function alwaysValidPValue(z: number, x: number): number {
  if (!(x > 0) || !Number.isFinite(z)) return 1;
  return Math.min(1, Math.exp(-logMixture(z, x)));
}

/**
 * One-sided always-valid p-value of H0: effect ≤ 0 against effect > 0, from the mixture over a
 * half-normal distribution of positive effects:
 *   M = 2/sqrt(1 + x) · exp(x z² / (2(1 + x))) · Φ(z · sqrt(x / (1 + x))).
 */
export function oneSidedAlwaysValidPValue(z: number, x: number): number {
  if (!(x > 0) || !Number.isFinite(z)) return 1;
  const logM = Math.log(2) + logMixture(z, x) + logNormalCdf(z * Math.sqrt(x / (1 + x)));
  return Math.min(1, Math.exp(-logM));
}

/**
 * One-sided always-valid test with the mixing distribution a single point (a linear boundary in the
 * sum of the observations, Howard et al. 2021 §3 / Howard et al. 2020, arXiv:1808.03204, the
 * likelihood ratio of Wald's SPRT against one planned effect, without a futility bound):
 *   ln M = sqrt(x) · z − x/2,   x = N · θ²,
 * a non-negative martingale under "effect ≤ 0" whatever N, so Ville's inequality gives
 * P(M ever ≥ 1/α) ≤ α under continuous monitoring. θ is fixed before the data: x = 2 ln(1/α) at the
 * expected size N* makes the boundary z ≥ sqrt(2 ln(1/α)) there, the lowest any point mass reaches at
 * that size (2.45 at α = 0.05, against about 2.77 for the half-normal mixture and 3.03 for the two-sided
 * normal mixture at the same α). Away from N* the boundary rises (4.3 at a tenth of N*, 3.1 at four times N*), which
 * is the price of being tightest where the planned test ends.
 */
export function linearTuning(alpha: number): number {
  return 2 * Math.log(1 / alpha);
}

/** x = N·θ² for N observations with the linear boundary tuned at level `designAlpha` for N* observations. */
export function linearScale(n: number, expectedN: number, designAlpha: number): number {
  return (linearTuning(designAlpha) * n) / expectedN;
}

/** One-sided always-valid p-value of H0: effect ≤ 0 against effect > 0 with the linear boundary (1/M). */
export function linearPValue(z: number, x: number): number {
  if (!(x > 0) || !Number.isFinite(z)) return 1;
  return Math.min(1, Math.exp(x / 2 - Math.sqrt(x) * z));
}

/** The z the linear boundary asks at level α and scale x: sqrt(x)/2 + ln(1/α)/sqrt(x); the one-sided bound is estimate − this · se. */
export function linearBoundary(alpha: number, x: number): number {
  if (!(x > 0)) return Infinity;
  return Math.sqrt(x) / 2 + Math.log(1 / alpha) / Math.sqrt(x);
}
