import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** A worker as its own OS process (as on another machine): `src/worker.ts` compiled on the fly by SWC. */
export class WorkerProcess {
  private child?: ChildProcess;
  output = '';

  constructor(private readonly env: Record<string, string>) {}

  async start(timeoutMs = 30_000): Promise<this> {
    this.output = '';
    this.child = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'src', 'worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, ROLE: 'worker', LOG_LEVEL: 'info', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const until = Date.now() + timeoutMs;
    while (!this.output.includes('worker started')) {
      if (this.child.exitCode !== null || Date.now() > until) throw new Error(`worker did not start:\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** As a crash: no cleanup, no drain. */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}
