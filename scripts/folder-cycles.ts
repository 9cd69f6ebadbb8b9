/**
 * Dependencies between the capability folders of src/ must point one way: this lists every cycle
 * in the folder graph (with one import that makes each edge) and exits 1 when there is one. Part
 * of `npm run lint`. Type-only imports count too: they couple folders as much as the others.
 * Files directly in src/ (entry points, the app module) are the composition root, outside the check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve(__dirname, '..', 'src');
const IMPORT = /(?:^|[^\w.])(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

export interface Edge {
  from: string;
  to: string;
  /** One import that makes the edge: `file → file`. */
  example: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The capability folder of a file under src/, or null for the composition root (files in src/ itself). */
function folderOf(file: string): string | null {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : null;
}

export function folderEdges(root = SRC): Edge[] {
  const edges = new Map<string, Edge>();
  for (const file of files(root)) {
    const from = folderOf(file);
    if (!from) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1] ?? m[2]);
      const to = folderOf(target);
      if (!to || to === from || !target.startsWith(SRC)) continue;
      const key = `${from}→${to}`;
      if (!edges.has(key)) edges.set(key, { from, to, example: `${relative(SRC, file)} → ${relative(SRC, target)}` });
    }
  }
  return [...edges.values()];
}

/** Every strongly connected set of two or more folders (Tarjan), each as the folders in it. */
export function cycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const nodes = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return found;
}

if (require.main === module) {
  const edges = folderEdges();
  const found = cycles(edges);
  if (!found.length) {
    console.log(`folder dependencies: no cycle (${edges.length} edges between ${new Set(edges.flatMap((e) => [e.from, e.to])).size} folders)`);
    process.exit(0);
  }
  for (const folders of found) {
    console.error(`import cycle between folders: ${folders.join(', ')}`);
    for (const e of edges) if (folders.includes(e.from) && folders.includes(e.to)) console.error(`  ${e.from} → ${e.to}: ${e.example}`);
  }
  process.exit(1);
}
