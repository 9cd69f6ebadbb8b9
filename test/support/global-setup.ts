import { loadConfig } from '../../src/config/config';
import { prepareDatabase } from '../../src/database/database';
import { createdAt, databaseUrl, uniqueName, withAdmin } from './databases';

/** Leftovers of runs that were killed before they could clean up; younger ones may belong to a run going on now. */
const STALE_MS = 3 * 3_600_000;

/** Builds this run's migrated template database once; each test file copies it. */
export default async function globalSetup(): Promise<void> {
  const template = uniqueName('edm_test_tpl');
  process.env.EDM_TEST_TEMPLATE = template; // test workers are started after this, and inherit it
  await withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'edm\\_test\\_%'`);
    for (const { datname } of rows) {
      const born = createdAt(datname);
      if (datname === 'edm_test_template' || Date.now() - born > STALE_MS) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  });
  await prepareDatabase(loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl(template), APP_SECRET: 'x'.repeat(32) }));
}
