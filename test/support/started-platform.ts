import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** One JSON log line of the supervisor or of a child (the admin key banner is not JSON and is skipped). */
export interface LogLine {
  pid: number;
  msg: string;
  role?: 'api' | 'worker';
  childPid?: number;
  code?: number | null;
  signal?: string | null;
  restartInMs?: number;
}

/**
 * The platform as `npm start` runs it, as its own OS process: `src/main.ts` compiled on the fly by SWC.
 * The children the supervisor forks inherit the SWC hook and write to the same stdout.
 */
export class StartedPlatform {
  private child?: ChildProcess;
  private exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = '';

  constructor(private readonly env: Record<string, string>) {}

  start(): this {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'src', 'main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, LOG_LEVEL: 'info', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child = child;
    return this;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  lines(): LogLine[] {
    return this.output.split('\n').flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return []; // a line still being written
      }
    });
  }

  /** Pids of the children of that role the supervisor started so far, oldest first. */
  started(role: 'api' | 'worker'): number[] {
    return this.lines()
      .filter((l) => l.pid === this.pid && l.role === role && l.msg.endsWith('process started'))
      .map((l) => l.childPid!);
  }

  /** Polls the log (or anything else) until `check` returns a value; fails with the log's tail. */
  async waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms; output:\n${this.output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child!.kill(signal);
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit!;
  }

  /** Cleanup after a failed test: nothing of it may outlive the run. */
  async destroy(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const pids = [...this.started('api'), ...this.started('worker')];
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await this.exit;
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
