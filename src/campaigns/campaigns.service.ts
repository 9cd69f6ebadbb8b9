import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { CompiledTemplate, TemplateCompiler } from '../content/template-compiler';
import { TemplatesService } from '../content/templates.service';
import { MailTransport } from '../delivery/mail-transport';
import { CampaignMessageContext, MessageBuilder, Recipient } from '../delivery/message-builder';
import { TEST_RECIPIENT } from '../tracking/message-tokens';
import { CampaignNotDraft } from './campaign.errors';
import { CampaignDto, CreateCampaignDto, ProgressDto, TestSendDto, UpdateCampaignDto, UtmDto } from './dto/campaign.dto';

export interface CampaignRow {
  id: string;
  name: string;
  subject: string;
  template_id: string;
  template_version: number | null;
  from_name: string;
  from_email: string;
  reply_to: string | null;
  audience: { lists: string[]; segmentId?: string | null };
  data: Record<string, unknown>;
  send_rate: number | null;
  transport: string;
  postal_address: string | null;
  utm: Record<string, string> | null;
  attribution_window_hours: number | null;
  status: string;
  scheduled_at: Date | null;
  local_time: boolean;
  default_timezone: string;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  updated_at: Date;
  ts: string;
}

@Injectable()
export class CampaignsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    private readonly builder: MessageBuilder,
    private readonly transport: MailTransport,
  ) {}

  async create(dto: CreateCampaignDto): Promise<CampaignDto> {
    await this.check(dto);
    const [{ id }]: { id: string }[] = await this.db.query(
      `INSERT INTO campaigns (name, subject, template_id, from_name, from_email, reply_to, audience, data, send_rate, transport, postal_address,
         utm, attribution_window_hours)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
      [
        dto.name,
        dto.subject,
        dto.templateId,
        dto.fromName,
        normalizeEmail(dto.fromEmail),
        dto.replyTo ? normalizeEmail(dto.replyTo) : null,
        { lists: [...new Set(dto.audience.lists)], segmentId: null },
        dto.data ?? {},
        dto.sendRate ?? null,
        dto.transport ?? 'default',
        dto.postalAddress ?? null,
        utmOf(dto.utm),
        dto.attributionWindowHours ?? null,
      ],
    );
    return this.get(id);
  }

  get dispatchJobs(): number {
    return this.config.sending.dispatchJobs;
  }

  async get(id: string): Promise<CampaignDto> {
    const row = await this.row(id);
    return map(row, (await this.progress([id])).get(id));
  }

  /** Counts by message status, read index-only from messages_status_idx. */
  async progress(ids: string[]): Promise<Map<string, ProgressDto>> {
    const rows: { campaign_id: string; status: string; n: number }[] = ids.length
      ? await this.db.query(`SELECT campaign_id, status, count(*)::int AS n FROM messages WHERE campaign_id = ANY($1::uuid[]) GROUP BY 1, 2`, [ids])
      : [];
    const out = new Map<string, ProgressDto>();
    for (const r of rows) {
      const p = out.get(r.campaign_id) ?? emptyProgress();
      p.total += r.n;
      if (r.status === 'queued' || r.status === 'sending' || r.status === 'submitting') p.queued += r.n;
      else p[r.status as 'sent' | 'failed' | 'unknown' | 'skipped' | 'cancelled'] += r.n;
      out.set(r.campaign_id, p);
    }
    return out;
  }

  async list(q: PageQuery): Promise<Page<CampaignDto>> {
    const after = decodeCursor(q.cursor);
    const rows: CampaignRow[] = await this.db.query(
      `SELECT *, created_at::text AS ts FROM campaigns
       WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid) ORDER BY created_at, id LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, q.limit + 1],
    );
    const progress = await this.progress(rows.slice(0, q.limit).map((r) => r.id));
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), (r) => map(r, progress.get(r.id)));
  }

  /** Only a draft can be edited. */
  async update(id: string, dto: UpdateCampaignDto): Promise<CampaignDto> {
    const row = await this.row(id);
    assertDraft(row, 'edited');
    const next = {
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
      utm: dto.utm !== undefined ? utmOf(dto.utm) : row.utm,
      attributionWindowHours: dto.attributionWindowHours !== undefined ? dto.attributionWindowHours : row.attribution_window_hours,
    };
    await this.check(next as CreateCampaignDto);
    await this.db.query(
      `UPDATE campaigns SET name = $2, subject = $3, template_id = $4, from_name = $5, from_email = $6, reply_to = $7, audience = $8,
         data = $9, send_rate = $10, transport = $11, postal_address = $12, utm = $13, attribution_window_hours = $14, updated_at = now()
       WHERE id = $1`,
      [
        id,
        next.name,
        next.subject,
        next.templateId,
        next.fromName,
        normalizeEmail(next.fromEmail),
        next.replyTo ? normalizeEmail(next.replyTo) : null,
        { lists: [...new Set(next.audience.lists)], segmentId: null },
        next.data,
        next.sendRate,
        next.transport,
        next.postalAddress,
        next.utm,
        next.attributionWindowHours,
      ],
    );
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    assertDraft(await this.row(id), 'deleted');
    await this.db.query(`DELETE FROM campaigns WHERE id = $1`, [id]);
  }

  /**
   * Test copies, marked as such (subject prefix and X-EDM-Test). A known subscriber is personalised
   * with their own data; their tokens carry the test recipient, so nothing they click is counted.
   */
  async sendTest(id: string, dto: TestSendDto): Promise<{ sent: string[] }> {
    const row = await this.row(id);
    const compiled = await this.compiled(row);
    const context = await this.messageContext(row);
    const emails = [...new Set(dto.emails.map((e) => normalizeEmail(e)!))];
    const known: Recipient[] = await this.db.query(
      `SELECT id, email, name, attributes, timezone FROM subscribers WHERE email = ANY($1::text[])`,
      [emails],
    );
    for (const email of emails) {
      const profile = known.find((k) => k.email === email);
      const recipient: Recipient = { ...(profile ?? { name: null, attributes: {}, timezone: null }), id: TEST_RECIPIENT, email };
      await this.transport.send(this.builder.build(compiled, context, recipient, { test: true }), row.transport);
    }
    return { sent: emails };
  }

  /** The campaign's compiled template (cached by version and subject) and its link slots stored. */
  async compiled(row: CampaignRow): Promise<CompiledTemplate> {
    const v = await this.templates.version(row.template_id, row.template_version);
    const compiled = await this.compiler.compile(`${v.templateId}:${v.version}:${row.subject}`, v.mjml, row.subject);
    if (compiled.links.length) {
      await this.db.query(
        `INSERT INTO campaign_links (campaign_id, slot, url) SELECT $1, s - 1, u FROM unnest($2::text[]) WITH ORDINALITY AS t(u, s)
         ON CONFLICT (campaign_id, slot) DO UPDATE SET url = EXCLUDED.url`,
        [row.id, compiled.links],
      );
    }
    return compiled;
  }

  async lists(row: CampaignRow): Promise<{ id: string; name: string }[]> {
    return this.db.query(`SELECT id, name FROM lists WHERE id = ANY($1::uuid[])`, [row.audience.lists]);
  }

  async messageContext(row: CampaignRow): Promise<CampaignMessageContext> {
    const [list]: { id: string; name: string }[] = await this.db.query(`SELECT id, name FROM lists WHERE id = $1`, [row.audience.lists[0]]);
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

  async row(id: string): Promise<CampaignRow> {
    const [row]: CampaignRow[] = await this.db.query(`SELECT *, created_at::text AS ts FROM campaigns WHERE id = $1`, [id]);
    if (!row) throw AppError.notFound('Campaign', id);
    return row;
  }

  /** Template, lists and transport must exist; the subject must be valid Handlebars. */
  private async check(dto: Pick<CreateCampaignDto, 'templateId' | 'audience' | 'transport' | 'subject'>): Promise<void> {
    if (dto.audience.segmentId) throw AppError.invalid('audience.segmentId', 'segments are not available yet; choose lists');
    const [template]: { id: string }[] = await this.db.query(`SELECT id FROM templates WHERE id = $1 AND deleted_at IS NULL`, [dto.templateId]);
    if (!template) throw new AppError('not_found', `template ${dto.templateId} not found`, [{ field: 'templateId', message: 'no such template' }]);
    const lists: { id: string }[] = await this.db.query(`SELECT id FROM lists WHERE id = ANY($1::uuid[])`, [dto.audience.lists]);
    const missing = dto.audience.lists.filter((l) => !lists.some((r) => r.id === l));
    if (missing.length) {
      throw new AppError('not_found', `list ${missing.join(', ')} not found`, missing.map((l) => ({ field: `audience.lists[${dto.audience.lists.indexOf(l)}]`, message: `no list with id ${l}` })));
    }
    if (dto.transport && !this.transport.names().includes(dto.transport)) {
      throw AppError.invalid('transport', `no transport named "${dto.transport}" (configured: ${this.transport.names().join(', ')})`);
    }
    this.compiler.assertValidSubject(dto.subject);
  }
}

function assertDraft(row: CampaignRow, verb: string): void {
  if (row.status !== 'draft') {
    throw new CampaignNotDraft(row.id, row.status, verb);
  }
}

/** Only the parameters given; none at all is stored as null. */
function utmOf(utm: UtmDto | null | undefined): Record<string, string> | null {
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
    audience: { lists: r.audience.lists, segmentId: r.audience.segmentId ?? null },
    data: r.data,
    sendRate: r.send_rate,
    transport: r.transport,
    postalAddress: r.postal_address,
    utm: r.utm,
    attributionWindowHours: r.attribution_window_hours,
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
