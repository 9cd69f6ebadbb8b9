import { isIPv6 } from 'node:net';
import { writeUuidBytes } from '../common/tokens';

/**
 * Values in Postgres's binary format: array parameters here, rows for COPY in ./copy.ts.
 *
 * node-postgres sends a Buffer parameter as binary, and Postgres then takes each element as it is,
 * with no text to parse: a uuid[] of 5,000 elements costs the server about 3.5 ms as text. The
 * ingestor looks up every batch by (campaign, subscriber), so such arrays are most of what it sends.
 *
 * Array layout (array_recv): dimensions, has-nulls flag, element type oid, then per dimension its
 * length and lower bound; then each element as a 4-byte length (-1 for null) and its bytes.
 */

const UUID_OID = 2950;
const TIMESTAMPTZ_OID = 1184;
const TID_OID = 27;
const TID = /^\((\d{1,10}),(\d{1,5})\)$/;
/** Postgres counts timestamps in µs from 2000-01-01 UTC. */
const PG_EPOCH_MS = 946_684_800_000;

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
  for (const id of ids) o = id === null ? writeNull(b, o) : writeUuid(b, o, id);
  return b.subarray(0, o);
}

/** timestamptz[] from epoch milliseconds (a fraction of a ms is kept to the µs). */
export function timestamptzArray(times: readonly (number | null)[]): Buffer {
  const b = header(12 * times.length, TIMESTAMPTZ_OID, times.length, times.includes(null));
  let o = 20;
  for (const ms of times) o = ms === null ? writeNull(b, o) : writeTimestamptz(b, o, ms);
  return b.subarray(0, o);
}

/**
 * tid[] from row addresses as Postgres spells them ("(block,offset)"), for an update that finds
 * rows it holds locked by address rather than through an index.
 */
export function tidArray(tids: readonly string[]): Buffer {
  const b = header(10 * tids.length, TID_OID, tids.length, false);
  let o = 20;
  for (const tid of tids) {
    const m = TID.exec(tid);
    const block = m ? Number(m[1]) : -1;
    const offset = m ? Number(m[2]) : -1;
    if (!(block >= 0 && block < 2 ** 32 && offset >= 0 && offset < 2 ** 16)) throw new TypeError(`not a tid: ${tid}`);
    b.writeInt32BE(6, o);
    b.writeUInt32BE(block, o + 4);
    b.writeUInt16BE(offset, o + 8);
    o += 10;
  }
  return b;
}

/*
 * Field writers: each writes the 4-byte length and the value at `o` (making room is the caller's
 * business) and returns the offset after it.
 */

export function writeNull(b: Buffer, o: number): number {
  b.writeInt32BE(-1, o);
  return o + 4;
}

export function writeUuid(b: Buffer, o: number, id: string): number {
  writeUuidBytes(b, o + 4, id);
  b.writeInt32BE(16, o);
  return o + 20;
}

export function writeTimestamptz(b: Buffer, o: number, ms: number): number {
  const us = Math.round((ms - PG_EPOCH_MS) * 1000);
  const high = Math.floor(us / 2 ** 32);
  b.writeInt32BE(8, o);
  b.writeInt32BE(high, o + 4);
  b.writeUInt32BE(us - high * 2 ** 32, o + 8);
  return o + 12;
}

/** An address Postgres's inet takes: IPv4, or IPv6 without a zone (fe80::1%eth0 is refused). */
export function isInet(ip: string): boolean {
  return ipv4(ip) >= 0 || ipv6(ip) !== null;
}

/**
 * inet (PGSQL_AF_INET or PGSQL_AF_INET6 of inet_recv, a host address) from an address as text,
 * IPv4 inside IPv6 included. Returns -1, having written nothing, for anything that is not an
 * address Postgres takes. Needs room for 24 bytes.
 */
export function writeInet(b: Buffer, o: number, ip: string): number {
  const v4 = ipv4(ip);
  const v6 = v4 < 0 ? ipv6(ip) : null;
  if (v4 < 0 && !v6) return -1;
  const n = v6 ? 16 : 4;
  b.writeInt32BE(4 + n, o);
  b[o + 4] = v6 ? 3 : 2;
  b[o + 5] = 8 * n; // bits
  b[o + 6] = 0; // not cidr
  b[o + 7] = n;
  if (v6) v6.copy(b, o + 8);
  else b.writeUInt32BE(v4, o + 8);
  return o + 8 + n;
}

/** Dotted-decimal IPv4 (no leading zeros, as net.isIPv4 takes it) as a 32-bit number, or -1. */
function ipv4(ip: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || octet > 255 || ++parts > 4) return -1;
      value = value * 256 + octet;
      octet = digits = 0;
    } else if (c < 48 || c > 57 || digits === 3 || (digits === 1 && octet === 0)) {
      return -1;
    } else {
      octet = octet * 10 + c - 48;
      digits++;
    }
  }
  return parts === 4 ? value : -1;
}

function ipv6(ip: string): Buffer | null {
  if (!isIPv6(ip) || ip.includes('%')) return null;
  let text = ip;
  let v4 = -1;
  const lastColon = ip.lastIndexOf(':');
  if (ip.includes('.', lastColon)) {
    v4 = ipv4(ip.slice(lastColon + 1));
    text = `${ip.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i));
  if (v4 >= 0) b.writeUInt32BE(v4, 12);
  return b;
}
