import Handlebars from 'handlebars';
import { KNOWN_HELPERS } from './handlebars';

export interface TemplateProblem {
  /** Where: `mjml`, `subject`, or a campaign variant's field (`variants[1].subject`). */
  field: string;
  line?: number;
  message: string;
}

const PARTIAL = /\{\{>\s*([A-Za-z0-9_-]+)\s*\}\}/g;

/**
 * Inserts shared partials (`{{> footer}}`) before MJML sees the source. Each partial is folded onto
 * one line, so MJML's and Handlebars' line numbers still point into the author's own source.
 */
export function expandPartials(source: string, partials: ReadonlyMap<string, string>, problems: TemplateProblem[]): string {
  return source.replace(PARTIAL, (whole: string, name: string, offset: number) => {
    const body = partials.get(name);
    if (body !== undefined) return body.replace(/\s*\n\s*/g, ' ').trim();
    problems.push({ field: 'mjml', line: lineAt(source, offset), message: `unknown partial "${name}" (known: ${[...partials.keys()].join(', ') || 'none'})` });
    return '';
  });
}

/** Parses a Handlebars source and reports syntax errors and unknown helpers with their lines. */
export function checkHandlebars(field: TemplateProblem['field'], source: string, problems: TemplateProblem[]): void {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(source);
  } catch (e) {
    // "Parse error on line 3:\n<excerpt>\n---^\nExpecting 'ID', got 'CLOSE'": keep the first and last lines.
    const lines = (e as Error).message.split('\n');
    const line = /line (\d+)/i.exec(lines[0]);
    const message = lines.length > 1 ? `${lines[0].replace(/:$/, '')}: ${lines[lines.length - 1]}` : lines[0];
    problems.push({ field, line: line ? Number(line[1]) : undefined, message: `Handlebars: ${message}` });
    return;
  }
  const visitor = new Handlebars.Visitor();
  const check = (node: { path: hbs.AST.PathExpression | hbs.AST.Literal; params: unknown[]; loc: hbs.AST.SourceLocation }, block: boolean) => {
    if (node.path.type !== 'PathExpression') return;
    const name = (node.path as hbs.AST.PathExpression).original;
    const isHelperCall = block || node.params.length > 0;
    if (isHelperCall && !KNOWN_HELPERS.has(name)) {
      problems.push({ field, line: node.loc?.start.line, message: `unknown helper "${name}"` });
    }
  };
  visitor.MustacheStatement = function (n) {
    check(n, false);
    Handlebars.Visitor.prototype.MustacheStatement.call(this, n);
  };
  visitor.SubExpression = function (n) {
    check(n, true);
    Handlebars.Visitor.prototype.SubExpression.call(this, n);
  };
  visitor.BlockStatement = function (n) {
    check(n, true);
    Handlebars.Visitor.prototype.BlockStatement.call(this, n);
  };
  visitor.PartialStatement = function (n) {
    problems.push({ field, line: n.loc?.start.line, message: `partial "${(n.name as hbs.AST.PathExpression).original}" is not allowed here` });
  };
  visitor.accept(ast);
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i >= 0 && i < offset; i = source.indexOf('\n', i + 1)) line++;
  return line;
}
