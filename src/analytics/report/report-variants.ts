import { escapeHtml } from '../../common/html';
import type { AbMetric } from '../../experiments/ab-decision';
import { formatLift, formatValue, metricLabel } from '../../experiments/wording';
import type { CampaignStatsDto, VariantStatsDto } from '../dto/stats.dto';
import { intervalChart } from './report-charts';
import { figure, pct } from './report-page';

/**
 * The variants side by side: the metric of each with its always-valid interval (a chart and a
 * table), the lift over the control, guardrails, and the A/B test's state and reason in words.
 */
export function variantsSection(s: CampaignStatsDto): string {
  const variants = s.variants;
  if (!variants?.length) return `<section id="variants"><h2>Variants</h2><p class="note">This campaign has no A/B variants.</p></section>`;
  const test = s.abTest;
  const metric = (test?.metric ?? 'click') as AbMetric;
  const label = metricLabel(metric);
  const head = test
    ? `<p>A/B test on ${escapeHtml(label)}: <b data-figure-text="ab-state">${escapeHtml(test.state)}</b>${
        test.winner
          ? `, winner <b data-figure-text="ab-winner">${escapeHtml(test.winner)}</b>${test.basis ? ` (${escapeHtml(basisWords(test.basis))})` : ''}`
          : ''
      }.</p><p>${escapeHtml(test.reason)}</p>${test.warnings.map((w) => `<p class="note">${escapeHtml(w)}</p>`).join('')}`
    : `<p>The variants split the whole audience; compared on ${escapeHtml(label)}.</p>`;
  const chart = intervalChart(
    variants.map((v) => ({ name: `${v.id} · ${v.name}`, value: v.metric.value, low: bounded(v.metric.low), high: bounded(v.metric.high) })),
    (x) => formatValue(metric, x),
  );
  const rows = variants.map((v) => row(v, metric)).join('');
  return `<section id="variants"><h2>Variants</h2>${head}${chart}
<table><thead><tr><th>Variant</th><th class="n">Sent</th><th class="n hide-narrow">Delivered</th><th class="n">${metric === 'revenue' ? 'Per recipient' : 'Rate'}</th><th class="n">vs A</th><th class="n hide-narrow">Human opens</th><th class="n hide-narrow">Unsubscribes</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">“Rate”: ${escapeHtml(label)} per delivered recipient; “vs A”: the relative lift over the control. Intervals are always valid: they keep their confidence however often the results are looked at, so they are wider than a one-look interval. ${
    test ? 'With an A/B test these are the test’s recipients; the rest of the audience, given the winner, is in the totals above.' : ''
  } A variant whose unsubscribes, complaints or bounces are significantly above A’s cannot win (marked ⚠).</p></section>`;
}

function row(v: VariantStatsDto, metric: AbMetric): string {
  const m = v.metric;
  const interval = `${formatValue(metric, m.value)}<br><span class="note">${formatValue(metric, bounded(m.low))} – ${formatValue(metric, bounded(m.high))}</span>`;
  const cmp = v.vsControl;
  const lift = !cmp
    ? '<span class="note">control</span>'
    : cmp.lift
      ? `${formatLift(cmp.lift.value)}${cmp.significant ? ` <b>${cmp.significant}</b>` : ''}<br><span class="note">${formatLift(cmp.lift.low)} to ${formatLift(cmp.lift.high)}</span>`
      : '<span class="note">—</span>';
  const guard = cmp?.failedGuardrails.length ? ` <span title="fails the guardrail on ${escapeHtml(cmp.failedGuardrails.join(', '))}">⚠</span>` : '';
  return `<tr><th>${escapeHtml(v.id)} · ${escapeHtml(v.name)}${guard}</th><td class="n">${figure(`variant-${v.id}-sent`, v.sent)}</td><td class="n hide-narrow">${figure(
    `variant-${v.id}-delivered`,
    v.delivered,
  )}</td><td class="n">${interval}</td><td class="n">${lift}</td><td class="n hide-narrow">${figure(`variant-${v.id}-opens-human`, v.opens.uniqueHuman)} · ${pct(
    v.rates.open,
  )}</td><td class="n hide-narrow">${figure(`variant-${v.id}-unsubscribes`, v.unsubscribes)}</td></tr>`;
}

function basisWords(basis: string): string {
  return basis === 'significance' ? 'shown by the test' : basis === 'fallback' ? 'by the fallback at the deadline' : 'chosen by hand';
}

/** An unbounded end (revenue without data yet) drawn at the value range's edge. */
const bounded = (x: number) => (Math.abs(x) >= Number.MAX_VALUE ? 0 : x);
