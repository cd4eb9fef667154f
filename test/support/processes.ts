import { ChildProcess } from 'child_process';

/**
 * Every process a test starts is registered here and killed by pid when the
 * test ends, pass or fail (see killAll, called from after/afterEach hooks),
 * and when the test runner itself exits.
 */
const running = new Set<ChildProcess>();

export function track<T extends ChildProcess> (child: T): T {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export function kill (child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, signal);
    }
    catch {
      // already gone
    }
  }
}

export function waitExit (child: ChildProcess, timeout = 10000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} still running after ${timeout} ms`)), timeout);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * SIGTERM first (nginx's master only stops its workers on a signal it can
 * catch), SIGKILL what is still there after `grace` ms.
 */
export async function killAll (grace = 3000): Promise<void> {
  const children = Array.from(running);
  for (const child of children) {
    kill(child, 'SIGCONT');
    kill(child, 'SIGTERM');
  }
  await Promise.all(children.map(child => waitExit(child, grace).catch(() => {
    kill(child);
    return waitExit(child).catch(() => undefined);
  })));
}

/** SIGKILL, by pid, every tracked process still running (usable from an exit or signal handler) */
export function killAllSync (): void {
  for (const child of running) {
    kill(child, 'SIGCONT');
    kill(child);
  }
}

process.on('exit', killAllSync);
