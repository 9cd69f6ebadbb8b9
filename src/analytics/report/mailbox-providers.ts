import type { Slice } from './report-charts';

/** Domains of one mailbox provider, counted as its main one. */
const ALIASES: Record<string, string> = {
  'googlemail.com': 'gmail.com',
  'hotmail.com': 'outlook.com',
  'live.com': 'outlook.com',
  'msn.com': 'outlook.com',
  'ymail.com': 'yahoo.com',
  'me.com': 'icloud.com',
  'mac.com': 'icloud.com',
};

export const SHOWN_PROVIDERS = 8;

/**
 * Sent messages by recipient domain → the largest eight providers, then everything else as
 * "other" (including the campaign's own "(other)" and "(erased)" keys). The slices add up to the
 * messages counted.
 */
export function mailboxProviders(domains: Record<string, number>, other: string[]): Slice[] {
  const merged = new Map<string, number>();
  let rest = 0;
  for (const [domain, n] of Object.entries(domains)) {
    if (other.includes(domain)) rest += Number(n);
    else {
      const name = ALIASES[domain] ?? domain;
      merged.set(name, (merged.get(name) ?? 0) + Number(n));
    }
  }
  const sorted = [...merged].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  rest += sorted.slice(SHOWN_PROVIDERS).reduce((sum, [, n]) => sum + n, 0);
  const slices = sorted.slice(0, SHOWN_PROVIDERS).map(([name, value]) => ({ name, value }));
  return rest ? [...slices, { name: 'other', value: rest }] : slices;
}
