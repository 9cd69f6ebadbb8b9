import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { parse } from 'csv-parse/sync';
import { DataSource } from 'typeorm';
import { AppError } from '../common/errors';
import { QUEUES } from '../queue/queue.module';
import { ImportDto } from './dto/import.dto';
import { HeaderError, mapColumns } from './import-columns';
import { ListsService } from './lists.service';

export const CHUNK_BYTES = 1 << 20;
const MAX_HEADER_BYTES = 64 * 1024;
const SHOWN_ERRORS = 1000;

export interface ImportJob {
  importId: string;
}

/**
 * Receives an upload: streams it into import_chunks (never whole in memory), checks the header
 * before accepting it, and queues the import for a worker.
 */
@Injectable()
export class ImportsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QUEUES.imports) private readonly queue: Queue<ImportJob>,
    private readonly lists: ListsService,
  ) {}

  async receive(listId: string, body: AsyncIterable<Buffer | string>, filename: string | null, consentText: string | null): Promise<ImportDto> {
    await this.lists.require(listId);
    const [{ id }]: { id: string }[] = await this.db.query(
      `INSERT INTO imports (list_id, status, filename, consent_text) VALUES ($1, 'receiving', $2, $3) RETURNING id`,
      [listId, filename, consentText],
    );
    try {
      const { bytes, lines, endsWithNewline } = await this.store(id, body);
      if (bytes === 0) throw new AppError('unprocessable', 'the CSV file is empty', [{ line: 1, message: 'expected a header line with an email column' }]);
      const total = Math.max(0, lines - 1 + (endsWithNewline ? 0 : 1));
      await this.db.query(`UPDATE imports SET status = 'queued', bytes = $2, total = $3 WHERE id = $1`, [id, bytes, total]);
    } catch (e) {
      await this.db.query(`DELETE FROM imports WHERE id = $1`, [id]);
      throw e;
    }
    await this.queue.add('import', { importId: id }, { jobId: id, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: 1000 });
    return this.get(id);
  }

  async get(id: string): Promise<ImportDto> {
    const [row]: Record<string, never>[] = await this.db.query(`SELECT * FROM imports WHERE id = $1`, [id]);
    if (!row) throw AppError.notFound('Import', id);
    const errors: { line: number; reason: string }[] = await this.db.query(
      `SELECT line, reason FROM import_errors WHERE import_id = $1 ORDER BY line LIMIT ${SHOWN_ERRORS}`,
      [id],
    );
    const done = row.status === 'completed';
    return {
      id: row.id,
      listId: row.list_id,
      status: row.status,
      filename: row.filename,
      total: done ? row.rows_processed : Math.max(row.total, row.rows_processed),
      processed: row.rows_processed,
      created: row.created,
      updated: row.updated,
      skipped: row.skipped,
      errorCount: row.error_count,
      errors,
      bytes: Number(row.bytes),
      bytesProcessed: Number(row.bytes_processed),
      failure: row.failure,
      createdAt: (row.created_at as Date).toISOString(),
      startedAt: (row.started_at as Date | null)?.toISOString() ?? null,
      finishedAt: (row.finished_at as Date | null)?.toISOString() ?? null,
    };
  }

  private async store(id: string, body: AsyncIterable<Buffer | string>): Promise<{ bytes: number; lines: number; endsWithNewline: boolean }> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    let bytes = 0;
    let lines = 0;
    let last = -1;
    let headerChecked = false;
    const flush = async () => {
      if (!pendingBytes) return;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      if (!headerChecked) {
        checkHeader(data);
        headerChecked = true;
      }
      await this.db.query(`INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)`, [id, seq++, data]);
    };
    for await (const part of body) {
      const buf = typeof part === 'string' ? Buffer.from(part) : part;
      if (!buf.length) continue;
      bytes += buf.length;
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
      last = buf[buf.length - 1];
      pending.push(buf);
      pendingBytes += buf.length;
      if (!headerChecked && (buf.includes(10) || pendingBytes > MAX_HEADER_BYTES)) {
        checkHeader(Buffer.concat(pending, pendingBytes));
        headerChecked = true;
      }
      if (pendingBytes >= CHUNK_BYTES) await flush();
    }
    await flush();
    return { bytes, lines, endsWithNewline: last === 10 };
  }
}

/** Rejects a file whose header line is unusable, before any of it is queued. */
function checkHeader(start: Buffer): void {
  const nl = start.indexOf(10);
  if ((nl < 0 ? start.length : nl) > MAX_HEADER_BYTES) throw headerProblem('the header line is longer than 64 KiB');
  const headerLine = start.subarray(0, nl < 0 ? start.length : nl).toString('utf8').replace(/^\uFEFF/, '');
  try {
    const [header] = parse(headerLine, { relax_quotes: true }) as string[][];
    mapColumns(header ?? []);
  } catch (e) {
    throw headerProblem(e instanceof HeaderError ? e.message : `the header line is not valid CSV: ${(e as Error).message}`);
  }
}

function headerProblem(message: string): AppError {
  return new AppError('unprocessable', message, [{ line: 1, field: 'header', message }]);
}
