import cluster, { Worker } from 'node:cluster';
import { availableParallelism, setPriority } from 'node:os';
import type { Logger } from 'pino';
import type { AppConfig } from './config/config';

export type ChildRole = 'api' | 'worker';
export interface Layout {
  api: number;
  worker: number;
}

/**
 * Worker processes run at a lower CPU priority than the API processes: when both want the cores (a
 * burst of opens and clicks while the stream is ingested), answering people comes first, and the
 * ingestion and sending catch up the moment the API has nothing to do.
 */
const WORKER_NICENESS = 10;

const WORKER_HEAP = '--max-old-space-size=128';

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A child that ran this long was healthy: its next crash is a new incident, restarted after RESTART_MIN_MS. */
const STABLE_MS = 60_000;
/**
 * One stop request often arrives as several signals: Ctrl-C reaches the whole process group and npm
 * forwards it once more, systemd signals every process of the unit. Only a signal this long after the
 * first is someone insisting.
 */
const INSIST_AFTER_MS = 1_000;

/**
 * How `npm start` runs here: null for one process (ROLE=api or worker, PROCESSES=1, one core), otherwise
 * the API and worker processes to fork. On c cores half of them serve HTTP and the rest (the odd one
 * too) run the queues, so that neither tracking traffic nor rendering and ingestion starves the other.
 */
export function processLayout(config: AppConfig, cores: number = availableParallelism()): Layout | null {
  const p = config.processes;
  if (config.role !== 'all' || p.supervised || p.total === 1) return null;
  const c = p.total ?? cores;
  if (c < 2 && p.api === undefined && p.worker === undefined) return null;
  const api = p.api ?? Math.max(1, Math.floor(c / 2));
  return { api, worker: p.worker ?? Math.max(1, c - api) };
}

/** The wait before restarting a child that crashed after running `ranMs`, given the wait before its previous restart. */
export function restartDelay(previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || ranMs >= STABLE_MS) return RESTART_MIN_MS;
  return Math.min(previousMs * 2, RESTART_MAX_MS);
}

interface Slot {
  role: ChildRole;
  child?: Worker;
  startedAt: number;
  delayMs?: number;
  timer?: NodeJS.Timeout;
}

/**
 * The node:cluster primary of `npm start`: forks the API and worker processes, restarts those that die,
 * and on SIGTERM/SIGINT lets them drain before it exits. node:cluster rather than child_process.fork
 * because several API processes must accept on one port, and because cluster children exit by
 * themselves when the supervisor dies, so a SIGKILLed supervisor leaves no orphans holding jobs.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private stoppingSince?: number;
  private forced = false;
  private deadline?: NodeJS.Timeout;

  constructor(
    layout: Layout,
    private readonly shutdownTimeoutMs: number,
    private readonly logger: Logger,
    private readonly heapSetByUser = false,
  ) {
    const roles: ChildRole[] = [...Array<ChildRole>(layout.api).fill('api'), ...Array<ChildRole>(layout.worker).fill('worker')];
    this.slots = roles.map((role) => ({ role, startedAt: 0 }));
  }

  start(): void {
    // Round-robin: the supervisor accepts every connection and hands it to the next API process. With
    // SCHED_NONE the kernel wakes whichever process is in accept(), which in practice piles most
    // connections onto one of them — and the few keep-alive connections of a reverse proxy stay there.
    cluster.schedulingPolicy = cluster.SCHED_RR;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => this.stop(signal));
    for (const slot of this.slots) this.fork(slot);
  }

  private fork(slot: Slot): void {
    slot.timer = undefined;
    // A worker's live heap is small: a budget makes V8 collect the garbage of rendering instead of
    // growing (as `npm run start:worker` and docker-compose start one), unless NODE_OPTIONS sets its own.
    cluster.setupPrimary({ execArgv: slot.role === 'worker' && !this.heapSetByUser ? [...process.execArgv, WORKER_HEAP] : process.execArgv });
    const child = cluster.fork({ ROLE: slot.role, SUPERVISED: '1' });
    if (slot.role === 'worker' && child.process.pid) setPriority(child.process.pid, WORKER_NICENESS);
    slot.child = child;
    slot.startedAt = Date.now();
    this.logger.info({ role: slot.role, childPid: child.process.pid }, `${slot.role} process started`);
    child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => this.exited(slot, child, code, signal));
  }

  private exited(slot: Slot, child: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child === child) slot.child = undefined;
    const ranMs = Date.now() - slot.startedAt;
    const fields = { role: slot.role, childPid: child.process.pid, code, signal, ranMs };
    if (this.stoppingSince !== undefined) {
      this.logger.info(fields, `${slot.role} process exited`);
      this.exitWhenAllGone();
      return;
    }
    slot.delayMs = restartDelay(slot.delayMs, ranMs);
    this.logger.error({ ...fields, restartInMs: slot.delayMs }, `${slot.role} process exited unexpectedly; restarting it`);
    slot.timer = setTimeout(() => this.fork(slot), slot.delayMs);
  }

  /** The children drain on SIGTERM (sends in flight finish, the rest goes back to the queue); a second signal or the timeout cuts that short. */
  private stop(signal: NodeJS.Signals): void {
    if (this.stoppingSince !== undefined) {
      if (Date.now() - this.stoppingSince < INSIST_AFTER_MS) return;
      this.logger.warn({ signal }, 'second signal: killing the processes still running');
      this.killAll();
      return;
    }
    this.stoppingSince = Date.now();
    for (const slot of this.slots) clearTimeout(slot.timer);
    this.logger.info({ signal, timeoutMs: this.shutdownTimeoutMs }, 'stopping: SIGTERM to every process, waiting for them to drain');
    for (const child of this.running()) child.process.kill('SIGTERM');
    this.deadline = setTimeout(() => {
      this.logger.warn({ timeoutMs: this.shutdownTimeoutMs }, 'shutdown timeout: killing the processes still running');
      this.killAll();
    }, this.shutdownTimeoutMs);
    this.exitWhenAllGone();
  }

  private killAll(): void {
    this.forced = true;
    for (const child of this.running()) child.process.kill('SIGKILL');
  }

  private exitWhenAllGone(): void {
    if (this.running().length) return;
    clearTimeout(this.deadline);
    this.logger.info(this.forced ? 'stopped; some processes had to be killed' : 'stopped');
    // Nothing is left to keep the event loop alive: ending on its own lets pino write out its last lines.
    process.exitCode = this.forced ? 1 : 0;
    setTimeout(() => process.exit(), 2_000).unref();
  }

  private running(): Worker[] {
    return this.slots.flatMap((s) => (s.child ? [s.child] : []));
  }
}
