import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ListsService } from '../audience/lists.service';
import { SubscriberProfile, SubscribersService } from '../audience/subscribers.service';
import { SuppressionsService } from '../audience/suppressions.service';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { CompiledTemplate } from '../content/template-compiler';
import { TemplateCompiler } from '../content/template-compiler';
import { TemplatesService } from '../content/templates.service';
import { ClaimsReaper } from '../delivery/claims-reaper';
import { retryTransient } from '../delivery/db-retry';
import { MailTransport } from '../delivery/mail-transport';
import { CampaignMessageContext, MessageBuilder, Recipient } from '../delivery/message-builder';
import { afterFailure } from '../delivery/smtp-outcome';
import { SendThrottle } from '../delivery/throttle';
import { CampaignLinks } from '../tracking/campaign-links';
import { TransactionalService } from '../transactional/transactional.service';
import { parseFrom } from '../transactional/transactional-sender';
import { EnrolmentsRepository } from './enrolments.repository';
import { Step } from './journey-definition';
import { ClaimedJourneyMessage, JourneyMessagesRepository, JourneySendOutcome } from './journey-messages.repository';
import { JourneyVersions, RunnableVersion } from './journey-versions';

/** Journey mail goes out through the default transport, with campaigns' pool and rate. */
const TRANSPORT = 'default';

/** What every message of one send step shares. */
interface Mailing {
  id: string;
  v: RunnableVersion;
  step: Extract<Step, { type: 'send' }>;
  compiled: CompiledTemplate;
  /** The context per list it goes out for (List-Id), and without a list (transactional steps). */
  contexts: Map<string | null, CampaignMessageContext>;
}

/** A claimed batch's recipients and their enrolments' data. */
interface People {
  profiles: Map<string, SubscriberProfile>;
  enrolments: Map<string, { data: Record<string, unknown>; trigger: Record<string, unknown> }>;
}

export type JourneySendResult = { kind: 'idle'; next: Date | null } | { kind: 'stopped' };

/**
 * Sends journey mail as the campaign dispatcher sends campaigns: claim a batch (SKIP LOCKED), then
 * chunk by chunk as wide as the transport's pool: throttle → re-check consent and suppression and
 * mark the chunk `submitting` → SMTP in parallel → record the outcomes in one statement. Each
 * message is built with its step's template version pinned at publish, its enrolment's data and
 * trigger, and the same headers, tokens and tracking as a campaign's (keyed by the step's mailing).
 */
@Injectable()
export class JourneyDispatcher implements OnModuleDestroy {
  private readonly logger = new Logger(JourneyDispatcher.name);
  private readonly mailings = new Map<string, Promise<Mailing>>();
  private draining = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly messages: JourneyMessagesRepository,
    private readonly enrolments: EnrolmentsRepository,
    private readonly versions: JourneyVersions,
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    private readonly links: CampaignLinks,
    private readonly lists: ListsService,
    private readonly subscribers: SubscribersService,
    private readonly suppressions: SuppressionsService,
    private readonly transactional: TransactionalService,
    private readonly builder: MessageBuilder,
    private readonly transport: MailTransport,
    private readonly throttle: SendThrottle,
    private readonly reaper: ClaimsReaper,
  ) {}

  onModuleDestroy(): void {
    this.draining = true;
  }

  /** Sends what is due until nothing is; answers when the next queued message falls due. */
  async sendDue(): Promise<JourneySendResult> {
    const transport = this.config.mail.transports[TRANSPORT];
    const limit = [{ key: `transport:${TRANSPORT}`, rate: transport.rate }];
    for (;;) {
      if (this.draining) return { kind: 'stopped' };
      const run = this.reaper.startRun();
      try {
        const batch = await this.persist(() => this.messages.claim(run, this.config.sending.batchSize));
        if (!batch.length) break;
        // Who they are and what their enrolments carry, read once per batch (an erased profile has no address: the re-check skips it).
        const people: People = {
          profiles: new Map((await this.subscribers.profiles([...new Set(batch.map((m) => m.subscriber_id))])).map((p) => [p.id, p])),
          enrolments: new Map((await this.enrolments.personal(batch.map((m) => m.enrolment_id))).map((e) => [e.id, e])),
        };
        for (const group of byMailing(batch)) {
          for (let i = 0; i < group.length; i += transport.pool) {
            if (this.draining) return { kind: 'stopped' };
            await this.sendChunk(group.slice(i, i + transport.pool), run, limit, people);
          }
        }
      } finally {
        // Normally nothing is left; after an error, the rest goes back (the reconciler does it if this fails too).
        await this.messages.handBack([run]).catch((e: Error) => this.logger.warn(`run ${run}: claims left to the reconciler (${e.message})`));
        this.reaper.endRun(run);
      }
    }
    return { kind: 'idle', next: await this.messages.nextDue() };
  }

  private async sendChunk(
    chunk: ClaimedJourneyMessage[],
    run: string,
    limits: { key: string; rate: number }[],
    { profiles, enrolments }: People,
  ): Promise<void> {
    const mailing = await this.mailing(chunk[0]);
    await this.throttle.acquire(chunk.length, limits);
    const { transactional, id: stepId } = mailing.step;
    const blocked = transactional ? await this.blockedForTransactional(chunk, profiles) : [];
    const lists = transactional ? null : mailing.v.definition.settings.lists;
    const owned = await this.persist(() =>
      this.messages.markSubmitting(
        chunk.map((m) => m.id),
        run,
        lists,
        blocked,
      ),
    );
    const outcomes = await Promise.all(
      chunk
        .filter((m) => owned.has(m.id))
        .map(async (m) => {
          const p = profiles.get(m.subscriber_id);
          const to: Recipient = {
            id: m.subscriber_id,
            email: p?.email ?? '',
            name: p?.name ?? null,
            attributes: p?.attributes ?? {},
            timezone: p?.timezone ?? null,
          };
          const e = enrolments.get(m.enrolment_id);
          const ctx = await this.context(mailing, owned.get(m.id) ?? null);
          const personal = { data: e?.data ?? {}, trigger: e?.trigger ?? {} };
          const mail = this.builder.build(mailing.compiled, ctx, to, transactional ? { personal, transactional: { tag: m.id } } : { personal });
          return this.attempt(m, mail, limits);
        }),
    );
    if (!outcomes.length) return;
    const bounced = outcomes.filter((o) => o.bounce === 'hard');
    const emailOf = new Map(chunk.map((m) => [m.id, profiles.get(m.subscriber_id)?.email ?? '']));
    await this.persist(() =>
      this.db.transaction(async (tx) => {
        await this.messages.record(tx, outcomes, run);
        if (bounced.length)
          await this.suppressions.suppressMany(
            tx,
            bounced.map((o) => ({ email: emailOf.get(o.id)!, reason: 'hard_bounce' as const, note: `journey step ${stepId}: ${o.response.slice(0, 400)}` })),
          );
      }),
    );
  }

  private async attempt(m: ClaimedJourneyMessage, mail: ReturnType<MessageBuilder['build']>, limits: { key: string }[]): Promise<JourneySendOutcome> {
    try {
      const info = await this.transport.send(mail, TRANSPORT);
      return { id: m.id, status: 'sent', response: info.response, bounce: null, attempt: m.attempts + 1, retryAt: null };
    } catch (e) {
      const { throttled, ...outcome } = afterFailure(e, m.attempts, this.config.sending);
      if (throttled)
        await Promise.all(limits.map((l) => this.throttle.slowDown(l.key))).catch((err: Error) => this.logger.warn(`slow-down not stored: ${err.message}`));
      return { id: m.id, ...outcome };
    }
  }

  /** Transactional steps skip list consent; the suppressions that stop transactional mail still apply. */
  private async blockedForTransactional(chunk: ClaimedJourneyMessage[], profiles: Map<string, { email: string | null }>): Promise<string[]> {
    const blocked: string[] = [];
    for (const m of chunk) {
      const email = profiles.get(m.subscriber_id)?.email;
      if (!email || (await this.transactional.blockedReason(this.db.manager, email))) blocked.push(m.subscriber_id);
    }
    return blocked;
  }

  /** A send step's template (its pinned version) compiled once per process, with its link slots stored under the step's mailing. */
  private mailing(m: ClaimedJourneyMessage): Promise<Mailing> {
    let p = this.mailings.get(m.mailing_id);
    if (!p) {
      p = (async () => {
        const v = await this.versions.get(m.journey_id, m.version);
        const step = v.steps.get(m.step_id) as Extract<Step, { type: 'send' }>;
        const t = await this.templates.version(step.templateId, v.templateVersions[step.id] ?? null);
        const compiled = await this.compiler.compile(`${t.templateId}:${t.version}:${step.subject}`, t.mjml, step.subject);
        if (compiled.links.length) await this.links.store(m.mailing_id, compiled.links, null);
        return { id: m.mailing_id, v, step, compiled, contexts: new Map() };
      })();
      p.catch(() => this.mailings.delete(m.mailing_id));
      this.mailings.set(m.mailing_id, p);
    }
    return p;
  }

  private async context(mailing: Mailing, listId: string | null): Promise<CampaignMessageContext> {
    let ctx = mailing.contexts.get(listId);
    if (!ctx) {
      const { step, v } = mailing;
      const from = parseFrom(this.config.mail.from);
      const [list] = listId ? await this.lists.named([listId]) : [];
      ctx = {
        id: mailing.id,
        name: `journey ${v.journeyId} v${v.version} ${step.id}`,
        fromName: step.fromName || from.name,
        fromEmail: step.fromEmail || from.address,
        replyTo: null,
        data: {},
        postalAddress: this.config.content.postalAddress,
        list: list ? { id: list.id, name: list.name } : null,
      };
      mailing.contexts.set(listId, ctx);
    }
    return ctx;
  }

  /** Waits out a Postgres restart rather than fail a run whose messages are in SMTP. */
  private persist<T>(work: () => Promise<T>): Promise<T> {
    return retryTransient(
      work,
      () => this.draining,
      (e, n) => n % 10 === 1 && this.logger.warn(`database unavailable, retrying: ${e.message}`),
    );
  }
}

/** A claimed batch by mailing (send step), in claim order. */
function byMailing(batch: ClaimedJourneyMessage[]): ClaimedJourneyMessage[][] {
  const groups = new Map<string, ClaimedJourneyMessage[]>();
  for (const m of batch) {
    const g = groups.get(m.mailing_id);
    if (g) g.push(m);
    else groups.set(m.mailing_id, [m]);
  }
  return [...groups.values()];
}
