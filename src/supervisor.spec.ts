import { ConfigError, loadConfig } from './config/config';
import { processLayout, restartDelay } from './supervisor';

const config = (env: Record<string, string> = {}) => loadConfig({ NODE_ENV: 'test', APP_SECRET: 'x'.repeat(32), ...env });

describe('processLayout', () => {
  it('splits c cores into floor(c/2) API and the rest worker processes, one process on one core', () => {
    const layouts = [1, 2, 3, 4, 8].map((cores) => processLayout(config(), cores));
    expect(layouts).toEqual([null, { api: 1, worker: 1 }, { api: 1, worker: 2 }, { api: 2, worker: 2 }, { api: 4, worker: 4 }]);
  });

  it('takes PROCESSES instead of the cores, and explicit counts over both', () => {
    expect(processLayout(config({ PROCESSES: '1' }), 8)).toBeNull();
    expect(processLayout(config({ PROCESSES: '6' }), 2)).toEqual({ api: 3, worker: 3 });
    expect(processLayout(config({ API_PROCESSES: '3' }), 2)).toEqual({ api: 3, worker: 1 });
    expect(processLayout(config({ WORKER_PROCESSES: '2' }), 1)).toEqual({ api: 1, worker: 2 });
    expect(() => config({ PROCESSES: '1', WORKER_PROCESSES: '2' })).toThrow(ConfigError);
  });

  it('is one process for ROLE=api, ROLE=worker and the supervised children themselves', () => {
    expect(processLayout(config({ ROLE: 'api' }), 8)).toBeNull();
    expect(processLayout(config({ ROLE: 'worker' }), 8)).toBeNull();
    expect(processLayout(config({ SUPERVISED: '1' }), 8)).toBeNull();
  });
});

describe('restartDelay', () => {
  it('doubles from 1 s to at most 30 s while a process keeps crashing, and starts over after a minute of running', () => {
    const waits: number[] = [];
    let previous: number | undefined;
    for (let i = 0; i < 7; i++) waits.push((previous = restartDelay(previous, 5_000)));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(restartDelay(30_000, 60_000)).toBe(1_000);
  });
});
