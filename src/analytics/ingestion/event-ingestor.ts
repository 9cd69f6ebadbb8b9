import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { hostname } from 'node:os';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { postgresError } from '../../database/pg-error';
import { eventsIngested } from '../../observability/metrics';
import { EventApplier, StreamEntry } from './event-applier';
import { EVENT_STREAM } from '../../tracking/event-buffer';
import { parseTrackingEvent } from '../../tracking/tracking-event';

const GROUP = 'ingest';
/** Entries a consumer took and did not acknowledge for this long belong to a dead worker: another one takes them over. */
const STALE_MS = 60_000;
const BLOCK_MS = 1_000;

type RawEntry = [id: string, fields: string[]];

/** One consumer of the group: XREADGROUP blocks its connection, so each lane has its own. */
interface Lane {
  consumer: string;
  conn: Redis;
}

/**
 * Drains the event stream into Postgres. Workers share one consumer group, so each entry goes to
 * one of them; a batch is acknowledged (and deleted from the stream) only after its transaction
 * commits. A worker that dies leaves its entries pending, and another takes them over after
 * STALE_MS; an entry applied before the crash is recognised by its id and skipped.
 *
 * A worker runs INGEST_CONCURRENCY consumers ("lanes") side by side, so that one batch is prepared
 * in Node while another is in Postgres. Lanes are consumers like any other worker's: batches lock
 * engagement and counter rows in key order, so they never deadlock.
 */
@Injectable()
export class EventIngestor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(EventIngestor.name);
  private readonly lanes: Lane[];
  private readonly stream: string;
  private running = false;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private lastReclaim = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly applier: EventApplier,
  ) {
    // Stream commands name the key in different places (XGROUP CREATE, XREADGROUP … STREAMS), so it
    // is spelled out, not left to keyPrefix.
    const name = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.lanes = Array.from({ length: config.tracking.ingestConcurrency }, (_, i) => ({
      consumer: `${name}-${i}`,
      conn: new Redis(config.redis.url, { maxRetriesPerRequest: null }),
    }));
    this.stream = `${config.redis.prefix}:${EVENT_STREAM}`;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureGroup(this.lanes[0]);
    this.running = true;
    this.loops = this.lanes.map((lane) => this.run(lane));
  }

  async onModuleDestroy(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const started = this.running;
    this.running = false;
    await Promise.all(this.loops);
    for (const lane of this.lanes) {
      if (started) await this.leaveGroup(lane).catch((e: unknown) => this.log.warn(`consumer ${lane.consumer} left in the group: ${(e as Error).message}`));
      lane.conn.disconnect();
    }
  }

  /**
   * The consumer group, from the start of the stream: events the API buffered before any worker
   * existed count too. Also when Redis has lost it (a restart without persistence, a flush): the
   * stream the API has written since is read from its start.
   */
  private async ensureGroup(lane: Lane): Promise<void> {
    try {
      await lane.conn.xgroup('CREATE', this.stream, GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!String((e as Error).message).includes('BUSYGROUP')) throw e;
    }
  }

  /**
   * A stopped consumer with nothing pending leaves the group, so restarts do not pile up names in
   * it. One with pending entries stays: deleting it would drop them, and XAUTOCLAIM needs them.
   */
  private async leaveGroup(lane: Lane): Promise<void> {
    const pending = (await lane.conn.call('XPENDING', this.stream, GROUP, '-', '+', 1, lane.consumer)) as unknown[];
    if (!pending.length) await lane.conn.call('XGROUP', 'DELCONSUMER', this.stream, GROUP, lane.consumer);
  }

  private async run(lane: Lane): Promise<void> {
    let pendingFirst = true; // the lane's own unacknowledged entries (a failed batch) before new ones
    while (this.running) {
      try {
        await this.reclaimStale(lane);
        await this.step(lane, pendingFirst ? '0' : '>');
        pendingFirst = false;
      } catch (e) {
        pendingFirst = true;
        if (String((e as Error).message).startsWith('NOGROUP')) {
          this.log.warn('the event stream or its consumer group is gone (Redis lost its data?): creating them again');
          await this.ensureGroup(lane).catch(() => undefined);
          continue;
        }
        this.log.error(`event ingestion failed, retrying: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /** One batch, waiting up to BLOCK_MS for it. */
  private async step(lane: Lane, from: '>' | '0'): Promise<void> {
    const reply = (await lane.conn.call(
      'XREADGROUP',
      'GROUP',
      GROUP,
      lane.consumer,
      'COUNT',
      this.config.tracking.ingestBatchSize,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      this.stream,
      from,
    )) as [string, RawEntry[]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length) await this.applyAndAck(lane, entries, from === '>' ? 'first' : 'again');
  }

  /** Entries of consumers that stopped acknowledging (a dead worker's batch). */
  private async reclaimStale(lane: Lane): Promise<void> {
    if (Date.now() - this.lastReclaim < STALE_MS / 2) return;
    this.lastReclaim = Date.now();
    let cursor = '0-0';
    do {
      const [next, entries] = (await lane.conn.call(
        'XAUTOCLAIM',
        this.stream,
        GROUP,
        lane.consumer,
        STALE_MS,
        cursor,
        'COUNT',
        this.config.tracking.ingestBatchSize,
      )) as [string, (RawEntry | null)[]];
      const live = entries.filter((e): e is RawEntry => e !== null);
      if (live.length) {
        this.log.warn(`took over ${live.length} events left by a stopped worker`);
        await this.applyAndAck(lane, live, 'again');
      }
      cursor = next;
    } while (cursor !== '0-0' && this.running);
  }

  private async applyAndAck(lane: Lane, raw: RawEntry[], delivery: 'first' | 'again'): Promise<number> {
    const entries = raw.map(parseEntry);
    const valid = entries.filter((e): e is StreamEntry => e !== null);
    if (valid.length < entries.length) this.log.warn(`${entries.length - valid.length} malformed events dropped`);
    let applied: number;
    try {
      applied = await this.applier.apply(valid, delivery);
    } catch (e) {
      // Also for a batch of one: rethrown, a refused event would be read and refused again forever.
      if (!isDataError(e)) throw e;
      applied = await this.applyOneByOne(entries);
    }
    eventsIngested.inc(applied);
    const ids = raw.map(([id]) => id);
    await lane.conn
      .multi()
      .xack(this.stream, GROUP, ...ids)
      .xdel(this.stream, ...ids)
      .exec();
    return applied;
  }

  /** A batch Postgres refused as data: apply its events alone, so one bad event cannot hold up the rest. */
  private async applyOneByOne(entries: (StreamEntry | null)[]): Promise<number> {
    let applied = 0;
    for (const entry of entries) {
      if (!entry) continue;
      try {
        applied += await this.applier.apply([entry]);
      } catch (e) {
        if (!isDataError(e)) throw e;
        this.log.error(`event ${entry.id} dropped: ${(e as Error).message}`);
      }
    }
    return applied;
  }
}

/** Stream entry id "ms-seq" → ms << 20 | seq: unique, and growing with time like the ids themselves. */
export function entryId(id: string): bigint {
  const dash = id.indexOf('-');
  return (BigInt(id.slice(0, dash)) << 20n) | BigInt(id.slice(dash + 1));
}

/** An entry whose event the ingestor can store, or null (logged and acknowledged with its batch). */
function parseEntry([id, fields]: RawEntry): StreamEntry | null {
  const i = fields.indexOf('e');
  try {
    const event = parseTrackingEvent(JSON.parse(fields[i + 1]));
    return event ? { id: entryId(id), event } : null;
  } catch {
    return null;
  }
}

/** Postgres classes 22 (data exception) and 23 (integrity constraint violation): the data is wrong, retrying will not help. */
function isDataError(e: unknown): boolean {
  const code = postgresError(e)?.code ?? '';
  return code.startsWith('22') || code.startsWith('23');
}
