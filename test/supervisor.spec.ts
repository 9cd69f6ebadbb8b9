import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, databaseUrl, dropDatabase, REDIS_URL, uniqueName } from './support/databases';
import { freePort } from './support/ports';
import { alive, StartedPlatform } from './support/started-platform';
import { deleteRedisKeys } from './support/test-app';
import { ADMIN_KEY } from './support/test-app';

/** What a test needs to run `npm start` in isolation: its database, Redis prefix, port and data dir. */
async function setting(database: string): Promise<{ env: Record<string, string>; base: string; dataDir: string; cleanup: () => Promise<void> }> {
  const port = await freePort();
  const prefix = uniqueName('edmtest');
  const dataDir = mkdtempSync(join(tmpdir(), 'edm-test-'));
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(database),
    REDIS_URL,
    REDIS_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: 'https://edm.test',
    APP_SECRET: 'test-secret-'.padEnd(64, 's'),
    DATA_DIR: dataDir,
    API_PROCESSES: '1',
    WORKER_PROCESSES: '1',
    SMTP_URL: '',
    PROCESSES: '',
    ADMIN_API_KEY: '',
  };
  const cleanup = async () => {
    await dropDatabase(database);
    await deleteRedisKeys(prefix);
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { env, base: `http://127.0.0.1:${port}`, dataDir, cleanup };
}

const call = (base: string, path: string, init: RequestInit = {}, key = ADMIN_KEY) =>
  fetch(`${base}${path}`, { ...init, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...init.headers } });
const healthy = (base: string) => async () => ((await fetch(`${base}/health`).catch(() => undefined))?.status === 200 ? true : undefined);
const listening = (p: StartedPlatform, pid: number) => () => (p.lines().some((l) => l.pid === pid && l.msg.startsWith('EDM API listening')) ? true : undefined);

describe('npm start: a supervisor with API and worker processes', () => {
  let s: Awaited<ReturnType<typeof setting>>;
  let p: StartedPlatform;
  beforeAll(async () => {
    s = await setting(await createTestDatabase());
    p = new StartedPlatform({ ...s.env, ADMIN_API_KEY: ADMIN_KEY }).start();
    await p.waitFor('GET /health → 200', healthy(s.base), 90_000);
  }, 120_000);
  afterAll(async () => {
    await p?.destroy();
    await s?.cleanup();
  });

  it('forks one API and one worker process, and the API answers through the shared port', async () => {
    const [api] = p.started('api');
    const [worker] = p.started('worker');
    expect(new Set([p.pid, api, worker]).size).toBe(3);
    expect(p.lines().find((l) => l.msg.startsWith('EDM supervisor'))).toMatchObject({ pid: p.pid, api: 1, worker: 1 });
    await p.waitFor('the worker process', () => (p.lines().some((l) => l.pid === worker && l.msg === 'worker started') ? true : undefined));
    expect(p.lines().find((l) => l.msg.startsWith('EDM API listening'))?.pid).toBe(api);

    const created = await call(s.base, '/v1/lists', { method: 'POST', body: JSON.stringify({ name: 'Newsletter', optIn: 'double' }) });
    expect(created.status).toBe(201);
    const list = (await created.json()) as { id: string };
    const lists = (await (await call(s.base, '/v1/lists')).json()) as { items: { id: string }[] };
    expect(lists.items.map((l) => l.id)).toContain(list.id);

    // The confirmation mail is a queue job: only the worker process sends it.
    const sub = await call(s.base, '/v1/subscribers', {
      method: 'POST',
      body: JSON.stringify({ email: 'ada@example.com', lists: [list.id], consent: { source: 'api', text: 'Yes' } }),
    });
    expect(sub.status).toBe(201);
    const outbox = join(s.dataDir, 'outbox');
    await p.waitFor(
      'a confirmation mail in the outbox',
      () => (existsSync(outbox) && readdirSync(outbox).some((f) => f.endsWith('.eml')) ? true : undefined),
      30_000,
    );
  }, 60_000);

  it('restarts a killed process, after a wait that doubles when it crashes again soon', async () => {
    const killAndWait = async (role: 'api' | 'worker') => {
      const before = p.started(role);
      const victim = before[before.length - 1];
      process.kill(victim, 'SIGKILL');
      const crash = await p.waitFor(`the supervisor sees ${role} ${victim} die`, () =>
        p.lines().find((l) => l.childPid === victim && l.msg.includes('exited unexpectedly')),
      );
      expect(crash).toMatchObject({ pid: p.pid, role, signal: 'SIGKILL', code: null });
      const next = await p.waitFor(`a new ${role} process`, () => p.started(role).find((pid) => !before.includes(pid)), 30_000);
      return { crash, next };
    };

    const api1 = await killAndWait('api');
    expect(api1.crash.restartInMs).toBe(1_000);
    await p.waitFor('the new API process listening', listening(p, api1.next), 60_000);
    await p.waitFor('GET /health → 200 again', healthy(s.base));
    expect((await call(s.base, '/v1/lists')).status).toBe(200);

    const api2 = await killAndWait('api'); // it ran seconds, not a minute: the wait doubles
    expect(api2.crash.restartInMs).toBe(2_000);
    await p.waitFor('the third API process listening', listening(p, api2.next), 60_000);

    const worker = await killAndWait('worker'); // each process has its own backoff
    expect(worker.crash.restartInMs).toBe(1_000);
    await p.waitFor('the new worker process', () => (p.lines().some((l) => l.pid === worker.next && l.msg === 'worker started') ? true : undefined), 60_000);
  }, 180_000);

  it('stops every process on SIGTERM, letting them drain, and exits 0', async () => {
    const pids = [p.started('api').at(-1)!, p.started('worker').at(-1)!];
    expect(pids.every(alive)).toBe(true);
    const t0 = Date.now();
    p.signal('SIGTERM');
    const exit = await p.exited();
    const ms = Date.now() - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(10_000);
    expect(pids.filter(alive)).toEqual([]);
    const exits = p.lines().filter((l) => l.pid === p.pid && /^(api|worker) process exited$/.test(l.msg));
    expect(exits.map((l) => l.childPid).sort()).toEqual([...pids].sort());
    expect(p.lines().at(-1)).toMatchObject({ pid: p.pid, msg: 'stopped' });
  }, 30_000);
});

describe('npm start on a database it creates, without ADMIN_API_KEY', () => {
  const database = uniqueName('edm_test');
  let s: Awaited<ReturnType<typeof setting>>;
  let p: StartedPlatform;
  afterAll(async () => {
    await p?.destroy();
    await s?.cleanup();
  });

  it('creates and migrates the database once, and prints the first admin key once for two API processes', async () => {
    s = await setting(database);
    p = new StartedPlatform({ ...s.env, API_PROCESSES: '2' }).start();
    await p.waitFor(
      'two API processes listening',
      () => (p.lines().filter((l) => l.msg.startsWith('EDM API listening')).length === 2 ? true : undefined),
      120_000,
    );
    const banners = [...p.output.matchAll(/Admin API key \(shown once, keep it safe\):\s+(edm_\S+)/g)];
    expect(banners).toHaveLength(1);
    const key = banners[0][1];
    expect((await call(s.base, '/v1/lists', {}, key)).status).toBe(200);

    // A restarted API process finds the key in the database and prints nothing.
    const before = p.started('api');
    process.kill(before[0], 'SIGKILL');
    const next = await p.waitFor('a new API process', () => p.started('api').find((pid) => !before.includes(pid)), 30_000);
    await p.waitFor('the new API process listening', listening(p, next), 60_000);
    expect(p.output.match(/Admin API key/g)).toHaveLength(1);

    p.signal('SIGTERM');
    expect(await p.exited()).toEqual({ code: 0, signal: null });
  }, 240_000);
});
