import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { REDIS } from '../queue/queue.module';

const HEARTBEAT_MS = 2_000;
const ALIVE_TTL_MS = 6_000;
const REAP_MS = 3_000;

/**
 * Worker liveness and the recovery of a dead worker's claims. Each worker process renews a key in
 * Redis every 2 s; a claim whose owner's key has expired belongs to a dead worker. Its messages
 * still `sending` were never handed to SMTP and go back to the queue; those `submitting` were in an
 * SMTP transaction at the time of death: their fate is unknown, so they become `unknown`, never
 * silently sent a second time.
 */
@Injectable()
export class ClaimsReaper implements OnModuleInit, OnApplicationShutdown {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(ClaimsReaper.name);
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.beat();
    await this.reap();
    this.timers = [
      setInterval(() => void this.beat().catch((e: Error) => this.logger.warn(`heartbeat: ${e.message}`)), HEARTBEAT_MS),
      setInterval(() => void this.reap().catch((e: Error) => this.logger.warn(`reaper: ${e.message}`)), REAP_MS),
    ];
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.redis.del(`worker:${this.workerId}`).catch(() => undefined);
  }

  /** Recovers the claims of every worker that is no longer alive; returns how many messages moved. */
  async reap(): Promise<number> {
    const owners: { claimed_by: string }[] = await this.db.query(
      `SELECT DISTINCT claimed_by FROM messages WHERE status IN ('sending', 'submitting') AND claimed_by IS NOT NULL`,
    );
    let moved = 0;
    for (const { claimed_by: owner } of owners) {
      if (owner === this.workerId || (await this.redis.exists(`worker:${owner}`))) continue;
      const [, n] = (await this.db.query(
        `UPDATE messages SET status = CASE status WHEN 'sending' THEN 'queued' ELSE 'unknown' END,
           smtp_response = CASE status WHEN 'submitting' THEN 'worker died during the SMTP transaction' ELSE smtp_response END,
           claimed_by = NULL, updated_at = now()
         WHERE claimed_by = $1 AND status IN ('sending', 'submitting')`,
        [owner],
      )) as [unknown, number];
      if (n) this.logger.warn(`recovered ${n} claimed messages of dead worker ${owner}`);
      moved += n;
    }
    return moved;
  }

  private async beat(): Promise<void> {
    await this.redis.set(`worker:${this.workerId}`, '1', 'PX', ALIVE_TTL_MS);
  }
}
