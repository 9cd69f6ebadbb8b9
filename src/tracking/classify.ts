import { isbot } from 'isbot';
import type { Agent } from './tracking-event';

export interface RequestFacts {
  userAgent: string;
  ip: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Apple's network (17.0.0.0/8), from which Mail Privacy Protection fetches every image of a message. */
const APPLE_NET = /^(::ffff:)?17\./;

/** Mail-security gateways that fetch links to inspect them; not all of them say "bot". */
const SECURITY_SCANNERS = /barracuda|mimecast|proofpoint|symantec|trend ?micro|safelinks|forcepoint|sophos|cisco ?ironport|fireeye|urldefense/i;

/**
 * Who is fetching, from the request alone: a prefetch (a browser or client announcing it is not a
 * person's action), an image proxy that fetches on delivery (Apple Mail Privacy Protection, Gmail's
 * image proxy), an automated agent, or — by default — a person. Timing (a click seconds after
 * delivery, every link clicked in one burst) is judged later by the ingestor, which knows when the
 * message was sent and what else it saw.
 */
export function classifyRequest(r: RequestFacts): Agent {
  if (isPrefetch(r.headers)) return 'prefetch';
  const ua = r.userAgent;
  if (ua.includes('GoogleImageProxy') || ua.includes('ggpht.com')) return 'google_proxy';
  // MPP's fetcher sends a bare "Mozilla/5.0"; a real mail client or browser never does.
  if (ua === 'Mozilla/5.0' || APPLE_NET.test(r.ip)) return 'apple_proxy';
  if (!ua || isMachine(ua)) return 'scanner';
  return 'human';
}

/** `Purpose: prefetch` / `Sec-Purpose: prefetch` (Chrome, Safari), `X-Moz: prefetch` (Firefox), `X-Purpose: preview`. */
export function isPrefetch(headers: RequestFacts['headers']): boolean {
  for (const name of ['purpose', 'sec-purpose', 'x-purpose', 'x-moz']) {
    const v = headers[name];
    const text = Array.isArray(v) ? v.join(',') : v;
    if (text && /prefetch|prerender|preview/i.test(text)) return true;
  }
  return false;
}

/** isbot's pattern is long and the same few agents come back all day: the answer is kept per agent. */
const machines = new Map<string, boolean>();
function isMachine(ua: string): boolean {
  let machine = machines.get(ua);
  if (machine === undefined) {
    machine = isbot(ua) || SECURITY_SCANNERS.test(ua);
    if (machines.size >= 10_000) machines.clear();
    machines.set(ua, machine);
  }
  return machine;
}
