import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Parser } from 'csv-parse';
import { DataSource, QueryRunner } from 'typeorm';
import { AppError } from '../common/errors';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ColumnMap, ImportRow, mapColumns, toRow } from './import-columns';
import { ImportEncoding, toUtf8 } from './import-encoding';
import { ImportsRepository } from './imports.repository';
import { ACTIVITY_SIGNALS, ActivitySignals } from '../activity/activity-signals';
import { WebhookOutbox } from '../webhooks/webhook-outbox';
import { ListsRepository } from './lists.repository';

/** Postgres applies an INSERT on one core; two partitions of every file use two. */
const PARTS = 2;
/**
 * Batches a partition may have parsed and waiting while Postgres applies its current one: the
 * parser keeps both backends fed instead of stopping whenever one partition's batch is full.
 */
const AHEAD = 2;
/**
 * The parser is fed the stored 1 MB chunks this much at a time (about 1,000 records), so that the
 * backends' replies are read, and each partition's next statement sent, within a few milliseconds.
 */
const SLICE_BYTES = 64 * 1024;

interface Batch {
  rows: ImportRow[];
  errors: { line: number; reason: string }[];
  records: number;
  /** Where the file had been read to when the batch was cut: bytes, and data lines (after the header). */
  bytesProcessed: number;
  linesProcessed: number;
}

interface Part {
  index: number;
  qr: QueryRunner;
  resumeAfter: number;
  seen: number;
  batch: Batch;
  /** The partition's submitted batches, oldest first; each applies after the one before it. */
  queued: Promise<void>[];
}

interface Job {
  importId: string;
  listId: string;
  consentText: string | null;
  encoding: ImportEncoding;
  errorBudget: { left: number };
  /** Set when a batch fails: batches still queued behind it, in any partition, are not applied. */
  stopped: boolean;
}

/**
 * Runs one import: streams the stored file through csv-parse and applies it in batches of set-based
 * statements, each batch with its bookkeeping in one transaction. Rows are split by a hash of their
 * address into two partitions, applied side by side on two connections; every copy of an address
 * lands in the same partition, in file order, so "the first row wins" still holds. Progress is
 * committed per partition with each batch, so a worker that dies mid-import resumes after the last
 * committed batch of each, losing and repeating nothing. While Postgres applies batches, the next
 * ones are parsed.
 */
@Injectable()
export class ImportRunner {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly imports: ImportsRepository,
    private readonly lists: ListsRepository,
    private readonly outbox: WebhookOutbox,
    @Inject(ACTIVITY_SIGNALS) private readonly signals: ActivitySignals,
  ) {}

  async run(importId: string): Promise<void> {
    const imp = await this.imports.start(importId);
    if (!imp) return; // finished, failed or deleted meanwhile
    const progress = await this.imports.progress(importId, PARTS);
    const parts: Part[] = [];
    try {
      for (const p of progress) {
        const qr = this.db.createQueryRunner();
        await qr.connect();
        parts.push({ index: p.part, qr, resumeAfter: p.rows_processed, seen: 0, batch: newBatch(), queued: [] });
      }
      const job: Job = {
        importId,
        listId: imp.list_id,
        consentText: imp.consent_text,
        encoding: imp.encoding,
        errorBudget: { left: Math.max(0, this.config.audience.importMaxErrors - imp.error_count) },
        stopped: false,
      };
      await this.apply(job, parts);
      await this.imports.complete(importId);
    } finally {
      await Promise.all(parts.map((p) => p.qr.release()));
    }
  }

  fail(importId: string, reason: string): Promise<void> {
    return this.imports.fail(importId, reason);
  }

  private async apply(job: Job, parts: Part[]): Promise<void> {
    const { importBatchSize } = this.config.audience;
    const utf8 = toUtf8(job.encoding);
    let fed = 0;
    const zones = new Map<string, string | null>();
    let columns: ColumnMap | null = null;
    let width = 0;
    const parser = new RecordParser((record, line) => {
      if (!columns) {
        columns = mapColumns(record);
        width = record.length;
        return;
      }
      let row: ImportRow | string;
      if (record.length !== width && !(record.length === 1 && record[0] === '')) row = `expected ${width} columns, found ${record.length}`;
      else row = toRow(record, line, columns, zones);
      const part = parts[typeof row === 'string' ? 0 : partOf(row.email)];
      if (++part.seen <= part.resumeAfter) return;
      part.batch.records++;
      if (typeof row === 'string') part.batch.errors.push({ line, reason: row });
      else part.batch.rows.push(row);
      if (part.batch.records >= importBatchSize) this.submit(part, job, fed, parser.info.lines - 1);
    });
    try {
      try {
        for await (const chunk of this.chunks(job.importId)) {
          for (let at = 0; at < chunk.length; at += SLICE_BYTES) {
            const slice = chunk.subarray(at, at + SLICE_BYTES);
            fed += slice.length;
            await parser.feed(utf8(slice));
            // Between slices: the event loop gets in (the backends' replies), and parsing waits
            // while a partition has more than AHEAD batches queued.
            await new Promise(setImmediate);
            for (const part of parts) while (part.queued.length > AHEAD) await part.queued.shift();
          }
        }
        await parser.finish();
      } catch (e) {
        if (!isCsvError(e)) throw e;
        // A malformed file (an unclosed quote, say) ends the parse; what came before it is kept.
        const line = (e as { lines?: number }).lines ?? parser.info.lines;
        parts[0].batch.errors.push({ line, reason: `unreadable CSV from here on: ${(e as Error).message}` });
      }
      for (const part of parts) this.submit(part, job, fed, parser.info.lines - 1);
      await Promise.all(parts.flatMap((p) => p.queued));
    } catch (e) {
      // Nothing may still be writing on the partitions' connections once the import gives up.
      job.stopped = true;
      await Promise.allSettled(parts.flatMap((p) => p.queued));
      throw e;
    }
  }

  /** Queues the partition's batch behind its earlier ones: a partition's batches apply in file order. */
  private submit(part: Part, job: Job, bytesProcessed: number, linesProcessed: number): void {
    const b = part.batch;
    part.batch = newBatch();
    b.bytesProcessed = bytesProcessed;
    b.linesProcessed = linesProcessed;
    const previous = part.queued.at(-1) ?? Promise.resolve();
    const applied = previous.then(() => this.applyBatch(part, job, b));
    applied.catch(() => (job.stopped = true)); // the error itself surfaces where it is awaited
    part.queued.push(applied);
  }

  private async applyBatch(part: Part, job: Job, b: Batch): Promise<void> {
    if (job.stopped) throw new Error('import stopped after a failed batch');
    const qr = part.qr;
    await qr.startTransaction();
    try {
      await this.imports.relaxBatchTransaction(qr);
      // Held for the transaction: a list deleted meanwhile fails the import.
      if (!(await this.lists.holdForKeyShare(qr, job.listId))) throw AppError.notFound('List', job.listId);
      const errors = b.errors;
      let created = 0;
      let updated = 0;
      const rows = dedupe(b.rows, errors);
      if (rows.length) {
        const r = await this.upsert(qr, job, rows);
        created = r.created;
        updated = r.updated;
        errors.push(...r.errors);
      }
      const kept = errors.slice(0, job.errorBudget.left);
      job.errorBudget.left -= kept.length;
      if (kept.length) await this.imports.addErrors(qr, job.importId, kept);
      await this.imports.addBatch(qr, job.importId, part.index, {
        records: b.records,
        created,
        updated,
        errors: errors.length,
        bytesProcessed: b.bytesProcessed,
        linesProcessed: b.linesProcessed,
      });
      await qr.commitTransaction();
    } catch (e) {
      await qr.rollbackTransaction();
      throw e;
    }
  }

  /**
   * The batch in three set-based statements: which addresses are suppressed; the subscriber upsert
   * (an address this import already touched is not touched again — it is a duplicate); and the
   * subscriptions with their consent records.
   */
  private async upsert(
    qr: QueryRunner,
    job: Job,
    rows: ImportRow[],
  ): Promise<{ created: number; updated: number; errors: { line: number; reason: string }[] }> {
    const errors: { line: number; reason: string }[] = [];
    const blocked = await this.imports.suppressedOf(
      qr,
      rows.map((r) => r.email),
    );
    const allowed = blocked.size ? rows.filter((r) => !blocked.has(r.email)) : rows;
    for (const r of rows) if (blocked.has(r.email)) errors.push({ line: r.line, reason: 'address is on the suppression list' });
    if (!allowed.length) return { created: 0, updated: 0, errors };

    const upserted = await this.imports.upsertSubscribers(qr, job.importId, allowed);
    if (upserted.length < allowed.length) {
      const applied = new Set(upserted.map((u) => u.email));
      for (const r of allowed) if (!applied.has(r.email)) errors.push({ line: r.line, reason: 'duplicate of an earlier line' });
    }
    const fresh = upserted.filter((u) => u.created).map((u) => u.id);
    const known = upserted.filter((u) => !u.created).map((u) => u.id);
    const subscribed = await this.imports.subscribe(qr, job.importId, job.listId, job.consentText, fresh, known);
    // Reported with the batch, in its transaction: a batch that rolls back reports nothing.
    const emailOf = new Map(upserted.map((u) => [u.id, u.email]));
    await this.outbox.record(
      qr,
      'subscriber.created',
      fresh.map((id) => ({ data: { subscriberId: id, email: emailOf.get(id), source: 'import' as const } })),
    );
    await this.outbox.record(
      qr,
      'subscription.confirmed',
      subscribed.map((id) => ({ data: { subscriberId: id, email: emailOf.get(id), listId: job.listId } })),
    );
    if (subscribed.length)
      await this.signals.subscriptionsConfirmed(
        qr,
        subscribed.map((subscriberId) => ({ subscriberId, listId: job.listId })),
      );
    return { created: fresh.length, updated: known.length, errors };
  }

  private async *chunks(importId: string): AsyncGenerator<Buffer> {
    for (let seq = 0; ; seq++) {
      const data = await this.imports.chunk(importId, seq);
      if (!data) return;
      yield data;
    }
  }
}

/**
 * csv-parse, with each record handed to `onRecord` together with its line number (read from the
 * parser's live counters: the figure `info: true` gives, without an object per record) as soon as
 * it is parsed, instead of passing through the stream's buffer and an async iterator.
 */
class RecordParser extends Parser {
  constructor(private readonly onRecord: (record: string[], line: number) => void) {
    super({ bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true });
    this.on('error', () => undefined); // errors reach feed() and finish() through their callbacks
  }

  override push(record: unknown): boolean {
    if (record !== null) this.onRecord(record as string[], this.info.lines);
    return true;
  }

  feed(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.write(data, (e) => (e ? reject(e) : resolve())));
  }

  finish(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.once('error', reject);
      this.once('finish', resolve);
      this.end();
    });
  }
}

/** FNV-1a of the address: the same address always goes to the same partition. */
function partOf(email: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < email.length; i++) h = Math.imul(h ^ email.charCodeAt(i), 0x01000193);
  return (h >>> 0) % PARTS;
}

function isCsvError(e: unknown): boolean {
  return typeof (e as { code?: unknown })?.code === 'string' && (e as { code: string }).code.startsWith('CSV_');
}

function newBatch(): Batch {
  return { rows: [], errors: [], records: 0, bytesProcessed: 0, linesProcessed: 0 };
}

/** Duplicates inside one batch are named by line here; across batches, the upsert finds them. */
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
