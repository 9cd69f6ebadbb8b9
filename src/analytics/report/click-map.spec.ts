import { createHash } from 'node:crypto';
import { decodeEntities } from '../../content/link-rewriter';
import type { LinkStatsDto } from '../dto/stats.dto';
import { clickMap, MailCopy, slotMarker } from './click-map';
import { renderReportShell } from './report-page';

const link = (slot: number, url: string, uniqueHumanClicks: number, clickShare: number): LinkStatsDto => ({
  slot,
  url,
  clicks: uniqueHumanClicks,
  uniqueClicks: uniqueHumanClicks,
  uniqueHumanClicks,
  clickShare,
});

const MAIL = `<!doctype html><html><head><link href="https://fonts.example/css" rel="stylesheet"><style>@import url(https://fonts.example/css);p{margin:0}</style></head><body>
<!--[if mso]><style>td{padding:0}</style><![endif]-->
<p style="color:#333">Hi <a href="${slotMarker(0)}" target="_blank">Sale &amp; more</a>, <a href="${slotMarker(1)}">New</a>
<a href="${slotMarker(0)}" style="display:inline-block"><img src="https://cdn.shop.example/button.png" alt=""></a>
<a href="mailto:help@shop.example">Help</a> <a href="https://shop.example/u/{{id}}">Account</a> <a href="#unsubscribe">Unsubscribe</a>
<img src="https://x.example;script-src *">
<a href="${slotMarker(2)}">Changed</a></p></body></html>`;
const copy: MailCopy = {
  mails: [{ name: null, html: MAIL }],
  links: ['https://shop.example/sale?a=1&b="2"', 'https://shop.example/new', 'https://shop.example/now'],
};
const stats = [link(0, copy.links[0], 8, 0.8), link(1, copy.links[1], 2, 0.2), link(2, 'https://shop.example/before', 0, 0)];

const framed = (html: string) => decodeEntities(/\ssrcdoc="([^"]*)"/.exec(html)![1]);

describe('clickMap', () => {
  it('badges every occurrence of a tracked link with its stats, by slot, hottest for the most clicked', () => {
    const mail = framed(clickMap(copy, stats));
    const badges = [
      ...mail.matchAll(/<a\b[^>]*data-edm-heat="(\d)"[^>]*><span class="edm-badge" data-slot="(\d+)" data-human="(\d+)" data-share="([\d.]+)">([^<]*)</g),
    ];
    expect(badges.map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), m[5]])).toEqual([
      [5, 0, 8, '8 · 80.0 %'],
      [1, 1, 2, '2 · 20.0 %'],
      [5, 0, 8, '8 · 80.0 %'],
    ]);
    // A slot whose URL is not the one counted (the stats are another mail's) gets no badge.
    expect(mail).toContain('<a>Changed</a>');
  });

  it('leaves no way out of the copy: no href, no target, no external stylesheet, no comment', () => {
    const mail = framed(clickMap(copy, stats));
    expect(mail).not.toMatch(/\shref=|\starget=|<link|@import|<!--|fonts\.example|mailto:|\{\{id\}\}/);
    expect(mail).toContain('title="https://shop.example/sale?a=1&amp;b=&quot;2&quot;"');
  });

  it('escapes the copy into the frame’s attribute, and prints a table of the occurrences', () => {
    const html = clickMap(copy, stats);
    const attribute = /\ssrcdoc="([^"]*)"/.exec(html)![1];
    expect(attribute).not.toMatch(/[<>]/);
    const rows = [...html.matchAll(/<tr><td class="n">(\d+)<\/td><td>([^<]*)<\/td><td class="url">[^<]*<\/td><td class="n">([^<]*)<\/td>/g)].map((m) => [
      m[2],
      m[3],
    ]);
    expect(rows).toEqual([
      ['Sale &amp; more', '8'],
      ['New', '2'],
      ['(image)', '8'],
      ['Changed', '–'],
    ]);
  });

  it('frames each variant’s mail under its name, on one heat scale for the campaign', () => {
    const html = clickMap(
      {
        mails: [
          { name: 'A · Plain', html: `<a href="${slotMarker(0)}">Sale</a>` },
          { name: 'B · Other', html: `<a href="${slotMarker(1)}">New</a>` },
        ],
        links: copy.links.slice(0, 2),
      },
      stats.slice(0, 2),
    );
    expect([...html.matchAll(/<h3>Variant ([^<]+)<\/h3><iframe/g)].map((m) => m[1])).toEqual(['A · Plain', 'B · Other']);
    const frames = [...html.matchAll(/\ssrcdoc="([^"]*)"/g)].map((m) => decodeEntities(m[1]));
    expect(frames.map((f) => /data-edm-heat="(\d)"[^>]*><span class="edm-badge" data-slot="(\d)"/.exec(f)!.slice(1))).toEqual([
      ['5', '0'],
      ['1', '1'],
    ]);
  });

  it('says in words why there is no map', () => {
    expect(clickMap({ unavailable: 'The mail has no tracked links.' }, [])).toContain('<p class="note">The mail has no tracked links.</p>');
  });
});

describe('the report page’s CSP with a framed mail', () => {
  it('allows the mail’s stylesheets and style attributes by hash, and its image hosts, nothing else', () => {
    const { csp, html } = renderReportShell('Report', [clickMap(copy, stats)]);
    const hash = (css: string) => `'sha256-${createHash('sha256').update(css).digest('base64')}'`;
    const mail = framed(html);
    for (const css of [...mail.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1])) expect(csp?.['style-src']).toContain(hash(css));
    expect(csp?.['style-src']).toContain(hash('color:#333'));
    expect(csp?.['style-src']).toContain(hash('display:inline-block'));
    expect(csp?.['style-src']).not.toContain(hash('td{padding:0}'));
    expect(csp?.['img-src']).toEqual(['https://cdn.shop.example']);
  });
});
