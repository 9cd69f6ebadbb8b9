import { MAX_DEPTH, unstorableIn } from './input-check';

const nested = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

describe('unstorableIn', () => {
  it('accepts ordinary values, including emoji (surrogate pairs)', () => {
    expect(unstorableIn({ name: 'Zoë 👋', list: ['a', 1, null, true], attributes: { 'a b': { c: [] } } })).toBeNull();
    expect(unstorableIn(nested(MAX_DEPTH))).toBeNull();
  });

  it('names a NUL in a value or a key by its path', () => {
    expect(unstorableIn({ name: 'a\u0000b' })).toEqual({ field: 'name', message: 'must not contain a NUL character (\\u0000)' });
    expect(unstorableIn({ attributes: { 'k\u0000': 1 } })).toEqual({
      field: 'attributes["k\\u0000"]',
      message: 'is a key that must not contain a NUL character (\\u0000)',
    });
    expect(unstorableIn({ lists: ['x', 'y\u0000'] })?.field).toBe('lists[1]');
    expect(unstorableIn('a\u0000', 'email')?.field).toBe('email');
    expect(unstorableIn('a\u0000')?.field).toBe('body');
  });

  it('refuses lone surrogates but not pairs', () => {
    expect(unstorableIn({ name: '\ud800' })?.message).toContain('lone surrogate');
    expect(unstorableIn({ name: 'x\udc00' })?.message).toContain('lone surrogate');
    expect(unstorableIn({ name: '\ud83d\udc4b' })).toBeNull();
  });

  it('names the top-level field of a value nested too deep, without recursing', () => {
    expect(unstorableIn({ attributes: nested(100_000) })).toEqual({ field: 'attributes', message: `is nested more than ${MAX_DEPTH} levels deep` });
    expect(unstorableIn(nested(MAX_DEPTH + 1))?.field).toBe('a');
    let arrays: unknown = [];
    for (let i = 0; i < 100_000; i++) arrays = [arrays];
    expect(unstorableIn(arrays)?.field).toBe('body');
  });

  it('refuses keys that would set a prototype', () => {
    expect(unstorableIn(JSON.parse('{"a":{"__proto__":{"x":1}}}'))?.field).toBe('a.__proto__');
    expect(unstorableIn({ constructor: { prototype: {} } })?.field).toBe('constructor');
  });
});
