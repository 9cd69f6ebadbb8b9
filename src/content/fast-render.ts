import Handlebars from 'handlebars';
import type { HandlebarsRuntime } from './handlebars';

type Value = (context: Record<string, unknown>, data: { root: object }) => unknown;
type Part = string | ((context: Record<string, unknown>, data: { root: object }) => string);

const NAME = /^[A-Za-z_$][\w$]*$/;
const EMPTY_HASH = Object.freeze({});
const { escapeExpression } = Handlebars.Utils;
const own = (parent: unknown, key: string): unknown =>
  parent != null && Object.prototype.hasOwnProperty.call(parent, key) ? (parent as Record<string, unknown>)[key] : undefined;

/**
 * A renderer for the templates mail is made of — text and `{{path}}`, `{{{path}}}` and helper calls
 * with path or literal arguments — that does what Handlebars' runtime does for them, as a list of
 * parts joined per recipient: no per-call set-up, no helper wrapping. Anything else (blocks,
 * partials, hashes, sub-expressions, `@data`, `../`) returns null and the template stays with
 * Handlebars. The property lookups follow Handlebars' rules: own properties only, functions called
 * like Handlebars' lambdas, an unknown name rendered empty; escaping is Handlebars' own function.
 */
export function compileFast(hb: HandlebarsRuntime, program: hbs.AST.Program): ((context: object) => string) | null {
  const parts: Part[] = [];
  for (const node of program.body) {
    if (node.type === 'CommentStatement') continue;
    if (node.type === 'ContentStatement') {
      const text = (node as hbs.AST.ContentStatement).value;
      const last = parts[parts.length - 1];
      if (typeof last === 'string') parts[parts.length - 1] = last + text;
      else parts.push(text);
      continue;
    }
    if (node.type !== 'MustacheStatement') return null;
    const value = mustache(hb, node as hbs.AST.MustacheStatement);
    if (!value) return null;
    parts.push((node as hbs.AST.MustacheStatement).escaped ? (c, d) => escapeExpression(value(c, d) as string) : (c, d) => unescaped(value(c, d)));
  }
  return (context) => {
    const data = { root: context };
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(context as Record<string, unknown>, data);
    return out;
  };
}

function unescaped(v: unknown): string {
  return v == null ? '' : '' + (v as string);
}

function mustache(hb: HandlebarsRuntime, node: hbs.AST.MustacheStatement): Value | null {
  if (node.hash?.pairs.length || node.path.type !== 'PathExpression') return null;
  const path = node.path as hbs.AST.PathExpression;
  if (!isPlain(path)) return null;
  const name = path.parts[0];
  // One options object per expression, its data set per call: the platform's helpers are synchronous
  // and keep nothing, and a render makes no garbage it does not need.
  const shared = { name, hash: EMPTY_HASH, data: undefined as unknown, loc: node.loc };
  const options = (data: { root: object }) => {
    shared.data = data;
    return shared;
  };
  const helper = path.parts.length === 1 ? (own(hb.helpers, name) as ((...args: unknown[]) => unknown) | undefined) : undefined;
  if (node.params.length) {
    if (!helper) return null; // Handlebars would throw "Missing helper"; templates are checked when saved
    const params = node.params.map(param);
    if (params.some((p) => p === null)) return null;
    const args = params as Value[];
    const [a0, a1] = args;
    if (args.length === 1) return (c, d) => helper.call(c, a0(c, d), options(d));
    if (args.length === 2) return (c, d) => helper.call(c, a0(c, d), a1(c, d), options(d));
    return (c, d) => helper.call(c, ...args.map((a) => a(c, d)), options(d));
  }
  if (helper) return (c, d) => helper.call(c, options(d));
  if (path.parts.length === 1) {
    // {{name}}: a property, or a function property called like a helper.
    return (c, d) => {
      const v = own(c, name);
      return typeof v === 'function' ? (v as (o: unknown) => unknown).call(c, options(d)) : v;
    };
  }
  const lookup = chain(path.parts);
  return (c) => {
    const v = lookup(c);
    return typeof v === 'function' ? (v as () => unknown).call(c) : v;
  };
}

function param(node: hbs.AST.Expression): Value | null {
  switch (node.type) {
    case 'StringLiteral':
    case 'NumberLiteral':
    case 'BooleanLiteral': {
      const v = (node as hbs.AST.StringLiteral).value;
      return () => v;
    }
    case 'UndefinedLiteral':
      return () => undefined;
    case 'NullLiteral':
      return () => null;
    case 'PathExpression': {
      const path = node as hbs.AST.PathExpression;
      if (!isPlain(path)) return null;
      const lookup = chain(path.parts);
      return (c) => lookup(c);
    }
    default:
      return null;
  }
}

/** `a` or `a.b.c` from the current context: no `this`, `../`, `@data` or segment literals. */
function isPlain(path: hbs.AST.PathExpression): boolean {
  return !path.data && path.depth === 0 && path.parts.length > 0 && path.parts.every((p) => NAME.test(p)) && path.original === path.parts.join('.');
}

function chain(parts: string[]): (c: unknown) => unknown {
  if (parts.length === 1) return (c) => own(c, parts[0]);
  return (c) => {
    let v = c;
    for (const p of parts) {
      if (v == null) return v;
      v = own(v, p);
    }
    return v;
  };
}
