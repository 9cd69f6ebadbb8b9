import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiKey, Scope } from './api-key.entity';

/** `api_keys`, through TypeORM's repository for the entity. */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  /** ADMIN_API_KEY: installed, or its hash and scopes brought up to date. */
  async installGiven(prefix: string, secretHash: Buffer): Promise<void> {
    await this.keys
      .createQueryBuilder()
      .insert()
      .values({ name: 'ADMIN_API_KEY', prefix, secretHash, scopes: ['admin'] })
      .orUpdate(['secret_hash', 'scopes'], ['prefix'])
      .execute();
  }

  /**
   * The first key, only on an empty table: several API processes may start at once on an empty
   * database, and an advisory lock lets one of them create it. true when this call created it.
   */
  createFirst(prefix: string, secretHash: Buffer): Promise<boolean> {
    return this.keys.manager.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('edm:first-admin-key'))`);
      if ((await tx.count(ApiKey)) > 0) return false;
      await tx.save(tx.create(ApiKey, { name: 'admin (first start)', prefix, secretHash, scopes: ['admin'] }));
      return true;
    });
  }

  insert(name: string, prefix: string, secretHash: Buffer, scopes: Scope[]): Promise<ApiKey> {
    return this.keys.save(this.keys.create({ name, prefix, secretHash, scopes }));
  }

  all(): Promise<ApiKey[]> {
    return this.keys.find({ order: { createdAt: 'ASC' } });
  }

  find(id: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ id });
  }

  byPrefix(prefix: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ prefix });
  }

  async delete(id: string): Promise<void> {
    await this.keys.delete({ id });
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.keys.update({ id }, { lastUsedAt: at });
  }
}
