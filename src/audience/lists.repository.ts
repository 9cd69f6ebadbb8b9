import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { queryRows, changed, type Queryable } from '../database/queryable';
import { MailingList } from './audience.entities';

/** `lists`: through TypeORM's repository for the entity, SQL where a statement must be exact. */
@Injectable()
export class ListsRepository {
  constructor(
    @InjectRepository(MailingList) private readonly lists: Repository<MailingList>,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  create(values: Omit<MailingList, 'id' | 'createdAt' | 'updatedAt'>): Promise<MailingList> {
    return this.lists.save(this.lists.create(values));
  }

  save(list: MailingList): Promise<MailingList> {
    return this.lists.save(list);
  }

  find(id: string): Promise<MailingList | null> {
    return this.lists.findOneBy({ id });
  }

  /** created_at travels as Postgres text: a JS Date would drop the microseconds the keyset compares. */
  page(after: { createdAt: string; id: string } | null, limit: number): Promise<(MailingList & { ts: string })[]> {
    return this.lists
      .createQueryBuilder('l')
      .select(['l.id AS id', 'l.name AS name', 'l.description AS description', 'l.opt_in AS "optIn"', 'l.consent_text AS "consentText"'])
      .addSelect([
        'l.consent_version AS "consentVersion"',
        'l.form_enabled AS "formEnabled"',
        'l.form_challenge AS "formChallenge"',
        'l.form_origins AS "formOrigins"',
      ])
      .addSelect(['l.created_at AS "createdAt"', 'l.updated_at AS "updatedAt"', 'l.created_at::text AS ts'])
      .where(after ? '(l.created_at, l.id) > (:createdAt::timestamptz, :id::uuid)' : 'true', after ?? {})
      .orderBy('l.created_at', 'ASC')
      .addOrderBy('l.id', 'ASC')
      .limit(limit)
      .getRawMany();
  }

  /** Those of these lists that exist: id, name and opt-in. */
  some(q: Queryable, ids: string[]): Promise<Pick<MailingList, 'id' | 'name' | 'optIn'>[]> {
    return queryRows<Pick<MailingList, 'id' | 'name' | 'optIn'>>(q, `SELECT id, name, opt_in AS "optIn" FROM lists WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /** true when it existed. The list row first: writers holding it finish, new ones then find no list. */
  async delete(q: Queryable, id: string): Promise<boolean> {
    const { affected } = await changed(q, `DELETE FROM lists WHERE id = $1`, [id]);
    return affected > 0;
  }

  /**
   * Holds the list for the rest of the transaction (a deletion waits, and a list deleted meanwhile
   * is found missing): what a foreign key would check for every row, taken once. false: no list.
   */
  async holdForKeyShare(q: Queryable, id: string): Promise<boolean> {
    const rows = await queryRows<unknown>(q, `SELECT 1 FROM lists WHERE id = $1 FOR KEY SHARE`, [id]);
    return rows.length > 0;
  }
}
