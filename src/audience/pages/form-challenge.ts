import { Inject, Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import type Redis from 'ioredis';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { REDIS } from '../../queue/queue.module';

/*
 * Protocol: the altcha@3 widget speaks ALTCHA v2 natively (`{ parameters, signature }` challenges,
 * base64 `{ challenge, solution }` payloads; v1 challenges it only converts), so we use altcha-lib's
 * v2 API (the package's default entry), not `altcha-lib/v1`.
 *
 * Loaded with require() because the project's tsconfig uses classic (node10) module resolution, which
 * ignores package.json `exports`, and altcha-lib declares its types only there: `import … from 'altcha-lib'`
 * does not type-check. The runtime require still goes through `exports` (CommonJS build); the types are
 * the same build's .d.ts, so every call below is checked.
 */
type AltchaLib = typeof import('altcha-lib/dist/cjs/v2/index');
type Pbkdf2 = typeof import('altcha-lib/dist/cjs/v2/algorithms/pbkdf2');
type Challenge = import('altcha-lib/dist/cjs/v2/types').Challenge;
type Solution = import('altcha-lib/dist/cjs/v2/types').Solution;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const altcha = require('altcha-lib') as AltchaLib;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deriveKey } = require('altcha-lib/algorithms/pbkdf2') as Pbkdf2;

export type ChallengeVerdict = 'ok' | 'missing' | 'invalid' | 'expired' | 'reused';

/**
 * PBKDF2/SHA-256: bundled with the widget, runs on WebCrypto in every browser and on OpenSSL in Node, and
 * needs no WebAssembly (Argon2/scrypt would need their wasm workers and 'wasm-unsafe-eval' in the CSP).
 */
export const ALGORITHM = 'PBKDF2/SHA-256';

/**
 * Work = COST PBKDF2 iterations per attempt × the attempts up to a secret counter drawn from 1..COUNTER_MAX
 * (altcha's deterministic mode: the solver scans counters from 0; the server only checks an HMAC).
 * 5,000 iterations is altcha-lib's own default, large enough that the per-attempt WebCrypto round trip is
 * noise. The counter starts at 1, not at a higher floor: a known floor is work an attacker simply skips.
 * Mean 1.5M iterations: an estimated ~0.4 s over the 4+ workers of a modest phone at ~1M iterations/s each
 * (less on better ones; the widget pads every solve to 0.5 s anyway); measured 0.2-0.4 s with 4 solvers in
 * Node on a 2-core box. The worst case (counter = COUNTER_MAX) takes twice the mean.
 */
export const COST = 5_000;
export const COUNTER_MAX = 600;

/** Long enough to fill in a form; short enough that a stockpile of solved challenges goes stale. */
export const CHALLENGE_TTL_SECONDS = 600;

/** A real payload is ~1 KB; anything far bigger is not from the widget and is not worth parsing. */
const MAX_PAYLOAD_CHARS = 8_192;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Proof-of-work for the public sign-up form: signed, list-bound, expiring, single-use ALTCHA challenges. */
@Injectable()
export class FormChallenge {
  private readonly challengeSecret: string;
  private readonly keySecret: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    // Keys of their own, derived as TokenSigner derives its: its MACs and these can never stand in for each other.
    this.challengeSecret = createHmac('sha256', config.secret).update('edm-altcha:challenge').digest('hex');
    this.keySecret = createHmac('sha256', config.secret).update('edm-altcha:key').digest('hex');
  }

  /** What the widget's challenge URL returns, as JSON. Costs one derivation (~1 ms, off the event loop). */
  async create(listId: string, ttlSeconds: number = CHALLENGE_TTL_SECONDS): Promise<Challenge> {
    if (!(ttlSeconds > 0)) throw new RangeError(`ttlSeconds must be positive, got ${ttlSeconds}`);
    return altcha.createChallenge({
      algorithm: ALGORITHM,
      cost: COST,
      counter: altcha.randomInt(COUNTER_MAX, 1),
      deriveKey,
      // Signed with the rest of the parameters, so a challenge for one list is refused on another.
      data: { listId: listId.toLowerCase() },
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      hmacSignatureSecret: this.challengeSecret,
      hmacKeySignatureSecret: this.keySecret,
    });
  }

  /**
   * Checks the posted `altcha` field. Bad input of any kind is a verdict, never an exception (a Redis
   * outage does throw: refusing real people as robots would be the wrong answer). As in altcha-lib,
   * expiry is judged before the signature, so a forged stale payload also reads 'expired'; both are refused.
   */
  async verify(listId: string, payload: unknown): Promise<ChallengeVerdict> {
    if (payload === undefined || payload === null || payload === '') return 'missing';
    const parsed = parsePayload(payload);
    if (!parsed || parsed.challenge.parameters.data?.listId !== listId.toLowerCase()) return 'invalid';
    const result = await altcha
      .verifySolution({
        challenge: parsed.challenge,
        solution: parsed.solution,
        deriveKey,
        hmacSignatureSecret: this.challengeSecret,
        hmacKeySignatureSecret: this.keySecret,
      })
      .catch(() => null); // it throws on some malformed parameters: that is an invalid payload, not a fault
    if (!result) return 'invalid';
    if (result.expired) return 'expired';
    if (!result.verified) return 'invalid';
    // Single use, recorded only once genuine (forgeries cannot fill Redis) and kept exactly as long as the
    // challenge could still verify. NX makes two racing submissions of one payload yield one 'ok'.
    const expiresAt = parsed.challenge.parameters.expiresAt ?? Date.now() / 1000 + CHALLENGE_TTL_SECONDS;
    const ttl = Math.max(1, Math.ceil(expiresAt - Date.now() / 1000));
    const fresh = await this.redis.set(`altcha:used:${parsed.challenge.signature}`, '1', 'EX', ttl, 'NX');
    return fresh === 'OK' ? 'ok' : 'reused';
  }
}

interface ParsedPayload {
  challenge: Challenge & { signature: string };
  solution: Solution;
}

/** The widget posts btoa(JSON.stringify({ challenge: { parameters, signature }, solution })). */
function parsePayload(payload: unknown): ParsedPayload | null {
  if (typeof payload !== 'string' || payload.length > MAX_PAYLOAD_CHARS || !BASE64.test(payload)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64').toString('latin1')); // latin1 mirrors btoa/atob
  } catch {
    return null;
  }
  if (!isObject(value) || !isObject(value.challenge) || !isObject(value.solution)) return null;
  const { parameters, signature } = value.challenge;
  const { counter, derivedKey } = value.solution;
  if (!isObject(parameters) || typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return null;
  if (typeof counter !== 'number' || typeof derivedKey !== 'string') return null;
  if (parameters.data !== undefined && !isObject(parameters.data)) return null;
  // Field types past this point are vouched for by the signature over `parameters`.
  return { challenge: { parameters: parameters as unknown as Challenge['parameters'], signature }, solution: { counter, derivedKey } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
