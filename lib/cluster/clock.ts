/**
 * Time, injected: every protocol module reads the time and arms its timers
 * through a Clock, so heartbeats, failure detection, partition hysteresis and
 * acknowledgement timeouts are unit-tested with a fake one.
 */

/** stops a timer; calling it again does nothing */
export type Cancel = () => void;

export interface Clock {
  now (): number;
  /** runs fn once after ms */
  after (ms: number, fn: () => void): Cancel;
  /** runs fn every ms */
  every (ms: number, fn: () => void): Cancel;
  /** runs fn at the end of this event-loop turn */
  soon (fn: () => void): void;
}

/** Real time. Its timers never keep the process alive. */
export const systemClock: Clock = {
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  now: () => Date.now(),
  soon: fn => {
    setImmediate(fn);
  },
};

export function sleep (clock: Clock, ms: number): Promise<void> {
  return new Promise(resolve => {
    clock.after(ms, resolve);
  });
}

/** resolves when `promise` does, or after `ms`, whichever comes first */
export function withTimeout (clock: Clock, promise: Promise<void>, ms: number): Promise<void> {
  return Promise.race([promise, sleep(clock, ms)]);
}
