import { escapeHtml } from '../../common/html';
import { decodeEntities } from '../../content/link-rewriter';
import type { LinkStatsDto } from '../dto/stats.dto';
import { int, pct } from './report-page';

/**
 * The campaign's mail as recipients saw it (one per variant, named), rendered for a sample recipient
 * with no tokens, each tracked link's href standing as `slotMarker(slot)`; `links` is the URL of
 * every slot of the campaign. Or, in words, why there is none.
 */
export type MailCopy = { mails: { name: string | null; html: string }[]; links: string[] } | { unavailable: string };

const MARKER = '#edm-link-';
export const slotMarker = (slot: number) => `${MARKER}${slot}`;

/** Cold to hot: level 0 is a link nobody clicked, 5 the most clicked link's. */
const HEAT = [
  ['#64748b', '#fff'],
  ['#2563eb', '#fff'],
  ['#0891b2', '#fff'],
  ['#eab308', '#1f2933'],
  ['#ea580c', '#fff'],
  ['#dc2626', '#fff'],
];

/** The copy's own stylesheet (the framed mail inherits the page's CSP, which allows it by hash like the mail's). */
const OVERLAY_STYLE =
  ':where(a:not([href])){color:LinkText;text-decoration:underline}a[data-edm-heat]{outline:3px solid var(--heat);outline-offset:2px;border-radius:2px}' +
  '.edm-badge{display:inline-block;margin:0 .35em 0 0;vertical-align:.15em;white-space:nowrap;font:bold 11px/1.5 system-ui,sans-serif;letter-spacing:0;' +
  'text-transform:none;text-decoration:none;padding:0 6px;border-radius:9px;background:var(--heat);color:var(--heat-text);box-shadow:0 1px 2px rgba(0,0,0,.3)}' +
  HEAT.map(([bg, fg], level) => `[data-edm-heat="${level}"]{--heat:${bg};--heat-text:${fg}}`).join('');

const LINK = /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi;
const HREF = /\shref\s*=\s*("[^"]*"|'[^']*')/i;
const TARGET = /\starget\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/i;

interface Occurrence {
  slot: number;
  text: string;
  stats: LinkStatsDto | null;
}

/**
 * The click map: each mail (one per variant) in a sandboxed frame (no scripts, no forms, no
 * navigation out of it), a badge and a heat colour on every occurrence of each tracked link,
 * matched to its stats by slot, the colour on one scale for the whole campaign; on paper, where a
 * frame prints cut off, the same figures as a table.
 */
export function clickMap(copy: MailCopy, links: LinkStatsDto[]): string {
  const head = '<section id="click-map"><h2>Click map</h2>';
  if ('unavailable' in copy) return `${head}<p class="note">${escapeHtml(copy.unavailable)}</p></section>`;
  const bySlot = new Map(links.filter((l) => copy.links[l.slot] === l.url).map((l) => [l.slot, l]));
  const most = Math.max(0, ...[...bySlot.values()].map((l) => l.uniqueHumanClicks));
  const heat = (l: LinkStatsDto) => (l.uniqueHumanClicks ? Math.max(1, Math.round((5 * l.uniqueHumanClicks) / most)) : 0);
  const maps = copy.mails.map((mail) => {
    const found: Occurrence[] = [];
    const html = overlay(mail.html, (slot, text) => {
      const stats = bySlot.get(slot) ?? null;
      found.push({ slot, text, stats });
      return stats && { stats, heat: heat(stats) };
    });
    const rows = found
      .map(
        (o, i) =>
          `<tr><td class="n">${i + 1}</td><td>${escapeHtml(o.text) || '(image)'}</td><td class="url">${escapeHtml(copy.links[o.slot] ?? '')}</td><td class="n">${o.stats ? int(o.stats.uniqueHumanClicks) : '–'}</td><td class="n">${o.stats ? pct(o.stats.clickShare) : '–'}</td></tr>`,
      )
      .join('');
    const title = mail.name ? `The mail of variant ${mail.name}` : 'The mail';
    return `${mail.name ? `<h3>Variant ${escapeHtml(mail.name)}</h3>` : ''}<iframe class="click-map" title="${escapeHtml(title)}, each tracked link marked with its clicks" sandbox srcdoc="${escapeHtml(html)}"></iframe>
<table class="print-only"><thead><tr><th class="n">#</th><th>Link in the mail</th><th>Destination</th><th class="n">Human</th><th class="n">Share</th></tr></thead><tbody>${rows}</tbody></table>`;
  });
  return `${head}${maps.join('\n')}
<p class="note">The mail as recipients saw it, rendered for a sample recipient; its links lead nowhere. Each tracked link (every time it appears) shows the messages with a human click on it and its share of all clicks, coloured from grey (no human click) through blue and yellow to red (the link most clicked by people).</p></section>`;
}

/**
 * The copy with its tracked links marked, as the frame shows it: every link made inert (no href: a
 * srcdoc's fragment links resolve against the page's address; no target), comments and external
 * stylesheets (web fonts) left out.
 */
function overlay(html: string, mark: (slot: number, text: string) => { stats: LinkStatsDto; heat: number } | null): string {
  const body = html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<link\b[^>]*>/gi, '')
    .replace(/@import\s+url\([^)]*\)\s*;?/gi, '')
    .replace(LINK, (_: string, attrs: string, inner: string) => {
      const href = HREF.exec(attrs)?.[1].slice(1, -1) ?? '';
      const rest = attrs.replace(HREF, '').replace(TARGET, '');
      const m = href.startsWith(MARKER) ? mark(Number(href.slice(MARKER.length)), textOf(inner)) : null;
      if (!m) return `<a${rest}>${inner}</a>`;
      const s = m.stats;
      const badge = `<span class="edm-badge" data-slot="${s.slot}" data-human="${s.uniqueHumanClicks}" data-share="${s.clickShare}">${int(s.uniqueHumanClicks)} · ${pct(s.clickShare)}</span>`;
      return `<a${rest} data-edm-heat="${m.heat}" title="${escapeHtml(s.url)}">${badge}${inner}</a>`;
    });
  const style = `<style>${OVERLAY_STYLE}</style>`;
  return /<\/head>/i.test(body) ? body.replace(/<\/head>/i, `${style}</head>`) : style + body;
}

/** A link's words, for the printed table. */
function textOf(inner: string): string {
  return decodeEntities(inner.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}
