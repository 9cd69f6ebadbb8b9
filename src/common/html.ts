import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The paths of the pages people (not programs) see: sign-up form, double opt-in, unsubscribe, preferences, shared reports. */
const HUMAN_PAGES = /^\/(subscribe|confirm|u|p|r)\//;

export function isHumanPage(url: string): boolean {
  return HUMAN_PAGES.test(url);
}

/** A whole answer: a controller only sends it. */
export interface HtmlPage {
  status: number;
  html: string;
  /** Content-Security-Policy directives this page needs beyond the strict default (scripts, framing). */
  csp?: CspDirectives;
}

export type CspDirectives = Partial<
  Record<'script-src' | 'connect-src' | 'worker-src' | 'style-src' | 'img-src' | 'frame-ancestors' | 'form-action', string[]>
>;

export interface PageOptions {
  /** Extra elements for <head> (the sign-up form's widget script). */
  head?: string;
  lang?: string;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#2463eb;color:#fff;cursor:pointer}
label{display:block;margin:.8rem 0 .2rem}input[type=email],input[type=text]{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #888;border-radius:.3rem}
input[type=checkbox]{margin-right:.4rem}.consent{font-size:.9rem;color:#444}.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
@media (max-width:30rem){body{margin:1.5rem auto}}`;

/** The one inline style every page carries, allowed by its hash rather than by 'unsafe-inline'. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** Small, self-contained pages (no external assets; scripts only where a page asks for them). */
export function page(title: string, bodyHtml: string, options: PageOptions = {}): string {
  return `<!doctype html>
<html lang="${escapeHtml(options.lang ?? 'en')}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style>${options.head ?? ''}
</head><body><main><h1>${escapeHtml(title)}</h1>${bodyHtml}</main></body></html>`;
}

/** The same page for every link that is not recognised, whatever is wrong with it (forged, cut short, too long). */
export function linkNotRecognised(): HtmlPage {
  return { status: 404, html: page('Link not recognised', '<p>This link is not valid. If you copied it from an e-mail, make sure you copied all of it.</p>') };
}

/** An error of a request made from a human page, as a page: what went wrong, in words, and no internals. */
export function errorPage(status: number, message: string): HtmlPage {
  if (status === 404) return linkNotRecognised();
  if (status === 429) return { status, html: page('Too many attempts', `<p>${escapeHtml(message)}</p>`) };
  if (status >= 500) return { status, html: page('Something went wrong', '<p>Please try again in a moment.</p>') };
  return {
    status,
    html: page(
      STATUS_CODES[status] === 'Payload Too Large' ? 'Too much data' : 'Please check what you sent',
      `<p>${escapeHtml(message)}</p><p>Go back and try again.</p>`,
    ),
  };
}

/**
 * Personal pages: never cached, never indexed, the token never leaks through a Referer, the type
 * is never sniffed, and a strict Content-Security-Policy: nothing loads or runs but what the page
 * names, and no other site may frame it unless the page allows that site.
 */
export async function sendPage(reply: FastifyReply, p: HtmlPage): Promise<void> {
  await reply
    .status(p.status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-robots-tag', 'noindex')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', contentSecurityPolicy(p.csp))
    .send(p.html);
}

export function contentSecurityPolicy(extra: CspDirectives = {}): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'none'"],
    'style-src': [STYLE_HASH, ...(extra['style-src'] ?? [])],
    'img-src': ["'self'", 'data:', ...(extra['img-src'] ?? [])],
    'form-action': ["'self'", ...(extra['form-action'] ?? [])],
    'frame-ancestors': extra['frame-ancestors']?.length ? extra['frame-ancestors'] : ["'none'"],
    'base-uri': ["'none'"],
  };
  for (const name of ['script-src', 'connect-src', 'worker-src'] as const) if (extra[name]?.length) directives[name] = extra[name];
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}
