import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { migrations } from '../../migrations';
import type { AppConfig } from '../config/config';

export function dataSourceOptions(config: AppConfig): PostgresConnectionOptions {
  return {
    type: 'postgres',
    url: config.database.url,
    // Each capability registers the entities it maps (TypeOrmModule.forFeature): the database folder knows none of them.
    entities: [],
    migrations,
    synchronize: false,
    migrationsRun: false,
    poolSize: config.database.poolSize,
    extra: { application_name: `edm-${config.role}` },
  };
}

/**
 * Creates the database when it does not exist, then applies pending migrations.
 * Several processes may start at once: an advisory lock lets one migrate while the others wait.
 */
export async function prepareDatabase(config: AppConfig): Promise<void> {
  await ensureDatabaseExists(config.database.url);
  const lock = new Client({ connectionString: config.database.url });
  await lock.connect();
  const ds = new DataSource({ ...dataSourceOptions(config), poolSize: 1 });
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', ['edm:migrations']);
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await lock.end();
  }
}

export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created meanwhile by another process
      });
    }
  } finally {
    await client.end();
  }
}
