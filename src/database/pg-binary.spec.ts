import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { withAdmin } from '../../test/support/databases';
import { isInet, timestamptzArray, uuidArray, writeInet } from './pg-binary';

describe('binary values for Postgres', () => {
  it('are read by Postgres as the uuid[] they spell, nulls included', async () => {
    const ids = [randomUUID(), null, randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
    const { rows } = await withAdmin((c) => c.query(`SELECT $1::uuid[]::text[] AS ids, cardinality($1::uuid[]) AS n`, [uuidArray(ids)]));
    expect(rows[0].ids).toEqual(ids.map((id) => id?.toLowerCase() ?? null));
    expect(rows[0].n).toBe(5);
  });

  it('are read by Postgres as the timestamptz[] of the epoch milliseconds, before and after 2000', async () => {
    const times = [Date.UTC(2026, 10, 29, 12, 34, 56, 789), null, Date.UTC(1999, 11, 31, 23, 59, 59, 999), 0, -1, 1.5];
    const { rows } = await withAdmin((c) =>
      c.query(`SELECT array_agg(round(date_part('epoch', t) * 1000000) ORDER BY k) AS us FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, k)`, [
        timestamptzArray(times),
      ]),
    );
    expect(rows[0].us.map((v: number | null) => (v === null ? null : v / 1000))).toEqual(times);
  });

  it('take an empty array', async () => {
    const { rows } = await withAdmin((c) =>
      c.query(`SELECT cardinality($1::uuid[]) AS u, cardinality($2::timestamptz[]) AS t`, [uuidArray([]), timestamptzArray([])]),
    );
    expect(rows[0]).toEqual({ u: 0, t: 0 });
  });

  it('refuse what is not a UUID, rather than send other bytes', () => {
    for (const bad of ['not-a-uuid', '0000000g-0000-0000-0000-000000000000', '00000000x0000-0000-0000-000000000000', '00000000-0000-0000-0000-00000000000é']) {
      expect(() => uuidArray([bad])).toThrow(`not a UUID: ${bad}`);
    }
  });

  it('take the addresses net.isIP takes, except scoped IPv6 ones, which Postgres refuses', () => {
    const samples = [
      '1.2.3.4',
      '0.0.0.0',
      '255.255.255.255',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1..2.3',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '',
      '1.2.3.0004',
    ];
    samples.push('::', '::1', '2001:db8::8a2e:370:7334', '::ffff:192.0.2.7', '64:ff9b::1.2.3.4', 'fe80::1%eth0', ':::1', '2001:db8::g', 'localhost');
    for (const ip of samples) expect([ip, isInet(ip)]).toEqual([ip, isIP(ip) !== 0 && !ip.includes('%')]);
    const b = Buffer.alloc(24);
    expect(writeInet(b, 0, '192.0.2.7')).toBe(12);
    expect([...b.subarray(0, 12)]).toEqual([0, 0, 0, 8, 2, 32, 0, 4, 192, 0, 2, 7]);
    expect(writeInet(b, 0, '::ffff:192.0.2.7')).toBe(24);
    expect([...b.subarray(4, 24)]).toEqual([3, 128, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7]);
    expect(writeInet(b, 0, 'fe80::1%eth0')).toBe(-1);
  });
});
