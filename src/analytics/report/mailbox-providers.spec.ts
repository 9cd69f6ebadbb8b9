import { mailboxProviders } from './mailbox-providers';

describe('mailboxProviders', () => {
  it('merges a provider’s domains, keeps the largest eight and sums the rest as other', () => {
    const domains: Record<string, number> = { 'gmail.com': 10, 'googlemail.com': 5, 'hotmail.com': 4, 'live.com': 3, '(erased)': 2, '(other)': 7 };
    for (let i = 0; i < 10; i++) domains[`d${i}.example`] = i + 1;
    const slices = mailboxProviders(domains, ['(erased)', '(other)']);
    expect(slices.slice(0, 3)).toEqual([
      { name: 'gmail.com', value: 15 },
      { name: 'd9.example', value: 10 },
      { name: 'd8.example', value: 9 },
    ]);
    expect(slices).toHaveLength(9);
    expect(slices[8].name).toBe('other');
    const total = Object.values(domains).reduce((a, b) => a + b, 0);
    expect(slices.reduce((a, s) => a + s.value, 0)).toBe(total);
    expect(slices.find((s) => s.name === 'outlook.com')?.value).toBe(7);
  });

  it('has no other slice when nothing is left over', () => {
    expect(mailboxProviders({ 'a.example': 1 }, [])).toEqual([{ name: 'a.example', value: 1 }]);
    expect(mailboxProviders({}, [])).toEqual([]);
  });
});
