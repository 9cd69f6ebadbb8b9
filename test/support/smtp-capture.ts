import { ParsedMail, simpleParser } from 'mailparser';
import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

/** A real SMTP server on loopback that keeps what it receives. */
export class SmtpCapture {
  readonly mails: CapturedMail[] = [];
  private server!: SMTPServer;
  port = 0;

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const parts: Buffer[] = [];
        stream.on('data', (d: Buffer) => parts.push(d));
        stream.on('end', () => {
          const raw = Buffer.concat(parts);
          simpleParser(raw)
            .then((parsed) => {
              this.mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, parsed });
              callback();
            })
            .catch(callback);
        });
      },
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  mailsTo(address: string): CapturedMail[] {
    return this.mails.filter((m) => m.to.includes(address));
  }

  async waitFor(predicate: (mails: CapturedMail[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate(this.mails)) {
      if (Date.now() > until) throw new Error(`SMTP capture: condition not met within ${timeoutMs} ms (${this.mails.length} mails received)`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
