import { normalizeTimeZone } from '../config/config';
import { normalizeEmail } from '../common/email';

/** Where each CSV column goes: `email`, `name` and `timezone` are fields; every other column is an attribute. */
export interface ColumnMap {
  email: number;
  name: number;
  timezone: number;
  /** `prefix` is the key as JSON, with its colon: what each value is appended to. */
  attributes: { index: number; key: string; prefix: string }[];
}

export class HeaderError extends Error {}

export function mapColumns(header: string[]): ColumnMap {
  const keys = header.map((h) => h.trim());
  const nul = keys.findIndex((k) => k.includes('\0'));
  if (nul >= 0) throw new HeaderError(`column ${nul + 1} of the header contains a NUL character (\\0)`);
  const lower = keys.map((k) => k.toLowerCase());
  const dup = lower.find((k, i) => k && lower.indexOf(k) !== i);
  if (dup) throw new HeaderError(`column "${dup}" appears twice in the header`);
  const email = lower.indexOf('email');
  if (email < 0) throw new HeaderError(`the header has no "email" column (found: ${keys.join(', ') || 'nothing'})`);
  const name = lower.indexOf('name');
  const timezone = lower.indexOf('timezone');
  const attributes = keys
    .map((key, index) => ({ index, key, prefix: `${JSON.stringify(key)}:` }))
    .filter(({ index, key }) => key && ![email, name, timezone].includes(index));
  return { email, name, timezone, attributes };
}

export interface ImportRow {
  line: number;
  email: string;
  name: string | null;
  timezone: string | null;
  /** The non-empty attribute cells as a JSON object, written directly: a million rows need no object each. */
  attributes: string;
}

/**
 * One CSV record → a row to upsert, or the reason it is rejected.
 * `zones` caches time-zone lookups, which are slow compared with everything else here.
 */
export function toRow(cells: string[], line: number, cols: ColumnMap, zones: Map<string, string | null>): ImportRow | string {
  // Postgres text cannot hold NUL: the line is refused alone, not the batch it would fail.
  for (let i = 0; i < cells.length; i++) if (cells[i].includes('\0')) return `column ${i + 1} contains a NUL character (\\0)`;
  const rawEmail = cells[cols.email] ?? '';
  const email = normalizeEmail(rawEmail);
  if (!email) return rawEmail.trim() ? `invalid email "${rawEmail.slice(0, 100)}"` : 'email is empty';
  let timezone: string | null = null;
  const rawZone = cols.timezone >= 0 ? cells[cols.timezone]?.trim() : '';
  if (rawZone) {
    if (!zones.has(rawZone)) zones.set(rawZone, normalizeTimeZone(rawZone));
    timezone = zones.get(rawZone)!;
    if (!timezone) return `invalid timezone "${rawZone.slice(0, 60)}" (expected an IANA name such as Europe/Paris)`;
  }
  let attributes = '{';
  for (const { index, prefix } of cols.attributes) {
    const v = cells[index];
    if (v === undefined || v === '') continue;
    if (attributes.length > 1) attributes += ',';
    attributes += prefix + JSON.stringify(v);
  }
  attributes += '}';
  const name = cols.name >= 0 && cells[cols.name] ? cells[cols.name].trim() || null : null;
  return { line, email, name, timezone, attributes };
}
