import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Queryable } from '../database/queryable';
import type { ConsentAction, ConsentSource, SubscriptionStatus } from './audience.entities';

export interface ConsentRecord {
  subscriberId: string;
  listId: string | null;
  action: ConsentAction;
  source: ConsentSource;
  status: SubscriptionStatus | null;
  text: string | null;
  version: number | null;
  ip: string | null;
  userAgent: string | null;
}

export interface ConsentRow {
  id: string;
  list_id: string | null;
  action: ConsentAction;
  source: ConsentSource;
  status: SubscriptionStatus | null;
  consent_text: string | null;
  consent_version: number | null;
  ip: string | null;
  user_agent: string | null;
  import_id: string | null;
  occurred_at: Date;
}

/** `consent_events`: the append-only consent ledger (a trigger allows only an erase's blanking). */
@Injectable()
export class ConsentRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async record(q: Queryable, r: ConsentRecord): Promise<void> {
    await q.query(
      `INSERT INTO consent_events (subscriber_id, list_id, action, source, status, consent_text, consent_version, ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.subscriberId, r.listId, r.action, r.source, r.status, r.text, r.version, r.ip, r.userAgent],
    );
  }

  ofSubscriber(subscriberId: string): Promise<ConsentRow[]> {
    return this.db.query(
      `SELECT id::text, list_id, action, source, status, consent_text, consent_version, host(ip) AS ip, user_agent, import_id, occurred_at
       FROM consent_events WHERE subscriber_id = $1 ORDER BY id`,
      [subscriberId],
    );
  }

  /** Erase: the person's IP addresses and user agents go; the records stay. */
  async forget(q: Queryable, subscriberId: string): Promise<void> {
    await q.query(`UPDATE consent_events SET ip = NULL, user_agent = NULL WHERE subscriber_id = $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL)`, [
      subscriberId,
    ]);
  }
}
