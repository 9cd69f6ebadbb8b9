import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError } from '../common/errors';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { MailingList } from './audience.entities';
import { CreateListDto, ListCountsDto, ListDto, UpdateListDto } from './dto/list.dto';
import { ListsRepository } from './lists.repository';
import { SubscriptionsRepository } from './subscriptions.repository';

@Injectable()
export class ListsService {
  constructor(
    private readonly lists: ListsRepository,
    private readonly subscriptions: SubscriptionsRepository,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(dto: CreateListDto): Promise<ListDto> {
    const row = await this.lists.create({
      name: dto.name,
      description: dto.description ?? null,
      optIn: dto.optIn,
      consentText: dto.consentText ?? null,
      consentVersion: dto.consentText ? 1 : 0,
      // A stranger posting an address to a single opt-in list would subscribe someone else.
      formEnabled: dto.publicForm?.enabled ?? dto.optIn === 'double',
      formChallenge: dto.publicForm?.challenge ?? true,
      formOrigins: dto.publicForm?.allowedOrigins ?? [],
    });
    return this.map(row, emptyCounts());
  }

  async get(id: string): Promise<ListDto> {
    const row = await this.require(id);
    return this.map(row, (await this.counts([id])).get(id) ?? emptyCounts());
  }

  async list(q: PageQuery): Promise<Page<ListDto>> {
    const rows = await this.lists.page(decodeCursor(q.cursor), q.limit + 1);
    const counts = await this.counts(rows.map((r) => r.id));
    return toPage(
      rows,
      q.limit,
      (r) => ({ createdAt: r.ts, id: r.id }),
      (r) => this.map(r, counts.get(r.id) ?? emptyCounts()),
    );
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
    await this.db.transaction(async (tx) => {
      if (!(await this.lists.delete(tx, id))) throw AppError.notFound('List', id);
      await this.subscriptions.deleteForList(tx, id);
    });
  }

  /** Ids and names of those of these lists that exist, in the order asked. */
  async named(ids: string[]): Promise<{ id: string; name: string }[]> {
    if (!ids.length) return [];
    const rows = await this.lists.some(this.db.manager, ids);
    return ids.flatMap((id) => rows.filter((r) => r.id === id).map(({ name }) => ({ id, name })));
  }

  async require(id: string): Promise<MailingList> {
    const row = await this.lists.find(id);
    if (!row) throw AppError.notFound('List', id);
    return row;
  }

  /** Served index-only by subscriptions_list_status_idx. */
  private async counts(ids: string[]): Promise<Map<string, ListCountsDto>> {
    const out = new Map<string, ListCountsDto>();
    if (!ids.length) return out;
    for (const r of await this.subscriptions.counts(ids)) {
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
