import type { MailingCounters } from '../analytics/stats.service';
import { barChart } from '../analytics/report/report-charts';
import { figure, int, pct, renderReportShell } from '../analytics/report/report-page';
import { sharedUntilNote } from '../analytics/report/shared-reports';
import { escapeHtml, HtmlPage } from '../common/html';
import type { JourneyStatsDto, JourneyStepStatsDto } from './dto/journey.dto';

/** Everything a journey's report shows; every figure is GET /v1/journeys/:id/stats's. */
export interface JourneyReportData {
  journey: { name: string; status: string; version: number | null };
  stats: JourneyStatsDto;
  /** Set on a shared link's page: when the link stops working (ISO). */
  sharedUntil: string | null;
}

/** A journey's report: totals, the goal, and each step's funnel (send steps with their mail's), charts drawn in as SVG. */
export function journeyReportPage(d: JourneyReportData): HtmlPage {
  return renderReportShell(`Journey report: ${d.journey.name}`, [header(d), totals(d.stats), goal(d.stats), ...d.stats.steps.map((s, i) => step(s, i))]);
}

function header(d: JourneyReportData): string {
  const v = d.journey.version === null ? 'never published' : `version ${d.journey.version} enrols`;
  return `<p class="meta">Journey · status <span data-figure-text="status">${escapeHtml(d.journey.status)}</span> · ${escapeHtml(v)} · ${d.stats.steps.length} steps (of every version)${sharedUntilNote(d.sharedUntil)}</p>`;
}

function totals(s: JourneyStatsDto): string {
  const tile = (key: string, name: string, n: number) => `<div class="tile"><b>${figure(key, n)}</b><span>${name}</span></div>`;
  return `<section id="totals"><h2>Enrolments</h2><div class="tiles">
${tile('enrolled', 'enrolled', s.enrolled)}
${tile('active', 'still in the journey', s.active)}
${tile('completed', 'completed', s.completed)}
${tile('exited', 'exited early', s.exited)}
</div><p class="note">Every enrolment of every version; a person enrolled twice counts twice.</p></section>`;
}

function goal(s: JourneyStatsDto): string {
  if (!s.goal) return `<section id="goal"><h2>Goal</h2><p class="note">This journey has no goal.</p></section>`;
  return `<section id="goal"><h2>Goal</h2><div class="tiles">
<div class="tile"><b>${figure('goal-reached', s.goal.reached)}</b><span>reached the goal</span></div>
<div class="tile"><b><span data-rate="goal-rate" data-value="${s.goal.rate}">${pct(s.goal.rate)}</span></b><span>of enrolled</span></div>
</div></section>`;
}

function step(s: JourneyStepStatsDto, index: number): string {
  const key = (name: string) => `step-${s.stepId}-${name}`;
  const rows = [
    { k: 'entered', name: 'Entered', value: s.entered, of: 'enrolments that reached the step' },
    { k: 'completed', name: 'Completed', value: s.completed, of: 'went on to the next step' },
    { k: 'waiting', name: 'Waiting', value: s.waiting, of: 'are at the step now' },
    { k: 'exited', name: 'Exited', value: s.exited, of: 'left the journey here (its end, a goal, an exit rule)' },
  ];
  const chart = barChart(
    rows.map((r) => ({ name: r.name, value: r.value })),
    (b) => int(b.value),
  );
  const table = rows
    .map(
      (r) =>
        `<tr><th>${r.name}</th><td class="n">${figure(key(r.k), r.value)}</td><td class="n">${s.entered && r.k !== 'entered' ? pct(r.value / s.entered) : ''}</td><td class="hide-narrow">${r.of}</td></tr>`,
    )
    .join('');
  return `<section id="step-${escapeHtml(s.stepId)}" data-step="${escapeHtml(s.stepId)}"><h2>${index + 1}. Step <code>${escapeHtml(s.stepId)}</code> · ${escapeHtml(s.type)}</h2>${chart}
<table><thead><tr><th>Enrolments</th><th class="n">People</th><th class="n">Of entered</th><th class="hide-narrow"></th></tr></thead><tbody>${table}</tbody></table>
${s.messages && s.engagement ? mail(s, s.messages, s.engagement as MailingCounters) : ''}</section>`;
}

function mail(s: JourneyStepStatsDto, messages: Record<string, number>, e: MailingCounters): string {
  const key = (name: string) => `step-${s.stepId}-${name}`;
  const sent = messages.sent ?? 0;
  const rows = [
    { k: 'sent', name: 'Sent', value: sent, rate: '', of: 'accepted by the SMTP server' },
    { k: 'opened', name: 'Opened', value: e.opens.uniqueHuman, rate: sent ? pct(e.opens.uniqueHuman / sent) : '', of: 'of sent (unique, by people)' },
    { k: 'clicked', name: 'Clicked', value: e.clicks.uniqueHuman, rate: sent ? pct(e.clicks.uniqueHuman / sent) : '', of: 'of sent (unique, by people)' },
  ];
  const chart = barChart(
    rows.map((r) => ({ name: r.name, value: r.value })),
    (b) => int(b.value),
  );
  const table = rows
    .map((r) => `<tr><th>${r.name}</th><td class="n">${figure(key(r.k), r.value)}</td><td class="n">${r.rate}</td><td class="hide-narrow">${r.of}</td></tr>`)
    .join('');
  const tile = (k: string, name: string, n: number) => `<div class="tile"><b>${figure(key(k), n)}</b><span>${name}</span></div>`;
  const others = Object.entries(messages)
    .filter(([status]) => status !== 'sent')
    .map(([status, n]) => `${escapeHtml(status)} ${figure(key(`messages-${status}`), n)}`)
    .join(', ');
  return `<h3>Mail</h3>${chart}
<table><thead><tr><th>Mail</th><th class="n">Messages</th><th class="n">Rate</th><th class="hide-narrow">Of</th></tr></thead><tbody>${table}</tbody></table>
<div class="tiles">
${tile('unsubscribes', 'unsubscribes', e.unsubscribes)}
${tile('bounces-hard', 'hard bounces', e.bounces.hard)}
${tile('bounces-soft', 'soft bounces', e.bounces.soft)}
${tile('complaints', 'spam complaints', e.complaints)}
</div><p class="note">Other messages, by status: ${others}. Opens and clicks leave out mail privacy proxies and security scanners; all opens ${figure(key('opens-total'), e.opens.total)}, all clicks ${figure(key('clicks-total'), e.clicks.total)}.</p>`;
}
