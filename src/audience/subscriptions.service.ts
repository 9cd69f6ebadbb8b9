import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { AppError } from '../common/errors';
import type { Queryable } from '../database/queryable';
import { QUEUES } from '../queue/queue.module';
import type { ConsentAction, MailingList, SubscriptionStatus } from './audience.entities';
import type { ConsentEvidence } from './consent';
import { ConsentRepository } from './consent.repository';
import { ConfirmationJob } from './confirmation-mailer';
import { ListsRepository } from './lists.repository';
import { SubscribersRepository } from './subscribers.repository';
import { SubscriptionsRepository } from './subscriptions.repository';
import { ACTIVITY_SIGNALS, ActivitySignals } from '../activity/activity-signals';
import { WebhookOutbox } from '../webhooks/webhook-outbox';

export interface SubscribeOutcome {
  status: SubscriptionStatus;
  /** A confirmation mail must go out once the transaction commits. */
  confirmationNeeded: boolean;
}

/**
 * The permission rules. A subscription only moves:
 *  - none | unsubscribed → confirmed (single opt-in) or pending (double opt-in, confirmation mailed);
 *  - pending → confirmed by the confirmation link;
 *  - any → unsubscribed.
 * A confirmed subscription is never put back to pending. Every move is written to the consent ledger.
 */
@Injectable()
export class SubscriptionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QUEUES.mail) private readonly mail: Queue<ConfirmationJob>,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly consent: ConsentRepository,
    private readonly lists: ListsRepository,
    private readonly subscribers: SubscribersRepository,
    private readonly outbox: WebhookOutbox,
    @Inject(ACTIVITY_SIGNALS) private readonly signals: ActivitySignals,
  ) {}

  async subscribe(tx: Queryable, subscriberId: string, list: Pick<MailingList, 'id' | 'optIn'>, evidence: ConsentEvidence): Promise<SubscribeOutcome> {
    const target: SubscriptionStatus = list.optIn === 'single' ? 'confirmed' : 'pending';
    await this.holdList(tx, list.id);
    let status: SubscriptionStatus = target;
    let wasConfirmed = false;
    if (!(await this.subscriptions.insert(tx, subscriberId, list.id, target))) {
      const current = (await this.subscriptions.lockStatus(tx, subscriberId, list.id))!;
      wasConfirmed = current === 'confirmed';
      status = current === 'confirmed' ? 'confirmed' : target;
      if (status !== current) await this.subscriptions.setStatus(tx, subscriberId, list.id, status);
    }
    await this.record(tx, subscriberId, list.id, 'subscribe', status, evidence);
    if (status === 'confirmed' && !wasConfirmed) await this.report(tx, 'subscription.confirmed', subscriberId, [list.id]);
    return { status, confirmationNeeded: status === 'pending' };
  }

  /** pending → confirmed. Anything else is left as it is (an unsubscribe after the mail was sent wins). */
  async confirm(subscriberId: string, listId: string, evidence: ConsentEvidence): Promise<SubscriptionStatus | null> {
    return this.db.transaction(async (tx) => {
      const status = await this.subscriptions.lockStatus(tx, subscriberId, listId);
      if (!status) return null;
      if (status !== 'pending') return status;
      await this.subscriptions.setStatus(tx, subscriberId, listId, 'confirmed');
      await this.record(tx, subscriberId, listId, 'confirm', 'confirmed', evidence);
      await this.report(tx, 'subscription.confirmed', subscriberId, [listId]);
      return 'confirmed';
    });
  }

  async unsubscribe(subscriberId: string, listId: string, evidence: ConsentEvidence): Promise<void> {
    await this.db.transaction(async (tx) => {
      const before = await this.leave(tx, subscriberId, listId, evidence);
      if (!before) {
        throw new AppError('not_found', `subscriber ${subscriberId} has no subscription to list ${listId}`, [
          { field: 'subscriberId', message: 'not subscribed to this list' },
        ]);
      }
    });
  }

  /**
   * any → unsubscribed within the caller's transaction. Returns the status it had (null: no
   * subscription), so a caller can tell a change from a repeat: a repeat writes nothing.
   */
  async leave(tx: Queryable, subscriberId: string, listId: string, evidence: ConsentEvidence): Promise<SubscriptionStatus | null> {
    const status = await this.subscriptions.lockStatus(tx, subscriberId, listId);
    if (!status || status === 'unsubscribed') return status ?? null;
    await this.subscriptions.setStatus(tx, subscriberId, listId, 'unsubscribed');
    await this.record(tx, subscriberId, listId, 'unsubscribe', 'unsubscribed', evidence);
    await this.report(tx, 'subscription.unsubscribed', subscriberId, [listId]);
    return status;
  }

  /**
   * A global opt-out: every subscription the subscriber still has ends, each with its own ledger
   * record, in one statement. Returns the lists that changed.
   */
  async leaveAll(tx: Queryable, subscriberId: string, evidence: ConsentEvidence): Promise<string[]> {
    const left = await this.subscriptions.leaveAll(tx, subscriberId, {
      source: evidence.source,
      text: evidence.text ?? null,
      ip: evidence.ip ?? null,
      userAgent: evidence.userAgent ?? null,
    });
    await this.report(tx, 'subscription.unsubscribed', subscriberId, left);
    return left;
  }

  /** A subscription change for the webhooks, in the transaction that makes it (the address, unless erased, read with it). */
  private async report(tx: Queryable, type: 'subscription.confirmed' | 'subscription.unsubscribed', subscriberId: string, listIds: string[]): Promise<void> {
    if (!listIds.length) return;
    if (type === 'subscription.confirmed')
      await this.signals.subscriptionsConfirmed(
        tx,
        listIds.map((listId) => ({ subscriberId, listId })),
      );
    const email = (await this.subscribers.emailOf(tx, subscriberId)) ?? undefined;
    await this.outbox.record(
      tx,
      type,
      listIds.map((listId) => ({ data: { subscriberId, email, listId } })),
    );
  }

  /** The ledger record of an opt-out from all mail (no list): the suppression itself, as consent evidence. */
  async recordOptOut(tx: Queryable, subscriberId: string, evidence: ConsentEvidence): Promise<void> {
    await this.record(tx, subscriberId, null, 'unsubscribe', 'unsubscribed', evidence);
  }

  /**
   * Queues the double opt-in mail. The job id makes a repeated request within ten minutes
   * a no-op, so a form cannot be used to flood someone's inbox.
   */
  async requestConfirmation(subscriberId: string, listId: string): Promise<void> {
    await this.mail.add(
      'confirm',
      { subscriberId, listId },
      {
        jobId: `confirm-${subscriberId}-${listId}`,
        attempts: 8,
        backoff: { type: 'exponential', delay: 2000 },
        removeOnComplete: { age: 600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
  }

  /**
   * Holds the list for the rest of the transaction (a deletion waits, and a list deleted meanwhile
   * is a 404): what a foreign key would check for every row, taken once.
   */
  async holdList(tx: Queryable, listId: string): Promise<void> {
    if (!(await this.lists.holdForKeyShare(tx, listId))) throw AppError.notFound('List', listId);
  }

  private async record(
    tx: Queryable,
    subscriberId: string,
    listId: string | null,
    action: ConsentAction,
    status: SubscriptionStatus,
    e: ConsentEvidence,
  ): Promise<void> {
    await this.consent.record(tx, {
      subscriberId,
      listId,
      action,
      source: e.source,
      status,
      text: e.text ?? null,
      version: e.version ?? null,
      ip: e.ip ?? null,
      userAgent: e.userAgent ?? null,
    });
  }
}
