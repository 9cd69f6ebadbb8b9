import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { ConfirmationJob, ConfirmationMailer } from './confirmation-mailer';

/** Transactional audience mail (double opt-in confirmations), retried with backoff by BullMQ. */
@Processor('mail', { concurrency: 4 })
export class MailProcessor extends WorkerHost {
  constructor(private readonly mailer: ConfirmationMailer) {
    super();
  }

  async process(job: Job<ConfirmationJob>): Promise<boolean> {
    return this.mailer.send(job.data);
  }
}
