/**
 * Array parameters in Postgres's binary format. node-postgres sends a Buffer parameter as binary,
 * and Postgres then takes each element as it is, with no text to parse: a uuid[] of 5,000 elements
 * costs the server about 3.5 ms as text and a few hundred µs like this. The ingestor looks up
 * every batch by (campaign, subscriber), so these arrays are most of what it sends.
 *
 * Layout (array_recv): dimensions, has-nulls flag, element type oid, then per dimension its length
 * and lower bound; then each element as a 4-byte length (-1 for null) and its bytes.
 */

const UUID_OID = 2950;
const TIMESTAMPTZ_OID = 1184;
/** Postgres counts timestamps in µs from 2000-01-01 UTC. */
const PG_EPOCH_MS = 946_684_800_000;

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

function nibble(c: number): number {
  return c < 128 ? HEX[c] : -1;
}

function header(size: number, oid: number, n: number, hasNull: boolean): Buffer {
  const b = Buffer.allocUnsafe(20 + size);
  b.writeInt32BE(1, 0);
  b.writeInt32BE(hasNull ? 1 : 0, 4);
  b.writeInt32BE(oid, 8);
  b.writeInt32BE(n, 12);
  b.writeInt32BE(1, 16);
  return b;
}

/** uuid[] from canonical UUID strings (as the database and the validated events spell them). */
export function uuidArray(ids: readonly (string | null)[]): Buffer {
  const b = header(20 * ids.length, UUID_OID, ids.length, ids.includes(null));
  let o = 20;
  for (const id of ids) {
    if (id === null) {
      b.writeInt32BE(-1, o);
      o += 4;
      continue;
    }
    if (id.length !== 36) throw new TypeError(`not a UUID: ${id}`);
    b.writeInt32BE(16, o);
    o += 4;
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (id.charCodeAt(i) !== 45) throw new TypeError(`not a UUID: ${id}`);
        continue;
      }
      const hi = nibble(id.charCodeAt(i));
      const lo = nibble(id.charCodeAt(++i));
      if (hi < 0 || lo < 0) throw new TypeError(`not a UUID: ${id}`);
      b[o++] = (hi << 4) | lo;
    }
  }
  return b.subarray(0, o);
}

/** timestamptz[] from epoch milliseconds (a fraction of a ms is kept to the µs). */
export function timestamptzArray(times: readonly (number | null)[]): Buffer {
  const b = header(12 * times.length, TIMESTAMPTZ_OID, times.length, times.includes(null));
  let o = 20;
  for (const ms of times) {
    if (ms === null) {
      b.writeInt32BE(-1, o);
      o += 4;
      continue;
    }
    const us = Math.round((ms - PG_EPOCH_MS) * 1000);
    const high = Math.floor(us / 2 ** 32);
    b.writeInt32BE(8, o);
    b.writeInt32BE(high, o + 4);
    b.writeUInt32BE(us - high * 2 ** 32, o + 8);
    o += 12;
  }
  return b.subarray(0, o);
}
