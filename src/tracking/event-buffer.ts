import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { encodeEvent, TrackingEvent } from './tracking-event';

/** The Redis stream every event passes through on its way to Postgres (under REDIS_PREFIX). */
export const EVENT_STREAM = 'events';

/**
 * One XADD per event, all of a batch in one script call with one argument: the events' JSON texts
 * joined by newlines (JSON.stringify never writes a raw newline, it escapes them in strings).
 */
const APPEND_SCRIPT = `
local n = 0
for e in string.gmatch(ARGV[1], '[^\\n]+') do
  redis.call('XADD', KEYS[1], '*', 'e', e)
  n = n + 1
end
return n`;
/** Events per script call at most. */
const MAX_BATCH = 1_000;

type BufferConnection = Redis & { appendEvents(stream: string, events: string): Promise<number> };

interface Waiting {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The durable hand-off between the public endpoints and Postgres: an event is appended to a Redis
 * stream before the request is answered, and the ingestor drains the stream in batches. The
 * stream entry id becomes the event's id in Postgres, so an entry delivered twice (a worker died
 * between its commit and its acknowledgement) is applied once.
 *
 * The events of all the requests handled in one turn of the event loop are appended together, by
 * one script call on the buffer's own connection (one write and one reply instead of one each:
 * per-command client work and socket writes were most of the cost of a pixel). Each append still
 * resolves only once Redis has its entry, and fails if the batch failed.
 *
 * The requests' own work can join the turn's batch too (`batched`): it runs just before the batch
 * is sent, one request's after another's. A token's hash computed right after a request was parsed
 * cost a click several times what the same hash costs next to another one (the code and data it
 * needs are no longer in the CPU's caches), so the tracking routes check their tokens this way.
 */
@Injectable()
export class EventBuffer implements OnApplicationShutdown {
  private readonly redis: BufferConnection;
  private batch: string[] = [];
  private waiting: Waiting[] = [];
  private work: (() => void)[] = [];
  private scheduled = false;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // While Redis is unreachable, an append gives up after three reconnection attempts (about 300 ms)
    // instead of ioredis's twenty (about 30 s): a pixel or a redirect should not wait that long.
    this.redis = new Redis(config.redis.url, { keyPrefix: `${config.redis.prefix}:`, maxRetriesPerRequest: 3 }) as BufferConnection;
    this.redis.defineCommand('appendEvents', { numberOfKeys: 1, lua: APPEND_SCRIPT });
  }

  async onApplicationShutdown(): Promise<void> {
    this.flush();
    await this.redis.quit().catch(() => undefined);
  }

  append(event: TrackingEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.push(encodeEvent(event));
      this.waiting.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Runs `work` with this turn's batch, before its events are sent; what it appends goes with them. */
  batched<T>(work: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.work.push(() => {
        try {
          resolve(work());
        } catch (e) {
          reject(e);
        }
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  async appendMany(events: TrackingEvent[]): Promise<void> {
    await Promise.all(events.map((e) => this.append(e)));
  }

  private flush(): void {
    const work = this.work;
    this.work = [];
    for (const w of work) w();
    this.scheduled = false;
    const batch = this.batch;
    const waiting = this.waiting;
    if (!batch.length) return;
    this.batch = [];
    this.waiting = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) {
      const these = waiting.slice(i, i + MAX_BATCH);
      this.redis.appendEvents(EVENT_STREAM, batch.slice(i, i + MAX_BATCH).join('\n')).then(
        (appended) => {
          if (appended === these.length) for (const w of these) w.resolve();
          else for (const w of these) w.reject(new Error(`${appended} of ${these.length} events appended to the buffer`));
        },
        (e: unknown) => {
          for (const w of these) w.reject(e);
        },
      );
    }
  }
}
