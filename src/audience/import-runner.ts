import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Info, parse } from 'csv-parse';
import { Readable } from 'node:stream';
import { DataSource, QueryRunner } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ColumnMap, ImportRow, mapColumns, toRow } from './import-columns';

interface Batch {
  rows: ImportRow[];
  errors: { line: number; reason: string }[];
  records: number;
  bytesProcessed: number;
}

interface BatchResult {
  created: number;
  updated: number;
  suppressed: number[];
  duplicates: [number, number][];
}

/**
 * Runs one import: streams the stored file through csv-parse and applies it in batches, each batch
 * ONE set-based statement plus its bookkeeping in one transaction. Progress is committed with each
 * batch, so a worker that dies mid-import resumes after the last committed batch, losing and
 * repeating nothing. While Postgres applies one batch, the next is parsed.
 */
@Injectable()
export class ImportRunner {
  private readonly logger = new Logger(ImportRunner.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(importId: string): Promise<void> {
    // TypeORM answers an UPDATE with [rows, affected].
    const [[imp]]: [{ list_id: string; consent_text: string | null; rows_processed: number; error_count: number }[], number] =
      await this.db.query(
        `UPDATE imports SET status = 'running', started_at = COALESCE(started_at, now())
         WHERE id = $1 AND status IN ('queued', 'running') RETURNING list_id, consent_text, rows_processed, error_count`,
        [importId],
      );
    if (!imp) return; // finished, failed or deleted meanwhile
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      await this.apply(qr, importId, imp.list_id, imp.consent_text, imp.rows_processed, imp.error_count);
      await qr.query(`UPDATE imports SET status = 'completed', finished_at = now() WHERE id = $1`, [importId]);
      await qr.query(`DELETE FROM import_chunks WHERE import_id = $1`, [importId]);
      await qr.query(`DELETE FROM import_seen WHERE import_id = $1`, [importId]);
    } finally {
      await qr.release();
    }
  }

  async fail(importId: string, reason: string): Promise<void> {
    await this.db.query(`UPDATE imports SET status = 'failed', failure = $2, finished_at = now() WHERE id = $1`, [importId, reason]);
    await this.db.query(`DELETE FROM import_seen WHERE import_id = $1`, [importId]);
  }

  private async apply(qr: QueryRunner, importId: string, listId: string, consentText: string | null, resumeAfter: number, errorsSoFar: number): Promise<void> {
    const { importBatchSize, importMaxErrors } = this.config.audience;
    const errorBudget = { left: Math.max(0, importMaxErrors - errorsSoFar) };
    const parser = Readable.from(this.chunks(importId)).pipe(
      parse({ bom: true, info: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }),
    );
    const zones = new Map<string, string | null>();
    let columns: ColumnMap | null = null;
    let width = 0;
    let index = 0; // data records seen, header excluded
    let batch = newBatch();
    let inFlight: Promise<void> = Promise.resolve();
    const submit = async (b: Batch) => {
      await inFlight; // batches apply in file order: "first seen" must mean first in the file
      inFlight = this.applyBatch(qr, importId, listId, consentText, b, errorBudget);
      inFlight.catch(() => undefined); // surfaced by the next await
    };
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
        if (!columns) {
          columns = mapColumns(record);
          width = record.length;
          continue;
        }
        if (++index <= resumeAfter) continue;
        batch.records++;
        const line = info.lines;
        if (record.length !== width && !(record.length === 1 && record[0] === '')) {
          batch.errors.push({ line, reason: `expected ${width} columns, found ${record.length}` });
        } else {
          const row = toRow(record, line, columns, zones);
          if (typeof row === 'string') batch.errors.push({ line, reason: row });
          else batch.rows.push(row);
        }
        if (batch.records >= importBatchSize) {
          batch.bytesProcessed = parser.info.bytes;
          await submit(batch);
          batch = newBatch();
        }
      }
    } catch (e) {
      if (!isCsvError(e)) throw e;
      // A malformed file (an unclosed quote, say) ends the parse; what came before it is kept.
      const line = (e as { lines?: number }).lines ?? parser.info.lines;
      batch.errors.push({ line, reason: `unreadable CSV from here on: ${(e as Error).message}` });
    }
    batch.bytesProcessed = parser.info.bytes;
    await submit(batch);
    await inFlight;
  }

  private async applyBatch(qr: QueryRunner, importId: string, listId: string, consentText: string | null, b: Batch, errorBudget: { left: number }): Promise<void> {
    await qr.startTransaction();
    try {
      // A lost batch is re-applied on resume, so durability can wait for the next WAL flush.
      await qr.query(`SET LOCAL synchronous_commit = off`);
      const errors = b.errors;
      let created = 0;
      let updated = 0;
      const rows = dedupe(b.rows, errors);
      if (rows.length) {
        const r = await this.upsert(qr, importId, listId, consentText, rows);
        created = r.created;
        updated = r.updated;
        for (const line of r.suppressed) errors.push({ line, reason: 'address is on the suppression list' });
        for (const [line, first] of r.duplicates) errors.push({ line, reason: `duplicate of line ${first}` });
      }
      const kept = errors.slice(0, errorBudget.left);
      errorBudget.left -= kept.length;
      if (kept.length) {
        await qr.query(
          `INSERT INTO import_errors (import_id, line, reason) SELECT $1, * FROM unnest($2::int[], $3::text[]) ON CONFLICT DO NOTHING`,
          [importId, kept.map((e) => e.line), kept.map((e) => e.reason)],
        );
      }
      await qr.query(
        `UPDATE imports SET rows_processed = rows_processed + $2, created = created + $3, updated = updated + $4,
           skipped = skipped + $5, error_count = error_count + $5, bytes_processed = $6 WHERE id = $1`,
        [importId, b.records, created, updated, errors.length, b.bytesProcessed],
      );
      await qr.commitTransaction();
    } catch (e) {
      await qr.rollbackTransaction();
      throw e;
    }
  }

  /** The whole batch in one statement: first-seen check, suppression, upsert, subscription, consent record. */
  private async upsert(qr: QueryRunner, importId: string, listId: string, consentText: string | null, rows: ImportRow[]): Promise<BatchResult> {
    const [r]: BatchResult[] = await qr.query(
      `WITH input AS (
         SELECT * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(line, email, name, timezone, attributes)
       ), seen AS (
         INSERT INTO import_seen (import_id, email, line) SELECT $1, email, line FROM input
         ON CONFLICT DO NOTHING RETURNING email
       ), fresh AS (
         SELECT input.*, EXISTS (SELECT 1 FROM suppressions x WHERE x.email_hash = email_hash(input.email)) AS suppressed
         FROM input JOIN seen USING (email)
       ), upserted AS (
         INSERT INTO subscribers AS s (email, name, timezone, attributes)
         SELECT email, name, timezone, attributes::jsonb FROM fresh WHERE NOT suppressed
         ON CONFLICT (email) DO UPDATE SET
           name = COALESCE(EXCLUDED.name, s.name),
           timezone = COALESCE(EXCLUDED.timezone, s.timezone),
           attributes = s.attributes || EXCLUDED.attributes,
           updated_at = now()
         RETURNING s.id, (xmax = 0) AS created
       ), subscribed AS (
         -- An existing subscription keeps its status: an import never re-subscribes someone who left.
         INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at)
         SELECT id, $7, 'confirmed', now() FROM upserted
         ON CONFLICT DO NOTHING RETURNING subscriber_id
       ), consented AS (
         INSERT INTO consent_events (subscriber_id, list_id, action, source, status, consent_text, import_id)
         SELECT subscriber_id, $7, 'subscribe', 'import', 'confirmed', $8, $1 FROM subscribed
       )
       SELECT
         (SELECT count(*) FILTER (WHERE created) FROM upserted)::int AS created,
         (SELECT count(*) FILTER (WHERE NOT created) FROM upserted)::int AS updated,
         (SELECT coalesce(array_agg(line), '{}') FROM fresh WHERE suppressed) AS suppressed,
         (SELECT coalesce(json_agg(json_build_array(i.line, p.line)), '[]')
            FROM input i JOIN import_seen p ON p.import_id = $1 AND p.email = i.email
           WHERE NOT EXISTS (SELECT 1 FROM seen WHERE seen.email = i.email)) AS duplicates`,
      [
        importId,
        rows.map((r) => r.line),
        rows.map((r) => r.email),
        rows.map((r) => r.name),
        rows.map((r) => r.timezone),
        rows.map((r) => JSON.stringify(r.attributes)),
        listId,
        consentText,
      ],
    );
    return r;
  }

  private async *chunks(importId: string): AsyncGenerator<Buffer> {
    for (let seq = 0; ; seq++) {
      const [row]: { data: Buffer }[] = await this.db.query(`SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2`, [importId, seq]);
      if (!row) return;
      yield row.data;
    }
  }
}

function isCsvError(e: unknown): boolean {
  return typeof (e as { code?: unknown })?.code === 'string' && (e as { code: string }).code.startsWith('CSV_');
}

function newBatch(): Batch {
  return { rows: [], errors: [], records: 0, bytesProcessed: 0 };
}

/** Duplicates inside one batch are caught here; across batches, by import_seen. */
function dedupe(rows: ImportRow[], errors: { line: number; reason: string }[]): ImportRow[] {
  const first = new Map<string, number>();
  const out: ImportRow[] = [];
  for (const row of rows) {
    const prior = first.get(row.email);
    if (prior !== undefined) errors.push({ line: row.line, reason: `duplicate of line ${prior}` });
    else {
      first.set(row.email, row.line);
      out.push(row);
    }
  }
  return out;
}
