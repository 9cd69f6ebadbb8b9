import { ParsedMail, simpleParser } from 'mailparser';
import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

/** A reply to force for a recipient, e.g. {code: 550, message: 'no such user'}; null accepts. */
export type RcptPolicy = (address: string) => { code: number; message: string } | null;

/** A real SMTP server on loopback that keeps what it receives. */
export class SmtpCapture {
  readonly mails: CapturedMail[] = [];
  /** Decides each RCPT TO; change it at any time. */
  policy: RcptPolicy = () => null;
  /** RCPT TO commands seen per address, accepted or not. */
  readonly attempts = new Map<string, number>();
  /** Milliseconds to wait before answering DATA (to keep SMTP transactions in flight). */
  dataDelayMs = 0;
  private server!: SMTPServer;
  port = 0;

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (address, _session, callback) => {
        const to = address.address.toLowerCase();
        this.attempts.set(to, (this.attempts.get(to) ?? 0) + 1);
        const reply = this.policy(to);
        if (!reply) return callback();
        callback(Object.assign(new Error(reply.message), { responseCode: reply.code }));
      },
      onData: (stream, session, callback) => {
        const parts: Buffer[] = [];
        stream.on('data', (d: Buffer) => parts.push(d));
        stream.on('end', async () => {
          if (this.dataDelayMs) await new Promise((r) => setTimeout(r, this.dataDelayMs));
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
    // A client killed mid-transaction resets its connection: that is a test scenario, not an error.
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** How many mails each recipient got. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.mails) for (const to of m.to) out.set(to, (out.get(to) ?? 0) + 1);
    return out;
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
