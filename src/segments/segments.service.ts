import { Inject, Injectable } from '@nestjs/common';
import { ACTIVITY_SIGNALS, ActivitySignals } from '../activity/activity-signals';
import { AppError } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { CreateSegmentDto, SegmentCountDto, SegmentDto, SegmentMemberDto, SegmentPreviewDto, SegmentRefreshDto } from './dto/segment.dto';
import { parseRules, RuleProblems } from './rule-parser';
import { Rule, segmentReferences } from './rules';
import { InvalidSegment, SegmentInUse } from './segment.errors';
import { SegmentCompiler, SegmentCycle, SegmentRules } from './segment-compiler';
import { SqlParams } from './segment-sql';
import { SEGMENT_USERS, SegmentUsers } from './segment-users';
import { Compiled, SegmentRow, SegmentsRepository, SubscriberSummaryRow } from './segments.repository';

/**
 * Saved rule trees: validated into typed trees, counted live, previewed unsaved, and kept as a
 * membership history by refreshes. A segment narrows a campaign's audience; it never grants
 * permission (the audience's confirmed subscriptions and suppressions still decide).
 */
@Injectable()
export class SegmentsService {
  constructor(
    private readonly repository: SegmentsRepository,
    private readonly compiler: SegmentCompiler,
    @Inject(SEGMENT_USERS) private readonly users: SegmentUsers[],
    @Inject(ACTIVITY_SIGNALS) private readonly signals: ActivitySignals,
  ) {}

  async create(dto: CreateSegmentDto): Promise<SegmentDto> {
    const { rule } = await this.checked(dto.rules);
    return map(await this.repository.insert(dto.name, dto.rules, refersTo(rule)));
  }

  async list(q: PageQuery): Promise<Page<SegmentDto>> {
    const rows = await this.repository.page(decodeCursor(q.cursor), q.limit + 1);
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), map);
  }

  async get(id: string): Promise<SegmentDto> {
    return map(await this.row(id));
  }

  async update(id: string, dto: Partial<CreateSegmentDto>): Promise<SegmentDto> {
    await this.row(id);
    const rule = dto.rules === undefined ? undefined : (await this.checked(dto.rules, id)).rule;
    const row = await this.repository.update(id, { name: dto.name, rules: dto.rules, refersTo: rule && refersTo(rule) });
    if (!row) throw AppError.notFound('Segment', id);
    return map(row);
  }

  async remove(id: string): Promise<void> {
    await this.row(id);
    const using = await Promise.all(this.users.map((u) => u.using(id)));
    const users = [...using.flat(), ...(await this.repository.referrers(id)).map((s) => `segment "${s.name}" (${s.id})`)];
    if (users.length) throw new SegmentInUse(id, users);
    await this.repository.delete(id);
  }

  async count(id: string): Promise<SegmentCountDto> {
    const started = performance.now();
    const count = await this.repository.count(await this.membersOf(id));
    return { count, ms: Math.round(performance.now() - started) };
  }

  async preview(rules: Record<string, unknown>, limit = 10): Promise<SegmentPreviewDto> {
    const { rule, others } = await this.checked(rules);
    const started = performance.now();
    const p = new SqlParams();
    const summary = { sql: this.compiler.members(rule, others, p, 'summary'), params: p };
    const [count, sample] = await Promise.all([this.repository.count(clone(summary)), limit ? this.repository.sample(clone(summary), limit) : []]);
    return { count, ms: Math.round(performance.now() - started), sample: sample.map(summaryOf) };
  }

  async refresh(id: string): Promise<SegmentRefreshDto> {
    return this.repository.refresh(id, await this.membersOf(id), (tx, entered) => this.signals.segmentEntered(tx, id, entered));
  }

  /** Every saved segment, one after another (the scheduled refresh); one that fails does not hold up the others. */
  async refreshAll(): Promise<{ refreshed: number; failed: { id: string; error: string }[] }> {
    const failed: { id: string; error: string }[] = [];
    const ids = await this.repository.allIds();
    for (const { id } of ids) {
      await this.refresh(id).catch((e: Error) => failed.push({ id, error: e.message }));
    }
    return { refreshed: ids.length - failed.length, failed };
  }

  async members(id: string, q: PageQuery): Promise<Page<SegmentMemberDto>> {
    await this.row(id);
    const after = decodeCursor(q.cursor)?.id ?? null;
    const rows = await this.repository.members(id, after, q.limit + 1);
    return toPage(
      rows,
      q.limit,
      (r) => ({ createdAt: r.entered_at.toISOString(), id: r.subscriber_id }),
      (r) => ({ subscriberId: r.subscriber_id, enteredAt: r.entered_at.toISOString() }),
    );
  }

  /** The ids of `ids` that are not segments. */
  async missing(ids: string[]): Promise<string[]> {
    const found = new Set((await this.repository.findMany(ids)).map((r) => r.id));
    return ids.filter((id) => !found.has(id));
  }

  /**
   * What a campaign's audience is narrowed by, compiled now: a boolean over the subscriber id
   * column `id` — in the segment and in none of the excluded ones. The rules are read once; the
   * returned builder adds its values to the caller's statement.
   */
  async narrowing(segmentId: string | null, excluded: string[]): Promise<((id: string, p: SqlParams) => string) | null> {
    if (!segmentId && !excluded.length) return null;
    const include = segmentId ? await this.loaded(segmentId) : null;
    const exclude = await Promise.all(excluded.map((e) => this.loaded(e)));
    return (id, p) =>
      [
        ...(include ? [`${id} IN (${this.compiler.members(include.rule, include.others, p)})`] : []),
        ...exclude.map((x) => `${id} NOT IN (${this.compiler.members(x.rule, x.others, p)})`),
      ].join(' AND ');
  }

  /** Of these subscribers, those the rules (parsed, their references existing) match now: a journey's branch. */
  async matching(rule: Rule, subscriberIds: string[]): Promise<Set<string>> {
    if (!subscriberIds.length) return new Set();
    const others = await this.referenced(rule);
    const p = new SqlParams();
    const members = this.compiler.members(rule, others, p);
    return new Set(await this.repository.amongMembers({ sql: members, params: p }, subscriberIds));
  }

  private async row(id: string): Promise<SegmentRow> {
    const row = await this.repository.find(id);
    if (!row) throw AppError.notFound('Segment', id);
    return row;
  }

  private async membersOf(id: string): Promise<Compiled> {
    const { rule, others } = await this.loaded(id);
    const p = new SqlParams();
    return { sql: this.compiler.members(rule, others, p), params: p };
  }

  /** A saved segment's tree and those of every segment it refers to. */
  private async loaded(id: string): Promise<{ rule: Rule; others: SegmentRules }> {
    const row = await this.row(id);
    const rule = parseRules(row.rules);
    return { rule, others: await this.referenced(rule, id) };
  }

  /**
   * Client rules as a typed tree whose references exist and form no cycle (through `self`, the
   * segment being edited), compiled once to prove it.
   */
  private async checked(input: unknown, self?: string): Promise<{ rule: Rule; others: SegmentRules }> {
    let rule: Rule;
    try {
      rule = parseRules(input);
    } catch (e) {
      if (e instanceof RuleProblems) throw new InvalidSegment(e.details);
      throw e;
    }
    for (const ref of segmentReferences(rule)) {
      if (ref.id === self) throw InvalidSegment.at(ref.path, 'a segment cannot contain itself');
      if ((await this.missing([ref.id])).length) throw InvalidSegment.at(ref.path, `no segment with id ${ref.id}`);
    }
    const others = await this.referenced(rule, self);
    try {
      this.compiler.members(rule, others, new SqlParams());
    } catch (e) {
      if (e instanceof SegmentCycle) throw InvalidSegment.at(cyclePath(rule, e.path[0]), e.message);
      throw e;
    }
    return { rule, others };
  }

  /** The trees of all segments reachable from `rule`'s references, stopping at cycles (the compiler reports them). */
  private async referenced(rule: Rule, self?: string): Promise<Map<string, Rule>> {
    const found = new Map<string, Rule>();
    let pending = segmentReferences(rule).map((r) => r.id);
    while (pending.length) {
      const rows = await this.repository.findMany([...new Set(pending)].filter((id) => !found.has(id)));
      pending = [];
      for (const row of rows) {
        const tree = parseRules(row.rules);
        found.set(row.id, tree);
        pending.push(...segmentReferences(tree).map((r) => r.id));
      }
      if (self && pending.includes(self)) found.set(self, rule);
      pending = pending.filter((id) => !found.has(id));
    }
    return found;
  }
}

function refersTo(rule: Rule): string[] {
  return [...new Set(segmentReferences(rule).map((r) => r.id))];
}

function cyclePath(rule: Rule, first: string): string {
  return segmentReferences(rule).find((r) => r.id === first)?.path ?? 'rules';
}

/** A compiled statement with its own copy of the values, for running it twice. */
function clone(c: Compiled): Compiled {
  return { sql: c.sql, params: new SqlParams([...c.params.values]) };
}

function map(r: SegmentRow): SegmentDto {
  return {
    id: r.id,
    name: r.name,
    rules: r.rules,
    memberCount: r.member_count,
    refreshedAt: r.refreshed_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function summaryOf(r: SubscriberSummaryRow) {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    externalId: r.external_id,
    attributes: r.attributes,
    timezone: r.timezone,
    createdAt: r.created_at.toISOString(),
  };
}
