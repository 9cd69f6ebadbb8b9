import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { ImportRunner } from './import-runner';
import type { ImportJob } from './imports.service';

@Processor('imports', { concurrency: 1, lockDuration: 60_000 })
export class ImportProcessor extends WorkerHost {
  private readonly logger = new Logger('Imports');

  constructor(private readonly runner: ImportRunner) {
    super();
  }

  async process(job: Job<ImportJob>): Promise<void> {
    try {
      await this.runner.run(job.data.importId);
    } catch (e) {
      const attempts = job.opts.attempts ?? 1;
      const last = job.attemptsMade + 1 >= attempts;
      // Every failed attempt is in the log; the last also marks the import failed, with its reason.
      this.logger[last ? 'error' : 'warn'](
        `import ${job.data.importId} failed (attempt ${job.attemptsMade + 1} of ${attempts}${last ? ', giving up' : ', will retry'}): ${(e as Error).stack ?? String(e)}`,
      );
      if (last) await this.runner.fail(job.data.importId, (e as Error).message);
      throw e;
    }
  }
}
