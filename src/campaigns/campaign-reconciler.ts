import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { OnePassAtATime } from '../common/one-pass';
import { REDIS } from '../queue/queue.module';
import { CampaignLifecycle } from './campaign-lifecycle.service';
import { CampaignsRepository } from './campaigns.repository';

const RECONCILE_MS = 10_000;

/**
 * State lives in Postgres, the work in Redis. A Redis restarted without persistence (or flushed, or
 * failed over to an empty replica) has lost every job, while the processes stay up: so every worker
 * re-creates the jobs of scheduled and sending campaigns at start, every 10 s, and as soon as its
 * Redis connection comes back — idempotent by job id, a job that exists is left alone.
 */
@Injectable()
export class CampaignReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CampaignReconciler.name);
  private timer?: NodeJS.Timeout;
  private readonly passes = new OnePassAtATime(
    () => this.reconcile(),
    (e) => this.logger.warn(`reconciliation: ${e.message}`),
  );
  private readonly onReconnect = () => this.passes.tick();

  constructor(
    private readonly campaigns: CampaignsRepository,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly lifecycle: CampaignLifecycle,
  ) {}

  /** After a restart of this worker: fresh dispatch jobs, as the dead worker's stay locked in Redis a while. */
  async onApplicationBootstrap(): Promise<void> {
    const rows = await this.campaigns.moving();
    for (const r of rows) {
      if (r.status === 'sending' && r.started) await this.lifecycle.dispatch(r.id, true);
      else await this.lifecycle.ensureJobs(r.id, r.status, r.started);
    }
    if (rows.length) this.logger.log(`reconciled ${rows.length} scheduled or sending campaigns`);
    this.timer = setInterval(() => this.passes.tick(), RECONCILE_MS);
    this.redis.on('ready', this.onReconnect); // the first 'ready' is past: this is every reconnection
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.redis.off('ready', this.onReconnect);
    await this.passes.settled();
  }

  async reconcile(): Promise<void> {
    for (const r of await this.campaigns.moving()) await this.lifecycle.ensureJobs(r.id, r.status, r.started);
  }
}
