import { randomUUID } from 'node:crypto';
import { withAdmin } from '../../test/support/databases';
import { timestamptzArray, uuidArray } from './pg-binary';

describe('binary array parameters', () => {
  it('are read by Postgres as the uuid[] they spell, nulls included', async () => {
    const ids = [randomUUID(), null, randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
    const { rows } = await withAdmin((c) => c.query(`SELECT $1::uuid[]::text[] AS ids, cardinality($1::uuid[]) AS n`, [uuidArray(ids)]));
    expect(rows[0].ids).toEqual(ids.map((id) => id?.toLowerCase() ?? null));
    expect(rows[0].n).toBe(5);
  });

  it('are read by Postgres as the timestamptz[] of the epoch milliseconds, before and after 2000', async () => {
    const times = [Date.UTC(2026, 10, 29, 12, 34, 56, 789), null, Date.UTC(1999, 11, 31, 23, 59, 59, 999), 0, -1, 1.5];
    const { rows } = await withAdmin((c) =>
      c.query(`SELECT array_agg(round(date_part('epoch', t) * 1000000) ORDER BY k) AS us FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, k)`, [timestamptzArray(times)]),
    );
    expect(rows[0].us.map((v: number | null) => (v === null ? null : v / 1000))).toEqual(times);
  });

  it('take an empty array', async () => {
    const { rows } = await withAdmin((c) => c.query(`SELECT cardinality($1::uuid[]) AS u, cardinality($2::timestamptz[]) AS t`, [uuidArray([]), timestamptzArray([])]));
    expect(rows[0]).toEqual({ u: 0, t: 0 });
  });

  it('refuse what is not a UUID, rather than send other bytes', () => {
    for (const bad of ['not-a-uuid', '0000000g-0000-0000-0000-000000000000', '00000000x0000-0000-0000-000000000000', '00000000-0000-0000-0000-00000000000é']) {
      expect(() => uuidArray([bad])).toThrow(`not a UUID: ${bad}`);
    }
  });
});
