import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows, type Queryable } from '../database/queryable';

export interface TemplateRow {
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

/** `templates` and `template_versions`: every version of every template is kept (campaigns pin theirs). */
@Injectable()
export class TemplatesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** A template (not deleted) with its current version. */
  async find(id: string): Promise<TemplateRow | undefined> {
    const [row]: TemplateRow[] = await this.db.query(
      `SELECT t.id, t.name, t.starter_key, t.current_version AS version, v.mjml, v.subject, t.created_at, t.updated_at, t.created_at::text AS ts
       FROM templates t JOIN template_versions v ON v.template_id = t.id AND v.version = t.current_version
       WHERE t.id = $1 AND t.deleted_at IS NULL`,
      [id],
    );
    return row;
  }

  page(after: { createdAt: string; id: string } | null, limit: number): Promise<TemplateRow[]> {
    return this.db.query(
      `SELECT t.id, t.name, t.starter_key, t.current_version AS version, v.mjml, v.subject, t.created_at, t.updated_at, t.created_at::text AS ts
       FROM templates t JOIN template_versions v ON v.template_id = t.id AND v.version = t.current_version
       WHERE t.deleted_at IS NULL AND ($1::timestamptz IS NULL OR (t.created_at, t.id) > ($1::timestamptz, $2::uuid))
       ORDER BY t.created_at, t.id LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, limit],
    );
  }

  async exists(id: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM templates WHERE id = $1 AND deleted_at IS NULL`, [id]);
    return rows.length > 0;
  }

  /** A given version, or the current one; deleted templates still answer for their versions. */
  async version(id: string, version: number | null): Promise<{ version: number; mjml: string; subject: string | null } | undefined> {
    const [row]: { version: number; mjml: string; subject: string | null }[] = await this.db.query(
      `SELECT v.version, v.mjml, v.subject FROM templates t JOIN template_versions v ON v.template_id = t.id
       WHERE t.id = $1 AND v.version = COALESCE($2, t.current_version)`,
      [id, version],
    );
    return row;
  }

  /** A new template at version 1. */
  async insert(q: Queryable, t: { name: string; starterKey: string | null; mjml: string; subject: string | null }): Promise<string> {
    const [{ id }] = await queryRows<{ id: string }>(q, `INSERT INTO templates (name, starter_key) VALUES ($1, $2) RETURNING id`, [t.name, t.starterKey]);
    await q.query(`INSERT INTO template_versions (template_id, version, mjml, subject) VALUES ($1, 1, $2, $3)`, [id, t.mjml, t.subject]);
    return id;
  }

  /** The current version, locking the template for the rest of the transaction. */
  async lockVersion(q: Queryable, id: string): Promise<number> {
    const [row] = await queryRows<{ version: number }>(q, `SELECT current_version AS version FROM templates WHERE id = $1 FOR UPDATE`, [id]);
    return row.version;
  }

  async addVersion(q: Queryable, id: string, version: number, mjml: string, subject: string | null): Promise<void> {
    await q.query(`INSERT INTO template_versions (template_id, version, mjml, subject) VALUES ($1, $2, $3, $4)`, [id, version, mjml, subject]);
    await q.query(`UPDATE templates SET current_version = $2, updated_at = now() WHERE id = $1`, [id, version]);
  }

  async rename(q: Queryable, id: string, name: string): Promise<void> {
    await q.query(`UPDATE templates SET name = $2, updated_at = now() WHERE id = $1`, [id, name]);
  }

  async markDeleted(id: string): Promise<void> {
    await this.db.query(`UPDATE templates SET deleted_at = now() WHERE id = $1`, [id]);
  }

  /** A starter's row and current version, under a lock that serialises processes syncing it at once. */
  async lockStarter(q: Queryable, key: string): Promise<{ id: string; version: number; mjml: string; subject: string | null } | undefined> {
    await q.query(`SELECT pg_advisory_xact_lock(hashtext('edm:starter:' || $1))`, [key]);
    const [row] = await queryRows<{ id: string; version: number; mjml: string; subject: string | null }>(
      q,
      `SELECT t.id, t.current_version AS version, v.mjml, v.subject FROM templates t
       JOIN template_versions v ON v.template_id = t.id AND v.version = t.current_version WHERE t.starter_key = $1`,
      [key],
    );
    return row;
  }
}
