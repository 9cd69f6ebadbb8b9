import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { StatsService } from '../analytics/stats.service';
import { AddressSuppressed } from '../audience/audience.errors';
import type { SuppressionReason } from '../audience/audience.entities';
import { SubscriberIdentities } from '../audience/subscriber-identities.service';
import { SuppressionsService } from '../audience/suppressions.service';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import { TemplateCompiler } from '../content/template-compiler';
import { TemplatesService } from '../content/templates.service';
import type { Queryable } from '../database/queryable';
import { QUEUES } from '../queue/queue.module';
import { SendTransactionalDto, TransactionalMessageDto, TransactionalStatsDto } from './dto/transactional.dto';
import { transactionalMailingId } from './mailing-id';
import { TransactionalMessagesRepository, TransactionalRow } from './transactional-messages.repository';

/**
 * Suppression reasons that stop transactional mail too. `unsubscribed` does not: unsubscribing
 * withdraws marketing consent, and a receipt or a password reset is not marketing. `manual` does:
 * an operator listed the address so that it gets no mail from us at all (a spam trap, a legal
 * request), which a receipt would break as surely as a newsletter.
 */
const BLOCKING: ReadonlySet<SuppressionReason> = new Set(['hard_bounce', 'complaint', 'erased', 'manual']);

export interface TransactionalJob {
  messageId: string;
}

/** Job options: the job id is the message id, so enqueueing a message twice makes one job. */
export function transactionalJob(messageId: string, delayMs = 0) {
  return {
    jobId: messageId,
    delay: delayMs > 0 ? delayMs : undefined,
    removeOnComplete: true,
    removeOnFail: true,
    // Unexpected errors (Postgres away): SMTP outcomes are retried by the sender itself.
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000 },
  };
}

/**
 * Transactional mail, the rules: accepted for any address that is not blocked (no list consent
 * needed: an email someone asked for is not marketing), linked to a subscriber created without any
 * subscription, stored once per idempotency key, then sent by its own queue's worker.
 */
@Injectable()
export class TransactionalService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QUEUES.transactional) private readonly queue: Queue<TransactionalJob>,
    private readonly messages: TransactionalMessagesRepository,
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    private readonly identities: SubscriberIdentities,
    private readonly suppressions: SuppressionsService,
    private readonly stats: StatsService,
  ) {}

  async accept(dto: SendTransactionalDto): Promise<{ messageId: string }> {
    const to = normalizeEmail(dto.to)!;
    const key = dto.idempotencyKey ?? null;
    const hash = requestHash(dto, to);
    // A repeat of an accepted request answers at once, whatever has changed since (a template
    // deleted, the address bounced): it was accepted then, and sends once.
    if (key) {
      const existing = await this.messages.byKey(key);
      if (existing) return { messageId: sameRequest(existing, hash) };
    }
    const template = await this.templates.get(dto.templateId).catch((e: unknown) => {
      if (e instanceof AppError && e.code === 'not_found')
        throw new AppError('not_found', `template ${dto.templateId} not found`, [{ field: 'templateId', message: 'no template with this id' }]);
      throw e;
    });
    const subject = dto.subject ?? template.subject;
    if (!subject) throw AppError.invalid('subject', 'the template has no subject: give one');
    // Compiled now (and cached for the worker in this process): a subject or template that does
    // not compile is the client's 422, not a failed message later.
    await this.compiler.compile(`${template.id}:${template.version}:${subject}`, template.mjml, subject);
    await this.assertDeliverable(this.db.manager, to);

    const id = await this.db.transaction(async (tx) => {
      const [who] = await this.identities.identify(tx, [{ who: { email: to }, externalId: null, name: null, attributes: {} }]);
      return this.messages.insert(tx, {
        mailing_id: transactionalMailingId(template.id),
        template_id: template.id,
        template_version: template.version,
        subscriber_id: who.subscriberId,
        to_email: to,
        subject: dto.subject ?? null,
        from_name: dto.fromName ?? null,
        from_email: dto.fromEmail ? normalizeEmail(dto.fromEmail) : null,
        data: dto.data ?? {},
        idempotency_key: key,
        request_hash: hash,
      });
    });
    // Lost the race for the key: the winner's message (committed, since the unique index waited for it).
    if (id === null) return { messageId: sameRequest((await this.messages.byKey(key!))!, hash) };
    // A crash before this line leaves the row queued without a job: the worker's reconciler adds it.
    await this.queue.add('send', { messageId: id }, transactionalJob(id));
    return { messageId: id };
  }

  /** Whether the address may get transactional mail: the 422 at the API, the re-check before SMTP. */
  async blockedReason(q: Queryable, email: string): Promise<SuppressionReason | null> {
    const reason = await this.suppressions.reasonFor(q, email);
    return reason && BLOCKING.has(reason) ? reason : null;
  }

  private async assertDeliverable(q: Queryable, to: string): Promise<void> {
    const reason = await this.blockedReason(q, to);
    if (reason) throw new AddressSuppressed(to, reason, 'to');
  }

  async get(id: string): Promise<TransactionalMessageDto> {
    const row = await this.messages.find(id);
    if (!row) throw new AppError('not_found', `message ${id} not found`, [{ field: 'messageId', message: 'no transactional message with this id' }]);
    return {
      messageId: row.id,
      status: row.status,
      to: row.to_email,
      templateId: row.template_id,
      createdAt: row.created_at.toISOString(),
      sentAt: row.sent_at?.toISOString() ?? null,
      smtpResponse: row.smtp_response,
    };
  }

  /** A template's transactional mail: its messages by status, and its mailing's engagement counters (analytics'). */
  async templateStats(templateId: string): Promise<TransactionalStatsDto> {
    const mailingId = transactionalMailingId(templateId);
    const [counts, counters] = await Promise.all([this.messages.counts(mailingId), this.stats.mailingCounters(mailingId)]);
    if (!counts.length && !(await this.templates.exists(templateId)))
      throw new AppError('not_found', `template ${templateId} not found`, [{ field: 'templateId', message: 'no template with this id' }]);
    const messages: Record<string, number> = { queued: 0, submitting: 0, sent: 0, failed: 0, unknown: 0, skipped: 0 };
    for (const c of counts) messages[c.status] = c.n;
    return { templateId, mailingId, messages, ...counters };
  }
}

/** What a request asks for, as a hash: the same key with another body is refused rather than ignored. */
function requestHash(dto: SendTransactionalDto, to: string): string {
  const canonical = [dto.templateId.toLowerCase(), to, dto.subject ?? null, dto.fromName ?? null, dto.fromEmail ?? null, dto.data ?? {}];
  return createHash('sha256')
    .update(JSON.stringify(sortKeys(canonical)))
    .digest('hex');
}

/** The same JSON with object keys in order: `{a, b}` and `{b, a}` are the same request. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

function sameRequest(existing: TransactionalRow, hash: string): string {
  if (existing.request_hash !== hash)
    throw new AppError('already_exists', `idempotencyKey ${existing.idempotency_key} was used for another request (message ${existing.id})`, [
      { field: 'idempotencyKey', message: 'already used with a different body', messageId: existing.id },
    ]);
  return existing.id;
}
