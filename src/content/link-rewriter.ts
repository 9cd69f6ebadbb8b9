/**
 * Rewrites every trackable link of compiled HTML, once per template, into a Handlebars call
 * `{{__link N}}` that renders the recipient's signed click URL for slot N.
 *
 * Left as they are: mailto:, tel:, anchors, anything not http(s), links whose href holds a
 * Handlebars expression (personal URLs, {{unsubscribeUrl}}, {{preferencesUrl}}) and links marked
 * `data-no-track` (the marker itself is removed).
 */
export interface RewrittenHtml {
  html: string;
  /** Destination of each slot, in order of first appearance; one slot per distinct URL. */
  links: string[];
}

const ANCHOR = /<a\b([^>]*)>/gi;
const HREF = /(\bhref\s*=\s*)("([^"]*)"|'([^']*)')/i;
const NO_TRACK = /\s+data-no-track(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/i;

export function rewriteLinks(html: string): RewrittenHtml {
  const links: string[] = [];
  const slots = new Map<string, number>();
  const out = html.replace(ANCHOR, (tag: string, attrs: string) => {
    if (NO_TRACK.test(attrs)) return `<a${attrs.replace(NO_TRACK, '')}>`;
    const m = HREF.exec(attrs);
    if (!m) return tag;
    const raw = m[3] ?? m[4] ?? '';
    if (raw.includes('{{')) return tag;
    const url = decodeEntities(raw.trim());
    if (!/^https?:\/\/[^\s/]+/i.test(url)) return tag;
    let slot = slots.get(url);
    if (slot === undefined) {
      slot = links.push(url) - 1;
      slots.set(url, slot);
    }
    return `<a${attrs.replace(HREF, `$1"{{__link ${slot}}}"`)}>`;
  });
  return { html: out, links };
}

const NAMED: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };

/** Character references in HTML text or an attribute value, as a browser reads them (the common named ones and every numeric one). */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return NAMED[e.toLowerCase()] ?? whole;
  });
}
