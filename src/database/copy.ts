import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { finished } from 'node:stream/promises';
import type { QueryRunner } from 'typeorm';
import { writeInet, writeNull, writeTimestamptz, writeUuid } from './pg-binary';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Rows for `COPY … FROM STDIN (FORMAT binary)`, written field by field in the order of the COPY's
 * column list. Postgres then parses nothing: over a batch of events, text COPY spent about 6 µs
 * per row reading timestamps, UUIDs and addresses back out of their spelling.
 */
export class BinaryRows {
  private buf = Buffer.allocUnsafe(1 << 16);
  private o = 0;

  constructor() {
    this.reserve(19);
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags
    this.buf.writeInt32BE(0, 15); // header extension length
    this.o = 19;
  }

  row(fields: number): this {
    this.reserve(2);
    this.o = this.buf.writeInt16BE(fields, this.o);
    return this;
  }

  null(): this {
    this.reserve(4);
    this.o = writeNull(this.buf, this.o);
    return this;
  }

  int8(v: bigint): this {
    this.reserve(12);
    this.buf.writeInt32BE(8, this.o);
    this.o = this.buf.writeBigInt64BE(v, this.o + 4);
    return this;
  }

  int4(v: number | null | undefined): this {
    if (v === null || v === undefined) return this.null();
    this.reserve(8);
    this.buf.writeInt32BE(4, this.o);
    this.o = this.buf.writeInt32BE(v, this.o + 4);
    return this;
  }

  text(v: string | null | undefined): this {
    return v === null || v === undefined ? this.null() : this.utf8(v, 0);
  }

  /** jsonb's binary form: a version byte (1), then the JSON text. */
  jsonb(v: string | null): this {
    return v === null ? this.null() : this.utf8(v, 1);
  }

  uuid(v: string | null | undefined): this {
    if (v === null || v === undefined) return this.null();
    this.reserve(20);
    this.o = writeUuid(this.buf, this.o, v);
    return this;
  }

  timestamptz(ms: number): this {
    this.reserve(12);
    this.o = writeTimestamptz(this.buf, this.o, ms);
    return this;
  }

  /** An IPv4 or IPv6 address; null for anything else (see ./pg-binary's writeInet). */
  inet(ip: string | null | undefined): this {
    if (!ip) return this.null();
    this.reserve(24);
    const next = writeInet(this.buf, this.o, ip);
    if (next < 0) return this.null();
    this.o = next;
    return this;
  }

  /** The whole COPY stream: header, rows and trailer. */
  end(): Buffer {
    this.reserve(2);
    this.o = this.buf.writeInt16BE(-1, this.o);
    return this.buf.subarray(0, this.o);
  }

  /** A field of UTF-8 text, after `version` (jsonb's format version; 0: none). */
  private utf8(v: string, version: 0 | 1): this {
    const head = version ? 5 : 4;
    this.reserve(head + 3 * v.length);
    if (version) this.buf[this.o + 4] = version;
    const n = this.buf.write(v, this.o + head, 'utf8');
    this.buf.writeInt32BE(head - 4 + n, this.o);
    this.o += head + n;
    return this;
  }

  private reserve(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.o + n));
    this.buf.copy(grown, 0, 0, this.o);
    this.buf = grown;
  }
}

/**
 * A `COPY … FROM STDIN (FORMAT binary)` statement (written out whole by the caller) fed these rows,
 * on the query runner's connection and so inside its transaction.
 */
export async function copyInto(qr: QueryRunner, statement: string, rows: BinaryRows): Promise<void> {
  const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
  const stream = client.query(copyFrom(statement));
  stream.end(rows.end());
  await finished(stream);
}
