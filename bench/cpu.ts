/**
 * How busy the machine was, and how much of that was the bench itself:
 * samples /proc/stat (all CPUs) and /proc/<pid>/stat of the bench process
 * and of the processes it started, once a second. What remains is CPU used
 * by processes foreign to the bench (another test suite, a build...), which
 * skews every number on a 2-core machine.
 */
import * as fs from 'fs';

const TICKS_PER_SECOND = 100;

function machineBusyTicks (): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + (steal || 0);
}

/** CPU time of a process so far, in ticks of 10 ms; null once it is gone */
export function processTicks (pid: number): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may contain spaces: fields are counted after the closing parenthesis
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  }
  catch {
    return null;
  }
}

export interface CpuUsage {
  seconds: number;
  /** average cores busy, whole machine */
  machineCores: number;
  /** average cores used by the bench and its processes */
  benchCores: number;
  /** average cores used by everything else */
  otherCores: number;
  /** average cores used by each of the bench's processes, by label */
  byProcess: Record<string, number>;
}

export class CpuMonitor {
  private timer: NodeJS.Timeout | null = null;
  private machine = 0;
  private own = 0;
  private readonly byLabel = new Map<string, number>();
  private seconds = 0;
  private lastMachine = 0;
  private lastOwn = new Map<number, number>();
  private lastAt = 0;

  /** `pids`: the bench's child processes, pid -> label */
  constructor (private readonly pids: () => Map<number, string>) {}

  start (): void {
    this.lastMachine = machineBusyTicks();
    this.lastAt = Date.now();
    this.lastOwn = this.readOwn();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  private labels = new Map<number, string>();

  private readOwn (): Map<number, number> {
    const result = new Map<number, number>();
    this.labels = new Map([[process.pid, 'bench clients'], ...this.pids()]);
    for (const pid of this.labels.keys()) {
      const ticks = processTicks(pid);
      if (ticks !== null) {
        result.set(pid, ticks);
      }
    }
    return result;
  }

  private sample (): void {
    const machine = machineBusyTicks();
    const own = this.readOwn();
    const at = Date.now();
    let ownDelta = 0;
    for (const [pid, ticks] of own) {
      // a process first seen now started after the previous sample: all its ticks are new
      const delta = ticks - (this.lastOwn.get(pid) ?? 0);
      ownDelta += delta;
      const label = this.labels.get(pid) || String(pid);
      this.byLabel.set(label, (this.byLabel.get(label) || 0) + delta);
    }
    this.machine += machine - this.lastMachine;
    this.own += ownDelta;
    this.seconds += (at - this.lastAt) / 1000;
    this.lastMachine = machine;
    this.lastOwn = own;
    this.lastAt = at;
  }

  stop (): CpuUsage {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.sample();
    const cores = (ticks: number): number => (this.seconds > 0 ? Math.round((ticks / TICKS_PER_SECOND / this.seconds) * 1000) / 1000 : 0);
    const byProcess: Record<string, number> = {};
    for (const [label, ticks] of this.byLabel) {
      byProcess[label] = cores(ticks);
    }
    return {
      benchCores: cores(this.own),
      byProcess,
      machineCores: cores(this.machine),
      otherCores: cores(Math.max(0, this.machine - this.own)),
      seconds: Math.round(this.seconds * 100) / 100,
    };
  }
}

/**
 * Per process (foreign processes as `others`): CPU milliseconds spent per
 * `per` units of work over the monitored window, to 0.001 ms.
 */
export function cpuMsPer (usage: CpuUsage, units: number, per: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [label, cores] of Object.entries({ ...usage.byProcess, others: usage.otherCores })) {
    result[label] = units > 0 ? Math.round(((cores * usage.seconds * 1000 * per) / units) * 1000) / 1000 : 0;
  }
  return result;
}

/** the sum of the values labelled as Kuzzle nodes (`kuzzle 1`, `kuzzle 2`…), to 0.001 */
export function kuzzleTotal (byLabel: Record<string, number>): number {
  const sum = Object.entries(byLabel).filter(([label]) => label.startsWith('kuzzle')).reduce((a, [, v]) => a + v, 0);
  return Math.round(sum * 1000) / 1000;
}
