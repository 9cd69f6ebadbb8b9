import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from '../common/errors';
import { StarterReadOnly } from './content.errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { CreateTemplateDto, TemplateDto, TemplateSummaryDto, UpdateTemplateDto } from './dto/template.dto';
import { TemplateCompiler } from './template-compiler';
import { TemplateLibrary } from './template-library';
import { TemplateRow, TemplatesRepository } from './templates.repository';

export interface TemplateVersion {
  templateId: string;
  version: number;
  mjml: string;
  subject: string | null;
}

/** Templates in Postgres, versioned; the starters from templates/ are synced in at start, read-only. */
@Injectable()
export class TemplatesService implements OnApplicationBootstrap {
  private readonly logger = new Logger(TemplatesService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly templates: TemplatesRepository,
    private readonly compiler: TemplateCompiler,
    private readonly library: TemplateLibrary,
  ) {}

  /** A starter whose file changed gets a new version; campaigns keep the version they pinned. */
  async onApplicationBootstrap(): Promise<void> {
    for (const s of this.library.starters) {
      const problems = await this.compiler.problems(s.mjml, s.subject);
      if (problems.length) {
        this.logger.error(`starter template ${s.key} is invalid and was not loaded: ${JSON.stringify(problems)}`);
        continue;
      }
      await this.db.transaction(async (tx) => {
        const row = await this.templates.lockStarter(tx, s.key);
        if (!row) await this.templates.insert(tx, { name: s.name, starterKey: s.key, mjml: s.mjml, subject: s.subject });
        else if (row.mjml !== s.mjml || row.subject !== s.subject) await this.templates.addVersion(tx, row.id, row.version + 1, s.mjml, s.subject);
      });
    }
  }

  async create(dto: CreateTemplateDto): Promise<TemplateDto> {
    await this.compiler.assertValid(dto.mjml, dto.subject);
    const id = await this.db.transaction((tx) => this.templates.insert(tx, { name: dto.name, starterKey: null, mjml: dto.mjml, subject: dto.subject ?? null }));
    return this.get(id);
  }

  async get(id: string): Promise<TemplateDto> {
    const row = await this.row(id);
    return { ...summary(row), mjml: row.mjml };
  }

  async list(q: PageQuery): Promise<Page<TemplateSummaryDto>> {
    const rows = await this.templates.page(decodeCursor(q.cursor), q.limit + 1);
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), summary);
  }

  /** A change of MJML or subject is a new version; a rename is not. */
  async update(id: string, dto: UpdateTemplateDto): Promise<TemplateDto> {
    const row = await this.row(id);
    if (row.starter_key) throw readOnly(row);
    const mjml = dto.mjml ?? row.mjml;
    const subject = dto.subject !== undefined ? dto.subject : row.subject;
    if (dto.mjml !== undefined || dto.subject !== undefined) await this.compiler.assertValid(mjml, subject);
    await this.db.transaction(async (tx) => {
      const current = await this.templates.lockVersion(tx, id);
      if (mjml !== row.mjml || subject !== row.subject) await this.templates.addVersion(tx, id, current + 1, mjml, subject);
      if (dto.name !== undefined) await this.templates.rename(tx, id, dto.name);
    });
    return this.get(id);
  }

  /** Hidden from lists and new campaigns; its versions stay for the campaigns that used them. */
  async remove(id: string): Promise<void> {
    const row = await this.row(id);
    if (row.starter_key) throw readOnly(row);
    await this.templates.markDeleted(id);
  }

  /** A given version, or the current one; deleted templates still answer for their versions. */
  async version(id: string, version?: number | null): Promise<TemplateVersion> {
    const row = await this.templates.version(id, version ?? null);
    if (!row) throw AppError.notFound('Template', id);
    return { templateId: id, ...row };
  }

  private async row(id: string): Promise<TemplateRow> {
    const row = await this.templates.find(id);
    if (!row) throw AppError.notFound('Template', id);
    return row;
  }

  exists(id: string): Promise<boolean> {
    return this.templates.exists(id);
  }
}

function readOnly(row: TemplateRow): AppError {
  return new StarterReadOnly(row.id, row.starter_key!);
}

function summary(r: TemplateRow): TemplateSummaryDto {
  return {
    id: r.id,
    name: r.name,
    subject: r.subject,
    version: r.version,
    starter: r.starter_key,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
