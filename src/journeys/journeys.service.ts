import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ListsService } from '../audience/lists.service';
import { AppError, ErrorDetail } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { InvalidTemplate } from '../content/content.errors';
import { TemplateCompiler } from '../content/template-compiler';
import { TemplatesService } from '../content/templates.service';
import { segmentReferences } from '../segments/rules';
import { SegmentsService } from '../segments/segments.service';
import { BranchRule, checkDefinition, CheckedDefinition } from './definition-check';
import { JourneyBodyDto, JourneyDto } from './dto/journey.dto';
import { InvalidJourney, JourneyPublished, JourneyTransition } from './journey.errors';
import { JourneyTimers } from './journey-timers';
import { JourneyVersions } from './journey-versions';
import { JourneyRow, JourneysRepository, JourneyStatus, VersionRow } from './journeys.repository';

/** The lifecycle: which states each action leaves from, and where it goes. */
const TRANSITIONS = {
  pause: { from: ['active'], to: 'paused' },
  resume: { from: ['paused'], to: 'active' },
  archive: { from: ['draft', 'active', 'paused'], to: 'archived' },
} satisfies Record<string, { from: JourneyStatus[]; to: JourneyStatus }>;

/**
 * Journeys as definitions: a draft that is checked whole on every save (shape, graph, and what it
 * names), and versions that publishing freezes. A paused journey holds everyone where they are; an
 * archived one enrols no one.
 */
@Injectable()
export class JourneysService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repository: JourneysRepository,
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    private readonly lists: ListsService,
    private readonly segments: SegmentsService,
    private readonly versions: JourneyVersions,
    private readonly timers: JourneyTimers,
  ) {}

  async create(dto: JourneyBodyDto): Promise<JourneyDto> {
    const checked = await this.checked(dto);
    return this.mapped(await this.repository.insert(dto.name, checked.definition, segmentsOf(checked)));
  }

  async list(q: PageQuery): Promise<Page<JourneyDto>> {
    const rows = await this.repository.page(decodeCursor(q.cursor), q.limit + 1);
    const versions = await this.repository.versions(rows.map((r) => r.id));
    return toPage(
      rows,
      q.limit,
      (r) => ({ createdAt: r.ts, id: r.id }),
      (r) =>
        map(
          r,
          versions.filter((v) => v.journey_id === r.id),
        ),
    );
  }

  async get(id: string): Promise<JourneyDto> {
    return this.mapped(await this.row(id));
  }

  /** Replaces the draft (the active version runs on until the next publish). */
  async update(id: string, dto: JourneyBodyDto): Promise<JourneyDto> {
    const current = await this.row(id);
    if (current.status === 'archived') throw new JourneyTransition(id, 'edit', ['draft', 'active', 'paused'], current.status);
    const checked = await this.checked(dto);
    const row = await this.repository.replaceDraft(id, dto.name, checked.definition, segmentsOf(checked));
    if (!row) throw new JourneyTransition(id, 'edit', ['draft', 'active', 'paused'], 'archived');
    return this.mapped(row);
  }

  /** Freezes the draft as a new version, checked again (what it names may have gone since), and activates it. */
  async publish(id: string): Promise<JourneyDto> {
    const row = await this.db.transaction(async (tx) => {
      const [current] = await this.repository.lockForPublish(tx, id);
      if (!current) throw AppError.notFound('Journey', id);
      if (current.status === 'archived') throw new JourneyTransition(id, 'publish', ['draft', 'active', 'paused'], current.status);
      const checked = await this.checked({ name: current.name, ...(current.draft as object) } as JourneyBodyDto);
      // Each send step's template as it is now: people on this version get what was published.
      const pinned: Record<string, number> = {};
      for (const s of checked.definition.steps) if (s.type === 'send') pinned[s.id] = (await this.templates.version(s.templateId)).version;
      return this.repository.publish(tx, id, pinned);
    });
    this.versions.changed();
    return this.mapped(row);
  }

  async transition(id: string, action: keyof typeof TRANSITIONS): Promise<JourneyDto> {
    const { from, to } = TRANSITIONS[action];
    const row = await this.repository.transition(id, from, to);
    if (!row) throw new JourneyTransition(id, action, from, (await this.row(id)).status);
    this.versions.changed();
    // Resumed: those who fell due while it was paused run now.
    if (to === 'active') this.timers.wakeSoon();
    return this.mapped(row);
  }

  async remove(id: string): Promise<void> {
    await this.row(id);
    if (!(await this.repository.deleteUnpublished(id))) throw new JourneyPublished(id);
  }

  private async row(id: string): Promise<JourneyRow> {
    const row = await this.repository.find(id);
    if (!row) throw AppError.notFound('Journey', id);
    return row;
  }

  private async mapped(row: JourneyRow): Promise<JourneyDto> {
    return map(row, await this.repository.versions([row.id]));
  }

  /** The whole definition: shape and graph, then every template, list and segment it names, and the subjects' syntax. */
  private async checked(dto: JourneyBodyDto): Promise<CheckedDefinition> {
    const { checked, problems } = checkDefinition({ trigger: dto.trigger, steps: dto.steps, settings: dto.settings });
    if (!checked) throw new InvalidJourney(problems);
    const { trigger, steps, settings } = checked.definition;
    const found: ErrorDetail[] = [];
    for (const [i, s] of steps.entries()) {
      if (s.type !== 'send') continue;
      if (!(await this.templates.exists(s.templateId)))
        found.push({ field: `steps[${i}].templateId`, step: s.id, message: `no template with id ${s.templateId}` });
      try {
        this.compiler.assertValidSubject(s.subject);
      } catch (e) {
        if (!(e instanceof InvalidTemplate)) throw e;
        found.push({ field: `steps[${i}].subject`, step: s.id, message: e.details.map((d) => d.message).join('; ') });
      }
    }
    const lists = [
      ...settings.lists.map((id, i) => ({ id, field: `settings.lists[${i}]` })),
      ...(trigger.type === 'listJoined' ? [{ id: trigger.listId, field: 'trigger.listId' }] : []),
    ];
    const known = new Set((await this.lists.named(lists.map((l) => l.id))).map((l) => l.id));
    for (const l of lists) if (!known.has(l.id)) found.push({ field: l.field, message: `no list with id ${l.id}` });
    const segments = [
      ...(trigger.type === 'segmentEntered' ? [{ id: trigger.segmentId, field: 'trigger.segmentId', step: undefined as string | undefined }] : []),
      ...[...checked.branches].flatMap(([step, rule]) => {
        const i = steps.findIndex((s) => s.id === step);
        return branchSegments(rule, `steps[${i}].rules`).map((r) => ({ ...r, step }));
      }),
    ];
    const missing = new Set(await this.segments.missing(segments.map((s) => s.id)));
    for (const s of segments) if (missing.has(s.id)) found.push({ field: s.field, ...(s.step ? { step: s.step } : {}), message: `no segment with id ${s.id}` });
    if (found.length) throw new InvalidJourney(found);
    return checked;
  }
}

/** The segments a branch's rules name, with the path of each reference. */
function branchSegments(rule: BranchRule, path: string): { id: string; field: string }[] {
  switch (rule.kind) {
    case 'and':
    case 'or':
      return rule.rules.flatMap((r, i) => branchSegments(r, `${path}.${rule.kind}[${i}]`));
    case 'not':
      return branchSegments(rule.rule, `${path}.not`);
    case 'stepEngagement':
      return [];
    case 'segmentRule':
      return segmentReferences(rule.rule, path).map((r) => ({ id: r.id, field: r.path }));
  }
}

function segmentsOf(checked: CheckedDefinition): string[] {
  const { trigger } = checked.definition;
  const ids = [...checked.branches.values()].flatMap((r) => branchSegments(r, '').map((s) => s.id));
  return [...new Set([...(trigger.type === 'segmentEntered' ? [trigger.segmentId] : []), ...ids])];
}

function map(r: JourneyRow, versions: VersionRow[]): JourneyDto {
  const draft = r.draft as { trigger: unknown; steps: unknown[]; settings: unknown };
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    version: r.version,
    trigger: draft.trigger,
    steps: draft.steps,
    settings: draft.settings,
    versions: versions.map((v) => ({ version: v.version, publishedAt: v.published_at.toISOString() })),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
