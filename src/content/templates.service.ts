import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AppError } from '../common/errors';
import { StarterReadOnly } from './content.errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { CreateTemplateDto, TemplateDto, TemplateSummaryDto, UpdateTemplateDto } from './dto/template.dto';
import { TemplateCompiler } from './template-compiler';
import { TemplateLibrary } from './template-library';

interface TemplateRow {
  id: string;
  name: string;
  starter_key: string | null;
  version: number;
  mjml: string;
  subject: string | null;
  created_at: Date;
  updated_at: Date;
  ts: string;
}

export interface TemplateVersion {
  templateId: string;
  version: number;
  mjml: string;
  subject: string | null;
}

const SELECT = `SELECT t.id, t.name, t.starter_key, t.current_version AS version, v.mjml, v.subject, t.created_at, t.updated_at, t.created_at::text AS ts
  FROM templates t JOIN template_versions v ON v.template_id = t.id AND v.version = t.current_version`;

/** Templates in Postgres, versioned; the starters from templates/ are synced in at start, read-only. */
@Injectable()
export class TemplatesService implements OnApplicationBootstrap {
  private readonly logger = new Logger(TemplatesService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
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
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('edm:starter:' || $1))`, [s.key]);
        const [row]: { id: string; version: number; mjml: string; subject: string | null }[] = await tx.query(
          `SELECT t.id, t.current_version AS version, v.mjml, v.subject FROM templates t
           JOIN template_versions v ON v.template_id = t.id AND v.version = t.current_version WHERE t.starter_key = $1`,
          [s.key],
        );
        if (!row) {
          const [{ id }]: { id: string }[] = await tx.query(`INSERT INTO templates (name, starter_key) VALUES ($1, $2) RETURNING id`, [s.name, s.key]);
          await tx.query(`INSERT INTO template_versions (template_id, version, mjml, subject) VALUES ($1, 1, $2, $3)`, [id, s.mjml, s.subject]);
        } else if (row.mjml !== s.mjml || row.subject !== s.subject) {
          await this.addVersion(tx, row.id, row.version + 1, s.mjml, s.subject);
        }
      });
    }
  }

  async create(dto: CreateTemplateDto): Promise<TemplateDto> {
    await this.compiler.assertValid(dto.mjml, dto.subject);
    const id = await this.db.transaction(async (tx) => {
      const [row]: { id: string }[] = await tx.query(`INSERT INTO templates (name) VALUES ($1) RETURNING id`, [dto.name]);
      await tx.query(`INSERT INTO template_versions (template_id, version, mjml, subject) VALUES ($1, 1, $2, $3)`, [row.id, dto.mjml, dto.subject ?? null]);
      return row.id;
    });
    return this.get(id);
  }

  async get(id: string): Promise<TemplateDto> {
    const row = await this.row(id);
    return { ...summary(row), mjml: row.mjml };
  }

  async list(q: PageQuery): Promise<Page<TemplateSummaryDto>> {
    const after = decodeCursor(q.cursor);
    const rows: TemplateRow[] = await this.db.query(
      `${SELECT} WHERE t.deleted_at IS NULL AND ($1::timestamptz IS NULL OR (t.created_at, t.id) > ($1::timestamptz, $2::uuid))
       ORDER BY t.created_at, t.id LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, q.limit + 1],
    );
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
      const [locked]: { version: number }[] = await tx.query(`SELECT current_version AS version FROM templates WHERE id = $1 FOR UPDATE`, [id]);
      if (mjml !== row.mjml || subject !== row.subject) await this.addVersion(tx, id, locked.version + 1, mjml, subject);
      if (dto.name !== undefined) await tx.query(`UPDATE templates SET name = $2, updated_at = now() WHERE id = $1`, [id, dto.name]);
    });
    return this.get(id);
  }

  /** Hidden from lists and new campaigns; its versions stay for the campaigns that used them. */
  async remove(id: string): Promise<void> {
    const row = await this.row(id);
    if (row.starter_key) throw readOnly(row);
    await this.db.query(`UPDATE templates SET deleted_at = now() WHERE id = $1`, [id]);
  }

  /** A given version, or the current one; deleted templates still answer for their versions. */
  async version(id: string, version?: number | null): Promise<TemplateVersion> {
    const [row]: { version: number; mjml: string; subject: string | null }[] = await this.db.query(
      `SELECT v.version, v.mjml, v.subject FROM templates t JOIN template_versions v ON v.template_id = t.id
       WHERE t.id = $1 AND v.version = COALESCE($2, t.current_version)`,
      [id, version ?? null],
    );
    if (!row) throw AppError.notFound('Template', id);
    return { templateId: id, ...row };
  }

  private async row(id: string): Promise<TemplateRow> {
    const [row]: TemplateRow[] = await this.db.query(`${SELECT} WHERE t.id = $1 AND t.deleted_at IS NULL`, [id]);
    if (!row) throw AppError.notFound('Template', id);
    return row;
  }

  async exists(id: string): Promise<boolean> {
    const [row]: unknown[] = await this.db.query(`SELECT 1 FROM templates WHERE id = $1 AND deleted_at IS NULL`, [id]);
    return row !== undefined;
  }

  private async addVersion(tx: EntityManager, id: string, version: number, mjml: string, subject: string | null): Promise<void> {
    await tx.query(`INSERT INTO template_versions (template_id, version, mjml, subject) VALUES ($1, $2, $3, $4)`, [id, version, mjml, subject]);
    await tx.query(`UPDATE templates SET current_version = $2, updated_at = now() WHERE id = $1`, [id, version]);
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
