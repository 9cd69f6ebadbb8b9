import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config';
import { prepareDatabase } from './database/database';
import { createHttpApp } from './http';
import { createLogger } from './observability/logger';
import { startWorker } from './worker';

/** `npm start`: ROLE=all (default) serves HTTP and runs the queue processors; ROLE=api or ROLE=worker split them. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  for (const w of config.warnings) logger.warn(w);
  await prepareDatabase(config);
  if (config.role === 'worker') {
    await startWorker(config, logger);
    return;
  }
  const app = await createHttpApp(config, logger);
  await app.listen(config.http.port, config.http.host);
  logger.info(`EDM ${config.role === "all" ? "API + worker" : "API"} listening on ${config.http.host}:${config.http.port}; public URL ${config.http.publicUrl} (API docs at /docs)`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
