import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { DataSource, EntityManager } from 'typeorm';
import { AppError } from '../common/errors';
import { QUEUES } from '../queue/queue.module';
import type { ConsentAction, MailingList, SubscriptionStatus } from './audience.entities';
import type { ConsentEvidence } from './consent';
import { ConfirmationJob } from './confirmation-mailer';

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
  ) {}

  async subscribe(tx: EntityManager, subscriberId: string, list: MailingList, evidence: ConsentEvidence): Promise<SubscribeOutcome> {
    const target: SubscriptionStatus = list.optIn === 'single' ? 'confirmed' : 'pending';
    await lockList(tx, list.id);
    const inserted: unknown[] = await tx.query(
      `INSERT INTO subscriptions (subscriber_id, list_id, status, confirmed_at)
       VALUES ($1, $2, $3, CASE WHEN $3 = 'confirmed' THEN now() END)
       ON CONFLICT DO NOTHING RETURNING status`,
      [subscriberId, list.id, target],
    );
    let status: SubscriptionStatus = target;
    if (!inserted.length) {
      const [current]: { status: SubscriptionStatus }[] = await tx.query(
        `SELECT status FROM subscriptions WHERE subscriber_id = $1 AND list_id = $2 FOR UPDATE`,
        [subscriberId, list.id],
      );
      status = current.status === 'confirmed' ? 'confirmed' : target;
      if (status !== current.status) await this.setStatus(tx, subscriberId, list.id, status);
    }
    await this.record(tx, subscriberId, list.id, 'subscribe', status, evidence);
    return { status, confirmationNeeded: status === 'pending' };
  }

  /** pending → confirmed. Anything else is left as it is (an unsubscribe after the mail was sent wins). */
  async confirm(subscriberId: string, listId: string, evidence: ConsentEvidence): Promise<SubscriptionStatus | null> {
    return this.db.transaction(async (tx) => {
      const [row]: { status: SubscriptionStatus }[] = await tx.query(
        `SELECT status FROM subscriptions WHERE subscriber_id = $1 AND list_id = $2 FOR UPDATE`,
        [subscriberId, listId],
      );
      if (!row) return null;
      if (row.status !== 'pending') return row.status;
      await this.setStatus(tx, subscriberId, listId, 'confirmed');
      await this.record(tx, subscriberId, listId, 'confirm', 'confirmed', evidence);
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
  async leave(tx: EntityManager, subscriberId: string, listId: string, evidence: ConsentEvidence): Promise<SubscriptionStatus | null> {
    const [row]: { status: SubscriptionStatus }[] = await tx.query(
      `SELECT status FROM subscriptions WHERE subscriber_id = $1 AND list_id = $2 FOR UPDATE`,
      [subscriberId, listId],
    );
    if (!row || row.status === 'unsubscribed') return row?.status ?? null;
    await this.setStatus(tx, subscriberId, listId, 'unsubscribed');
    await this.record(tx, subscriberId, listId, 'unsubscribe', 'unsubscribed', evidence);
    return row.status;
  }

  /**
   * A global opt-out: every subscription the subscriber still has ends, each with its own ledger
   * record, in one statement. Returns the lists that changed.
   */
  async leaveAll(tx: EntityManager, subscriberId: string, evidence: ConsentEvidence): Promise<string[]> {
    const rows: { list_id: string }[] = await tx.query(
      `WITH gone AS (
         UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = now(), updated_at = now()
         WHERE subscriber_id = $1 AND status <> 'unsubscribed' RETURNING list_id
       )
       INSERT INTO consent_events (subscriber_id, list_id, action, source, status, consent_text, ip, user_agent)
       SELECT $1, list_id, 'unsubscribe', $2, 'unsubscribed', $3, $4, $5 FROM gone RETURNING list_id`,
      [subscriberId, evidence.source, evidence.text ?? null, evidence.ip ?? null, evidence.userAgent ?? null],
    );
    return rows.map((r) => r.list_id);
  }

  /** The ledger record of an opt-out from all mail (no list): the suppression itself, as consent evidence. */
  async recordOptOut(tx: EntityManager, subscriberId: string, evidence: ConsentEvidence): Promise<void> {
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

  private async setStatus(tx: EntityManager, subscriberId: string, listId: string, status: SubscriptionStatus): Promise<void> {
    await tx.query(
      `UPDATE subscriptions SET status = $3, updated_at = now(),
         confirmed_at = CASE WHEN $3 = 'confirmed' THEN now() ELSE confirmed_at END,
         unsubscribed_at = CASE WHEN $3 = 'unsubscribed' THEN now() ELSE unsubscribed_at END
       WHERE subscriber_id = $1 AND list_id = $2`,
      [subscriberId, listId, status],
    );
  }

  private async record(
    tx: EntityManager,
    subscriberId: string,
    listId: string | null,
    action: ConsentAction,
    status: SubscriptionStatus,
    e: ConsentEvidence,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO consent_events (subscriber_id, list_id, action, source, status, consent_text, consent_version, ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [subscriberId, listId, action, e.source, status, e.text ?? null, e.version ?? null, e.ip ?? null, e.userAgent ?? null],
    );
  }
}

/**
 * Holds the list for the rest of the transaction (a deletion waits, and a list deleted meanwhile is a
 * 404): what a foreign key would check for every row, taken once.
 */
export async function lockList(tx: { query: EntityManager['query'] }, listId: string): Promise<void> {
  const rows: unknown[] = await tx.query(`SELECT 1 FROM lists WHERE id = $1 FOR KEY SHARE`, [listId]);
  if (!rows.length) throw AppError.notFound('List', listId);
}
