import type { ErrorDetail } from './errors';

/**
 * How deep a request's JSON may nest. Nothing the API takes needs more than a handful of levels;
 * the validation pipe and the JSON functions of Postgres recurse, so a body nested thousands deep
 * would exhaust their stacks (a RangeError, or a query that fails) instead of getting a 400.
 */
export const MAX_DEPTH = 32;

/** A NUL (Postgres text cannot hold it) or a lone UTF-16 surrogate (not Unicode; jsonb refuses its escape). */
const UNSTORABLE = /[\0\p{Surrogate}]/u;

/**
 * The first thing in a parsed request value (a JSON body, a form, the query string, path
 * parameters) that could not be stored or processed safely, as an error detail naming where it is;
 * null when there is none. Walks iteratively, so the depth of the value cannot exhaust the stack.
 */
export function unstorableIn(value: unknown, root = ''): ErrorDetail | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: root, depth: 0 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return { field: path || 'body', message: problem };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_DEPTH) return { field: topLevel(path), message: `is nested more than ${MAX_DEPTH} levels deep` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(v)) {
      const at = join(path, key);
      const problem = textProblem(key);
      if (problem) return { field: at, message: `is a key that ${problem}` };
      // Object.assign and merges would take these as the object's prototype (prototype pollution).
      if (key === '__proto__' || (key === 'constructor' && typeof (v as Record<string, unknown>)[key] === 'object')) {
        return { field: at, message: 'is not an allowed key' };
      }
      stack.push({ v: (v as Record<string, unknown>)[key], path: at, depth: depth + 1 });
    }
  }
  return null;
}

function textProblem(s: string): string | null {
  const m = UNSTORABLE.exec(s);
  if (!m) return null;
  return m[0] === '\0' ? 'must not contain a NUL character (\\u0000)' : 'must be valid Unicode (it holds a lone surrogate)';
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `a.b`, `a[0]`, and `a["odd key"]` for keys that are not identifiers (quoted as JSON, so a NUL shows as \u0000). */
function join(path: string, key: string): string {
  if (IDENTIFIER.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** The top-level field of a path: for a value nested too deep, its full path is as long as the nesting. */
function topLevel(path: string): string {
  return /^[^.[]+/.exec(path)?.[0] ?? 'body';
}
