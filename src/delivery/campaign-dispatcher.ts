import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CampaignsService } from '../campaigns/campaigns.service';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ClaimsReaper } from './claims-reaper';
import { MailTransport } from './mail-transport';
import { CampaignMessageContext, MessageBuilder, Recipient } from './message-builder';
import { classify } from './smtp-outcome';
import { SendThrottle } from './throttle';
import { retryTransient } from './db-retry';

interface Claimed extends Recipient {
  message_id: string;
  list_id: string;
  attempts: number;
}

interface Outcome {
  id: string;
  status: 'sent' | 'failed' | 'queued';
  response: string;
  bounce: 'hard' | 'soft' | null;
  attempt: number;
  retryAt: Date | null;
}

/** What one dispatch run works with: its claim token and the campaign's compiled template, contexts and limits. */
interface Run {
  run: string;
  /** Handed to SMTP, outcome not yet in Postgres: the only claims that must never go back to the queue. */
  handed: Set<string>;
  chunkSize: number;
  limits: { key: string; rate: number }[];
  transport: string;
  compiled: Parameters<MessageBuilder['build']>[0];
  base: CampaignMessageContext;
  lists: Map<string, CampaignMessageContext>;
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
    const compiled = await this.persist(() => this.campaigns.compiled(row));
    const base = await this.persist(() => this.campaigns.messageContext(row));
    const lists = new Map<string, CampaignMessageContext>();
    for (const l of await this.persist(() => this.campaigns.lists(row))) lists.set(l.id, { ...base, list: l });
    const transport = this.config.mail.transports[row.transport];
    const chunkSize = transport.pool;
    const limits = [{ key: `transport:${row.transport}`, rate: transport.rate }];
    if (row.send_rate) limits.push({ key: `campaign:${campaignId}`, rate: Math.min(row.send_rate, transport.rate) });
    const run = this.reaper.startRun();
    const handed = new Set<string>();
    try {
      return await this.sendDue(campaignId, row.audience.lists, { run, handed, chunkSize, limits, transport: row.transport, compiled, base, lists });
    } finally {
      // Normally nothing is left; after an error, or lost replies of `claim` or `markSubmitting`
      // (the statement committed, the connection died), claims no batch holds any more may be.
      await this.persist(() => this.handBack(run, [...handed])).catch((e: Error) => this.logger.warn(`run ${run}: claims left to the reaper (${e.message})`));
      this.reaper.endRun(run);
    }
  }

  private async sendDue(campaignId: string, audience: string[], r: Run): Promise<DispatchResult> {
    const { run, handed, chunkSize, limits } = r;
    for (;;) {
      if (this.draining) return { kind: 'later', at: new Date() };
      if ((await this.persist(() => this.status(campaignId))) !== 'sending') return { kind: 'stopped' };
      const batch = await this.persist(() => this.claim(campaignId, run));
      if (!batch.length) break;
      for (let i = 0; i < batch.length; i += chunkSize) {
        const status = i === 0 ? 'sending' : await this.persist(() => this.status(campaignId));
        if (status !== 'sending' || this.draining) {
          await this.persist(() => this.release(batch.slice(i).map((m) => m.message_id), run, status === 'cancelled' ? 'cancelled' : 'queued'));
          return this.draining && status === 'sending' ? { kind: 'later', at: new Date() } : { kind: 'stopped' };
        }
        const chunk = batch.slice(i, i + chunkSize);
        await this.throttle.acquire(chunk.length, limits);
        // Run again after a lost reply, this finds the chunk already `submitting` and answers
        // nothing: those messages were never sent, and the run hands them back when it ends.
        const owned = new Set(await this.persist(() => this.markSubmitting(chunk.map((m) => m.message_id), run, audience)));
        for (const id of owned) handed.add(id);
        const outcomes = await Promise.all(
          chunk
            .filter((m) => owned.has(m.message_id))
            .map((m) => this.sendOne(m, r.compiled, r.lists.get(m.list_id) ?? r.base, r.transport, limits.map((l) => l.key))),
        );
        // The outcomes are known: they wait here for Postgres rather than become `unknown`.
        await this.persist(() => this.record(outcomes, run));
        handed.clear();
      }
    }
    const [next]: { at: Date | null; busy: boolean }[] = await this.persist(() => this.db.query(
      `SELECT (SELECT min(send_at) FROM messages WHERE campaign_id = $1 AND status = 'queued') AS at,
              EXISTS (SELECT 1 FROM messages WHERE campaign_id = $1 AND status IN ('sending', 'submitting')) AS busy`,
      [campaignId],
    ));
    if (next.at) return { kind: 'later', at: next.at };
    if (next.busy) return { kind: 'later', at: new Date(Date.now() + 5_000) }; // another worker's chunk, or a dead worker's claims
    await this.persist(() => this.db.query(
      `UPDATE campaigns SET status = 'sent', finished_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'sending' AND started_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM messages WHERE campaign_id = $1 AND status IN ('queued', 'sending', 'submitting'))`,
      [campaignId],
    ));
    return { kind: 'done' };
  }

  /**
   * Postgres restarting or failing over drops every connection for a few seconds; a run waits for
   * it instead of failing (and coming back after BullMQ's growing backoff), so its claims and
   * outcomes stay its own and reach the database. Every statement so retried is idempotent under
   * the run's claim token.
   */
  private persist<T>(work: () => Promise<T>): Promise<T> {
    return retryTransient(work, () => this.draining && Date.now() - this.drainingSince > DRAIN_WAIT_MS, (e, attempt) => {
      if (attempt % 10 === 1) this.logger.warn(`database unavailable, retrying: ${e.message}`);
    });
  }

  /**
   * Everything the run still holds goes back to the queue, except messages handed to SMTP whose
   * outcome could not be recorded: maybe delivered, so `unknown`.
   */
  private async handBack(run: string, handed: string[]): Promise<void> {
    const [, n] = (await this.db.query(
      `UPDATE messages SET status = CASE WHEN status = 'submitting' AND id = ANY($2::bigint[]) THEN 'unknown' ELSE 'queued' END,
         smtp_response = CASE WHEN status = 'submitting' AND id = ANY($2::bigint[]) THEN 'the outcome of the SMTP transaction could not be recorded' ELSE smtp_response END,
         claimed_by = NULL, updated_at = now()
       WHERE claimed_by = $1 AND status IN ('sending', 'submitting')`,
      [run, handed],
    )) as [unknown, number];
    if (n) this.logger.warn(`run ${run}: handed back ${n} claimed messages`);
  }

  private async sendOne(m: Claimed, compiled: Parameters<MessageBuilder['build']>[0], ctx: CampaignMessageContext, transport: string, limitKeys: string[]): Promise<Outcome> {
    const attempt = m.attempts + 1;
    try {
      const info = await this.transport.send(this.builder.build(compiled, ctx, m), transport);
      return { id: m.message_id, status: 'sent', response: info.response, bounce: null, attempt, retryAt: null };
    } catch (e) {
      const outcome = classify(e);
      switch (outcome.kind) {
        case 'hard_bounce':
          return { id: m.message_id, status: 'failed', response: outcome.response, bounce: 'hard', attempt, retryAt: null };
        case 'throttled':
          // Best effort: sendOne must not throw while other messages of the chunk are in SMTP.
          await Promise.all(limitKeys.map((k) => this.throttle.slowDown(k))).catch((e: Error) => this.logger.warn(`slow-down not stored: ${e.message}`));
          // The server's pace, not the message's fault: no attempt is used up.
          return { id: m.message_id, status: 'queued', response: outcome.response, bounce: null, attempt: m.attempts, retryAt: new Date(Date.now() + 1_000) };
        case 'retry': {
          this.logger.warn(`message ${m.message_id}: ${outcome.response}; attempt ${attempt} of ${this.config.sending.maxAttempts}`);
          if (attempt >= this.config.sending.maxAttempts) {
            return { id: m.message_id, status: 'failed', response: outcome.response, bounce: 'soft', attempt, retryAt: null };
          }
          const delay = this.config.sending.retryBaseMs * 2 ** (attempt - 1);
          return { id: m.message_id, status: 'queued', response: outcome.response, bounce: null, attempt, retryAt: new Date(Date.now() + delay) };
        }
      }
    }
  }

  /** Due messages, claimed for this run. */
  private async claim(campaignId: string, run: string): Promise<Claimed[]> {
    return this.db.query(
      `WITH due AS (
         SELECT id FROM messages WHERE campaign_id = $1 AND status = 'queued' AND send_at <= now()
         ORDER BY send_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE messages m SET status = 'sending', claimed_by = $3, updated_at = now()
       FROM due, subscribers s
       WHERE m.id = due.id AND s.id = m.subscriber_id
       RETURNING m.id::text AS message_id, m.subscriber_id AS id, m.list_id, m.attempts, s.email, s.name, s.attributes, s.timezone`,
      [campaignId, this.config.sending.batchSize, run],
    ).then(([rows]: [Claimed[], number]) => rows.sort((a, b) => Number(a.message_id) - Number(b.message_id)));
  }

  /**
   * The moment before SMTP: the chunk becomes `submitting`, except messages whose recipient has
   * meanwhile been suppressed or withdrawn consent on every list of the campaign (`skipped`), and
   * claims the reaper took back (not ours any more). Returns the ids to send.
   */
  private async markSubmitting(ids: string[], run: string, lists: string[]): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `WITH chunk AS (
         SELECT m.id, (s.email IS NULL
                 OR EXISTS (SELECT 1 FROM suppressions x WHERE x.email_hash = email_hash(s.email))
                 OR NOT EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.subscriber_id = m.subscriber_id
                                AND sub.list_id = ANY($3::uuid[]) AND sub.status = 'confirmed')) AS blocked
         FROM messages m JOIN subscribers s ON s.id = m.subscriber_id
         WHERE m.id = ANY($1::bigint[]) AND m.claimed_by = $2 AND m.status = 'sending'
       ), marked AS (
         UPDATE messages m SET status = CASE WHEN c.blocked THEN 'skipped' ELSE 'submitting' END,
                claimed_by = CASE WHEN c.blocked THEN NULL ELSE m.claimed_by END, updated_at = now()
         FROM chunk c WHERE m.id = c.id
         RETURNING m.id, c.blocked
       )
       SELECT id::text FROM marked WHERE NOT blocked`,
      [ids, run, lists],
    );
    return rows.map((r) => r.id);
  }

  /** Claims not sent: back to the queue (paused), or cancelled with their campaign. */
  private async release(ids: string[], run: string, to: 'queued' | 'cancelled'): Promise<void> {
    await this.db.query(
      `UPDATE messages SET status = $3, claimed_by = NULL, updated_at = now() WHERE id = ANY($1::bigint[]) AND claimed_by = $2 AND status = 'sending'`,
      [ids, run, to],
    );
  }

  /** Outcomes in one statement; a hard bounce also suppresses the address, in the same transaction. */
  private async record(outcomes: Outcome[], run: string): Promise<void> {
    if (!outcomes.length) return;
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE messages m SET status = v.status, smtp_response = v.response, bounce = v.bounce, attempts = v.attempt,
           send_at = COALESCE(v.retry_at, m.send_at), sent_at = CASE WHEN v.status = 'sent' THEN now() END,
           sent_by = CASE WHEN v.status = 'sent' THEN $8 END, claimed_by = NULL, updated_at = now()
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[]) AS v(id, status, response, bounce, attempt, retry_at)
         WHERE m.id = v.id AND m.claimed_by = $7 AND m.status = 'submitting'`,
        [
          outcomes.map((o) => o.id),
          outcomes.map((o) => o.status),
          outcomes.map((o) => o.response),
          outcomes.map((o) => o.bounce),
          outcomes.map((o) => o.attempt),
          outcomes.map((o) => o.retryAt),
          run,
          this.reaper.workerId,
        ],
      );
      const bounced = outcomes.filter((o) => o.bounce === 'hard');
      if (bounced.length) {
        await tx.query(
          `INSERT INTO suppressions (email_hash, email, reason, note)
           SELECT email_hash(s.email), s.email, 'hard_bounce', left(v.response, 500)
           FROM unnest($1::bigint[], $2::text[]) AS v(id, response) JOIN messages m ON m.id = v.id JOIN subscribers s ON s.id = m.subscriber_id
           WHERE s.email IS NOT NULL
           ON CONFLICT (email_hash) DO NOTHING`,
          [bounced.map((o) => o.id), bounced.map((o) => o.response)],
        );
      }
    });
    const failures = outcomes.filter((o) => o.status !== 'sent').length;
    if (failures) this.logger.debug(`${failures} of ${outcomes.length} messages not delivered yet`);
  }

  private async status(campaignId: string): Promise<string | undefined> {
    const [row]: { status: string }[] = await this.db.query(`SELECT status FROM campaigns WHERE id = $1`, [campaignId]);
    return row?.status;
  }
}
