import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ListsService } from '../audience/lists.service';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CompiledTemplate, TemplateCompiler } from '../content/template-compiler';
import type { Queryable } from '../database/queryable';
import { TemplatesService } from '../content/templates.service';
import { SegmentsService } from '../segments/segments.service';
import { CampaignLinks } from '../tracking/campaign-links';
import { CampaignNotDraft } from './campaign.errors';
import { Audience, CampaignRow, CampaignsRepository, CampaignValues } from './campaigns.repository';
import { CampaignDto, CreateCampaignDto, ProgressDto, UpdateCampaignDto, UtmDto } from './dto/campaign.dto';
import { MessagesRepository } from './messages.repository';
import { abTestOf, variantId, variantOf } from './variants';

export type { CampaignRow };

/** A campaign's recipients by address domain, for its report: of its sent messages, or of its frozen audience. */
export interface RecipientDomains {
  /** `sent`: the sent messages, once the campaign has finished; `audience`: every recipient frozen when sending started. */
  of: 'sent' | 'audience';
  domains: Record<string, number>;
}

/** A compiled mail of a campaign (one per variant) and where its link slots start among the campaign's. */
export interface CompiledMail {
  template: CompiledTemplate;
  firstSlot: number;
  /** The variant's own from name, if it has one. */
  fromName?: string;
}

/** What every message of a campaign shares, for the message builder. */
export interface CampaignContext {
  id: string;
  name: string;
  fromName: string;
  fromEmail: string;
  replyTo: string | null;
  data: Record<string, unknown>;
  postalAddress: string;
  /** The list this mail is sent for (List-Id). */
  list: { id: string; name: string } | null;
}

@Injectable()
export class CampaignsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly campaigns: CampaignsRepository,
    private readonly messages: MessagesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    private readonly lists: ListsService,
    private readonly links: CampaignLinks,
    private readonly segments: SegmentsService,
  ) {}

  async create(dto: CreateCampaignDto): Promise<CampaignDto> {
    const values = valuesOf(dto);
    await this.check(values);
    return this.get(await this.campaigns.insert(values));
  }

  get dispatchJobs(): number {
    return this.config.sending.dispatchJobs;
  }

  async get(id: string): Promise<CampaignDto> {
    const row = await this.row(id);
    return map(row, (await this.progress([row]))[0]);
  }

  /**
   * Counts by message status: stored once the campaign finished; while it sends, from the runs'
   * tallies and the rare statuses (queued: the rest of its frozen total), a few rows at any size;
   * counted index-only for a campaign started before its total was kept.
   */
  async progress(rows: Pick<CampaignRow, 'id' | 'message_counts' | 'message_total'>[]): Promise<ProgressDto[]> {
    const open = rows.filter((r) => !r.message_counts);
    const [tallied, counted] = await Promise.all([
      this.messages.liveCounts(open.filter((r) => r.message_total !== null).map((r) => r.id)),
      this.messages.countsByStatus(open.filter((r) => r.message_total === null).map((r) => r.id)),
    ]);
    return rows.map((r) => {
      if (r.message_counts) return progressOf(r.message_counts);
      const counts: Record<string, number> = {};
      for (const l of r.message_total === null ? counted : tallied) if (l.campaign_id === r.id) counts[l.status] = l.n;
      if (r.message_total !== null) counts.queued = r.message_total - Object.values(counts).reduce((a, b) => a + b, 0);
      return progressOf(counts);
    });
  }

  /**
   * Recipients by address domain, both stored with the campaign (counting them at a view would join
   * its messages to their subscribers, over a second at a million): the sent messages once it has
   * finished (kept with its message counts), before that the audience frozen when sending started;
   * null before it starts.
   */
  mailboxDomains(row: CampaignRow): RecipientDomains | null {
    if (row.message_counts) return { of: 'sent', domains: row.mailbox_domains ?? {} };
    if (row.audience_domains) return { of: 'audience', domains: row.audience_domains };
    return null;
  }

  async list(q: PageQuery): Promise<Page<CampaignDto>> {
    const rows = await this.campaigns.page(decodeCursor(q.cursor), q.limit + 1);
    const progress = await this.progress(rows.slice(0, q.limit));
    return toPage(
      rows,
      q.limit,
      (r) => ({ createdAt: r.ts, id: r.id }),
      (r) => map(r, progress[rows.indexOf(r)]),
    );
  }

  /** Only a draft can be edited. */
  async update(id: string, dto: UpdateCampaignDto): Promise<CampaignDto> {
    const row = await this.row(id);
    assertDraft(row, 'edited');
    const next = valuesOf({
      name: dto.name ?? row.name,
      subject: dto.subject ?? row.subject,
      templateId: dto.templateId ?? row.template_id,
      fromName: dto.fromName ?? row.from_name,
      fromEmail: dto.fromEmail ?? row.from_email,
      replyTo: dto.replyTo !== undefined ? dto.replyTo : row.reply_to,
      audience: dto.audience ?? row.audience,
      data: dto.data ?? row.data,
      sendRate: dto.sendRate !== undefined ? dto.sendRate : row.send_rate,
      transport: dto.transport ?? row.transport,
      postalAddress: dto.postalAddress !== undefined ? dto.postalAddress : row.postal_address,
      utm: dto.utm !== undefined ? dto.utm : row.utm,
      attributionWindowHours: dto.attributionWindowHours !== undefined ? dto.attributionWindowHours : row.attribution_window_hours,
      variants: dto.variants !== undefined ? dto.variants : row.variants,
      abTest: dto.abTest !== undefined ? dto.abTest : row.ab_test,
    } as CreateCampaignDto);
    await this.check(next);
    await this.campaigns.update(id, next);
    return this.get(id);
  }

  /** A draft and its link slots (test copies store them; no foreign key ties them since mailings other than campaigns have slots too). */
  async remove(id: string): Promise<void> {
    assertDraft(await this.row(id), 'deleted');
    await this.db.transaction(async (tx) => {
      await this.links.forget(tx, id);
      await this.campaigns.delete(id, tx);
    });
  }

  /**
   * What the campaign sends, compiled (cached by template version, subject and preheader): one mail,
   * or one per variant. The link slots of all of them are stored with tracking one after the other,
   * each variant's from its `firstSlot`, so a click names the variant's own link.
   */
  async compiled(row: CampaignRow): Promise<CompiledMail[]> {
    const mails = await this.mails(row);
    const links = mails.flatMap((m) => m.template.links);
    if (links.length) await this.links.store(row.id, links, row.utm);
    return mails;
  }

  /** The same mails, storing nothing: what a report reads to show them. */
  async mails(row: CampaignRow): Promise<CompiledMail[]> {
    const specs: { templateId: string; version: number | null; subject: string; preheader?: string; fromName?: string }[] = row.variants
      ? row.variants.map((v) => ({
          templateId: v.templateId ?? row.template_id,
          version: v.templateId ? (v.templateVersion ?? null) : row.template_version,
          subject: v.subject ?? row.subject,
          preheader: v.preheader,
          fromName: v.fromName,
        }))
      : [{ templateId: row.template_id, version: row.template_version, subject: row.subject }];
    const mails: CompiledMail[] = [];
    let firstSlot = 0;
    for (const s of specs) {
      const v = await this.templates.version(s.templateId, s.version);
      // The key every other caller uses (template, version, subject), or with a preheader one they never make.
      const key =
        s.preheader === undefined ? `${v.templateId}:${v.version}:${s.subject}` : `${v.templateId}:${v.version}+${JSON.stringify([s.subject, s.preheader])}`;
      const template = await this.compiler.compile(key, v.mjml, s.subject, s.preheader);
      mails.push({ template, firstSlot, fromName: s.fromName });
      firstSlot += template.links.length;
    }
    return mails;
  }

  /** The campaign's lists (their names for List-Id), in the audience's order. */
  listsOf(row: CampaignRow): Promise<{ id: string; name: string }[]> {
    return this.lists.named(row.audience.lists);
  }

  async messageContext(row: CampaignRow): Promise<CampaignContext> {
    const [list] = await this.lists.named(row.audience.lists.slice(0, 1));
    return {
      id: row.id,
      name: row.name,
      fromName: row.from_name,
      fromEmail: row.from_email,
      replyTo: row.reply_to,
      data: row.data,
      postalAddress: row.postal_address ?? this.config.content.postalAddress,
      list: list ?? null,
    };
  }

  /** For the ingestor, in its transaction: when each message was sent (see MessagesRepository.sentAt). */
  sentAt(q: Queryable, campaigns: Buffer, subscribers: Buffer): Promise<{ i: number; sent_at: number | null }[]> {
    return this.messages.sentAt(q, campaigns, subscribers);
  }

  /** Campaigns' own attribution windows (hours; null: the default). */
  attributionWindows(q: Queryable, ids: string[]): Promise<{ id: string; hours: number | null }[]> {
    return this.campaigns.attributionWindows(q, ids);
  }

  async row(id: string): Promise<CampaignRow> {
    const row = await this.campaigns.find(id);
    if (!row) throw AppError.notFound('Campaign', id);
    return row;
  }

  /** Template, lists and transport must exist; the subject must be valid Handlebars. */
  private async check(v: CampaignValues): Promise<void> {
    if (!(await this.templates.exists(v.templateId))) {
      throw new AppError('not_found', `template ${v.templateId} not found`, [{ field: 'templateId', message: 'no such template' }]);
    }
    const found = new Set((await this.lists.named(v.audience.lists)).map((l) => l.id));
    const missing = v.audience.lists.filter((l) => !found.has(l));
    if (missing.length) {
      throw new AppError(
        'not_found',
        `list ${missing.join(', ')} not found`,
        missing.map((l) => ({ field: `audience.lists[${v.audience.lists.indexOf(l)}]`, message: `no list with id ${l}` })),
      );
    }
    await this.checkSegments(v.audience);
    await this.checkVariants(v);
    const transports = Object.keys(this.config.mail.transports);
    if (!transports.includes(v.transport)) throw AppError.invalid('transport', `no transport named "${v.transport}" (configured: ${transports.join(', ')})`);
    this.compiler.assertValidSubject(v.subject);
  }

  /** Each variant's template must exist and its subject be valid Handlebars; an A/B test needs variants. */
  private async checkVariants(v: CampaignValues): Promise<void> {
    if (v.abTest && !v.variants) throw AppError.invalid('abTest', 'an A/B test needs variants (2 to 8)');
    for (const [i, variant] of (v.variants ?? []).entries()) {
      if (variant.templateId && !(await this.templates.exists(variant.templateId))) {
        throw new AppError('not_found', `template ${variant.templateId} not found`, [{ field: `variants[${i}].templateId`, message: 'no such template' }]);
      }
      if (variant.subject) this.compiler.assertValidSubject(variant.subject, `variants[${i}].subject`);
      if (variant.preheader) this.compiler.assertValidSubject(variant.preheader, `variants[${i}].preheader`);
    }
    const names = (v.variants ?? []).map((x) => x.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw AppError.invalid('variants', `two variants are named "${twice}"`);
  }

  /** The segment and the excluded segments must exist; a segment cannot be both. */
  private async checkSegments(a: Audience): Promise<void> {
    const named = [
      ...(a.segmentId ? [{ id: a.segmentId, field: 'audience.segmentId' }] : []),
      ...(a.excludeSegmentIds ?? []).map((id, i) => ({ id, field: `audience.excludeSegmentIds[${i}]` })),
    ];
    if (a.segmentId && a.excludeSegmentIds?.includes(a.segmentId)) {
      throw AppError.invalid('audience.excludeSegmentIds', 'cannot exclude the segment the audience is narrowed to');
    }
    const missing = new Set(await this.segments.missing(named.map((n) => n.id)));
    const bad = named.filter((n) => missing.has(n.id));
    if (bad.length) {
      throw new AppError(
        'not_found',
        `segment ${bad.map((b) => b.id).join(', ')} not found`,
        bad.map((b) => ({ field: b.field, message: `no segment with id ${b.id}` })),
      );
    }
  }
}

function valuesOf(dto: CreateCampaignDto): CampaignValues {
  return {
    name: dto.name,
    subject: dto.subject,
    templateId: dto.templateId,
    fromName: dto.fromName,
    fromEmail: normalizeEmail(dto.fromEmail)!,
    replyTo: dto.replyTo ? normalizeEmail(dto.replyTo) : null,
    audience: audienceOf(dto.audience),
    data: dto.data ?? {},
    sendRate: dto.sendRate ?? null,
    transport: dto.transport ?? 'default',
    postalAddress: dto.postalAddress ?? null,
    utm: utmOf(dto.utm),
    attributionWindowHours: dto.attributionWindowHours ?? null,
    variants: dto.variants ? dto.variants.map(variantOf) : null,
    abTest: dto.abTest ? abTestOf(dto.abTest) : null,
  };
}

/** Messages by status → the progress figures (queued includes what is claimed or in SMTP). */
export function progressOf(counts: Record<string, number>): ProgressDto {
  const p = emptyProgress();
  for (const [status, n] of Object.entries(counts)) {
    p.total += n;
    if (status === 'held' || status === 'queued' || status === 'sending' || status === 'submitting') p.queued += n;
    else if (status in p) p[status as 'sent' | 'failed' | 'unknown' | 'skipped' | 'cancelled'] += n;
  }
  return p;
}

function audienceOf(a: Audience): Required<Audience> {
  return { lists: [...new Set(a.lists)], segmentId: a.segmentId ?? null, excludeSegmentIds: [...new Set(a.excludeSegmentIds ?? [])] };
}

function assertDraft(row: CampaignRow, verb: string): void {
  if (row.status !== 'draft') throw new CampaignNotDraft(row.id, row.status, verb);
}

/** Only the parameters given; none at all is stored as null. */
function utmOf(utm: UtmDto | Record<string, string> | null | undefined): Record<string, string> | null {
  const entries = Object.entries(utm ?? {}).filter(([, v]) => typeof v === 'string' && v !== '');
  return entries.length ? Object.fromEntries(entries) : null;
}

function emptyProgress(): ProgressDto {
  return { total: 0, queued: 0, sent: 0, failed: 0, unknown: 0, skipped: 0, cancelled: 0 };
}

function map(r: CampaignRow, progress = emptyProgress()): CampaignDto {
  return {
    id: r.id,
    name: r.name,
    subject: r.subject,
    templateId: r.template_id,
    templateVersion: r.template_version,
    fromName: r.from_name,
    fromEmail: r.from_email,
    replyTo: r.reply_to,
    audience: audienceOf(r.audience),
    data: r.data,
    sendRate: r.send_rate,
    transport: r.transport,
    postalAddress: r.postal_address,
    utm: r.utm,
    attributionWindowHours: r.attribution_window_hours,
    variants:
      r.variants?.map((v, i) => ({
        id: variantId(i),
        name: v.name,
        subject: v.subject ?? null,
        preheader: v.preheader ?? null,
        fromName: v.fromName ?? null,
        templateId: v.templateId ?? null,
      })) ?? null,
    abTest: r.ab_test,
    status: r.status,
    scheduledAt: r.scheduled_at?.toISOString() ?? null,
    localTime: r.local_time,
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    progress,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
