import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { normalizeTimeZone } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { DataSource, EntityManager } from 'typeorm';
import { AppError } from '../common/errors';
import { QUEUES } from '../queue/queue.module';
import { IllegalTransition } from './campaign.errors';
import { MessagesRepository } from './messages.repository';
import { CampaignsRepository, CampaignStatus, TransitionChanges } from './campaigns.repository';
import { CampaignsService } from './campaigns.service';
import { CampaignDto, ScheduleDto } from './dto/campaign.dto';

export type { CampaignStatus };
export type CampaignAction = 'schedule' | 'send' | 'pause' | 'resume' | 'cancel';

/** Which states each action may leave from, and where it goes. */
const TRANSITIONS: Record<CampaignAction, { from: CampaignStatus[]; to: CampaignStatus }> = {
  schedule: { from: ['draft', 'scheduled'], to: 'scheduled' },
  send: { from: ['draft', 'scheduled'], to: 'sending' },
  pause: { from: ['sending'], to: 'paused' },
  resume: { from: ['paused'], to: 'sending' },
  cancel: { from: ['scheduled', 'sending', 'paused'], to: 'cancelled' },
};

/** Latest offset from UTC (Kiribati, UTC+14): a local-time send starts when its earliest zone reaches the time. */
const EARLIEST_ZONE_MS = 14 * 3_600_000;

export interface CampaignJob {
  campaignId: string;
}

/**
 * The campaign state machine: draft → scheduled → sending ⇄ paused → sent, cancelled from
 * scheduled, sending or paused. State lives in Postgres; the work is BullMQ jobs in Redis: a delayed
 * `start` job (audience resolution) and `dispatch` jobs that send. Workers re-read the state before
 * every batch, so pause and cancel take effect within one batch.
 */
@Injectable()
export class CampaignLifecycle {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QUEUES.campaigns) private readonly queue: Queue<CampaignJob>,
    private readonly campaigns: CampaignsService,
    private readonly repository: CampaignsRepository,
    private readonly messages: MessagesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `{at}`: at that instant. `{at, localTime: true}`: at that wall-clock time in each recipient's zone. */
  async schedule(id: string, dto: ScheduleDto): Promise<CampaignDto> {
    const localTime = dto.localTime === true;
    // For a local-time send the stored time is the wall-clock time, kept in UTC fields.
    const at = localTime ? wallClockAsUtc(dto.at) : new Date(dto.at);
    await this.transition(id, 'schedule', {
      scheduledAt: at,
      localTime,
      defaultTimezone: (dto.timezone && normalizeTimeZone(dto.timezone)) || this.config.defaultTimezone,
    });
    const existing = await this.queue.getJob(`start-${id}`);
    if (existing) await existing.remove().catch(() => undefined);
    await this.ensureStartJob(id);
    return this.campaigns.get(id);
  }

  async send(id: string): Promise<CampaignDto> {
    await this.transition(id, 'send', { scheduledAt: 'now', localTime: false });
    const existing = await this.queue.getJob(`start-${id}`);
    if (existing) await existing.remove().catch(() => undefined);
    await this.queue.add('start', { campaignId: id }, { jobId: `start-${id}-now`, ...JOB_OPTIONS });
    return this.campaigns.get(id);
  }

  async pause(id: string): Promise<CampaignDto> {
    await this.transition(id, 'pause', {});
    return this.campaigns.get(id);
  }

  async resume(id: string): Promise<CampaignDto> {
    await this.transition(id, 'resume', {});
    await this.dispatch(id);
    return this.campaigns.get(id);
  }

  async cancel(id: string): Promise<CampaignDto> {
    await this.db.transaction(async (tx) => {
      await this.transition(id, 'cancel', { finished: true }, tx);
      await this.messages.cancelQueued(tx, id);
      await this.repository.keepCancelledCounts(id, tx);
    });
    const start = await this.queue.getJob(`start-${id}`);
    if (start) await start.remove().catch(() => undefined);
    return this.campaigns.get(id);
  }

  /** Re-creates a scheduled campaign's start job from Postgres (a no-op when it exists). */
  async ensureStartJob(id: string): Promise<void> {
    const row = await this.campaigns.row(id);
    if (row.status !== 'scheduled' || !row.scheduled_at) return;
    const startAt = row.local_time ? row.scheduled_at.getTime() - EARLIEST_ZONE_MS : row.scheduled_at.getTime();
    await this.queue.add('start', { campaignId: id }, { jobId: `start-${id}`, delay: Math.max(0, startAt - Date.now()), ...JOB_OPTIONS });
  }

  /**
   * The campaign's dispatch jobs, several so that several workers share it, one per slot:
   * `dispatch-<campaign>-<slot>`. A slot whose job still exists is left alone, so calling this
   * again (a retried start, the reconciler) adds only what is missing. `fresh` adds new ones
   * whatever exists: a restarted worker's, while the jobs of a worker that died stay locked in
   * Redis until BullMQ finds them stalled. Extra jobs are harmless: they share the claims.
   */
  async dispatch(id: string, fresh = false): Promise<void> {
    const tag = fresh ? `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}-` : '';
    await this.queue.addBulk(
      Array.from({ length: this.campaigns.dispatchJobs }, (_, i) => ({
        name: 'dispatch',
        data: { campaignId: id },
        opts: { jobId: `dispatch-${id}-${tag}${i}`, ...JOB_OPTIONS },
      })),
    );
  }

  /**
   * The jobs a scheduled or sending campaign needs, re-created from Postgres when Redis has lost
   * them (a restart without persistence, a flush, a failover to an empty replica); idempotent by
   * job id. A scheduled campaign's start job is added only when missing: `schedule` replaces it,
   * and an add racing with that must not bring back the previous time.
   */
  async ensureJobs(id: string, status: 'scheduled' | 'sending', started: boolean): Promise<void> {
    if (status === 'scheduled') {
      if (!(await this.queue.getJob(`start-${id}`))) await this.ensureStartJob(id);
    } else if (!started) {
      await this.queue.add('start', { campaignId: id }, { jobId: `start-${id}-now`, ...JOB_OPTIONS });
    } else {
      await this.dispatch(id);
    }
  }

  private async transition(id: string, action: CampaignAction, changes: TransitionChanges, tx: EntityManager = this.db.manager): Promise<void> {
    const { from, to } = TRANSITIONS[action];
    if (await this.repository.transition(tx, id, from, to, changes)) return;
    const current = await this.campaigns.row(id); // 404 when it does not exist
    throw new IllegalTransition(id, action, from, current.status);
  }
}

/**
 * Failed jobs are removed (the processor logs them): a failed job kept under its id would stop the
 * reconciler from adding that id again, and the campaign would wait for it forever.
 */
export const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true, attempts: 20, backoff: { type: 'exponential', delay: 1000 } } as const;

/** The wall-clock fields of an ISO time as written ("2026-12-01T09:00", offset ignored), as if UTC. */
export function wallClockAsUtc(iso: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(iso);
  if (!m) throw AppError.invalid('at', 'must be an ISO date-time such as 2026-12-01T09:00:00');
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0)));
}
