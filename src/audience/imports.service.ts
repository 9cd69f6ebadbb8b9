import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { parse } from 'csv-parse/sync';
import { AppError } from '../common/errors';
import { UnreadableFile } from './audience.errors';
import { QUEUES } from '../queue/queue.module';
import { ImportDto } from './dto/import.dto';
import { HeaderError, mapColumns } from './import-columns';
import { decodeText, ImportEncoding, isUtf16, RequestedEncoding, Utf8Check } from './import-encoding';
import { ImportsRepository } from './imports.repository';
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
    private readonly imports: ImportsRepository,
    @InjectQueue(QUEUES.imports) private readonly queue: Queue<ImportJob>,
    private readonly lists: ListsService,
  ) {}

  async receive(
    listId: string,
    body: AsyncIterable<Buffer | string>,
    filename: string | null,
    consentText: string | null,
    encoding: RequestedEncoding = 'auto',
  ): Promise<ImportDto> {
    await this.lists.require(listId);
    const id = await this.imports.create(listId, filename, consentText);
    try {
      const { bytes, lines, endsWithNewline, encoding: read } = await this.store(id, body, encoding);
      if (bytes === 0) throw new UnreadableFile('the CSV file is empty', { line: 1, message: 'expected a header line with an email column' });
      // The data lines: every line after the header (a last line without a line break counts too).
      const total = Math.max(0, lines - 1 + (endsWithNewline ? 0 : 1));
      await this.imports.queued(id, bytes, total, read);
    } catch (e) {
      await this.imports.delete(id);
      throw e;
    }
    await this.queue.add(
      'import',
      { importId: id },
      { jobId: id, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: 1000 },
    );
    return this.get(id);
  }

  async get(id: string): Promise<ImportDto> {
    const row = await this.imports.find(id);
    if (!row) throw AppError.notFound('Import', id);
    const errors = await this.imports.errors(id, SHOWN_ERRORS);
    const done = row.status === 'completed';
    return {
      id: row.id,
      listId: row.list_id,
      status: row.status,
      filename: row.filename,
      total: row.total,
      processed: done ? row.total : Math.min(row.lines_processed, row.total),
      encoding: row.encoding,
      created: row.created,
      updated: row.updated,
      skipped: row.skipped,
      errorCount: row.error_count,
      errors,
      bytes: Number(row.bytes),
      bytesProcessed: Number(row.bytes_processed),
      failure: row.failure,
      createdAt: row.created_at.toISOString(),
      startedAt: row.started_at?.toISOString() ?? null,
      finishedAt: row.finished_at?.toISOString() ?? null,
    };
  }

  /**
   * Spools the upload into import_chunks, counting its lines (a line break is LF, CRLF or a lone CR)
   * and checking on the way whether it is UTF-8: with `auto`, a file that is not is read as
   * Windows-1252 (what spreadsheets on Windows save); with `utf-8` asked for, it is refused.
   */
  private async store(
    id: string,
    body: AsyncIterable<Buffer | string>,
    requested: RequestedEncoding,
  ): Promise<{ bytes: number; lines: number; endsWithNewline: boolean; encoding: ImportEncoding }> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    let bytes = 0;
    let lines = 0;
    let last = -1;
    let headerChecked = false;
    const utf8 = new Utf8Check();
    const encoding = (): ImportEncoding => (requested !== 'auto' ? requested : utf8.valid ? 'utf-8' : 'windows-1252');
    const flush = async () => {
      if (!pendingBytes) return;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      if (!headerChecked) {
        checkHeader(data, encoding());
        headerChecked = true;
      }
      await this.imports.addChunk(id, seq++, data);
    };
    for await (const part of body) {
      const buf = typeof part === 'string' ? Buffer.from(part) : part;
      if (!buf.length) continue;
      if (bytes === 0 && isUtf16(buf)) throw fileProblem(1, 'the file is UTF-16 ("Unicode text"); save it as "CSV UTF-8" and upload it again');
      if (requested === 'auto' || requested === 'utf-8') utf8.push(buf);
      lines += lineBreaks(buf, last);
      bytes += buf.length;
      last = buf[buf.length - 1];
      pending.push(buf);
      pendingBytes += buf.length;
      if (!headerChecked && (buf.includes(10) || buf.includes(13) || pendingBytes > MAX_HEADER_BYTES)) {
        checkHeader(Buffer.concat(pending, pendingBytes), encoding());
        headerChecked = true;
      }
      if (pendingBytes >= CHUNK_BYTES) await flush();
    }
    utf8.finish();
    if (requested === 'utf-8' && !utf8.valid) {
      const at = utf8.firstInvalid!;
      throw fileProblem(
        await this.lineAt(id, [...pending], at),
        `the file is not valid UTF-8 (byte ${at + 1}); if it was saved as "ANSI" or Latin-1, upload it with ?encoding=windows-1252`,
      );
    }
    await flush();
    return { bytes, lines, endsWithNewline: last === 10 || last === 13, encoding: encoding() };
  }

  /** The line number of byte `offset` of the upload (error path only: reads the chunks back). */
  private async lineAt(id: string, pending: Buffer[], offset: number): Promise<number> {
    const all = Buffer.concat([...(await this.imports.allChunks(id)), ...pending]);
    return lineBreaks(all.subarray(0, offset), -1) + 1;
  }
}

/** Line breaks in `buf`: LF, CR LF (once) and a lone CR; `before` is the byte before it (-1: none). */
function lineBreaks(buf: Buffer, before: number): number {
  let n = 0;
  for (let i = buf.indexOf(13); i >= 0; i = buf.indexOf(13, i + 1)) n++;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) if ((i > 0 ? buf[i - 1] : before) !== 13) n++;
  return n;
}

/** Rejects a file whose header line is unusable, before any of it is queued. */
function checkHeader(start: Buffer, encoding: ImportEncoding): void {
  const nl = firstLineBreak(start);
  if ((nl < 0 ? start.length : nl) > MAX_HEADER_BYTES) throw headerProblem('the header line is longer than 64 KiB');
  const headerLine = decodeText(start.subarray(0, nl < 0 ? start.length : nl), encoding).replace(/^\uFEFF/, '');
  try {
    const [header] = parse(headerLine, { relax_quotes: true });
    mapColumns(header ?? []);
  } catch (e) {
    throw headerProblem(e instanceof HeaderError ? e.message : `the header line is not valid CSV: ${(e as Error).message}`);
  }
}

function firstLineBreak(b: Buffer): number {
  const lf = b.indexOf(10);
  const cr = b.indexOf(13);
  return lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
}

function headerProblem(message: string): AppError {
  return new UnreadableFile(message, { line: 1, field: 'header', message });
}

function fileProblem(line: number, message: string): AppError {
  return new UnreadableFile(message, { line, field: 'file', message });
}
