import type { Guardrail, VariantCounts } from './ab-decision';
import { mixtureScale, oneSidedAlwaysValidPValue } from './mixture';
import { formatValue } from './wording';

/**
 * Guardrails: a variant with a significantly higher unsubscribe, complaint or bounce rate than the
 * control cannot win (one-sided, with the same always-valid mixture as the decision).
 */
const GUARDRAILS: { name: Guardrail; label: string; rate: (v: VariantCounts) => [number, number] }[] = [
  { name: 'unsubscribes', label: 'unsubscribes', rate: (v) => [v.unsubscribes, v.recipients] },
  { name: 'complaints', label: 'spam complaints', rate: (v) => [v.complaints, v.recipients] },
  { name: 'bounces', label: 'bounces', rate: (v) => [v.bounces, v.assigned] },
];

export function failedGuardrails(control: VariantCounts, v: VariantCounts, alpha: number, expected: number): Guardrail[] {
  return GUARDRAILS.filter(({ rate }) => {
    const [ka, na] = rate(control);
    const [kb, nb] = rate(v);
    if (na === 0 || nb === 0) return false;
    const pa = ka / na;
    const pb = kb / nb;
    const se = Math.sqrt((pa * (1 - pa)) / na + (pb * (1 - pb)) / nb);
    if (!(se > 0)) return false;
    return oneSidedAlwaysValidPValue((pb - pa) / se, mixtureScale(na + nb, 2 * expected, alpha)) <= alpha;
  }).map((g) => g.name);
}

export function guardrailSentence(control: VariantCounts, v: VariantCounts, failed: Guardrail[]): string {
  const parts = failed.map((name) => {
    const g = GUARDRAILS.find((x) => x.name === name)!;
    const [ka, na] = g.rate(control);
    const [kb, nb] = g.rate(v);
    return `${g.label} (${formatValue('click', kb / nb)} vs ${formatValue('click', ka / na)})`;
  });
  return `${v.id} cannot win: significantly more ${parts.join(' and ')} than ${control.id}.`;
}
