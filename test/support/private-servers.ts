import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './ports';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
/** initdb refuses to run as root: as root, the Postgres tools run as the postgres user. */
const asRoot = process.getuid?.() === 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once something accepts TCP connections on the port. */
async function listening(port: number, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * A Redis of the test's own, without persistence: killing it loses every key, as a production
 * Redis without AOF loses them on a restart. The shared Redis of the machine is never touched.
 */
export class PrivateRedis {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'edm-redis-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir],
      {
        stdio: 'ignore',
      },
    );
    await listening(this.port);
  }

  /** SIGKILL by default: no shutdown of any kind, all data gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode) return;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill(signal);
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Postgres cluster of the test's own on 127.0.0.1 at a free port: restarting it disturbs no other test. */
export class PrivatePostgres {
  private readonly dir: string;

  private constructor(readonly port: number) {
    this.dir = mkdtempSync('/tmp/edm-pg-');
  }

  static async start(): Promise<PrivatePostgres> {
    const pg = new PrivatePostgres(await freePort());
    if (asRoot) {
      const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
      chownSync(pg.dir, Number(uid.trim()), Number(gid.trim()));
    }
    await pg.pg('initdb', ['-D', pg.data, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
    await pg.start();
    return pg;
  }

  /** The server's URL, without a database. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  async start(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-o', `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1`, '-l', join(this.dir, 'log'), '-w', 'start']);
  }

  /** `fast` rolls back open transactions and closes every connection, as a restart does. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-m', mode, '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args], { cwd: '/tmp' });
    else await run(join(PG_BIN, tool), args, { cwd: '/tmp' });
  }
}
