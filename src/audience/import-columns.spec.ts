import { HeaderError, mapColumns, toRow } from './import-columns';

describe('import columns', () => {
  it('maps email, name and timezone, and every other column to an attribute', () => {
    const cols = mapColumns(['Email', 'NAME', 'city', 'TimeZone', 'plan']);
    expect(cols).toEqual({
      email: 0,
      name: 1,
      timezone: 3,
      attributes: [
        { index: 2, key: 'city', prefix: '"city":' },
        { index: 4, key: 'plan', prefix: '"plan":' },
      ],
    });
  });

  it('refuses a header without email or with a repeated column', () => {
    expect(() => mapColumns(['name'])).toThrow(HeaderError);
    expect(() => mapColumns(['email', 'city', 'City'])).toThrow(/"city" appears twice/);
  });

  it('turns a record into a row, leaving empty cells out of the attributes', () => {
    const cols = mapColumns(['email', 'name', 'city', 'timezone']);
    const zones = new Map();
    expect(toRow([' A@Example.com', ' Ann ', '', 'asia/tokyo'], 2, cols, zones)).toEqual({
      line: 2,
      email: 'a@example.com',
      name: 'Ann',
      timezone: 'Asia/Tokyo',
      attributes: '{}',
    });
    const row = toRow(['c@example.com', '', 'Zürich "Nord"', ''], 5, cols, zones);
    expect(typeof row === 'object' && JSON.parse(row.attributes)).toEqual({ city: 'Zürich "Nord"' });
    expect(toRow(['bad', '', '', ''], 3, cols, zones)).toBe('invalid email "bad"');
    expect(toRow(['b@example.com', '', '', 'Mars/Base'], 4, cols, zones)).toMatch(/invalid timezone/);
  });
});
