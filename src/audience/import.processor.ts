import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { ImportRunner } from './import-runner';
import type { ImportJob } from './imports.service';

@Processor('imports', { concurrency: 1, lockDuration: 60_000 })
export class ImportProcessor extends WorkerHost {
  constructor(private readonly runner: ImportRunner) {
    super();
  }

  async process(job: Job<ImportJob>): Promise<void> {
    try {
      await this.runner.run(job.data.importId);
    } catch (e) {
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await this.runner.fail(job.data.importId, (e as Error).message);
      throw e;
    }
  }
}
