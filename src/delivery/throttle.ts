import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS } from '../queue/queue.module';

// GCRA in Redis: one "theoretical arrival time" per key, shared by every worker on every machine.
// Takes n permits if they fit within one second of burst, else answers how long to wait.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = 1000 / tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local newTat = tat + n * interval
local wait = newTat - now - 1000
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.ceil(newTat - now) + 1000)
return 0`;

/**
 * Messages per second across all workers, per transport and per campaign. A throttling reply from
 * the mail server (421, 454) halves the transport's rate for a minute.
 */
@Injectable()
export class SendThrottle {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Waits until `n` messages may go under every given (key, rate) limit. */
  async acquire(n: number, limits: { key: string; rate: number }[]): Promise<void> {
    for (const { key, rate } of limits) {
      const factor = Number((await this.redis.get(`throttle:slow:${key}`)) ?? 1);
      for (;;) {
        const wait = Number(await this.redis.eval(ACQUIRE, 1, `throttle:${key}`, String(Math.max(rate * factor, 0.1)), String(n)));
        if (wait <= 0) break;
        await new Promise((r) => setTimeout(r, Math.min(wait, 1000)));
      }
    }
  }

  /** The server asked us to slow down: halve the rate (down to 1/16) for a minute. */
  async slowDown(key: string): Promise<void> {
    const current = Number((await this.redis.get(`throttle:slow:${key}`)) ?? 1);
    await this.redis.set(`throttle:slow:${key}`, String(Math.max(current / 2, 1 / 16)), 'EX', 60);
  }
}
