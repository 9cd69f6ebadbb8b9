import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SubscribersService } from '../audience/subscribers.service';
import { SuppressionsService } from '../audience/suppressions.service';
import { CampaignSends, ClaimedMessage, SendOutcome } from '../campaigns/campaign-sends';
import { CampaignsService, CompiledMail } from '../campaigns/campaigns.service';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { Recipient } from '../content/message-render';
import { ClaimsReaper } from './claims-reaper';
import { retryTransient } from './db-retry';
import { MailTransport } from './mail-transport';
import { CampaignMessageContext, MessageBuilder } from './message-builder';
import { afterFailure } from './smtp-outcome';
import { SendThrottle } from './throttle';

/** A claimed message with its recipient's profile. */
interface Claimed extends ClaimedMessage {
  to: Recipient;
}

/** What one dispatch run works with: its claim token and the campaign's compiled template, contexts and limits. */
interface Run {
  run: string;
  /** Handed to SMTP, outcome not yet in Postgres: the only claims that must never go back to the queue. */
  handed: Set<string>;
  chunkSize: number;
  limits: { key: string; rate: number }[];
  transport: string;
  /** One per variant (one without variants). */
  mails: CompiledMail[];
  base: CampaignMessageContext;
  lists: Map<string, CampaignMessageContext>;
  /** Per variant and list: the list's context with the variant's from name. */
  contexts: Map<string, CampaignMessageContext>;
}

/** How long a stopping process still waits for Postgres to record what it knows. */
const DRAIN_WAIT_MS = 5_000;

export type DispatchResult = { kind: 'done' } | { kind: 'stopped' } | { kind: 'later'; at: Date };

/**
 * Sends a campaign's due messages. Claims a batch in Postgres (FOR UPDATE SKIP LOCKED: workers never
 * take the same row), then sends chunk by chunk, one chunk as wide as the transport's connection pool:
 *   throttle → re-check suppression and consent, mark the chunk `submitting` → SMTP in parallel →
 *   record outcomes in one UPDATE.
 * A message is `submitting` only while its SMTP transaction may be under way, so a crash leaves at
 * most one chunk per run of unknown fate; everything merely claimed goes back to the queue.
 * Each run claims under its own token, so that whatever it still holds when it ends — on an error
 * too — is handed back by it, or by the reaper, and never stays claimed under a live worker.
 * The campaign's status is read before every chunk: pause and cancel stop within one chunk.
 */
@Injectable()
export class CampaignDispatcher implements OnModuleDestroy {
  private readonly logger = new Logger(CampaignDispatcher.name);
  /** SIGTERM: finish the chunk in flight, hand the rest back, stop. */
  private draining = false;
  private drainingSince = 0;
  private readonly running = new Set<Promise<DispatchResult>>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly campaigns: CampaignsService,
    private readonly sends: CampaignSends,
    private readonly subscribers: SubscribersService,
    private readonly suppressions: SuppressionsService,
    private readonly builder: MessageBuilder,
    private readonly transport: MailTransport,
    private readonly throttle: SendThrottle,
    private readonly reaper: ClaimsReaper,
  ) {}

  /** Nest's first shutdown hook; the mail transport closes in the last one, so in-flight chunks end normally. */
  async onModuleDestroy(): Promise<void> {
    this.draining = true;
    this.drainingSince = Date.now();
    await Promise.allSettled([...this.running]);
  }

  run(campaignId: string): Promise<DispatchResult> {
    const p = this.dispatch(campaignId);
    this.running.add(p);
    return p.finally(() => this.running.delete(p));
  }

  private async dispatch(campaignId: string): Promise<DispatchResult> {
    const row = await this.persist(() => this.campaigns.row(campaignId));
    // Before its audience is resolved there is nothing to send; the start job dispatches after it.
    if (row.status !== 'sending' || !row.started_at) return { kind: 'stopped' };
    const mails = await this.persist(() => this.campaigns.compiled(row));
    const base = await this.persist(() => this.campaigns.messageContext(row));
    const lists = new Map<string, CampaignMessageContext>();
    for (const l of await this.persist(() => this.campaigns.listsOf(row))) lists.set(l.id, { ...base, list: l });
    const transport = this.config.mail.transports[row.transport];
    const chunkSize = transport.pool;
    const limits = [{ key: `transport:${row.transport}`, rate: transport.rate }];
    if (row.send_rate) limits.push({ key: `campaign:${campaignId}`, rate: Math.min(row.send_rate, transport.rate) });
    const run = this.reaper.startRun();
    const handed = new Set<string>();
    let result: DispatchResult;
    try {
      result = await this.sendDue(campaignId, row.audience.lists, {
        run,
        handed,
        chunkSize,
        limits,
        transport: row.transport,
        mails,
        base,
        lists,
        contexts: new Map(),
      });
    } finally {
      // Normally nothing is left; after an error, or lost replies of `claim` or `markSubmitting`
      // (the statement committed, the connection died), claims no batch holds any more may be.
      await this.persist(() => this.handBack(run, [...handed])).catch((e: Error) => this.logger.warn(`run ${run}: claims left to the reaper (${e.message})`));
      this.reaper.endRun(run);
    }
    if (result.kind === 'stopped') await this.persist(() => this.sends.keepCancelledCounts(campaignId));
    return result;
  }

  private async sendDue(campaignId: string, audience: string[], r: Run): Promise<DispatchResult> {
    const { run, handed, chunkSize, limits } = r;
    for (;;) {
      if (this.draining) return { kind: 'later', at: new Date() };
      if ((await this.persist(() => this.sends.status(campaignId))) !== 'sending') return { kind: 'stopped' };
      const batch = await this.persist(() => this.claim(campaignId, run));
      if (!batch.length) break;
      for (let i = 0; i < batch.length; i += chunkSize) {
        const status = i === 0 ? 'sending' : await this.persist(() => this.sends.status(campaignId));
        if (status !== 'sending' || this.draining) {
          await this.persist(() =>
            this.sends.release(
              batch.slice(i).map((m) => m.messageId),
              run,
              status === 'cancelled' ? 'cancelled' : 'queued',
            ),
          );
          return this.draining && status === 'sending' ? { kind: 'later', at: new Date() } : { kind: 'stopped' };
        }
        const chunk = batch.slice(i, i + chunkSize);
        await this.throttle.acquire(chunk.length, limits);
        // Run again after a lost reply, this finds the chunk already `submitting` and answers
        // nothing: those messages were never sent, and the run hands them back when it ends.
        const owned = new Set(
          await this.persist(() =>
            this.sends.markSubmitting(
              chunk.map((m) => m.messageId),
              run,
              audience,
            ),
          ),
        );
        for (const id of owned) handed.add(id);
        const outcomes = await Promise.all(
          chunk
            .filter((m) => owned.has(m.messageId))
            .map((m) =>
              this.sendOne(
                m,
                r.mails[m.variant ?? 0],
                this.contextOf(r, m),
                r.transport,
                limits.map((l) => l.key),
              ),
            ),
        );
        // The outcomes are known: they wait here for Postgres rather than become `unknown`.
        await this.persist(() => this.record(chunk, outcomes, run));
        handed.clear();
      }
    }
    const next = await this.persist(() => this.sends.nextDue(campaignId));
    if (next.at) return { kind: 'later', at: next.at };
    if (next.busy) return { kind: 'later', at: new Date(Date.now() + 5_000) }; // another worker's chunk, or a dead worker's claims
    await this.persist(() => this.sends.complete(campaignId));
    return { kind: 'done' };
  }

  /**
   * Postgres restarting or failing over drops every connection for a few seconds; a run waits for
   * it instead of failing (and coming back after BullMQ's growing backoff), so its claims and
   * outcomes stay its own and reach the database. Every statement so retried is idempotent under
   * the run's claim token.
   */
  private persist<T>(work: () => Promise<T>): Promise<T> {
    return retryTransient(
      work,
      () => this.draining && Date.now() - this.drainingSince > DRAIN_WAIT_MS,
      (e, attempt) => {
        if (attempt % 10 === 1) this.logger.warn(`database unavailable, retrying: ${e.message}`);
      },
    );
  }

  /**
   * Everything the run still holds goes back to the queue, except messages handed to SMTP whose
   * outcome could not be recorded: maybe delivered, so `unknown`.
   */
  private async handBack(run: string, handed: string[]): Promise<void> {
    const n = await this.sends.handBack(run, handed);
    if (n) this.logger.warn(`run ${run}: handed back ${n} claimed messages`);
  }

  /** The message's list context, with its variant's from name when that differs. */
  private contextOf(r: Run, m: Claimed): CampaignMessageContext {
    const list = r.lists.get(m.listId) ?? r.base;
    const fromName = m.variant === null ? undefined : r.mails[m.variant].fromName;
    if (!fromName) return list;
    const key = `${m.variant}:${m.listId}`;
    let ctx = r.contexts.get(key);
    if (!ctx) r.contexts.set(key, (ctx = { ...list, fromName }));
    return ctx;
  }

  private async sendOne(m: Claimed, mail: CompiledMail, ctx: CampaignMessageContext, transport: string, limitKeys: string[]): Promise<SendOutcome> {
    const attempt = m.attempts + 1;
    const id = m.messageId;
    try {
      const info = await this.transport.send(this.builder.build(mail.template, ctx, m.to, { firstSlot: mail.firstSlot }), transport);
      return { id, status: 'sent', response: info.response, bounce: null, attempt, retryAt: null };
    } catch (e) {
      const { throttled, ...outcome } = afterFailure(e, m.attempts, this.config.sending);
      // Best effort: sendOne must not throw while other messages of the chunk are in SMTP.
      if (throttled)
        await Promise.all(limitKeys.map((k) => this.throttle.slowDown(k))).catch((e: Error) => this.logger.warn(`slow-down not stored: ${e.message}`));
      else if (!outcome.bounce || outcome.bounce === 'soft')
        this.logger.warn(`message ${id}: ${outcome.response}; attempt ${attempt} of ${this.config.sending.maxAttempts}`);
      return { id, ...outcome };
    }
  }

  /** Due messages, claimed for this run, with their recipients' profiles. */
  private async claim(campaignId: string, run: string): Promise<Claimed[]> {
    const claimed = await this.sends.claim(campaignId, run, this.config.sending.batchSize);
    const profiles = new Map((await this.subscribers.profiles(claimed.map((m) => m.subscriberId))).map((p) => [p.id, p]));
    // An erased profile has no address: the permission re-check before SMTP skips it.
    return claimed.map((m) => {
      const p = profiles.get(m.subscriberId);
      return { ...m, to: { id: m.subscriberId, email: p?.email ?? '', name: p?.name ?? null, attributes: p?.attributes ?? {}, timezone: p?.timezone ?? null } };
    });
  }

  /** Outcomes in one statement; a hard bounce also suppresses the address, in the same transaction. */
  private async record(chunk: Claimed[], outcomes: SendOutcome[], run: string): Promise<void> {
    if (!outcomes.length) return;
    const emails = new Map(chunk.map((m) => [m.messageId, m.to.email]));
    const bounced = outcomes.filter((o) => o.bounce === 'hard');
    await this.db.transaction(async (tx) => {
      await this.sends.record(tx, outcomes, run, this.reaper.workerId);
      if (bounced.length)
        await this.suppressions.suppressMany(
          tx,
          bounced.map((o) => ({ email: emails.get(o.id)!, reason: 'hard_bounce', note: o.response.slice(0, 500) })),
        );
    });
    const failures = outcomes.filter((o) => o.status !== 'sent').length;
    if (failures) this.logger.debug(`${failures} of ${outcomes.length} messages not delivered yet`);
  }
}
