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

/** One platform process (`node dist/src/main.js`) with the given role and settings. */
export class Platform {
  child!: ChildProcess;
  output = '';
  constructor(readonly env: Record<string, string>) {}

  /** Starts and waits until `ready` (e.g. GET /health answers) or the log shows `ready` text. */
  async start(ready: string | (() => Promise<boolean>)): Promise<this> {
    this.child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], { cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const until = Date.now() + 60_000;
    const isReady = typeof ready === 'string' ? async () => this.output.includes(ready) : ready;
    while (!(await isReady())) {
      if (this.exited() || Date.now() > until) {
        this.child.kill('SIGKILL');
        throw new Error(`platform did not start:\n${this.output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return this;
  }

  /** Peak resident set size so far, in MB (VmHWM). */
  peakRssMb(): number {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  }

  /** CPU time (user + system) the process has used so far, in seconds. */
  cpuSeconds(): number {
    return processCpuSeconds(this.child.pid!);
  }

  private exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async stop(): Promise<void> {
    if (this.exited()) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
      setTimeout(() => this.child.kill('SIGKILL'), 10_000).unref();
    });
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
  } catch {
    return 0; // gone meanwhile
  }
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
  return () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
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
export async function runBenchmark(opts: { run: () => Promise<void>; cleanup: () => Promise<void>; deadlineMs: number; output: () => string | undefined }): Promise<never> {
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
