import { loadConfig } from '../../src/config/config';
import { prepareDatabase } from '../../src/database/database';
import { databaseUrl, TEMPLATE_DB, withAdmin } from './databases';

/** Builds the migrated template database once per run; each test file copies it. */
export default async function globalSetup(): Promise<void> {
  await withAdmin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    // Leftovers of runs that were killed before they could clean up.
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'edm\\_test\\_%' AND datname <> $1`,
      [TEMPLATE_DB],
    );
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  });
  await prepareDatabase(loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl(TEMPLATE_DB), APP_SECRET: 'x'.repeat(32) }));
}
