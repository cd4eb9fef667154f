/**
 * A fake Clock for unit tests: time moves only when the test says so.
 *
 * - `tick(ms)` advances time, firing every due timer in order, each at its
 *   own instant (`now()` inside a callback is the time it was due);
 * - `runSoon()` runs what `soon()` queued (the "end of this turn");
 * - `tickAsync(ms)` / `flush()` also let the promises started by the
 *   callbacks settle (code under test awaiting a stubbed store, say).
 *
 * No real timer is ever armed (`flush()` waits for one macrotask turn of the
 * real event loop so that pending promise callbacks run).
 */
import type { Cancel, Clock } from '../../lib/cluster/clock';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  /** set for every(): re-armed after each run */
  interval: number | null;
}

/** lets every promise callback already queued run (one real macrotask turn) */
export function flush (): Promise<void> {
  return new Promise(resolve => {
    setImmediate(resolve);
  });
}

/** whether `promise` settled (resolved or rejected) by now, once the pending promise callbacks ran */
export async function settled (promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => {
    done = true;
  }, () => {
    done = true;
  });
  await flush();
  return done;
}

export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  private queue: Array<() => void> = [];

  /** @param start the initial time (not 0 by default: code may use 0 as "never") */
  constructor (start = 1_000_000) {
    this.time = start;
  }

  now (): number {
    return this.time;
  }

  after (ms: number, fn: () => void): Cancel {
    return this.arm(ms, fn, null);
  }

  every (ms: number, fn: () => void): Cancel {
    if (ms <= 0) {
      throw new Error(`FakeClock.every: interval must be positive, got ${ms}`);
    }
    return this.arm(ms, fn, ms);
  }

  soon (fn: () => void): void {
    this.queue.push(fn);
  }

  /** timers armed and not yet run (a repeating one counts while not cancelled) */
  get pendingTimers (): number {
    return this.timers.size;
  }

  /** functions queued by soon() and not yet run */
  get pendingSoon (): number {
    return this.queue.length;
  }

  /** advances time by `ms`, firing the due timers in order */
  tick (ms: number): void {
    if (ms < 0) {
      throw new Error(`FakeClock.tick: cannot go back in time (${ms})`);
    }
    const target = this.time + ms;
    for (let timer = this.nextDue(target); timer; timer = this.nextDue(target)) {
      this.fire(timer);
    }
    this.time = target;
  }

  /** as tick(), letting the promises started by each timer settle before the next one */
  async tickAsync (ms: number): Promise<void> {
    if (ms < 0) {
      throw new Error(`FakeClock.tickAsync: cannot go back in time (${ms})`);
    }
    const target = this.time + ms;
    await flush();
    for (let timer = this.nextDue(target); timer; timer = this.nextDue(target)) {
      this.fire(timer);
      await flush();
    }
    this.time = target;
  }

  /** runs what soon() queued, including what those functions queue; returns how many ran */
  runSoon (): number {
    let ran = 0;
    while (this.queue.length > 0) {
      const queue = this.queue;
      this.queue = [];
      for (const fn of queue) {
        fn();
        ran++;
      }
    }
    return ran;
  }

  private arm (ms: number, fn: () => void, interval: number | null): Cancel {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn, id, interval });
    return () => {
      this.timers.delete(id);
    };
  }

  /** the earliest timer due by `target` (the first armed among equals) */
  private nextDue (target: number): Timer | null {
    let next: Timer | null = null;
    for (const timer of this.timers.values()) {
      if (timer.at <= target && (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) {
        next = timer;
      }
    }
    return next;
  }

  private fire (timer: Timer): void {
    this.time = Math.max(this.time, timer.at);
    if (timer.interval === null) {
      this.timers.delete(timer.id);
    }
    else {
      // re-armed before it runs: the callback may cancel it
      this.timers.delete(timer.id);
      this.timers.set(timer.id, { ...timer, at: timer.at + timer.interval });
    }
    timer.fn();
  }
}
