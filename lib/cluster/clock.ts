/**
 * Time, injected: every protocol module reads the time and arms its timers
 * through a Clock, so heartbeats, failure detection, partition hysteresis and
 * acknowledgement timeouts are unit-tested with a fake one.
 */

import { performance } from 'perf_hooks';

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
  /**
   * a monotonic time in ms with sub-ms resolution, to measure durations
   * (Redis round trips, acknowledgement waits); without it, now() is used
   */
  precise? (): number;
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
  precise: () => performance.now(),
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

/** seconds elapsed since `start` (a preciseNow() reading) */
export function secondsSince (clock: Clock, start: number): number {
  return (preciseNow(clock) - start) / 1000;
}

export function preciseNow (clock: Clock): number {
  return clock.precise ? clock.precise() : clock.now();
}
