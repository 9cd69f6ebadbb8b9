import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SubscribersService } from '../audience/subscribers.service';
import { SuppressionsService } from '../audience/suppressions.service';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { Recipient } from '../content/message-render';
import { TemplateCompiler } from '../content/template-compiler';
import { TemplatesService } from '../content/templates.service';
import { ClaimsReaper } from '../delivery/claims-reaper';
import { retryTransient } from '../delivery/db-retry';
import { MailTransport } from '../delivery/mail-transport';
import { MessageBuilder } from '../delivery/message-builder';
import { classify } from '../delivery/smtp-outcome';
import { SendThrottle } from '../delivery/throttle';
import { CampaignLinks } from '../tracking/campaign-links';
import { TransactionalMessagesRepository, TransactionalOutcome, TransactionalRow } from './transactional-messages.repository';
import { TransactionalService } from './transactional.service';

export type SendResult = { kind: 'done' } | { kind: 'later'; at: Date };

/** The default transport: transactional mail goes out like campaigns, through the same pool and rate. */
const TRANSPORT = 'default';

/**
 * Sends one transactional message, exactly once:
 *   build (template, data, tracking) → throttle → re-check suppression → claim (queued →
 *   submitting under the run's token) → SMTP → record the outcome.
 * A message is `submitting` only while its SMTP transaction may be under way; a worker killed
 * then leaves it so, and the reconciler makes it `unknown` — never a second send. 4xx and
 * connection errors go back to `queued` with backoff; a 5xx fails it and suppresses the address as
 * a hard bounce, in the same transaction.
 */
@Injectable()
export class TransactionalSender implements OnModuleDestroy {
  private readonly logger = new Logger(TransactionalSender.name);
  private runCount = 0;
  /** Tokens of this process's sends under way: a `submitting` row of this worker under another token was abandoned. */
  readonly runs = new Set<string>();
  private readonly linksStored = new Set<string>();
  private draining = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly messages: TransactionalMessagesRepository,
    private readonly rules: TransactionalService,
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    private readonly links: CampaignLinks,
    private readonly subscribers: SubscribersService,
    private readonly suppressions: SuppressionsService,
    private readonly builder: MessageBuilder,
    private readonly transport: MailTransport,
    private readonly throttle: SendThrottle,
    private readonly reaper: ClaimsReaper,
  ) {}

  onModuleDestroy(): void {
    this.draining = true;
  }

  get workerId(): string {
    return this.reaper.workerId;
  }

  async send(id: string): Promise<SendResult> {
    const row = await this.messages.find(id);
    if (!row || row.status !== 'queued') return { kind: 'done' };
    if (row.next_attempt_at.getTime() > Date.now()) return { kind: 'later', at: row.next_attempt_at };
    let mail: ReturnType<MessageBuilder['build']>;
    try {
      mail = await this.build(row);
    } catch (e) {
      // A template that no longer renders (its data): no attempt would do better.
      await this.messages.settle(id, 'failed', `not built: ${(e as Error).message}`.slice(0, 1000));
      return { kind: 'done' };
    }
    const transport = this.config.mail.transports[TRANSPORT];
    const key = `transport:${TRANSPORT}`;
    await this.throttle.acquire(1, [{ key, rate: transport.rate }]);
    // A bounce or complaint may have arrived since the request was accepted.
    const blocked = await this.rules.blockedReason(this.db.manager, row.to_email);
    if (blocked) {
      await this.messages.settle(id, 'skipped', `suppressed: ${blocked}`);
      return { kind: 'done' };
    }
    if (this.draining) return { kind: 'later', at: new Date() };
    const run = `${this.reaper.workerId}/t${++this.runCount}`;
    this.runs.add(run);
    try {
      if (!(await this.messages.claim(id, run))) return { kind: 'done' }; // another job has it
      const outcome = await this.attempt(mail, row.attempts + 1, key);
      // The outcome is known: it waits for Postgres rather than become `unknown`.
      await retryTransient(
        () => this.record(row, run, outcome),
        () => false,
        (e, n) => n % 10 === 1 && this.logger.warn(`message ${id}: database unavailable, retrying: ${e.message}`),
      );
      return outcome.status === 'queued' ? { kind: 'later', at: outcome.retryAt! } : { kind: 'done' };
    } finally {
      this.runs.delete(run);
    }
  }

  private async build(row: TransactionalRow): Promise<ReturnType<MessageBuilder['build']>> {
    const v = await this.templates.version(row.template_id, row.template_version);
    const subject = row.subject ?? v.subject ?? '';
    const compiled = await this.compiler.compile(`${v.templateId}:${v.version}:${subject}`, v.mjml, subject);
    // The mailing's link slots, stored once per template version and process (an idempotent upsert).
    const slots = `${row.mailing_id}:${v.version}`;
    if (compiled.links.length && !this.linksStored.has(slots)) {
      await this.links.store(row.mailing_id, compiled.links, null);
      this.linksStored.add(slots);
    }
    const [profile] = await this.subscribers.profiles([row.subscriber_id]);
    const to: Recipient = {
      id: row.subscriber_id,
      email: row.to_email,
      name: profile?.name ?? null,
      attributes: profile?.attributes ?? {},
      timezone: profile?.timezone ?? null,
    };
    const from = parseFrom(this.config.mail.from);
    const context = {
      id: row.mailing_id,
      name: 'transactional',
      fromName: row.from_name ?? from.name,
      fromEmail: row.from_email ?? from.address,
      replyTo: null,
      data: row.data,
      postalAddress: this.config.content.postalAddress,
      list: null,
    };
    return this.builder.build(compiled, context, to, { transactional: { tag: row.id.replace(/-/g, '') } });
  }

  private async attempt(mail: ReturnType<MessageBuilder['build']>, attempt: number, key: string): Promise<TransactionalOutcome & { bounce: boolean }> {
    try {
      const info = await this.transport.send(mail, TRANSPORT);
      return { status: 'sent', response: info.response, retryAt: null, bounce: false };
    } catch (e) {
      const outcome = classify(e);
      if (outcome.kind === 'hard_bounce') return { status: 'failed', response: outcome.response, retryAt: null, bounce: true };
      if (outcome.kind === 'throttled') await this.throttle.slowDown(key).catch((err: Error) => this.logger.warn(`slow-down not stored: ${err.message}`));
      if (attempt >= this.config.sending.maxAttempts) return { status: 'failed', response: outcome.response, retryAt: null, bounce: false };
      const delay = this.config.sending.retryBaseMs * 2 ** (attempt - 1);
      return { status: 'queued', response: outcome.response, retryAt: new Date(Date.now() + delay), bounce: false };
    }
  }

  /** The outcome, and for a hard bounce the suppression (through the audience, its one writer), in one transaction. */
  private async record(row: TransactionalRow, run: string, o: TransactionalOutcome & { bounce: boolean }): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.messages.record(tx, row.id, run, o)))
        this.logger.warn(`message ${row.id}: no longer claimed by ${run}; outcome ${o.status} not recorded`);
      if (o.bounce) await this.suppressions.suppress(tx, row.to_email, 'hard_bounce', o.response.slice(0, 500));
    });
  }
}

/** MAIL_FROM as name and address: `Name <address>` or a bare address. */
export function parseFrom(from: string): { name: string; address: string } {
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(from);
  return m ? { name: m[1].trim(), address: m[2].trim() } : { name: '', address: from.trim() };
}
