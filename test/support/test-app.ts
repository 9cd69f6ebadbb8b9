import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { AppConfig, loadConfig } from '../../src/config/config';
import { createHttpApp } from '../../src/http';
import { createLogger } from '../../src/observability/logger';
import { createTestDatabase, databaseUrl, dropDatabase, REDIS_URL, uniqueName } from './databases';

export const ADMIN_KEY = 'edm_TestAdm1_' + 'a'.repeat(40);

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  /** Direct access to the test database, to assert on what it holds. */
  db: Pool;
  config: AppConfig;
  /** The environment the app was configured from, for worker processes that must share it. */
  env: Record<string, string>;
  /** Supertest call with the admin key. */
  api: (method: 'get' | 'post' | 'patch' | 'delete' | 'put', path: string) => request.Test;
  close: () => Promise<void>;
}

/**
 * Boots the whole platform (HTTP + queue processors) in this process against a fresh database
 * and its own Redis key prefix, so test files never see each other's rows or jobs.
 */
export async function startTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const dbName = await createTestDatabase();
  const prefix = uniqueName('edmtest');
  const dataDir = mkdtempSync(join(tmpdir(), 'edm-test-'));
  const values: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(dbName),
    REDIS_URL,
    REDIS_PREFIX: prefix,
    APP_SECRET: 'test-secret-'.padEnd(64, 's'),
    ADMIN_API_KEY: ADMIN_KEY,
    PUBLIC_URL: 'https://edm.test',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  };
  const config = loadConfig(values);
  const app = await createHttpApp(config, createLogger(config.logLevel));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const http = request(app.getHttpServer());
  const db = new Pool({ connectionString: config.database.url, max: 3 });
  // An idle connection that the server closes (a backend terminated from outside the run) leaves the
  // pool, and the next query opens another; without a listener the pool would throw it at whatever
  // test happens to be running. Errors of queries still reach the test that made them.
  db.on('error', () => undefined);
  return {
    app,
    http,
    db,
    config,
    env: Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined)),
    api: (method, path) => http[method](path).set('Authorization', `Bearer ${ADMIN_KEY}`),
    close: async () => {
      await app.close();
      await db.end();
      await dropDatabase(dbName);
      await deleteRedisKeys(prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls until `check` returns a value other than undefined. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
