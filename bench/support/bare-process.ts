import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bench's bare-library baseline server (a script printing "listening" once it is), started with ts-node from the project root. */
export async function startBare(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const until = Date.now() + 30_000;
  while (!output.includes('listening')) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`bare server did not start:\n${output}`);
    }
    await sleep(50);
  }
  return child;
}

/** Stops it (SIGTERM, SIGKILL after 5 s); nothing to do when it has gone already. */
export async function stopBare(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}
