import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { ConfirmationJob, ConfirmationMailer } from '../audience/confirmation-mailer';
import { MailTransport } from './mail-transport';

/** Transactional audience mail (double opt-in confirmations), retried with backoff by BullMQ. */
@Processor('mail', { concurrency: 4 })
export class MailProcessor extends WorkerHost {
  constructor(
    private readonly mailer: ConfirmationMailer,
    private readonly transport: MailTransport,
  ) {
    super();
  }

  async process(job: Job<ConfirmationJob>): Promise<boolean> {
    const mail = await this.mailer.mail(job.data);
    if (mail) await this.transport.send(mail);
    return mail !== null;
  }
}
