import { ZodIssue } from 'zod';
import { ErrorDetail } from '../common/errors';
import { parseRules, RuleProblems } from '../segments/rule-parser';
import { PropertyFilter, Rule } from '../segments/rules';
import { definitionSchema, JourneyDefinition, Step, successors, waits } from './journey-definition';

/** A branch's rules: segment rules, plus `{"step": id, "engagement": "opened"|"clicked"}` about an earlier send step. */
export type BranchRule =
  | { kind: 'and' | 'or'; rules: BranchRule[] }
  | { kind: 'not'; rule: BranchRule }
  | { kind: 'stepEngagement'; step: string; engagement: 'opened' | 'clicked' }
  | { kind: 'segmentRule'; rule: Rule };

export interface CheckedDefinition {
  definition: JourneyDefinition;
  /** Each branch step's rules as a tree, by step id. */
  branches: Map<string, BranchRule>;
  /** An event trigger's property filters, typed (empty for other triggers). */
  triggerWhere: PropertyFilter[];
}

/**
 * A definition's shape and graph: every problem found, each naming the field (`steps[2].next`) and,
 * where there is one, the step's id. What the definition names elsewhere (templates, lists,
 * segments) is checked by the service.
 */
export function checkDefinition(input: unknown): { checked?: CheckedDefinition; problems: ErrorDetail[] } {
  const parsed = definitionSchema.safeParse(input);
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => zodProblem(i, input)) };
  const definition = parsed.data;
  const problems: ErrorDetail[] = [];
  const steps = definition.steps;
  const at = new Map<string, number>();
  steps.forEach((s, i) => {
    if (at.has(s.id)) problems.push(problem(`steps[${i}].id`, s.id, `step id ${s.id} is used twice`));
    else at.set(s.id, i);
  });

  for (const [i, s] of steps.entries()) {
    if (s.type === 'split' && s.weights.length !== s.next.length) problems.push(problem(`steps[${i}].weights`, s.id, 'needs one weight per next step'));
    if (s.type === 'split' && !s.weights.some((w) => w > 0)) problems.push(problem(`steps[${i}].weights`, s.id, 'needs a weight above 0'));
    for (const n of successors(s)) {
      if (!at.has(n.id)) problems.push(problem(`steps[${i}].${n.field}`, s.id, `no step with id ${n.id}`));
    }
  }
  if (problems.length) return { problems };

  // Reachable from the entry (the first step).
  const reached = new Set<string>([steps[0].id]);
  for (const queue = [steps[0]]; queue.length;) {
    for (const n of successors(queue.shift()!)) {
      if (!reached.has(n.id)) {
        reached.add(n.id);
        queue.push(steps[at.get(n.id)!]);
      }
    }
  }
  steps.forEach((s, i) => {
    if (!reached.has(s.id)) problems.push(problem(`steps[${i}].id`, s.id, `step ${s.id} cannot be reached from the first step (${steps[0].id})`));
  });

  // A cycle through steps that do not wait would run at once, forever.
  const cycle = instantCycle(steps, at);
  if (cycle) problems.push(problem(`steps[${at.get(cycle[0])}]`, cycle[0], `steps ${cycle.join(' → ')} form a cycle without a wait`));

  const branches = new Map<string, BranchRule>();
  const sends = new Set(steps.filter((s) => s.type === 'send').map((s) => s.id));
  for (const [i, s] of steps.entries()) {
    if (s.type !== 'branch') continue;
    const rule = branchRule(s.rules, `steps[${i}].rules`, s.id, sends, problems);
    if (rule) branches.set(s.id, rule);
  }

  // An event trigger's filters are the segment grammar's (`where` of an event rule).
  let triggerWhere: PropertyFilter[] = [];
  const trigger = definition.trigger;
  if (trigger.type === 'event' && trigger.where.length) {
    try {
      const parsed = parseRules({ event: trigger.event, where: trigger.where }, 'trigger');
      if (parsed.kind === 'event') triggerWhere = parsed.where;
    } catch (e) {
      if (!(e instanceof RuleProblems)) throw e;
      problems.push(...e.details);
    }
  }

  const needsLists = steps.some((s) => s.type === 'send' && !s.transactional);
  if (needsLists && !definition.settings.lists.length) {
    problems.push(problem('settings.lists', undefined, 'send steps that are not transactional need the lists whose confirmed subscribers may get them'));
  }
  return problems.length ? { problems } : { checked: { definition, branches, triggerWhere }, problems };
}

function problem(field: string, step: string | undefined, message: string): ErrorDetail {
  return step === undefined ? { field, message } : { field, step, message };
}

/** The first cycle found among steps that do not wait, as step ids, or null. */
function instantCycle(steps: Step[], at: Map<string, number>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (s: Step): string[] | null => {
    if (waits(s)) return null;
    state.set(s.id, 'open');
    path.push(s.id);
    for (const n of successors(s)) {
      const next = steps[at.get(n.id)!];
      if (state.get(next.id) === 'open') return [...path.slice(path.indexOf(next.id)), next.id];
      if (!state.has(next.id)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(s.id, 'done');
    return null;
  };
  for (const s of steps) {
    if (!state.has(s.id)) {
      const found = visit(s);
      if (found) return found;
    }
  }
  return null;
}

function branchRule(x: unknown, path: string, step: string, sends: Set<string>, problems: ErrorDetail[]): BranchRule | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return void problems.push(problem(path, step, 'must be a rule object'));
  const o = x as Record<string, unknown>;
  if ('and' in o || 'or' in o) {
    const kind = 'and' in o ? 'and' : 'or';
    const list = o[kind];
    if (Object.keys(o).length !== 1 || !Array.isArray(list) || !list.length)
      return void problems.push(problem(`${path}.${kind}`, step, 'must be a non-empty array of rules'));
    const rules = list.map((r, i) => branchRule(r, `${path}.${kind}[${i}]`, step, sends, problems));
    return rules.every(Boolean) ? { kind, rules: rules as BranchRule[] } : undefined;
  }
  if ('not' in o) {
    const rule =
      Object.keys(o).length === 1 ? branchRule(o.not, `${path}.not`, step, sends, problems) : void problems.push(problem(path, step, 'not takes one rule'));
    return rule && { kind: 'not', rule };
  }
  if ('step' in o) {
    if (typeof o.step !== 'string' || !sends.has(o.step))
      return void problems.push(problem(`${path}.step`, step, 'must be the id of a send step of this journey'));
    if (o.engagement !== 'opened' && o.engagement !== 'clicked') return void problems.push(problem(`${path}.engagement`, step, 'must be opened or clicked'));
    if (Object.keys(o).length !== 2) return void problems.push(problem(path, step, 'a step rule has only step and engagement'));
    return { kind: 'stepEngagement', step: o.step, engagement: o.engagement };
  }
  try {
    return { kind: 'segmentRule', rule: parseRules(o, path) };
  } catch (e) {
    if (!(e instanceof RuleProblems)) throw e;
    for (const d of e.details) problems.push(problem(d.field ?? path, step, d.message));
    return undefined;
  }
}

/** A zod issue as a detail: its path as `steps[2].next`, and the id of the step it is in. */
function zodProblem(issue: ZodIssue, input: unknown): ErrorDetail {
  const field = issue.path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '') || 'body';
  let step: string | undefined;
  if (issue.path[0] === 'steps' && typeof issue.path[1] === 'number') {
    const raw = (input as { steps?: unknown[] }).steps?.[issue.path[1]];
    if (raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string') step = (raw as { id: string }).id;
  }
  const message = issue.code === 'invalid_union_discriminator' ? `must be one of ${issue.options.join(', ')}` : issue.message;
  return problem(field, step, message);
}
