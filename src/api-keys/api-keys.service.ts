import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AppError } from '../common/errors';
import { ApiKey, Scope } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
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
    private readonly keys: ApiKeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** First start: make sure an admin key exists (ADMIN_API_KEY, or a new one printed once). */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.role === 'worker') return;
    const given = this.config.adminApiKey;
    if (given) {
      const prefix = KEY_FORMAT.exec(given)![1];
      await this.keys.installGiven(prefix, hash(given));
      return;
    }
    // Several API processes may start at once on an empty database: one creates the key.
    const { prefix, key } = newKey();
    if (!(await this.keys.createFirst(prefix, hash(key)))) return;
    // Printed straight to stdout, once, so that it is not kept in log aggregation.
    process.stdout.write(`\n  Admin API key (shown once, keep it safe):\n\n    ${key}\n\n`);
  }

  async create(name: string, scopes: Scope[]): Promise<CreatedApiKeyDto> {
    const { prefix, key } = newKey();
    const row = await this.keys.insert(name, prefix, hash(key), [...new Set(scopes)]);
    return { ...map(row), key };
  }

  async list(): Promise<ApiKeyDto[]> {
    return (await this.keys.all()).map(map);
  }

  async remove(id: string): Promise<void> {
    const row = await this.keys.find(id);
    if (!row) throw AppError.notFound('API key', id);
    await this.keys.delete(id);
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
    const key = await this.keys.byPrefix(prefix);
    this.cache.set(prefix, { key, until: now + CACHE_MS });
    if (key && (!key.lastUsedAt || now - key.lastUsedAt.getTime() > 60_000)) {
      key.lastUsedAt = new Date(now);
      this.keys.touch(key.id, key.lastUsedAt).catch((e: Error) => this.logger.warn(e.message));
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
