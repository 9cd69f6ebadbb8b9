import { isUtf8 } from 'node:buffer';

/**
 * The character encodings an import can be read in. Spreadsheets save CSV as UTF-8 or, on
 * Windows in Western Europe and the Americas, as Windows-1252 ("ANSI", which browsers and the
 * WHATWG Encoding standard also use for anything labelled Latin-1 / ISO-8859-1); ISO-8859-15 adds €.
 */
export type ImportEncoding = 'utf-8' | 'windows-1252' | 'iso-8859-15';
export type RequestedEncoding = ImportEncoding | 'auto';

export const ENCODING_NAMES: Record<string, RequestedEncoding> = {
  auto: 'auto',
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  latin1: 'windows-1252',
  'iso-8859-1': 'windows-1252',
  'iso-8859-15': 'iso-8859-15',
  latin9: 'iso-8859-15',
};

/**
 * Tells whether a stream of chunks is valid UTF-8, whatever the chunk boundaries (a character may
 * be split between two chunks), and where the first invalid byte is. Uses the native validator.
 */
export class Utf8Check {
  private carry: Buffer = Buffer.alloc(0);
  private seen = 0;
  /** Offset of the first invalid byte in the whole stream, or null while it is valid. */
  firstInvalid: number | null = null;

  push(chunk: Buffer): void {
    if (this.firstInvalid !== null) return;
    const bytes = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const start = this.seen - this.carry.length;
    const end = completeUpTo(bytes);
    if (!isUtf8(bytes.subarray(0, end))) this.firstInvalid = start + firstInvalidByte(bytes.subarray(0, end));
    // What is carried is at most 3 bytes: the start of a character the next chunk completes.
    this.carry = Buffer.from(bytes.subarray(end));
    this.seen += chunk.length;
  }

  /** The stream has ended: a character cut off at the end is invalid too. */
  finish(): void {
    if (this.firstInvalid === null && this.carry.length) this.firstInvalid = this.seen - this.carry.length;
  }

  get valid(): boolean {
    return this.firstInvalid === null;
  }
}

/** Where the last, possibly incomplete, character starts (the buffer's length when it ends complete). */
function completeUpTo(b: Buffer): number {
  for (let i = b.length - 1; i >= Math.max(0, b.length - 3); i--) {
    const byte = b[i];
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    if (byte < 0xc0) return b.length; // ASCII, or a stray continuation the validator will refuse
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return i + size > b.length ? i : b.length;
  }
  return b.length;
}

/** Only on the error path: the offset of the first byte that breaks UTF-8, character by character. */
function firstInvalidByte(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const size = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!size || i + size > b.length || !isUtf8(b.subarray(i, i + size))) return i;
    i += size;
  }
  return b.length;
}

/** A UTF-16 byte order mark: a file saved as "Unicode text", which this importer does not read. */
export function isUtf16(start: Buffer): boolean {
  return start.length >= 2 && ((start[0] === 0xff && start[1] === 0xfe) || (start[0] === 0xfe && start[1] === 0xff));
}

/** Turns chunks of the stored file into UTF-8 for the parser; single-byte encodings have no split characters. */
export function toUtf8(encoding: ImportEncoding): (chunk: Buffer) => Buffer {
  if (encoding === 'utf-8') return (chunk) => chunk;
  return (chunk) => Buffer.from(decodeText(chunk, encoding), 'utf8');
}

/** 0x80–0x9F of Windows-1252 (the rest is Latin-1). Node's TextDecoder decodes these as C1 controls. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

export function decodeText(bytes: Buffer, encoding: ImportEncoding): string {
  if (encoding === 'utf-8') return bytes.toString('utf8');
  if (encoding === 'windows-1252') return bytes.toString('latin1').replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]);
  return new TextDecoder(encoding).decode(bytes);
}
