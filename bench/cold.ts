/**
 * Cross-node latency of a cold cluster: for every round, rate and variant
 * (alternated), a fresh stack is started; as soon as every node is healthy,
 * a subscriber on node 1 and 4 publishers on node 2 (single node: node 1)
 * publish at a fixed rate for `--cold-ms` (the first seconds of the cluster:
 * "cold"), then, on the same nodes, for `--warm-ms` more ("warm", a new
 * room); then the stack stops. See bench/README.md ("Cold start").
 *
 *   node -r ts-node/register/transpile-only bench/cold.ts --only=ours,single --rates=1000,3000 --rounds=3
 *
 * Options: --only=a,b (variants, default ours,single), --rates=1000,3000,
 * --rounds=3, --cold-ms=5000, --warm-ms=5000, --out=FILE (JSON, default
 * none), --keep (keep the node logs), --cpu-prof (the nodes run with
 * --cpu-prof; profiles in the kept work directory). The bench's environment
 * is passed to the Kuzzle nodes (e.g. kuzzle_plugins__cluster__...).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { RateResult, connect, runAtRate } from './clients';
import { CpuMonitor, CpuUsage, processTicks } from './cpu';
import { LatencySummary, median, summarize } from './metrics';
import { RateClients, closeRateClients, openRateClients } from './scenarios';
import type { Ctx } from './scenarios';
import { RedisCounter } from './metrics';
import { kill, track, waitExit } from '../test/support/processes';
import { parseOptions, positiveInteger } from './options';
import { BenchStack, VARIANT_LABEL, Variant, isCluster, runMain, sleep, variantList } from './stack';

interface Options {
  only: Variant[];
  rates: number[];
  rounds: number;
  coldMs: number;
  warmMs: number;
  out: string | null;
  keep: boolean;
  cpuProf: boolean;
  /** perf record -a of each phase into <perf>-<variant>-<rate>-<round>-{cold,warm}.data */
  perf: string | null;
  /** only rewrite the .md next to this results JSON */
  report: string | null;
  /** node of the publishers (0-based; default: node 2 in a cluster, node 1 alone) */
  publisherNode: number | null;
}

function parseArgs (argv: string[]): Options {
  const options: Options = {
    coldMs: 5000, cpuProf: false, keep: false, only: ['ours', 'single'], out: null, perf: null, publisherNode: null, report: null, rates: [1000, 3000], rounds: 3, warmMs: 5000,
  };
  parseOptions(argv, {
    flags: {
      '--cpu-prof': () => { options.cpuProf = true; },
      '--keep': () => { options.keep = true; },
    },
    values: {
      '--cold-ms': (value, key) => { options.coldMs = positiveInteger(key, value); },
      '--only': value => { options.only = variantList(value); },
      '--out': value => { options.out = path.resolve(value); },
      '--perf': value => { options.perf = path.resolve(value); },
      '--publisher-node': value => { options.publisherNode = Number(value); },
      '--rates': (value, key) => { options.rates = value.split(',').map(rate => positiveInteger(key, rate)); },
      '--report': value => { options.report = path.resolve(value); },
      '--rounds': (value, key) => { options.rounds = positiveInteger(key, value); },
      '--warm-ms': (value, key) => { options.warmMs = positiveInteger(key, value); },
    },
  });
  return options;
}

/** CPU ms per second of each process, second by second (read from /proc every 250 ms; 10 ms ticks) */
type CpuTimeline = Record<string, number[]>;

function machineTicks (): number {
  const [, user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + (steal || 0);
}

/** samples the CPU ticks of `pids` (and the machine) until stopped; returns CPU ms per whole second since start */
function cpuTimeline (pids: Map<number, string>): { stop: () => CpuTimeline } {
  const labels = new Map([[process.pid, 'bench clients'], ...pids]);
  const read = (): Map<string, number> => {
    const ticks = new Map<string, number>([['machine', machineTicks()]]);
    for (const [pid, label] of labels) {
      ticks.set(label, processTicks(pid) ?? 0);
    }
    return ticks;
  };
  const start = performance.now();
  const samples: Array<{ at: number; ticks: Map<string, number> }> = [{ at: 0, ticks: read() }];
  const timer = setInterval(() => samples.push({ at: performance.now() - start, ticks: read() }), 250);
  return {
    stop: () => {
      clearInterval(timer);
      samples.push({ at: performance.now() - start, ticks: read() });
      const result: CpuTimeline = {};
      for (const label of samples[0].ticks.keys()) {
        const perSecond: number[] = [];
        for (let i = 1; i < samples.length; i++) {
          const second = Math.floor(samples[i - 1].at / 1000);
          perSecond[second] = (perSecond[second] || 0) + ((samples[i].ticks.get(label) || 0) - (samples[i - 1].ticks.get(label) || 0)) * 10;
        }
        result[label] = Array.from(perSecond, v => v || 0);
      }
      return result;
    },
  };
}

interface Phase {
  /** CPU ms of each process in each second of the phase (sending, then draining) */
  cpuBySecond: CpuTimeline | null;
  latency: LatencySummary;
  /** p99 per second of the sending window (by send time) */
  p99BySecond: Array<number | null>;
  sent: number;
  received: number;
  lost: number;
  achievedRate: number;
  /** average cores per process over the phase */
  cpu: CpuUsage | null;
}

interface Round {
  variant: Variant;
  rate: number;
  round: number;
  bootMs: number[];
  /** last node healthy -> first message sent (clients connected, room known on the publishers' node) */
  upToFirstSendMs: number;
  cold: Phase | null;
  warm: Phase | null;
  error: string | null;
}

function phase (result: RateResult, samples: Array<[number, number]>, usage: CpuUsage | null, timeline: CpuTimeline | null): Phase {
  const seconds = Math.ceil(result.durationMs / 1000);
  const bySecond: number[][] = Array.from({ length: seconds }, () => []);
  for (const [sentAt, latencyMs] of samples) {
    bySecond[Math.min(seconds - 1, Math.max(0, Math.floor(sentAt / 1000)))].push(latencyMs);
  }
  return {
    achievedRate: result.achievedRate,
    cpu: usage,
    cpuBySecond: timeline,
    latency: result.latencyMs,
    lost: result.lost,
    p99BySecond: bySecond.map(list => summarize(list).p99),
    received: result.received,
    sent: result.sent,
  };
}

/** `perf record -a` of the whole machine for `seconds` (tracked: killed by pid with the bench) */
function perfRecord (file: string, seconds: number): ChildProcess {
  return track(spawn('perf', ['record', '-a', '-e', 'cpu-clock', '-F', '499', '-g', '-o', file, '--', 'sleep', String(seconds)],
    { stdio: 'ignore' }));
}

async function measure (ctx: Ctx, clients: RateClients, rate: number, durationMs: number, onStart?: () => void,
  perfFile?: string): Promise<Phase> {
  let perf: ChildProcess | null = null;
  const samples: Array<[number, number]> = [];
  const monitor = ctx.cpu();
  let usage: CpuUsage | null = null;
  let timeline: { stop: () => CpuTimeline } | null = null;
  let cpuBySecond: CpuTimeline | null = null;
  const result = await runAtRate({
    ...clients,
    afterDrain: () => {
      usage = monitor.stop();
      cpuBySecond = timeline ? timeline.stop() : null;
    },
    beforeSend: () => {
      if (onStart) {
        onStart();
      }
      if (perfFile) {
        perf = perfRecord(perfFile, Math.ceil(durationMs / 1000));
      }
      monitor.start();
      timeline = cpuTimeline(ctx.stack.allPids());
    },
    durationMs,
    padding: 200,
    rate,
    samples,
  });
  const recorder: ChildProcess | null = perf;
  if (recorder) {
    await waitExit(recorder, 15000).catch(() => kill(recorder, 'SIGINT'));
  }
  return phase(result, samples, usage, cpuBySecond);
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : v.toFixed(1));

function describe (p: Phase | null): string {
  if (!p) {
    return 'n/a';
  }
  const nodes = p.cpu ? Object.entries(p.cpu.byProcess).filter(([k]) => k.startsWith('kuzzle')).map(([k, c]) => `${k} ${c}`).join(', ') : '';
  return `p50 ${fmt(p.latency.p50)} p95 ${fmt(p.latency.p95)} p99 ${fmt(p.latency.p99)} max ${fmt(p.latency.max)} ms; `
    + `p99 by second [${p.p99BySecond.map(fmt).join(', ')}]; sent ${p.sent} (${p.achievedRate}/s) received ${p.received} lost ${p.lost}; `
    + `cores: machine ${p.cpu?.machineCores}, bench clients ${p.cpu?.byProcess['bench clients']}, ${nodes}, others ${p.cpu?.otherCores}`
    + `\n    CPU ms per second: ${Object.entries(p.cpuBySecond || {}).map(([k, v]) => `${k} [${v.join(' ')}]`).join('; ')}`;
}

async function oneRound (variant: Variant, rate: number, round: number, workRoot: string, options: Options): Promise<Round> {
  const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] [${variant} @${rate}/s #${round}] ${line}`);
  const workDir = path.join(workRoot, `${variant}-${rate}-${round}`);
  const stack = new BenchStack({
    log,
    nodeArgs: options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(workDir, 'profiles')}`] : [],
    nodes: isCluster(variant) ? 3 : 1,
    variant,
    workDir,
  });
  const result: Round = { bootMs: [], cold: null, error: null, rate, round, upToFirstSendMs: 0, variant, warm: null };
  let redis: RedisCounter | null = null;
  let clients: RateClients | null = null;
  try {
    await stack.start();
    const up = performance.now();
    result.bootMs = stack.nodes.map(n => Math.round(n.bootMs));
    redis = new RedisCounter(stack.redisPort);
    const pids = (): Map<number, string> => stack.allPids();
    const ctx: Ctx = { cpu: () => new CpuMonitor(pids), log, redis, stack };
    const publisherNode = options.publisherNode ?? (stack.nodes.length > 1 ? 1 : 0);
    clients = options.publisherNode === null
      ? await openRateClients(ctx)
      : {
        publishers: await Promise.all(Array.from({ length: 4 }, () => connect(publisherNode, stack.nodes[publisherNode].port))),
        subscriber: await connect(0, stack.nodes[0].port),
      };
    const c = clients;
    const perfFile = (which: string): string | undefined => (options.perf ? `${options.perf}-${variant}-${rate}-${round}-${which}.data` : undefined);
    result.cold = await measure(ctx, c, rate, options.coldMs, () => {
      result.upToFirstSendMs = Math.round(performance.now() - up);
    }, perfFile('cold'));
    log(`cold (first send ${result.upToFirstSendMs} ms after the last node was healthy): ${describe(result.cold)}`);
    await sleep(500);
    result.warm = await measure(ctx, c, rate, options.warmMs, undefined, perfFile('warm'));
    log(`warm: ${describe(result.warm)}`);
  }
  catch (error) {
    result.error = (error as Error).message;
    log(`ERROR ${(error as Error).stack || error}`);
  }
  finally {
    if (clients) {
      closeRateClients(clients);
    }
    if (redis) {
      await redis.close();
    }
    await stack.stop(options.cpuProf);
  }
  return result;
}

function table (rounds: Round[], options: Options): string {
  const lines = [
    `Cold vs warm cross-node latency: ${options.rounds} round(s) per rate and variant, a fresh stack each, variants alternated; `
      + `cold = the first ${options.coldMs} ms of sending once every node is healthy, warm = the next ${options.warmMs} ms.`,
    '',
    '| variant | rate | phase | p50 ms (median of rounds) | p95 | p99 (median) | p99 per round | worst 1-s p99 per round | foreign load per round (cores) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const variant of options.only) {
    for (const rate of options.rates) {
      for (const which of ['cold', 'warm'] as const) {
        const list = rounds.filter(r => r.variant === variant && r.rate === rate).map(r => r[which]).filter((p): p is Phase => p !== null);
        const pick = (f: (p: Phase) => number | null): number[] => list.map(f).filter((v): v is number => v !== null);
        const worst = list.map(p => Math.max(...p.p99BySecond.filter((v): v is number => v !== null)));
        lines.push(`| ${VARIANT_LABEL[variant]} | ${rate}/s | ${which} | ${fmt(median(pick(p => p.latency.p50)))} | ${fmt(median(pick(p => p.latency.p95)))} `
          + `| ${fmt(median(pick(p => p.latency.p99)))} | ${pick(p => p.latency.p99).map(fmt).join(', ')} | ${worst.map(fmt).join(', ')} `
          + `| ${list.map(p => (p.cpu ? p.cpu.otherCores.toFixed(2) : 'n/a')).join(', ')} |`);
      }
    }
  }
  return lines.join('\n');
}

interface Machine {
  cores: number;
  loadAverageAtEnd: number[];
  node: string;
}

function writeReport (file: string, machine: Machine, options: Options, rounds: Round[], command: string, at: string): void {
  const mdFile = file.replace(/\.json$/, '.md');
  const header = `# Cold start: cross-node latency in the first seconds of a cluster\n\n\`${command}\`, `
    + `${at}, ${machine.cores} cores, Node ${machine.node}, load average at the end ${machine.loadAverageAtEnd.map(l => l.toFixed(2)).join(' ')}. `
    + `See bench/README.md ("Cold start"). Raw numbers: ${path.basename(file)}.\n\n`;
  const detail = rounds.map(r => `- ${r.variant} @${r.rate}/s round ${r.round}: boot ${r.bootMs.join(', ')} ms; first send ${r.upToFirstSendMs} ms after healthy`
    + `${r.error ? `; ERROR ${r.error}` : ''}\n  - cold: ${describe(r.cold).replace('\n    ', '\n    - ')}\n  - warm: ${describe(r.warm).replace('\n    ', '\n    - ')}`).join('\n');
  fs.writeFileSync(mdFile, `${header}${table(rounds, options)}\n\n## Every round\n\n${detail}\n`);
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.report) {
    const saved = JSON.parse(fs.readFileSync(options.report, 'utf8')) as { machine: Machine; options: Options; rounds: Round[]; command?: string; at?: string };
    writeReport(options.report, saved.machine, saved.options, saved.rounds, saved.command || 'bench/cold.ts', saved.at || 'unknown date');
    console.log(`${options.report.replace(/\.json$/, '.md')} rewritten`);
    return;
  }
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-cold-'));
  console.log(`work directory ${workRoot}; load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`);
  const rounds: Round[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const rate of options.rates) {
      // alternate the order of the variants from round to round
      const order = round % 2 ? options.only : [...options.only].reverse();
      for (const variant of order) {
        rounds.push(await oneRound(variant, rate, round, workRoot, options));
        await sleep(1000);
      }
    }
  }
  const md = table(rounds, options);
  console.log(`\n${md}\n\nload average at the end ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`);
  if (options.out) {
    const machine: Machine = { cores: os.cpus().length, loadAverageAtEnd: os.loadavg(), node: process.version };
    const command = `bench/cold.ts ${process.argv.slice(2).join(' ')}`;
    const at = new Date().toISOString();
    fs.writeFileSync(options.out, `${JSON.stringify({ at, command, machine, options, rounds }, null, 2)}\n`);
    writeReport(options.out, machine, options, rounds, command, at);
    const mdFile = options.out.replace(/\.json$/, '.md');
    console.log(`raw results: ${options.out}, ${mdFile}`);
  }
  if (options.keep || options.cpuProf) {
    console.log(`work directory kept: ${workRoot}`);
  }
  else {
    fs.rmSync(workRoot, { force: true, recursive: true });
  }
}

runMain(main);
