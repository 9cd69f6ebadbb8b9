import 'reflect-metadata';
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config/config';
import type { AppConfig } from './config/config';
import { prepareDatabase } from './database/database';
import { createLogger } from './observability/logger';
import { processLayout, Supervisor } from './supervisor';

/**
 * `npm start`: ROLE=all (default) on several cores is a supervisor that forks API and worker processes
 * (src/supervisor.ts); on one core, or with PROCESSES=1, one process serves HTTP and runs the queue
 * processors. ROLE=api or ROLE=worker run one side only.
 */
async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  // A supervised child finds the database ready, and its warnings were shown once by the supervisor.
  if (!config.processes.supervised) {
    for (const w of config.warnings) logger.warn(w);
    await prepareDatabase(config);
  }
  // Inside someone else's cluster (pm2's cluster mode) this process cannot fork: it runs as one.
  const layout = cluster.isPrimary ? processLayout(config) : null;
  if (layout) {
    logger.info(
      { ...layout, schedulingPolicy: 'round-robin' },
      `EDM supervisor: ${layout.api} API process(es) sharing ${config.http.host}:${config.http.port}, ${layout.worker} worker process(es); public URL ${config.http.publicUrl} (API docs at /docs)`,
    );
    new Supervisor(layout, config.processes.shutdownTimeoutMs, logger, config.processes.heapSetByUser).start();
    return;
  }
  // Loaded only here: the supervisor stays a small process without Nest, Fastify, BullMQ or MJML.
  if (config.role === 'worker') {
    const { startWorker } = await import('./worker');
    await startWorker(config, logger);
    return;
  }
  const { createHttpApp } = await import('./http');
  const app = await createHttpApp(config, logger);
  await app.listen(config.http.port, config.http.host);
  logger.info(
    `EDM ${config.role === 'all' ? 'API + worker' : 'API'} listening on ${config.http.host}:${config.http.port}; public URL ${config.http.publicUrl} (API docs at /docs)`,
  );
}

function readConfig(): AppConfig {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
