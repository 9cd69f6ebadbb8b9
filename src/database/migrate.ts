import { loadConfig } from '../config/config';
import { prepareDatabase } from './database';

/** `npm run migration:run`: create the database if needed and apply pending migrations. */
async function main(): Promise<void> {
  const config = loadConfig();
  await prepareDatabase(config);
  process.stdout.write(`migrations applied to ${new URL(config.database.url).pathname.slice(1)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
