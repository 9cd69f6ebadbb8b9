import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changed, queryRows, type Queryable } from '../database/queryable';

export interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  status: 'active' | 'disabled';
  failing_since: Date | null;
  disabled_at: Date | null;
  created_at: Date;
  ts: string;
}

/** A claimed outbox row with what sending it needs. */
export interface DueEventRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  url: string;
  secret: Buffer;
  payload: unknown;
  attempts: number;
  created_at: Date;
}

export interface DeliveryRow {
  id: string;
  webhook_event_id: string;
  event_id: string;
  type: string;
  attempt: number;
  status_code: number | null;
  ok: boolean;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
  attempted_at: Date;
  ts: string;
}

export interface AttemptOutcome {
  eventRowId: string;
  endpointId: string;
  attempt: number;
  statusCode: number | null;
  ok: boolean;
  durationMs: number;
  error: string | null;
  excerpt: string | null;
}

const ENDPOINT_COLUMNS = `id, url, events, status, failing_since, disabled_at, created_at, created_at::text AS ts`;

/** `webhook_endpoints`, `webhook_events` (the outbox) and `webhook_deliveries` (every attempt). */
@Injectable()
export class WebhooksRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * One outbox row per (event, active endpoint subscribed to `type`), in the caller's transaction.
   * The EXISTS is a one-time filter: when nobody listens, Postgres reads the partial GIN index and
   * nothing else. Each event gets one id (its webhook-id) shared by every endpoint it goes to.
   */
  /** Whether an active endpoint subscribes to the type (the partial GIN index on active endpoints' events). */
  async subscribed(q: Queryable, type: string): Promise<boolean> {
    const [row] = await queryRows<{ yes: boolean }>(
      q,
      `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE status = 'active' AND events @> ARRAY[$1::text]) AS yes`,
      [type],
    );
    return row.yes;
  }

  async enqueue(q: Queryable, type: string, payloads: unknown[]): Promise<void> {
    await q.query(
      `WITH e AS MATERIALIZED (SELECT gen_random_uuid() AS event_id, p.payload FROM jsonb_array_elements($2::jsonb) AS p(payload))
       INSERT INTO webhook_events (event_id, endpoint_id, type, payload)
       SELECT e.event_id, w.id, $1, e.payload
       FROM webhook_endpoints w CROSS JOIN e
       WHERE EXISTS (SELECT 1 FROM webhook_endpoints x WHERE x.status = 'active' AND x.events @> ARRAY[$1::text])
         AND w.status = 'active' AND w.events @> ARRAY[$1::text]`,
      [type, JSON.stringify(payloads)],
    );
  }

  async insertEndpoint(url: string, events: string[], secret: Buffer): Promise<EndpointRow> {
    const [row] = await queryRows<EndpointRow>(
      this.db,
      `INSERT INTO webhook_endpoints (url, events, secret) VALUES ($1, $2, $3) RETURNING ${ENDPOINT_COLUMNS}`,
      [url, events, secret],
    );
    return row;
  }

  async findEndpoint(id: string): Promise<EndpointRow | undefined> {
    const [row] = await queryRows<EndpointRow>(this.db, `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
    return row;
  }

  pageEndpoints(after: { createdAt: string; id: string } | null, limit: number): Promise<EndpointRow[]> {
    return queryRows<EndpointRow>(
      this.db,
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints
       WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid) ORDER BY created_at, id LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, limit],
    );
  }

  /** The endpoint goes with its outbox rows and their attempts: nothing more is sent to it. */
  async deleteEndpoint(id: string): Promise<boolean> {
    const { affected } = await changed(this.db, `DELETE FROM webhook_endpoints WHERE id = $1`, [id]);
    return affected > 0;
  }

  pageDeliveries(endpointId: string, after: { createdAt: string; id: string } | null, limit: number): Promise<DeliveryRow[]> {
    return queryRows<DeliveryRow>(
      this.db,
      `SELECT d.id, d.webhook_event_id, ev.event_id, ev.type, d.attempt, d.status_code, d.ok, d.duration_ms, d.error, d.response_excerpt,
              d.attempted_at, d.attempted_at::text AS ts
       FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.webhook_event_id
       WHERE d.endpoint_id = $1 AND ($2::timestamptz IS NULL OR (d.attempted_at, d.id) > ($2::timestamptz, $3::uuid))
       ORDER BY d.attempted_at, d.id LIMIT $4`,
      [endpointId, after?.createdAt ?? null, after?.id ?? null, limit],
    );
  }

  /**
   * Due events of active endpoints, claimed by pushing their next attempt past `leaseMs`: the
   * claim is its own short transaction (several workers skip each other's rows), and an event whose
   * worker died comes due again when the lease ends.
   */
  async claimDue(limit: number, leaseMs: number): Promise<DueEventRow[]> {
    const { rows } = await changed<DueEventRow>(
      this.db,
      `WITH due AS (
         SELECT ev.id FROM webhook_events ev JOIN webhook_endpoints w ON w.id = ev.endpoint_id AND w.status = 'active'
         WHERE ev.status = 'pending' AND ev.next_attempt_at <= now()
         ORDER BY ev.next_attempt_at LIMIT $1 FOR UPDATE OF ev SKIP LOCKED
       )
       UPDATE webhook_events ev SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000), attempts = ev.attempts + 1
       FROM due, webhook_endpoints w
       WHERE ev.id = due.id AND w.id = ev.endpoint_id
       RETURNING ev.id, ev.event_id, ev.endpoint_id, w.url, w.secret, ev.payload, ev.attempts, ev.created_at`,
      [limit, leaseMs],
    );
    return rows;
  }

  /**
   * An attempt's outcome, in one transaction: the log row, the event delivered, retried at
   * `retryAt` or given up (retryAt null), and the endpoint's failure streak (a success ends it; a
   * failure streak older than `disableAfterMs` disables the endpoint and gives up its events). Returns whether it was disabled now.
   */
  recordAttempt(o: AttemptOutcome, retryAt: Date | null, disableAfterMs: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        // An endpoint deleted while its event was in flight took the event with it: nothing to log.
        `INSERT INTO webhook_deliveries (webhook_event_id, endpoint_id, attempt, status_code, ok, duration_ms, error, response_excerpt)
         SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM webhook_events WHERE id = $1`,
        [o.eventRowId, o.endpointId, o.attempt, o.statusCode, o.ok, o.durationMs, o.error, o.excerpt],
      );
      await tx.query(
        `UPDATE webhook_events SET status = CASE WHEN $2 THEN 'delivered' WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
           delivered_at = CASE WHEN $2 THEN now() END, next_attempt_at = COALESCE($3::timestamptz, next_attempt_at)
         WHERE id = $1`,
        [o.eventRowId, o.ok, retryAt],
      );
      if (o.ok) {
        await tx.query(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, [o.endpointId]);
        return false;
      }
      const { rows } = await changed<{ status: string }>(
        tx,
        `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()),
           status = CASE WHEN failing_since <= now() - make_interval(secs => $2::double precision / 1000) THEN 'disabled' ELSE status END,
           disabled_at = CASE WHEN failing_since <= now() - make_interval(secs => $2::double precision / 1000) THEN now() ELSE disabled_at END
         WHERE id = $1 AND status = 'active'
         RETURNING status`,
        [o.endpointId, disableAfterMs],
      );
      const disabled = rows[0]?.status === 'disabled';
      // Nothing more goes to a disabled endpoint: its undelivered events are given up, and leave the claim's index.
      if (disabled) await tx.query(`UPDATE webhook_events SET status = 'failed' WHERE endpoint_id = $1 AND status = 'pending'`, [o.endpointId]);
      return disabled;
    });
  }
}
