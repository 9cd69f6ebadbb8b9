import Handlebars from 'handlebars';
import { loadConfig } from '../config/config';
import { compileFast } from './fast-render';
import { createHandlebars } from './handlebars';
import { TemplateCompiler } from './template-compiler';
import { TemplateLibrary } from './template-library';

describe('compileFast', () => {
  const hb = createHandlebars('Europe/Paris');
  hb.registerHelper('safe', (v: unknown) => new Handlebars.SafeString(`<b>${String(v)}</b>`));
  const contexts: Record<string, unknown>[] = [
    { name: 'Ann', email: 'ann@example.com', data: { title: 'News', n: 3 }, attributes: { city: 'Lyon' } },
    { name: '<script>"x" & \'y\' `z` =</script>', email: null, data: { title: '' }, attributes: {} },
    { name: 0, email: false, data: null, attributes: { city: ['a', 'b'] } },
    { name: undefined, data: { title: { deep: 1 } }, fn: () => 'called', attributes: Object.create({ inherited: 'no' }) },
    {},
  ];
  const sources = [
    'Hello {{name}}, {{email}}! {{{name}}} {{data.title}} {{data.n}} {{attributes.city}} {{attributes.inherited}}',
    '{{default name "there"}} {{default data.title "Our news"}} {{uppercase name}} {{lowercase "ABC"}} {{number data.n 2}}',
    '{{date "2026-11-23T10:00:00Z" "long"}} {{currency 12.5 "EUR"}} {{safe name}} {{{safe name}}} {{fn}} {{missing}} {{data.missing.deeper}}',
    '{{! a comment }}x {{constructor}} {{toString}} {{__proto__}} {{name.length}} {{__link 0}} {{__pixel}}',
    '  {{~name~}}  \n{{name}}\n',
  ];

  it('renders exactly what Handlebars renders', () => {
    // Handlebars logs each prototype property it refuses to read (the fast renderer refuses them silently).
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    for (const src of sources) {
      const fast = compileFast(hb, hb.parse(src))!;
      expect(fast).not.toBeNull();
      const slow = hb.compile(src);
      for (const c of contexts) {
        const withUrls = { ...c, __links: ['https://t/c/0'], __pixel: 'https://t/o/x' };
        expect(fast(withUrls)).toBe(slow(withUrls));
      }
    }
    quiet.mockRestore();
  });

  it('leaves blocks, partials, hashes, sub-expressions and other scopes to Handlebars', () => {
    for (const src of [
      '{{#if name}}x{{/if}}',
      '{{> footer}}',
      '{{default name fallback="x"}}',
      '{{default (lowercase name) "x"}}',
      '{{../name}}',
      '{{@root.name}}',
      '{{this.name}}',
      '{{nohelper name}}',
    ]) {
      expect(compileFast(hb, hb.parse(src))).toBeNull();
    }
  });

  it('is what every starter template renders with, and agrees with Handlebars on them', async () => {
    const config = loadConfig({ APP_SECRET: 'f'.repeat(40), POSTAL_ADDRESS: 'Example Ltd, 1 Main Street' });
    const library = new TemplateLibrary(config);
    const compiler = new TemplateCompiler(config, library);
    for (const starter of library.starters) {
      const compiled = await compiler.compile(starter.key, starter.mjml, starter.subject);
      const html = compiler.handlebars.compile(compiled.sources.html);
      const plain = (s: string) => compiler.handlebars.compile(s, { noEscape: true });
      for (const c of contexts) {
        const ctx = {
          ...c,
          unsubscribeUrl: 'https://u/<x>',
          preferencesUrl: 'https://p',
          postalAddress: 'A & B',
          __links: compiled.links.map((_, i) => `https://t/c/${i}?a=1&b=2`),
          __pixel: 'https://t/o/x',
        };
        expect(compiled.render(ctx)).toEqual({ subject: plain(compiled.sources.subject)(ctx), html: html(ctx), text: plain(compiled.sources.text)(ctx) });
      }
    }
  });
});
