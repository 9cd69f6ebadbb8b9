import { classifyRequest } from './classify';

describe('classifyRequest', () => {
  const person = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
  const facts = (userAgent: string, headers: Record<string, string> = {}, ip = '203.0.113.7') => ({ userAgent, ip, headers });

  it('takes a mail client or browser for a person', () => {
    expect(classifyRequest(facts(person))).toBe('human');
    expect(classifyRequest(facts('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Thunderbird/115.5.0'))).toBe('human');
  });

  it('recognises the image proxies that fetch on delivery', () => {
    expect(classifyRequest(facts('Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'))).toBe('google_proxy');
    expect(classifyRequest(facts('Mozilla/5.0'))).toBe('apple_proxy');
    expect(classifyRequest(facts(person, {}, '17.58.101.12'))).toBe('apple_proxy');
    expect(classifyRequest(facts(person, {}, '::ffff:17.58.101.12'))).toBe('apple_proxy');
  });

  it('takes crawlers, libraries and a missing user agent for scanners', () => {
    expect(classifyRequest(facts('Mozilla/5.0 (compatible; Barracuda Sentinel (EE))'))).toBe('scanner');
    expect(classifyRequest(facts('python-requests/2.31.0'))).toBe('scanner');
    expect(classifyRequest(facts(''))).toBe('scanner');
  });

  it('sees prefetches whatever the agent', () => {
    expect(classifyRequest(facts(person, { 'sec-purpose': 'prefetch;prerender' }))).toBe('prefetch');
    expect(classifyRequest(facts(person, { purpose: 'prefetch' }))).toBe('prefetch');
    expect(classifyRequest(facts(person, { 'x-moz': 'prefetch' }))).toBe('prefetch');
  });
});
