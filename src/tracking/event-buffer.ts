import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS } from '../queue/queue.module';
import type { TrackingEvent } from './tracking-event';

/** The Redis stream every event passes through on its way to Postgres (under REDIS_PREFIX). */
export const EVENT_STREAM = 'events';

/**
 * The durable hand-off between the public endpoints and Postgres: an event is appended to a Redis
 * stream before the request is answered, and the ingestor drains the stream in batches. The
 * stream entry id becomes the event's id in Postgres, so an entry delivered twice (a worker died
 * between its commit and its acknowledgement) is applied once.
 */
@Injectable()
export class EventBuffer {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async append(event: TrackingEvent): Promise<void> {
    await this.redis.xadd(EVENT_STREAM, '*', 'e', JSON.stringify(event));
  }

  async appendMany(events: TrackingEvent[]): Promise<void> {
    if (!events.length) return;
    const pipeline = this.redis.pipeline();
    for (const e of events) pipeline.xadd(EVENT_STREAM, '*', 'e', JSON.stringify(e));
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }
}
