import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Repository } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AppError } from '../common/errors';
import { ApiKey, Scope } from './api-key.entity';
import { ApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_FORMAT = /^edm_([A-Za-z0-9]{8})_[A-Za-z0-9]{32,}$/;
const CACHE_MS = 5_000;

/** Keys look like `edm_<prefix>_<secret>`; only the prefix and a SHA-256 of the whole key are stored. */
@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly cache = new Map<string, { key: ApiKey | null; until: number }>();

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** First start: make sure an admin key exists (ADMIN_API_KEY, or a new one printed once). */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.role === 'worker') return;
    const given = this.config.adminApiKey;
    if (given) {
      const prefix = KEY_FORMAT.exec(given)![1];
      await this.keys
        .createQueryBuilder()
        .insert()
        .values({ name: 'ADMIN_API_KEY', prefix, secretHash: hash(given), scopes: ['admin'] })
        .orUpdate(['secret_hash', 'scopes'], ['prefix'])
        .execute();
      return;
    }
    // Several API processes may start at once on an empty database: one creates the key.
    const created = await this.keys.manager.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('edm:first-admin-key'))`);
      if ((await tx.count(ApiKey)) > 0) return null;
      const { prefix, key } = newKey();
      await tx.save(tx.create(ApiKey, { name: 'admin (first start)', prefix, secretHash: hash(key), scopes: ['admin'] }));
      return { key };
    });
    if (!created) return;
    // Printed straight to stdout, once, so that it is not kept in log aggregation.
    process.stdout.write(`\n  Admin API key (shown once, keep it safe):\n\n    ${created.key}\n\n`);
  }

  async create(name: string, scopes: Scope[]): Promise<CreatedApiKeyDto> {
    const { prefix, key } = newKey();
    const row = await this.keys.save(this.keys.create({ name, prefix, secretHash: hash(key), scopes: [...new Set(scopes)] }));
    return { ...map(row), key };
  }

  async list(): Promise<ApiKeyDto[]> {
    return (await this.keys.find({ order: { createdAt: 'ASC' } })).map(map);
  }

  async remove(id: string): Promise<void> {
    const row = await this.keys.findOneBy({ id });
    if (!row) throw AppError.notFound('API key', id);
    await this.keys.delete({ id });
    this.cache.delete(row.prefix);
  }

  /** The key's scopes, or null when the key is unknown or wrong. Constant-time on the secret. */
  async authenticate(presented: string): Promise<Scope[] | null> {
    const m = KEY_FORMAT.exec(presented);
    if (!m) return null;
    const row = await this.findByPrefix(m[1]);
    if (!row || !timingSafeEqual(row.secretHash, hash(presented))) return null;
    return row.scopes;
  }

  private async findByPrefix(prefix: string): Promise<ApiKey | null> {
    const now = Date.now();
    const hit = this.cache.get(prefix);
    if (hit && hit.until > now) return hit.key;
    const key = await this.keys.findOneBy({ prefix });
    this.cache.set(prefix, { key, until: now + CACHE_MS });
    if (key && (!key.lastUsedAt || now - key.lastUsedAt.getTime() > 60_000)) {
      key.lastUsedAt = new Date(now);
      this.keys.update({ id: key.id }, { lastUsedAt: key.lastUsedAt }).catch((e: Error) => this.logger.warn(e.message));
    }
    return key;
  }
}

function newKey(): { prefix: string; key: string } {
  const prefix = randomString(8);
  return { prefix, key: `edm_${prefix}_${randomString(40)}` };
}

function hash(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function randomString(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 62 symbols: reject bytes >= 248 to keep the distribution uniform.
  for (let i = 0; out.length < length; i++) {
    if (i >= bytes.length) return out + randomString(length - out.length);
    if (bytes[i] < 248) out += ALPHABET[bytes[i] % 62];
  }
  return out;
}

function map(row: ApiKey): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    prefix: `edm_${row.prefix}`,
    scopes: row.scopes,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
