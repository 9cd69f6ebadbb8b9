import { Inject, Injectable } from '@nestjs/common';
import Handlebars, { TemplateDelegate } from 'handlebars';
import { convert } from 'html-to-text';
import { randomBytes } from 'node:crypto';
import mjml2html from 'mjml';
import { Counter } from 'prom-client';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { InvalidTemplate } from './content.errors';
import { registry } from '../observability/metrics';
import { compileFast } from './fast-render';
import { createHandlebars, HandlebarsRuntime } from './handlebars';
import { rewriteLinks } from './link-rewriter';
import { TemplateLibrary } from './template-library';
import { checkHandlebars, expandPartials, TemplateProblem } from './template-source';

export interface RenderedParts {
  subject: string;
  html: string;
  text: string;
}

/** What a campaign sends, compiled once: per recipient only `render` runs. */
export interface CompiledTemplate {
  /** Subject, HTML and text in one Handlebars call (subject and text unescaped, HTML escaped). */
  render: (context: object) => RenderedParts;
  /** Tracked-link slots: `{{__link N}}` in html and text stands for links[N]. */
  links: string[];
  /** The Handlebars sources behind the three renders, as compiled. */
  sources: { subject: string; html: string; text: string };
}

const mjmlCompilations = new Counter({ name: 'edm_mjml_compilations_total', help: 'MJML → HTML compilations', registers: [registry] });
const PIXEL = '<img src="{{__pixel}}" width="1" height="1" alt="" style="display:block;height:1px;width:1px;border:0;margin:0;padding:0" />';
const CACHE_SIZE = 200;
const SEPARATOR = `\u0000${randomBytes(12).toString('hex')}\u0000`;
const LOC: hbs.AST.SourceLocation = { source: '', start: { line: 1, column: 0 }, end: { line: 1, column: 0 } };

/**
 * MJML + Handlebars → a CompiledTemplate. The expensive part (partials, MJML, link rewriting,
 * pixel, text part, Handlebars compilation) runs once per template version and subject.
 */
@Injectable()
export class TemplateCompiler {
  readonly handlebars: HandlebarsRuntime;
  private readonly cache = new Map<string, Promise<CompiledTemplate>>();
  /** MJML runs so far in this process (also exported as a Prometheus counter). */
  mjmlRuns = 0;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly library: TemplateLibrary,
  ) {
    this.handlebars = createHandlebars(config.defaultTimezone);
  }

  /** Every problem MJML's strict validator and the Handlebars parser find, with line numbers. */
  async problems(mjml: string, subject: string | null | undefined): Promise<TemplateProblem[]> {
    return (await this.analyse(mjml, subject)).problems;
  }

  async assertValid(mjml: string, subject: string | null | undefined): Promise<void> {
    throwIfAny((await this.analyse(mjml, subject)).problems);
  }

  /** The template was checked when saved; a campaign's own subject (or a variant's preheader) only needs the Handlebars check. */
  assertValidSubject(subject: string, field = 'subject'): void {
    const problems: TemplateProblem[] = [];
    checkHandlebars(field, subject, problems);
    throwIfAny(problems);
  }

  /**
   * Compiled once per key (template version + subject + preheader); concurrent callers share one
   * compilation. A preheader becomes the mail's `<mj-preview>`, replacing the template's own.
   */
  compile(key: string, mjml: string, subject: string, preheader?: string): Promise<CompiledTemplate> {
    let hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // most recently used goes last
      this.cache.set(key, hit);
      return hit;
    }
    hit = this.build(preheader ? withPreheader(mjml, preheader) : mjml, subject);
    hit.catch(() => this.cache.delete(key));
    this.cache.set(key, hit);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return hit;
  }

  private async build(mjml: string, subject: string): Promise<CompiledTemplate> {
    const { problems, html } = await this.analyse(mjml, subject);
    throwIfAny(problems);
    const { html: tracked, links } = rewriteLinks(html);
    const withPixel = tracked.includes('</body>') ? tracked.replace('</body>', `${PIXEL}</body>`) : tracked + PIXEL;
    // The text part comes from the same HTML, Handlebars expressions and link slots included.
    const text = convert(tracked, {
      wordwrap: false,
      selectors: [
        { selector: 'img', format: 'skip' },
        { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
      ],
    });
    return {
      render: this.combine(subject, withPixel, text),
      links,
      sources: { subject, html: withPixel, text },
    };
  }

  /**
   * The three parts' renderer. Templates made of text, values and simple helper calls get the fast
   * renderer (compileFast: what Handlebars' runtime does, without its per-call set-up). Others get
   * one Handlebars template for the three parts: every Handlebars call pays a fixed set-up cost
   * (helpers are wrapped per call), which three separate templates would pay three times per
   * recipient; the parts are joined by a separator no data can contain (random per process) and
   * split after.
   */
  private combine(subject: string, html: string, text: string): (context: object) => RenderedParts {
    const hb = this.handlebars;
    const unescaped = (source: string) => {
      const ast = hb.parse(source);
      const visitor = new Handlebars.Visitor();
      visitor.MustacheStatement = function (node) {
        (node as { escaped: boolean }).escaped = false;
        Handlebars.Visitor.prototype.MustacheStatement.call(this, node);
      };
      visitor.accept(ast);
      return ast.body;
    };
    const program = (body: hbs.AST.Statement[]): hbs.AST.Program => ({ type: 'Program', body, blockParams: [], loc: LOC });
    const bodies = [unescaped(subject), hb.parse(html).body, unescaped(text)];
    const [fastSubject, fastHtml, fastText] = bodies.map((body) => compileFast(hb, program(body)));
    if (fastSubject && fastHtml && fastText) {
      return (context) => ({ subject: fastSubject(context), html: fastHtml(context), text: fastText(context) });
    }
    const separator = () => ({ type: 'ContentStatement', value: SEPARATOR, original: SEPARATOR, loc: LOC }) as unknown as hbs.AST.ContentStatement;
    const template: TemplateDelegate = hb.compile(program([...bodies[0], separator(), ...bodies[1], separator(), ...bodies[2]]));
    return (context) => {
      const out = template(context);
      const a = out.indexOf(SEPARATOR);
      const b = out.indexOf(SEPARATOR, a + SEPARATOR.length);
      return { subject: out.slice(0, a), html: out.slice(a + SEPARATOR.length, b), text: out.slice(b + SEPARATOR.length) };
    };
  }

  /** Partials, Handlebars checks, then ONE MJML run that both validates (strict) and compiles. */
  private async analyse(mjml: string, subject: string | null | undefined): Promise<{ problems: TemplateProblem[]; html: string }> {
    const problems: TemplateProblem[] = [];
    const expanded = expandPartials(mjml, this.library.partials, problems);
    checkHandlebars('mjml', expanded, problems);
    if (subject) checkHandlebars('subject', subject, problems);
    if (problems.length) return { problems, html: '' };
    this.mjmlRuns++;
    mjmlCompilations.inc();
    try {
      const result = await mjml2html(expanded, { validationLevel: 'strict', ignoreIncludes: true, keepComments: false });
      return { problems, html: result.html };
    } catch (e) {
      const errors = (e as { errors?: { line?: number; message: string; tagName?: string }[] }).errors;
      if (!errors) {
        // A source MJML cannot even parse.
        problems.push({ field: 'mjml', message: (e as Error).message });
        return { problems, html: '' };
      }
      for (const err of errors) problems.push({ field: 'mjml', line: err.line, message: err.tagName ? `${err.tagName}: ${err.message}` : err.message });
      return { problems, html: '' };
    }
  }
}

/** The MJML with `preheader` as its preview text (XML-escaped; Handlebars in it renders per recipient). */
export function withPreheader(mjml: string, preheader: string): string {
  const preview = `<mj-preview>${preheader.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</mj-preview>`;
  const without = mjml.replace(/<mj-preview\b[^>]*>[\s\S]*?<\/mj-preview>|<mj-preview\b[^>]*\/>/gi, '');
  if (/<mj-head\b[^>]*>/i.test(without)) return without.replace(/<mj-head\b[^>]*>/i, (head) => head + preview);
  return without.replace(/<mjml\b[^>]*>/i, (root) => `${root}<mj-head>${preview}</mj-head>`);
}

function throwIfAny(problems: TemplateProblem[]): void {
  if (!problems.length) return;
  throw new InvalidTemplate(
    `the template is not valid: ${problems.map((p) => (p.line ? `line ${p.line}: ${p.message}` : p.message)).join('; ')}`,
    problems.map((p) => ({ field: p.field, line: p.line, message: p.message })),
  );
}
