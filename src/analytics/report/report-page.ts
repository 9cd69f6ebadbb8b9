import { createHash } from 'node:crypto';
import { CspDirectives, escapeHtml, HtmlPage, page } from '../../common/html';
import type { CampaignStatsDto, LinkStatsDto, TimeseriesDto } from '../dto/stats.dto';
import { decodeEntities } from '../../content/link-rewriter';
import { clickMap, MailCopy } from './click-map';
import { barChart, donutChart, lineChart, Slice } from './report-charts';
import { variantsSection } from './report-variants';
import { sharedUntilNote } from './shared-reports';

/** Everything a campaign's report shows; every figure is the stats endpoint's. */
export interface ReportData {
  campaign: { name: string; subject: string; status: string; startedAt: string | null; finishedAt: string | null };
  stats: CampaignStatsDto;
  /** Hourly, UTC. */
  timeseries: TimeseriesDto;
  links: LinkStatsDto[];
  /** The mail the click map is drawn over. */
  mail: MailCopy;
  /**
   * Recipients by mailbox provider, the largest eight, then the rest as one: of the sent messages
   * once the campaign has finished, of the audience frozen when it started before that; null before it starts.
   */
  providers: { of: 'sent' | 'audience'; slices: Slice[] } | null;
  /** Set on a shared link's page: when the link stops working. */
  sharedUntil: string | null;
}

const STYLE = `*{box-sizing:border-box}body{font:15px/1.5 system-ui,sans-serif;color:#1f2933;margin:0;padding:0;max-width:none;background:#f5f7fa}
main{max-width:60rem;margin:0 auto;padding:1.5rem 1rem 3rem}h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.15rem;margin:0 0 .6rem}
.meta{color:#52606d;margin:0 0 1rem}section{background:#fff;border:1px solid #e4e7eb;border-radius:.5rem;padding:1rem;margin:1rem 0;break-inside:avoid}
svg{display:block;width:100%;max-width:46rem;height:auto;margin:0 auto}table{width:100%;border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e4e7eb;vertical-align:top}td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.url{word-break:break-all}.note{color:#52606d;font-size:.85rem}.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem}
.tile{border:1px solid #e4e7eb;border-radius:.4rem;padding:.6rem}.tile b{display:block;font-size:1.4rem}.tile>span{color:#52606d;font-size:.85rem}
@media (max-width:40rem){main{padding:1rem .5rem}section{padding:.7rem}th,td{padding:.3rem}.hide-narrow{display:none}}
@media print{body{background:#fff;font-size:11pt}main{max-width:none;padding:0}section{border:0;padding:0;margin:0 0 1.2rem}a{color:inherit}}
iframe.click-map{display:block;width:100%;max-width:46rem;height:40rem;max-height:85vh;margin:0 auto;border:1px solid #e4e7eb;border-radius:.4rem;background:#fff}.print-only{display:none}
@media print{iframe.click-map{display:none}table.print-only{display:table}}`;

export const int = (n: number) => n.toLocaleString('en-US');
export const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
/** A figure the tests (and anyone scripting the page) can read back exactly. */
export const figure = (name: string, n: number) => `<span data-figure="${escapeHtml(name)}">${int(n)}</span>`;

/**
 * A report page around its sections: the report styles, and a CSP allowing exactly those styles and
 * the style attributes of the inline SVG charts. Shared by the campaign and journey reports.
 */
export function renderReportShell(title: string, sections: string[]): HtmlPage {
  const html = page(title, sections.join('\n'), { head: `<style>${STYLE}</style>` });
  return { status: 200, html, csp: reportCsp(html) };
}

export function reportPage(d: ReportData): HtmlPage {
  return renderReportShell(`Report: ${d.campaign.name}`, [
    header(d),
    funnel(d.stats),
    overTime(d.timeseries),
    humanVsMachine(d.stats),
    links(d.links),
    clickMap(d.mail, d.links),
    providers(d.providers),
    problems(d.stats),
    variantsSection(d.stats),
  ]);
}

function header(d: ReportData): string {
  const c = d.campaign;
  const when = [
    c.startedAt && `started ${c.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    c.finishedAt && `finished ${c.finishedAt.slice(0, 16).replace('T', ' ')} UTC`,
  ]
    .filter(Boolean)
    .join(', ');
  return `<p class="meta">Subject “${escapeHtml(c.subject)}” · status <span data-figure-text="status">${escapeHtml(c.status)}</span>${when ? ` · ${escapeHtml(when)}` : ''}${sharedUntilNote(d.sharedUntil)}</p>`;
}

function funnel(s: CampaignStatsDto): string {
  const steps: { key: string; name: string; value: number; rate: string; of: string }[] = [
    { key: 'sent', name: 'Sent', value: s.sent, rate: '', of: 'accepted by the SMTP server' },
    { key: 'delivered', name: 'Delivered', value: s.delivered, rate: pct(s.rates.reach), of: 'of sent (sent − bounced)' },
    { key: 'opened', name: 'Opened', value: s.opens.uniqueHuman, rate: pct(s.rates.open), of: 'of delivered (unique, by people)' },
    { key: 'clicked', name: 'Clicked', value: s.clicks.uniqueHuman, rate: pct(s.rates.click), of: 'of delivered (unique, by people)' },
    { key: 'converted', name: 'Converted', value: s.conversions.unique, rate: pct(s.rates.conversion), of: 'of delivered (messages with an attributed order)' },
  ];
  const chart = barChart(steps, (b) => int(b.value));
  const rows = steps
    .map((x) => `<tr><th>${x.name}</th><td class="n">${figure(x.key, x.value)}</td><td class="n">${x.rate}</td><td class="hide-narrow">${x.of}</td></tr>`)
    .join('');
  const revenue = `${s.conversions.revenue.toFixed(2)} ${escapeHtml(s.conversions.currency)}`;
  return `<section id="funnel"><h2>Funnel</h2>${chart}
<table><thead><tr><th>Step</th><th class="n">Messages</th><th class="n">Rate</th><th class="hide-narrow">Of</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">Opens and clicks are unique: messages opened (clicked) at least once by a person. Machine opens and clicks (mail privacy proxies, security scanners) are left out here and shown below. Click-to-open rate ${pct(s.rates.ctor)}. Revenue ${revenue} from ${figure('conversions-total', s.conversions.total)} orders${s.conversions.unattributed ? `; ${int(s.conversions.unattributed)} more reported after the attribution window` : ''}. Still queued: ${figure('queued', s.queued)}; refused at SMTP time: ${figure('failed', s.failed)}.</p></section>`;
}

function overTime(t: TimeseriesDto): string {
  if (!t.buckets.length) return `<section id="over-time"><h2>Opens and clicks over time</h2><p class="note">No opens or clicks yet.</p></section>`;
  const labels = t.buckets.map((b) => `${b.start.slice(5, 10)} ${b.start.slice(11, 13)}h`);
  const chart = lineChart(labels, [
    { name: 'Opens (all)', values: t.buckets.map((b) => b.opens) },
    { name: 'Unique human opens', values: t.buckets.map((b) => b.uniqueHumanOpens) },
    { name: 'Unique human clicks', values: t.buckets.map((b) => b.uniqueHumanClicks) },
  ]);
  return `<section id="over-time"><h2>Opens and clicks over time</h2>${chart}<p class="note">Per hour (UTC), counted when they happened. A message counts as a unique open in the hour of its first open.</p></section>`;
}

function humanVsMachine(s: CampaignStatsDto): string {
  const chart = donutChart([
    { name: 'Human', value: s.opens.uniqueHuman },
    { name: 'Machine only', value: s.opens.uniqueMachine },
  ]);
  const row = (name: string, key: string, e: CampaignStatsDto['opens']) =>
    `<tr><th>${name}</th><td class="n">${figure(`${key}-unique`, e.unique)}</td><td class="n">${figure(`${key}-human`, e.uniqueHuman)}</td><td class="n">${figure(`${key}-machine`, e.uniqueMachine)}</td><td class="n">${figure(`${key}-total`, e.total)}</td></tr>`;
  return `<section id="human-machine"><h2>Human and machine opens</h2>${s.opens.unique ? chart : '<p class="note">No opens yet.</p>'}
<table><thead><tr><th></th><th class="n">Unique</th><th class="n">Human</th><th class="n">Machine only</th><th class="n">All</th></tr></thead><tbody>${row('Opens', 'opens', s.opens)}${row('Clicks', 'clicks', s.clicks)}</tbody></table>
<p class="note">“Machine only”: messages opened or clicked only by mail privacy proxies (Apple, Gmail’s image proxy), prefetchers and security scanners. “All” counts every fetch.</p></section>`;
}

function links(list: LinkStatsDto[]): string {
  if (!list.length) return `<section id="links"><h2>Links</h2><p class="note">The mail has no tracked links.</p></section>`;
  const top = [...list].sort((a, b) => b.uniqueHumanClicks - a.uniqueHumanClicks || b.clicks - a.clicks || a.slot - b.slot);
  const chart = barChart(
    top.slice(0, 10).map((l) => ({ name: shortUrl(l.url), value: l.uniqueHumanClicks })),
    (b) => int(b.value),
  );
  const rows = top
    .map(
      (l) =>
        `<tr><td class="url">${escapeHtml(l.url)}</td><td class="n">${figure(`link-${l.slot}-human`, l.uniqueHumanClicks)}</td><td class="n">${figure(`link-${l.slot}-unique`, l.uniqueClicks)}</td><td class="n">${figure(`link-${l.slot}-clicks`, l.clicks)}</td><td class="n hide-narrow">${pct(l.clickShare)}</td></tr>`,
    )
    .join('');
  return `<section id="links"><h2>Top links</h2>${chart}
<table><thead><tr><th>Link</th><th class="n">Human</th><th class="n">Unique</th><th class="n">Clicks</th><th class="n hide-narrow">Share</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">By messages with a human click on the link; “Clicks” counts every click, “Share” is of all clicks.</p></section>`;
}

function providers(p: ReportData['providers']): string {
  if (!p) return `<section id="providers"><h2>Mailbox providers</h2><p class="note">Counted once the campaign has started sending.</p></section>`;
  const total = p.slices.reduce((sum, s) => sum + s.value, 0);
  if (!total) return `<section id="providers"><h2>Mailbox providers</h2><p class="note">Nothing sent yet.</p></section>`;
  const chart = barChart(p.slices, (b) => `${int(b.value)} · ${pct(b.value / total)}`);
  const rows = p.slices
    .map((s, i) => `<tr><td>${escapeHtml(s.name)}</td><td class="n">${figure(`provider-${i}`, s.value)}</td><td class="n">${pct(s.value / total)}</td></tr>`)
    .join('');
  const aliases = 'googlemail.com counted as gmail.com; hotmail.com, live.com and msn.com as outlook.com';
  const [column, note] =
    p.of === 'sent'
      ? ['Sent', `Sent messages by the domain of the recipient’s address (${aliases}).`]
      : [
          'Recipients',
          `The campaign’s audience as frozen when sending started: its ${figure('providers-of', total)} recipients by the domain of their address (${aliases}). Once the campaign has finished, its sent messages are shown instead.`,
        ];
  return `<section id="providers"><h2>Mailbox providers${p.of === 'audience' ? ' of the audience' : ''}</h2>${chart}
<table><thead><tr><th>Recipient domain</th><th class="n">${column}</th><th class="n">Share</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">${note}</p></section>`;
}

function problems(s: CampaignStatsDto): string {
  const tile = (key: string, name: string, n: number, rate: number) =>
    `<div class="tile"><b>${figure(key, n)}</b><span>${name} · ${pct(rate)} of delivered</span></div>`;
  return `<section id="problems"><h2>Unsubscribes, bounces and complaints</h2><div class="tiles">
${tile('unsubscribes', 'unsubscribes', s.unsubscribes, s.rates.unsubscribe)}
${tile('bounces-hard', 'hard bounces', s.bounces.hard, s.delivered ? s.bounces.hard / s.delivered : 0)}
${tile('bounces-soft', 'soft bounces', s.bounces.soft, s.delivered ? s.bounces.soft / s.delivered : 0)}
${tile('complaints', 'spam complaints', s.complaints, s.rates.complaint)}
</div><p class="note">Bounces reported after the SMTP server accepted the mail; delivered = sent − bounces.</p></section>`;
}

/** Host and path, for a chart label (the table below has the whole URL). */
function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return url;
  }
}

/** A URL's origin as a CSP source, or null for anything that could be read as more than one source. */
function originOf(url: string): string | null {
  try {
    const { origin } = new URL(url);
    return /^https?:\/\/[a-z0-9.-]+(:\d+)?$/.test(origin) ? origin : null;
  } catch {
    return null;
  }
}

function hashOf(css: string): string {
  return `'sha256-${createHash('sha256').update(css).digest('base64')}'`;
}

/**
 * Exactly what the page carries, and nothing by 'unsafe-inline': its stylesheet and the style
 * attributes of its SVG charts (font of each label), by hash; and for a mail framed with srcdoc
 * (which inherits this policy) its stylesheets and style attributes by hash, and the hosts of its images.
 */
function reportCsp(html: string): CspDirectives {
  const framed = [...html.matchAll(/\ssrcdoc="([^"]*)"/g)].map((m) => decodeEntities(m[1]));
  const sheets = framed.flatMap((doc) => [...doc.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1]));
  const attributes = new Set([html, ...framed].flatMap((doc) => [...doc.matchAll(/\sstyle="([^"]*)"/g)].map((m) => decodeEntities(m[1]))));
  const images = new Set(framed.flatMap((doc) => [...doc.matchAll(/\s(?:src|background)="(https?:\/\/[^"]+)"/gi)].map((m) => originOf(decodeEntities(m[1])))));
  images.delete(null);
  return {
    'style-src': [...new Set([STYLE, ...sheets])].map(hashOf).concat(attributes.size ? ["'unsafe-hashes'", ...[...attributes].map(hashOf)] : []),
    'img-src': [...images] as string[],
  };
}
