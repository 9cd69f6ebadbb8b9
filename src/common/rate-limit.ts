import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS } from '../queue/queue.module';

/**
 * GCRA with a burst: `limit` requests may come at once, and the allowance refills evenly, one
 * request per window/limit. Kept in Redis, so every API process shares it. Answers the
 * milliseconds to wait before the request would fit (0: it fits, and has been counted).
 */
const HIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local interval = window / tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local newTat = tat + interval
local wait = newTat - now - window
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.ceil(newTat - now))
return 0`;

export interface RateVerdict {
  allowed: boolean;
  /** Whole seconds until a request would be allowed again (for Retry-After); 0 when allowed. */
  retryAfterSeconds: number;
}

@Injectable()
export class RateLimiter {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Counts one request against `key`: at most `limit` within `windowSeconds`. */
  async hit(key: string, limit: number, windowSeconds: number): Promise<RateVerdict> {
    const wait = Number(await this.redis.eval(HIT, 1, `ratelimit:${key}`, String(limit), String(windowSeconds * 1000)));
    return { allowed: wait <= 0, retryAfterSeconds: wait <= 0 ? 0 : Math.ceil(wait / 1000) };
  }
}
