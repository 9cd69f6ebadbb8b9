import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CampaignSends } from '../campaigns/campaign-sends';
import { REDIS } from '../queue/queue.module';

const HEARTBEAT_MS = 2_000;
const ALIVE_TTL_MS = 6_000;
const REAP_MS = 3_000;

/**
 * Worker liveness and the recovery of claims nobody works on any more. Each worker process renews a
 * key in Redis every 2 s; each dispatch run claims under its own token, `<worker id>/<run>`. Claims
 * are recovered when their worker's key has been missing for a whole TTL (dead), or when their
 * run has ended in this very process without handing them back. Messages still `sending` were never
 * handed to SMTP and go back to the queue; those `submitting` were in an SMTP transaction: their
 * fate is unknown, so they become `unknown`, never silently sent a second time.
 */
@Injectable()
export class ClaimsReaper implements OnModuleInit, OnApplicationShutdown {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(ClaimsReaper.name);
  private timers: NodeJS.Timeout[] = [];
  private runCount = 0;
  /** Tokens of this process's dispatch runs under way. */
  private readonly runs = new Set<string>();
  /** When each other worker's key was first seen missing (and not seen since). */
  private readonly missingSince = new Map<string, number>();
  /** The same for `isDead`: its callers' workers are not the ones `reap` forgets. */
  private readonly othersMissingSince = new Map<string, number>();

  constructor(
    private readonly sends: CampaignSends,
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

  /** A claim token for a dispatch run; its claims are this run's until `endRun`. */
  startRun(): string {
    const token = `${this.workerId}/${++this.runCount}`;
    this.runs.add(token);
    return token;
  }

  /** After this, whatever the run still holds is recovered by the next reap. */
  endRun(token: string): void {
    this.runs.delete(token);
  }

  /**
   * For other senders' claims (transactional and journey mail): of these claim tokens, the ones
   * whose run has stopped — an ended run of this process (`running` says which are under way;
   * by default the runs started here), or any run of a dead worker (see `isDead`).
   */
  async stopped(tokens: string[], running: (token: string) => boolean = (t) => this.runs.has(t)): Promise<string[]> {
    const stale: string[] = [];
    for (const token of tokens) {
      const worker = token.split('/')[0];
      if (worker === this.workerId ? !running(token) : await this.isDead(worker)) stale.push(token);
    }
    return stale;
  }

  /** Recovers the claims of dead workers and of ended runs; returns how many messages moved. */
  async reap(): Promise<number> {
    const byWorker = new Map<string, string[]>();
    for (const token of await this.sends.claimTokens()) {
      const worker = token.split('/')[0];
      byWorker.set(worker, [...(byWorker.get(worker) ?? []), token]);
    }
    for (const worker of this.missingSince.keys()) if (!byWorker.has(worker)) this.missingSince.delete(worker);
    let moved = 0;
    for (const [worker, tokens] of byWorker) {
      const stale = worker === this.workerId ? tokens.filter((t) => !this.runs.has(t)) : (await this.dead(worker)) ? tokens : [];
      if (!stale.length) continue;
      const n = await this.sends.reclaim(stale);
      if (n) this.logger.warn(`recovered ${n} claimed messages of ${worker === this.workerId ? 'ended runs of this worker' : `dead worker ${worker}`}`);
      moved += n;
    }
    return moved;
  }

  /** For other senders' claims (transactional mail): whether a worker that holds some has died (see `dead`). */
  async isDead(worker: string): Promise<boolean> {
    if (worker === this.workerId) return false;
    const dead = await this.dead(worker, this.othersMissingSince);
    if (dead) this.othersMissingSince.delete(worker); // the caller now settles its claims: nothing more to remember
    return dead;
  }

  /**
   * Dead only when the key has been missing for a whole TTL: a Redis restarted without its data
   * (or failed over to an empty replica) has lost every key, and live workers write theirs again
   * only at their next beat. A live worker is never declared dead in that gap.
   */
  private async dead(worker: string, missingSince = this.missingSince): Promise<boolean> {
    if (await this.redis.exists(`worker:${worker}`)) {
      missingSince.delete(worker);
      return false;
    }
    const now = Date.now();
    const since = missingSince.get(worker) ?? now;
    missingSince.set(worker, since);
    return now - since >= ALIVE_TTL_MS;
  }

  private async beat(): Promise<void> {
    await this.redis.set(`worker:${this.workerId}`, '1', 'PX', ALIVE_TTL_MS);
  }
}
