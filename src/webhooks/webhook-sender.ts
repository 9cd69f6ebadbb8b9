import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPrivateAddress } from './webhook-address';

export interface SendResult {
  /** null: no HTTP answer (refused, timed out, DNS, a private address). */
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** The first bytes of the answer, for the deliveries log. */
  excerpt: string | null;
}

const EXCERPT_BYTES = 512;

/**
 * One POST of a JSON body. Redirects are never followed (a 3xx is a failure like any non-2xx: a
 * redirect could lead inside the network), the whole exchange is bounded by `timeoutMs`, and only
 * the first bytes of the answer are read.
 */
export function postJson(url: string, headers: Record<string, string>, body: string, timeoutMs: number, allowPrivate: boolean): Promise<SendResult> {
  const started = Date.now();
  const done = (statusCode: number | null, error: string | null, excerpt: string | null): SendResult => ({
    statusCode,
    durationMs: Date.now() - started,
    error,
    excerpt,
  });
  const target = new URL(url);
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  // node:net connects to a literal address without calling `lookup`, so it is checked here.
  if (!allowPrivate && isIP(literal) && isPrivateAddress(literal)) return Promise.resolve(done(null, `${literal} is a private address`, null));
  return new Promise((resolve) => {
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'edm-webhooks/1' },
        lookup: guardedLookup(allowPrivate),
        // A fresh connection each time: a kept-alive socket would skip the address check of `lookup`.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const end = () => {
          const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
          const status = res.statusCode ?? null;
          const ok = status !== null && status >= 200 && status < 300;
          finish(done(status, ok ? null : `HTTP ${status}`, excerpt || null));
          res.destroy();
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= EXCERPT_BYTES) end();
        });
        res.on('end', end);
        res.on('error', end);
      },
    );
    const timer = setTimeout(() => {
      finish(done(null, `timed out after ${timeoutMs} ms`, null));
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => finish(done(null, e.message.slice(0, 500), null)));
    req.end(body);
  });
}
