import { chiSquareSurvival } from './distributions';

/** A sample-ratio mismatch below this p-value blocks an automatic decision. */
export const SRM_THRESHOLD = 0.001;

/** Chi-square goodness of fit of the assigned counts against an even split. */
export function sampleRatioMismatch(assigned: number[]): { chiSquare: number; pValue: number; mismatch: boolean } {
  const total = assigned.reduce((a, b) => a + b, 0);
  if (total === 0) return { chiSquare: 0, pValue: 1, mismatch: false };
  const expected = total / assigned.length;
  const chiSquare = assigned.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
  const pValue = chiSquareSurvival(chiSquare, assigned.length - 1);
  return { chiSquare, pValue, mismatch: pValue < SRM_THRESHOLD };
}

/** Holm's step-down: which of the p-values are rejected at family-wise level α, and the level each was judged at. */
export function holm(pValues: number[], alpha: number): { rejected: boolean[]; levels: number[] } {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const rejected = new Array<boolean>(m).fill(false);
  const levels = new Array<number>(m).fill(alpha / m);
  let stillRejecting = true;
  order.forEach(([p, i], step) => {
    levels[i] = alpha / (m - step);
    stillRejecting = stillRejecting && p <= levels[i];
    rejected[i] = stillRejecting;
  });
  return { rejected, levels };
}
