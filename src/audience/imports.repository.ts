import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { pgArray } from '../database/pg-array';
import { queryRows, changed, type Queryable } from '../database/queryable';
import type { ImportStatus } from './audience.entities';
import type { ImportEncoding } from './import-encoding';
import type { ImportRow } from './import-columns';

export interface ImportRecord {
  id: string;
  list_id: string;
  status: ImportStatus;
  filename: string | null;
  consent_text: string | null;
  encoding: ImportEncoding;
  bytes: string;
  bytes_processed: string;
  total: number;
  lines_processed: number;
  created: number;
  updated: number;
  skipped: number;
  error_count: number;
  failure: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** What one applied batch adds to its import's figures. */
export interface BatchFigures {
  records: number;
  created: number;
  updated: number;
  errors: number;
  bytesProcessed: number;
  linesProcessed: number;
}

/**
 * `imports`, `import_chunks`, `import_errors`, `import_progress`, and the set-based statements
 * that apply a batch of rows to subscribers, subscriptions and the consent ledger.
 */
@Injectable()
export class ImportsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async create(listId: string, filename: string | null, consentText: string | null): Promise<string> {
    const [{ id }]: { id: string }[] = await this.db.query(
      `INSERT INTO imports (list_id, status, filename, consent_text) VALUES ($1, 'receiving', $2, $3) RETURNING id`,
      [listId, filename, consentText],
    );
    return id;
  }

  async addChunk(id: string, seq: number, data: Buffer): Promise<void> {
    await this.db.query(`INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)`, [id, seq, data]);
  }

  async chunk(id: string, seq: number): Promise<Buffer | undefined> {
    const [row]: { data: Buffer }[] = await this.db.query(`SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2`, [id, seq]);
    return row?.data;
  }

  async allChunks(id: string): Promise<Buffer[]> {
    const rows: { data: Buffer }[] = await this.db.query(`SELECT data FROM import_chunks WHERE import_id = $1 ORDER BY seq`, [id]);
    return rows.map((r) => r.data);
  }

  async queued(id: string, bytes: number, total: number, encoding: ImportEncoding): Promise<void> {
    await this.db.query(`UPDATE imports SET status = 'queued', bytes = $2, total = $3, encoding = $4 WHERE id = $1`, [id, bytes, total, encoding]);
  }

  async delete(id: string): Promise<void> {
    await this.db.query(`DELETE FROM imports WHERE id = $1`, [id]);
  }

  async find(id: string): Promise<ImportRecord | undefined> {
    const [row]: ImportRecord[] = await this.db.query(`SELECT * FROM imports WHERE id = $1`, [id]);
    return row;
  }

  errors(id: string, limit: number): Promise<{ line: number; reason: string }[]> {
    return this.db.query(`SELECT line, reason FROM import_errors WHERE import_id = $1 ORDER BY line LIMIT $2`, [id, limit]);
  }

  /** Marks a queued (or interrupted) import running; undefined when it finished, failed or was deleted meanwhile. */
  async start(id: string): Promise<Pick<ImportRecord, 'list_id' | 'consent_text' | 'encoding' | 'error_count'> | undefined> {
    const { rows } = await changed<Pick<ImportRecord, 'list_id' | 'consent_text' | 'encoding' | 'error_count'>>(
      this.db,
      `UPDATE imports SET status = 'running', started_at = COALESCE(started_at, now())
       WHERE id = $1 AND status IN ('queued', 'running') RETURNING list_id, consent_text, encoding, error_count`,
      [id],
    );
    return rows[0];
  }

  /** The resume point (records seen) of each of the import's partitions, created at 0 the first time. */
  async progress(id: string, parts: number): Promise<{ part: number; rows_processed: number }[]> {
    await this.db.query(`INSERT INTO import_progress (import_id, part) SELECT $1, p FROM generate_series(0, $2 - 1) p ON CONFLICT DO NOTHING`, [id, parts]);
    return this.db.query(`SELECT part, rows_processed FROM import_progress WHERE import_id = $1 ORDER BY part`, [id]);
  }

  /** Completed: every line has been read; the stored file goes. */
  async complete(id: string): Promise<void> {
    await this.db.query(`UPDATE imports SET status = 'completed', lines_processed = total, finished_at = now() WHERE id = $1`, [id]);
    await this.db.query(`DELETE FROM import_chunks WHERE import_id = $1`, [id]);
  }

  async fail(id: string, reason: string): Promise<void> {
    await this.db.query(`UPDATE imports SET status = 'failed', failure = $2, finished_at = now() WHERE id = $1`, [id, reason]);
  }

  /**
   * A lost batch is re-applied on resume, so durability can wait for the next WAL flush; and where
   * Postgres has JIT, compiling each batch's statements would cost more than it saves.
   */
  async relaxBatchTransaction(q: Queryable): Promise<void> {
    await q.query(`SET LOCAL synchronous_commit = off; SET LOCAL jit = off`);
  }

  /** Which of these addresses are suppressed. */
  async suppressedOf(q: Queryable, emails: string[]): Promise<Set<string>> {
    const rows = await queryRows<{ email: string }>(
      q,
      `SELECT t.email FROM unnest($1::text[]) AS t(email) JOIN suppressions x ON x.email_hash = email_hash(t.email)`,
      [pgArray(emails)],
    );
    return new Set(rows.map((r) => r.email));
  }

  /**
   * The subscriber upsert: an address this import already touched is not touched again (it is a
   * duplicate, and missing from the answer). `created` tells new subscribers from existing ones.
   */
  upsertSubscribers(q: Queryable, importId: string, rows: ImportRow[]): Promise<{ id: string; email: string; created: boolean }[]> {
    return queryRows<{ id: string; email: string; created: boolean }>(
      q,
      `INSERT INTO subscribers AS s (email, name, timezone, attributes, last_import_id)
       SELECT email, name, timezone, attributes::jsonb, $1 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS t(email, name, timezone, attributes)
       ON CONFLICT (email) DO UPDATE SET
         name = COALESCE(EXCLUDED.name, s.name),
         timezone = COALESCE(EXCLUDED.timezone, s.timezone),
         attributes = s.attributes || EXCLUDED.attributes,
         last_import_id = EXCLUDED.last_import_id,
         updated_at = now()
       WHERE s.last_import_id IS DISTINCT FROM EXCLUDED.last_import_id
       RETURNING s.id, s.email, (xmax = 0) AS created`,
      [
        importId,
        pgArray(rows.map((r) => r.email)),
        pgArray(rows.map((r) => r.name)),
        pgArray(rows.map((r) => r.timezone)),
        pgArray(rows.map((r) => r.attributes)),
      ],
    );
  }

  /**
   * Confirmed subscriptions with their consent records. A subscriber the upsert just created has
   * no subscription yet, so its row is a plain insert; only existing subscribers need the conflict
   * check. An existing subscription keeps its status: an import never re-subscribes someone who left.
   * Answers the subscribers whose subscription it created.
   */
  async subscribe(q: Queryable, importId: string, listId: string, consentText: string | null, fresh: string[], known: string[]): Promise<string[]> {
    const rows = await queryRows<{ subscriber_id: string }>(
      q,
      `WITH fresh AS (
         INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at)
         SELECT id, $3, 'confirmed', now() FROM unnest($1::uuid[]) AS t(id)
         RETURNING subscriber_id
       ), known AS (
         INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at)
         SELECT id, $3, 'confirmed', now() FROM unnest($2::uuid[]) AS t(id)
         ON CONFLICT DO NOTHING RETURNING subscriber_id
       )
       INSERT INTO consent_events (subscriber_id, list_id, action, source, status, consent_text, import_id)
       SELECT subscriber_id, $3, 'subscribe', 'import', 'confirmed', $4, $5 FROM (SELECT * FROM fresh UNION ALL SELECT * FROM known) AS subscribed
       RETURNING subscriber_id`,
      [pgArray(fresh), pgArray(known), listId, consentText, importId],
    );
    return rows.map((r) => r.subscriber_id);
  }

  async addErrors(q: Queryable, importId: string, errors: { line: number; reason: string }[]): Promise<void> {
    await q.query(`INSERT INTO import_errors (import_id, line, reason) SELECT $1, * FROM unnest($2::int[], $3::text[]) ON CONFLICT DO NOTHING`, [
      importId,
      errors.map((e) => e.line),
      errors.map((e) => e.reason),
    ]);
  }

  /** A batch's progress, committed with it: the partition's resume point and the import's figures. */
  async addBatch(q: Queryable, importId: string, part: number, f: BatchFigures): Promise<void> {
    await q.query(`UPDATE import_progress SET rows_processed = rows_processed + $3 WHERE import_id = $1 AND part = $2`, [importId, part, f.records]);
    await q.query(
      `UPDATE imports SET rows_processed = rows_processed + $2, created = created + $3, updated = updated + $4,
         skipped = skipped + $5, error_count = error_count + $5, bytes_processed = GREATEST(bytes_processed, $6),
         lines_processed = GREATEST(lines_processed, $7) WHERE id = $1`,
      [importId, f.records, f.created, f.updated, f.errors, f.bytesProcessed, f.linesProcessed],
    );
  }
}
