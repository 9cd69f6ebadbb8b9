import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { AppError } from '../common/errors';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { MailingList } from './audience.entities';
import { CreateListDto, ListCountsDto, ListDto, UpdateListDto } from './dto/list.dto';

@Injectable()
export class ListsService {
  constructor(
    @InjectRepository(MailingList) private readonly lists: Repository<MailingList>,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(dto: CreateListDto): Promise<ListDto> {
    const row = await this.lists.save(
      this.lists.create({
        name: dto.name,
        description: dto.description ?? null,
        optIn: dto.optIn,
        consentText: dto.consentText ?? null,
        consentVersion: dto.consentText ? 1 : 0,
        // A stranger posting an address to a single opt-in list would subscribe someone else.
        formEnabled: dto.publicForm?.enabled ?? dto.optIn === 'double',
        formChallenge: dto.publicForm?.challenge ?? true,
        formOrigins: dto.publicForm?.allowedOrigins ?? [],
      }),
    );
    return this.map(row, emptyCounts());
  }

  async get(id: string): Promise<ListDto> {
    const row = await this.require(id);
    return this.map(row, (await this.counts([id])).get(id) ?? emptyCounts());
  }

  async list(q: PageQuery): Promise<Page<ListDto>> {
    const after = decodeCursor(q.cursor);
    // created_at travels as Postgres text: a JS Date would drop the microseconds the keyset compares.
    const rows: (MailingList & { ts: string })[] = await this.lists
      .createQueryBuilder('l')
      .select(['l.id AS id', 'l.name AS name', 'l.description AS description', 'l.opt_in AS "optIn"', 'l.consent_text AS "consentText"'])
      .addSelect(['l.consent_version AS "consentVersion"', 'l.form_enabled AS "formEnabled"', 'l.form_challenge AS "formChallenge"', 'l.form_origins AS "formOrigins"'])
      .addSelect(['l.created_at AS "createdAt"', 'l.updated_at AS "updatedAt"', 'l.created_at::text AS ts'])
      .where(after ? '(l.created_at, l.id) > (:createdAt::timestamptz, :id::uuid)' : 'true', after ?? {})
      .orderBy('l.created_at', 'ASC')
      .addOrderBy('l.id', 'ASC')
      .limit(q.limit + 1)
      .getRawMany();
    const counts = await this.counts(rows.map((r) => r.id));
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), (r) => this.map(r, counts.get(r.id) ?? emptyCounts()));
  }

  async update(id: string, dto: UpdateListDto): Promise<ListDto> {
    const row = await this.require(id);
    const { publicForm, consentText, ...fields } = dto;
    Object.assign(row, fields);
    if (consentText !== undefined && consentText !== row.consentText) {
      row.consentText = consentText;
      row.consentVersion += 1;
    }
    if (publicForm?.enabled !== undefined) row.formEnabled = publicForm.enabled;
    // Turned single opt-in without a word about the form: the form goes off, as it starts for such lists.
    else if (dto.optIn === 'single') row.formEnabled = false;
    if (publicForm?.challenge !== undefined) row.formChallenge = publicForm.challenge;
    if (publicForm?.allowedOrigins !== undefined) row.formOrigins = publicForm.allowedOrigins;
    await this.lists.save(row);
    return this.get(id);
  }

  /** The hosted sign-up page of a list. */
  formUrl(id: string): string {
    return `${this.config.http.publicUrl}/subscribe/${id}`;
  }

  /** Removes the list and its subscriptions; the consent ledger keeps its records. */
  /** The list row first (writers holding it finish; new ones then find no list), then its subscriptions. */
  async remove(id: string): Promise<void> {
    await this.lists.manager.transaction(async (tx) => {
      // TypeORM answers a DELETE with [rows, affected].
      const [, affected]: [unknown[], number] = await tx.query(`DELETE FROM lists WHERE id = $1`, [id]);
      if (!affected) throw AppError.notFound('List', id);
      await tx.query(`DELETE FROM subscriptions WHERE list_id = $1`, [id]);
    });
  }

  /** Ids and names of those of these lists that exist, in the order asked. */
  async named(ids: string[]): Promise<{ id: string; name: string }[]> {
    if (!ids.length) return [];
    const rows: { id: string; name: string }[] = await this.db.query(`SELECT id, name FROM lists WHERE id = ANY($1::uuid[])`, [ids]);
    return ids.flatMap((id) => rows.filter((r) => r.id === id));
  }

  async require(id: string): Promise<MailingList> {
    const row = await this.lists.findOneBy({ id });
    if (!row) throw AppError.notFound('List', id);
    return row;
  }

  /** Served index-only by subscriptions_list_status_idx. */
  private async counts(ids: string[]): Promise<Map<string, ListCountsDto>> {
    const out = new Map<string, ListCountsDto>();
    if (!ids.length) return out;
    const rows: { list_id: string; status: keyof ListCountsDto; n: number }[] = await this.db.query(
      `SELECT list_id, status, count(*)::int AS n FROM subscriptions WHERE list_id = ANY($1::uuid[]) GROUP BY list_id, status`,
      [ids],
    );
    for (const r of rows) {
      const c = out.get(r.list_id) ?? emptyCounts();
      c[r.status] = r.n;
      out.set(r.list_id, c);
    }
    return out;
  }

  private map(row: MailingList, counts: ListCountsDto): ListDto {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      optIn: row.optIn,
      consentText: row.consentText,
      consentVersion: row.consentVersion,
      publicForm: { enabled: row.formEnabled, challenge: row.formChallenge, allowedOrigins: row.formOrigins, url: this.formUrl(row.id) },
      counts,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}

function emptyCounts(): ListCountsDto {
  return { confirmed: 0, pending: 0, unsubscribed: 0 };
}


