import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { QUEUES } from '../queue/queue.module';

export type JourneyJob = { kind: 'tick' } | { kind: 'dates' };
export type JourneySendJob = { kind: 'send' };

/** After a change that is not yet committed (a trigger inside its transaction): long enough for the commit, short for the person. */
const SOON_MS = 250;

/**
 * Timers are delayed BullMQ jobs, one per second in which something falls due (the job id is the
 * second, so a thousand people waiting until the same moment make one job). A `tick` runs every
 * enrolment due by then, a `send` every journey mail due. Postgres holds the truth: the timers are
 * rebuilt from it at start, and a periodic check re-adds any that went missing.
 */
@Injectable()
export class JourneyTimers {
  private readonly logger = new Logger(JourneyTimers.name);

  constructor(
    @InjectQueue(QUEUES.journeys) private readonly queue: Queue<JourneyJob>,
    @InjectQueue(QUEUES.journeySends) private readonly sends: Queue<JourneySendJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Ticks at these moments (rounded up to the second). */
  async wake(moments: Date[]): Promise<void> {
    await this.queue.addBulk(jobs('tick', moments));
  }

  /** A tick shortly: something became due in a transaction about to commit. */
  wakeSoon(): void {
    // Its own id per tenth of a second: a tick already running under the second's id would not see this change.
    const at = Date.now() + SOON_MS;
    this.queue
      .add('tick', { kind: 'tick' }, { jobId: `soon-${Math.floor(at / 100)}`, delay: SOON_MS, removeOnComplete: true, removeOnFail: true })
      .catch((e: Error) => this.logger.warn(`journey timer not added (the periodic check will): ${e.message}`));
  }

  /** Journey mail to send at these moments. */
  async sendAt(moments: Date[]): Promise<void> {
    await this.sends.addBulk(jobs('send', moments));
  }
}

/** One job per second among `moments` (rounded up), its id the second. */
function jobs<K extends 'tick' | 'send'>(kind: K, moments: Date[]) {
  const seconds = new Set(moments.map((m) => Math.ceil(m.getTime() / 1000)));
  const now = Date.now();
  return [...seconds].map((s) => ({
    name: kind,
    data: { kind },
    opts: {
      jobId: `${kind}-${s}`,
      delay: Math.max(0, s * 1000 - now),
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 5,
      backoff: { type: 'exponential', delay: 500 },
    },
  }));
}
