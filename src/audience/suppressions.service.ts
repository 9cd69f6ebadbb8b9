import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { Queryable } from '../database/queryable';
import type { SuppressionReason } from './audience.entities';
import { CreateSuppressionDto, SuppressionDto } from './dto/suppression.dto';
import { SuppressionRow, SuppressionsRepository } from './suppressions.repository';

/** A mail provider's report about an address. */
export interface BounceReport {
  email: string;
  kind: 'hard' | 'soft' | 'complaint';
  note: string;
}

/**
 * The global do-not-mail list, keyed by email_hash() so erased addresses stay blocked without being
 * kept. Every suppression — manual, unsubscribe, bounce, complaint, erase — goes through `suppress`
 * (one statement, one conflict rule), in the transaction of whatever caused it.
 */
@Injectable()
export class SuppressionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly suppressions: SuppressionsRepository,
  ) {}

  async add(dto: CreateSuppressionDto): Promise<SuppressionDto> {
    const email = normalizeEmail(dto.email)!;
    await this.suppress(this.db.manager, email, dto.reason ?? 'manual', dto.note ?? null);
    return map((await this.suppressions.find(this.db.manager, email))!);
  }

  suppress(q: Queryable, email: string, reason: SuppressionReason, note: string | null): Promise<void> {
    return this.suppressMany(q, [{ email, reason, note }]);
  }

  /** Idempotent: an address already suppressed keeps its first reason, except that an erase forgets the address. */
  async suppressMany(q: Queryable, entries: { email: string; reason: SuppressionReason; note: string | null }[]): Promise<void> {
    if (entries.length) await this.suppressions.suppress(q, entries);
  }

  /**
   * What mail providers reported: a hard bounce or a complaint suppresses the address at once; soft
   * bounces are counted per address, and SOFT_BOUNCE_LIMIT of them suppress it. In the caller's
   * transaction (the ingestor's batch).
   */
  async applyBounces(q: Queryable, reports: BounceReport[]): Promise<void> {
    if (!reports.length) return;
    const suppress = new Map<string, { reason: SuppressionReason; note: string }>();
    const soft: string[] = [];
    for (const r of reports) {
      if (r.kind === 'complaint') suppress.set(r.email, { reason: 'complaint', note: r.note });
      else if (r.kind === 'hard') suppress.set(r.email, { reason: 'hard_bounce', note: r.note });
      else soft.push(r.email);
    }
    if (soft.length) {
      const limit = this.config.tracking.softBounceLimit;
      for (const c of await this.suppressions.countSoftBounces(q, soft)) {
        if (c.soft >= limit && !suppress.has(c.email))
          suppress.set(c.email, { reason: 'hard_bounce', note: `${c.soft} soft bounces (SOFT_BOUNCE_LIMIT ${limit})` });
      }
    }
    await this.suppressMany(
      q,
      [...suppress].map(([email, s]) => ({ email, ...s })),
    );
  }

  /** Erase: the address's soft-bounce count goes with it. */
  forgetBounces(q: Queryable, email: string): Promise<void> {
    return this.suppressions.forgetBounces(q, email);
  }

  async list(q: PageQuery): Promise<Page<SuppressionDto>> {
    const rows = await this.suppressions.page(decodeCursor(q.cursor), q.limit + 1);
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.email_hash.toString('hex') }), map);
  }

  async remove(emailInput: string): Promise<void> {
    const email = normalizeEmail(emailInput);
    if (!email) throw AppError.invalid('email', 'must be a valid e-mail address');
    if (!(await this.suppressions.delete(email)))
      throw new AppError('not_found', `${email} is not suppressed`, [{ field: 'email', message: 'not on the suppression list' }]);
  }

  async reasonFor(q: Queryable, email: string): Promise<SuppressionReason | null> {
    return (await this.suppressions.find(q, email))?.reason ?? null;
  }

  /** For the GDPR export: the address's suppression, if any. */
  async of(email: string): Promise<{ reason: SuppressionReason; note: string | null; createdAt: Date } | null> {
    const row = await this.suppressions.find(this.db.manager, email);
    return row ? { reason: row.reason, note: row.note, createdAt: row.created_at } : null;
  }
}

function map(r: SuppressionRow): SuppressionDto {
  return { email: r.email, emailHash: r.email_hash.toString('hex'), reason: r.reason, note: r.note, createdAt: r.created_at.toISOString() };
}
