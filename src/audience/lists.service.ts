import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { AppError } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { MailingList } from './audience.entities';
import { CreateListDto, ListCountsDto, ListDto, UpdateListDto } from './dto/list.dto';

@Injectable()
export class ListsService {
  constructor(
    @InjectRepository(MailingList) private readonly lists: Repository<MailingList>,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  async create(dto: CreateListDto): Promise<ListDto> {
    const row = await this.lists.save(this.lists.create({ name: dto.name, description: dto.description ?? null, optIn: dto.optIn }));
    return map(row, emptyCounts());
  }

  async get(id: string): Promise<ListDto> {
    const row = await this.require(id);
    return map(row, (await this.counts([id])).get(id) ?? emptyCounts());
  }

  async list(q: PageQuery): Promise<Page<ListDto>> {
    const after = decodeCursor(q.cursor);
    // created_at travels as Postgres text: a JS Date would drop the microseconds the keyset compares.
    const rows: (MailingList & { ts: string })[] = await this.lists
      .createQueryBuilder('l')
      .select(['l.id AS id', 'l.name AS name', 'l.description AS description', 'l.opt_in AS "optIn"'])
      .addSelect(['l.created_at AS "createdAt"', 'l.updated_at AS "updatedAt"', 'l.created_at::text AS ts'])
      .where(after ? '(l.created_at, l.id) > (:createdAt::timestamptz, :id::uuid)' : 'true', after ?? {})
      .orderBy('l.created_at', 'ASC')
      .addOrderBy('l.id', 'ASC')
      .limit(q.limit + 1)
      .getRawMany();
    const counts = await this.counts(rows.map((r) => r.id));
    return toPage(rows, q.limit, (r) => ({ createdAt: r.ts, id: r.id }), (r) => map(r, counts.get(r.id) ?? emptyCounts()));
  }

  async update(id: string, dto: UpdateListDto): Promise<ListDto> {
    const row = await this.require(id);
    Object.assign(row, dto);
    await this.lists.save(row);
    return this.get(id);
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
}

function emptyCounts(): ListCountsDto {
  return { confirmed: 0, pending: 0, unsubscribed: 0 };
}

function map(row: MailingList, counts: ListCountsDto): ListDto {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    optIn: row.optIn,
    counts,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
