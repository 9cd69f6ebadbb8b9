import { normalizeEmail } from './email';

describe('normalizeEmail', () => {
  it.each([
    ['Ada@Example.com', 'ada@example.com'],
    ['  first.last+tag@sub.example.co.uk ', 'first.last+tag@sub.example.co.uk'],
    ["o'brien@example.ie", "o'brien@example.ie"],
  ])('accepts %s', (input, out) => expect(normalizeEmail(input)).toBe(out));

  it.each([
    '',
    'plain',
    'a@b',
    '@example.com',
    'a@@example.com',
    'a b@example.com',
    'a@-example.com',
    `${'x'.repeat(65)}@example.com`,
    `a@${'x'.repeat(250)}.com`,
    42,
    null,
  ])('rejects %p', (input) => expect(normalizeEmail(input)).toBeNull());
});
