import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { AppConfig } from '../src/config/config';
import { formAsset, WIDGET_SCRIPT, WIDGET_STYLESHEET, widgetHtml } from '../src/audience/pages/form-assets';
import { CHALLENGE_TTL_SECONDS, FormChallenge } from '../src/audience/pages/form-challenge';
import { solveAltcha } from './support/altcha';

const PREFIX = `edmtest_altcha_${randomBytes(6).toString('hex')}:`;

interface Decoded {
  challenge: { parameters: Record<string, unknown> & { data?: Record<string, unknown>; expiresAt?: number }; signature: string };
  solution: { counter: number; derivedKey: string };
}
const decode = (payload: string): Decoded => JSON.parse(Buffer.from(payload, 'base64').toString('latin1')) as Decoded;
const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), 'latin1').toString('base64');

describe('FormChallenge: ALTCHA proof-of-work for the public sign-up form', () => {
  let redis: Redis;
  let altcha: FormChallenge;
  const listA = randomUUID();
  const listB = randomUUID();

  /** Challenge and solution for a list, solved as the widget would; logs the solve time. */
  async function solved(listId: string, ttlSeconds?: number): Promise<string> {
    const challenge = await altcha.create(listId, ttlSeconds);
    const started = performance.now();
    const payload = await solveAltcha(challenge);
    console.log(`ALTCHA solved in ${(performance.now() - started).toFixed(0)} ms (counter ${decode(payload).solution.counter})`);
    return payload;
  }

  beforeAll(() => {
    redis = new Redis('redis://127.0.0.1:6379', { keyPrefix: PREFIX });
    altcha = new FormChallenge({ secret: Buffer.from('x'.repeat(64)) } as AppConfig, redis);
  });

  afterAll(async () => {
    // KEYS is not prefixed by ioredis but DEL is: strip the prefix off what KEYS returns.
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys.map((k) => k.slice(PREFIX.length)));
    await redis.quit();
  });

  it('issues a signed, list-bound challenge expiring in 10 minutes, in the shape the widget fetches', async () => {
    // Through JSON, as the widget receives it from the challenge URL.
    const c = JSON.parse(JSON.stringify(await altcha.create(listA.toUpperCase()))) as Decoded['challenge'];
    expect(c.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(c.parameters).toMatchObject({ algorithm: 'PBKDF2/SHA-256', cost: 5000, keyLength: 32, data: { listId: listA } });
    expect(c.parameters).toEqual(
      expect.objectContaining({ nonce: expect.any(String), salt: expect.any(String), keyPrefix: expect.any(String), keySignature: expect.any(String) }),
    );
    expect(c.parameters.expiresAt! - Date.now() / 1000).toBeGreaterThan(CHALLENGE_TTL_SECONDS - 2);
    expect(c.parameters.expiresAt! - Date.now() / 1000).toBeLessThanOrEqual(CHALLENGE_TTL_SECONDS);
  });

  it('accepts a solved payload once, then refuses it as reused until the challenge would have expired', async () => {
    const payload = await solved(listA);
    expect(await altcha.verify(listA, payload)).toBe('ok');
    expect(await altcha.verify(listA, payload)).toBe('reused');
    const ttl = await redis.ttl(`altcha:used:${decode(payload).challenge.signature}`);
    expect(ttl).toBeGreaterThan(CHALLENGE_TTL_SECONDS - 10);
    expect(ttl).toBeLessThanOrEqual(CHALLENGE_TTL_SECONDS);
  });

  it('lets only one of two racing submissions of the same payload through', async () => {
    const payload = await solved(listA);
    const verdicts = await Promise.all([altcha.verify(listA, payload), altcha.verify(listA, payload)]);
    expect(verdicts.sort()).toEqual(['ok', 'reused']);
  });

  it('refuses a payload solved for another list, without using it up for its own', async () => {
    const payload = await solved(listB);
    expect(await altcha.verify(listA, payload)).toBe('invalid');
    expect(await altcha.verify(listB.toUpperCase(), payload)).toBe('ok');
  });

  it('refuses tampered payloads', async () => {
    const payload = await solved(listA);
    const original = decode(payload);
    const tampered = (change: (d: Decoded) => void): string => {
      const copy = structuredClone(original);
      change(copy);
      return encode(copy);
    };
    const forgeries = [
      tampered((d) => (d.solution.derivedKey = d.solution.derivedKey.replace(/^./, (c) => (c === '0' ? '1' : '0')))),
      tampered((d) => (d.challenge.parameters.cost = 1)), // cheaper work, same signature
      tampered((d) => delete d.challenge.parameters.keySignature), // force re-derivation path
      tampered((d) => (d.challenge.parameters.expiresAt = d.challenge.parameters.expiresAt! + 3600)),
      tampered((d) => (d.challenge.signature = d.challenge.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')))),
    ];
    // A payload for list B relabelled as list A: passes the list check, fails the signature.
    const relabelled = decode(await solved(listB));
    relabelled.challenge.parameters.data = { listId: listA };
    forgeries.push(encode(relabelled));
    for (const [i, forged] of forgeries.entries()) expect([i, await altcha.verify(listA, forged)]).toEqual([i, 'invalid']);
    expect(await altcha.verify(listA, payload)).toBe('ok'); // the forgeries did not use up the original
    // altcha-lib checks only the derived key against its signature, not the counter, so a payload can be
    // re-spelt with another counter and still verify: replays are caught because the key is the challenge's.
    expect(
      await altcha.verify(
        listA,
        tampered((d) => (d.solution.counter += 1)),
      ),
    ).toBe('reused');
  });

  it('calls a missing field missing and anything malformed invalid, without throwing', async () => {
    for (const empty of [undefined, null, '']) expect(await altcha.verify(listA, empty)).toBe('missing');
    const widgetTestMode = encode({ challenge: null, solution: null, test: true });
    const garbage: unknown[] = [
      42,
      true,
      {},
      ['a', 'b'], // a repeated form field
      'not base64!',
      'bm90IGpzb24=', // "not json"
      encode('a string'),
      encode({ challenge: {}, solution: {} }),
      encode({ challenge: { parameters: null, signature: 'a'.repeat(64) }, solution: { counter: 1, derivedKey: 'ab' } }),
      encode({ challenge: { parameters: { data: { listId: listA } }, signature: 'a'.repeat(64) }, solution: { counter: 1, derivedKey: 'ab' } }),
      widgetTestMode,
      'A'.repeat(8_196), // valid base64, over 8 KB
    ];
    for (const value of garbage) expect(await altcha.verify(listA, value)).toBe('invalid');
  });

  it('refuses a payload whose challenge has expired', async () => {
    const payload = await solved(listA, 1);
    const expiresAt = decode(payload).challenge.parameters.expiresAt!;
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt * 1000 - Date.now()) + 50));
    expect(await altcha.verify(listA, payload)).toBe('expired');
  });

  it('serves the widget files from an allow-list and renders the widget markup', () => {
    const script = formAsset(WIDGET_SCRIPT)!;
    expect(script.contentType).toMatch(/^text\/javascript/);
    expect(script.body.toString()).toContain("import './altcha.min.js'");
    expect(formAsset('altcha.min.js')!.body.toString()).toContain('altcha-widget');
    expect(formAsset('pbkdf2.js')!.body.toString()).toContain('PBKDF2');
    expect(formAsset(WIDGET_STYLESHEET)!.contentType).toMatch(/^text\/css/);
    expect(formAsset('altcha.min.js')).toBe(formAsset('altcha.min.js')); // read once
    for (const bad of ['../package.json', 'altcha.js', 'workers/pbkdf2.js', 'constructor', '__proto__', '']) expect(formAsset(bad)).toBeNull();
    const html = widgetHtml('/subscribe/x/challenge?a=1&b="2"');
    expect(html).toContain('challenge="/subscribe/x/challenge?a=1&amp;b=&quot;2&quot;"');
    expect(html).toContain('name="altcha"');
  });
});
