import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

export const ROOT = join(__dirname, '..', '..');
export const PG = 'postgres://postgres@127.0.0.1:5432';
export const ADMIN_KEY = 'edm_Bench001_' + 'b'.repeat(40);

/** Builds dist/ once (benchmarks run the built platform, as production does). */
export function build(): void {
  execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function resetDatabase(name: string): Promise<void> {
  const c = new Client({ connectionString: `${PG}/postgres` });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
}

/** A fresh, empty database of that name (an earlier run's is dropped first). */
export async function createDatabase(name: string): Promise<void> {
  await resetDatabase(name);
  const c = new Client({ connectionString: `${PG}/postgres` });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
}

export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis('redis://127.0.0.1:6379');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

/**
 * BENCH_PLATFORM=start: the platform as `npm start` runs it, wherever a benchmark starts ROLE=all or
 * ROLE=api — the supervisor with its default layout (on c cores ⌊c/2⌋ API and the rest worker
 * processes) and npm start's default LOG_LEVEL (info); the benchmark's other settings are kept. A
 * ROLE=worker process the benchmark asks for is then the worker processes of the `npm start` running
 * (or one started for it). Unset, or `roles`: each process as the benchmark asks, ROLE=all as one
 * process (PROCESSES=1), as the figures in bench/README.md were measured.
 */
export const BENCH_PLATFORM = process.env.BENCH_PLATFORM ?? 'roles';
if (BENCH_PLATFORM !== 'roles' && BENCH_PLATFORM !== 'start') throw new Error(`BENCH_PLATFORM=${BENCH_PLATFORM}: expected roles or start`);

const NPM_START_DEFAULTS = ['ROLE', 'PROCESSES', 'API_PROCESSES', 'WORKER_PROCESSES', 'LOG_LEVEL'];

/** The platform (`node dist/src/main.js`) with the given role and settings: one process, or `npm start` (BENCH_PLATFORM=start). */
export class Platform {
  private static supervisors: Platform[] = [];
  child!: ChildProcess;
  private log = '';
  /** BENCH_PLATFORM=start: this is the supervisor of `npm start`. */
  private supervisor = false;
  /** BENCH_PLATFORM=start, ROLE=worker: a view of the worker processes of this `npm start`. */
  private host?: Platform;
  constructor(readonly env: Record<string, string>) {}

  get output(): string {
    return this.host ? this.host.output : this.log;
  }

  /** Starts and waits until `ready` (e.g. GET /health answers) or the log shows `ready` text. */
  async start(ready: string | (() => Promise<boolean>)): Promise<this> {
    const role = this.env.ROLE ?? 'all';
    let env: Record<string, string> = role === 'all' ? { PROCESSES: '1', ...this.env } : this.env;
    if (BENCH_PLATFORM === 'start') {
      this.host = role === 'worker' ? Platform.supervisors.find((p) => !p.exited()) : undefined;
      if (this.host) {
        this.child = this.host.child;
        return this.until(ready);
      }
      const kept = Object.entries(this.env).filter(([k]) => !NPM_START_DEFAULTS.includes(k));
      env = { ...Object.fromEntries(kept), PORT: this.env.PORT ?? String(await freePort()) };
      this.supervisor = true;
      Platform.supervisors.push(this);
    }
    this.child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    return this.until(ready);
  }

  private async until(ready: string | (() => Promise<boolean>)): Promise<this> {
    const until = Date.now() + 60_000;
    const isReady = typeof ready === 'string' ? () => this.output.includes(ready) : ready;
    while (!(await isReady())) {
      if (this.exited() || Date.now() > until) {
        this.child.kill('SIGKILL');
        throw new Error(`platform did not start:\n${this.output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return this;
  }

  /**
   * The processes measured: the one process; of `npm start`, the supervisor and its children, or only
   * its worker processes where the benchmark asked for ROLE=worker.
   */
  pids(): number[] {
    const npmStart = this.host ?? (this.supervisor ? this : undefined);
    if (!npmStart) return [this.child.pid!];
    const children = childPids(npmStart.child.pid!);
    if (this.env.ROLE !== 'worker') return [npmStart.child.pid!, ...children];
    const started = npmStart.log.split('\n').filter((l) => l.endsWith('"msg":"worker process started"}'));
    const workers = started.map((l) => (JSON.parse(l) as { childPid: number }).childPid);
    return children.filter((pid) => workers.includes(pid));
  }

  /** Peak resident set size so far, in MB (VmHWM; of several processes, the sum of their peaks). */
  peakRssMb(): number {
    let kb = 0;
    for (const pid of this.pids()) {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) return NaN;
      kb += Number(m[1]);
    }
    return kb / 1024;
  }

  /** CPU time (user + system) the processes have used so far, in seconds; `npm start`'s includes children restarted meanwhile. */
  cpuSeconds(): number {
    return this.pids().reduce((sum, pid) => sum + processCpuSeconds(pid, pid === this.child.pid), 0);
  }

  private exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** `npm start` drains and stops all its processes; a worker view leaves that to it. */
  async stop(): Promise<void> {
    if (this.host || this.exited()) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
      setTimeout(() => this.child.kill('SIGKILL'), 10_000).unref();
    });
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** With `reaped`, also the CPU time of its children that have exited and been waited for. */
function processCpuSeconds(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]); // utime, stime
    return (reaped ? own + Number(fields[13]) + Number(fields[14]) : own) / CLOCK_TICKS; // cutime, cstime
  } catch {
    return 0; // gone meanwhile
  }
}

function childPids(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) pids.push(Number(entry));
    } catch {
      // gone in between
    }
  }
  return pids;
}

/**
 * CPU seconds used so far by all local PostgreSQL processes (backends, WAL writer, checkpointer…).
 * A difference of two readings is the database's share of a run, as long as the backends that
 * did the work are still connected at the second reading.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm === 'postgres') total += processCpuSeconds(Number(pid));
  }
  return total;
}

export function healthy(port: number): () => Promise<boolean> {
  return () =>
    fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- benchmark scripts read a few fields of many shapes
export async function api(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

export function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`;
}

/**
 * A benchmark's main: runs it under a time limit, cleans up always (also on Ctrl-C), prints the
 * platform's last output on error, and exits 0 when it measured (PASS or FAIL), 1 on error —
 * explicitly, as a timed-out run may leave work pending.
 */
export async function runBenchmark(opts: {
  run: () => Promise<void>;
  cleanup: () => Promise<void>;
  deadlineMs: number;
  output: () => string | undefined;
}): Promise<never> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${opts.deadlineMs / 60_000} minutes`)), opts.deadlineMs);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void opts.cleanup().finally(() => process.exit(130));
    });
  }
  let code = 1;
  try {
    await Promise.race([opts.run(), deadline]);
    code = 0;
  } catch (e) {
    console.error(e);
    const output = opts.output();
    if (output) console.error(`platform output (last 2000 chars):\n${output.slice(-2000)}`);
  } finally {
    clearTimeout(timer);
    await opts.cleanup();
  }
  process.exit(code);
}

/** A small seeded PRNG (mulberry32): the same generated data every run. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
