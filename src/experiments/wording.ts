/** How A/B results are put into words for the campaign report; numbers in the style "3.6 %", "+8 %", "20,000". */
import type { AbMetric } from './ab-decision';

export function metricLabel(metric: AbMetric): string {
  switch (metric) {
    case 'click':
      return 'unique human clicks';
    case 'conversion':
      return 'conversions';
    case 'revenue':
      return 'revenue per recipient';
    case 'open':
      return 'human opens';
  }
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate as a percentage, with a second decimal below 1 % where one decimal would say little; revenue as an amount. */
export function formatValue(metric: AbMetric, v: number): string {
  if (metric === 'revenue') return v.toFixed(2);
  const pct = v * 100;
  return `${pct < 1 ? pct.toFixed(2) : pct.toFixed(1)} %`;
}

/** A relative lift such as +8 % or -3.5 %: whole percents unless the lift is small. */
export function formatLift(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : '-∞';
  const pct = v * 100;
  const digits = Math.abs(pct) < 10 ? 1 : 0;
  const text = Math.abs(pct).toFixed(digits);
  if (Number(text) === 0) return '0 %';
  return `${pct > 0 ? '+' : '-'}${text} %`;
}

/** 0.05 → "95", 0.05/3 → "98.3". */
export function formatLevel(alpha: number): string {
  const pct = (1 - alpha) * 100;
  return Number.isInteger(Math.round(pct * 10) / 10) ? pct.toFixed(0) : pct.toFixed(1);
}

/** "after 20,000 recipients per variant", or a range when the variants were reached unevenly. */
export function afterPhrase(reached: number[]): string {
  const lo = Math.min(...reached);
  const hi = Math.max(...reached);
  return lo === hi ? `after ${formatCount(lo)} recipients per variant` : `after ${formatCount(lo)} to ${formatCount(hi)} recipients per variant`;
}
