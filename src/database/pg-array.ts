/**
 * A Postgres array literal, as pg writes one for an array parameter (every element quoted, quotes
 * and backslashes escaped, null as NULL), built in one pass: a batch's arrays hold thousands of
 * elements, and pg's general-purpose conversion cost more than the rest of the batch's work in Node.
 */
export function pgArray(values: unknown[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) out += ',';
    if (v === null || v === undefined) {
      out += 'NULL';
      continue;
    }
    const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
    out += text.includes('"') || text.includes('\\') ? `"${text.replace(/[\\"]/g, '\\$&')}"` : `"${text}"`;
  }
  return out + '}';
}
