/**
 * Side-by-side benchmark of this cluster plugin, the cluster plugin bundled
 * with Kuzzle 2.10.4, and a single Kuzzle node without any cluster plugin
 * (the ceiling). `npm run bench` (about 10-15 minutes on 2 cores) or
 * `npm run bench -- --quick` (about 3 minutes). See bench/README.md.
 *
 * Options:
 *   --quick             shorter runs, 2,000 subscriptions instead of 10,000
 *   --only=a,b          variants to run among ours, bundled, single, native, native-single (default: all)
 *   --out=DIR           where to write results.{json,md,svg} (default bench/results)
 *   --keep              keep the work directory (node logs) in /tmp
 *   --cpu-prof=VARIANT  run that variant's Kuzzle nodes with --cpu-prof (profiles in the work directory)
 *   --skip-notifications  skip fan-out, latency and throughput (e.g. to profile subscriptions alone)
 *   --fanout-only       fan-out bytes alone (measurement 6), then stop
 *   --report=FILE       only rewrite results.md and results.svg (in --out) from an existing results.json
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Client, disconnectAll } from './clients';
import { CpuMonitor } from './cpu';
import { RedisCounter } from './metrics';
import { BenchResults, VariantResult, markdown, svg } from './report';
import {
  Ctx, Holders, RateEntry, closeRateClients, clusterCounters, counterDelta, failure, fanout, join, latency, openHolders,
  openRateClients, subscriptions, throughput,
} from './scenarios';
import { parseOptions } from './options';
import { BenchStack, ROOT, VARIANTS, VARIANT_LABEL, Variant, isCluster, runMain, sleep, variantList } from './stack';

interface Options {
  report: string | null;
  quick: boolean;
  only: Variant[];
  out: string;
  keep: boolean;
  cpuProf: Variant | null;
  skipNotifications: boolean;
  fanoutOnly: boolean;
}

function parseArgs (argv: string[]): Options {
  const options: Options = {
    cpuProf: null, fanoutOnly: false, keep: false, only: [...VARIANTS], out: path.join(ROOT, 'bench', 'results'), quick: false,
    report: null, skipNotifications: false,
  };
  parseOptions(argv, {
    flags: {
      '--fanout-only': () => { options.fanoutOnly = true; },
      '--keep': () => { options.keep = true; },
      '--quick': () => { options.quick = true; },
      '--skip-notifications': () => { options.skipNotifications = true; },
    },
    values: {
      '--cpu-prof': (value, key) => {
        const variants = variantList(value);
        if (variants.length !== 1) {
          throw new Error(`${key}: expected one column, got ${value}`);
        }
        options.cpuProf = variants[0];
      },
      '--only': value => { options.only = variantList(value); },
      '--out': value => { options.out = path.resolve(value); },
      '--report': value => { options.report = path.resolve(value); },
    },
  });
  return options;
}

const startedAt = new Date();
const t0 = Date.now();
const stamp = (): string => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;

async function attempt<T> (vr: VariantResult, what: string, ctx: Ctx, fn: () => Promise<T>): Promise<T | null> {
  const cpu = ctx.cpu();
  cpu.start();
  const countersBefore = await clusterCounters(ctx);
  try {
    return await fn();
  }
  catch (error) {
    const message = `${what}: ${(error as Error).stack || error}`;
    vr.errors.push(message.split('\n').slice(0, 4).join(' | '));
    ctx.log(`  ERROR ${message}`);
    return null;
  }
  finally {
    const usage = cpu.stop();
    vr.cpu[what] = usage;
    ctx.log(`  cpu during ${what}: machine ${usage.machineCores} cores busy, bench ${usage.benchCores}, other processes ${usage.otherCores} (${usage.seconds} s); by process ${JSON.stringify(usage.byProcess)}`);
    const counters = counterDelta(countersBefore, await clusterCounters(ctx));
    if (counters) {
      vr.counters[what] = counters;
      ctx.log(`  cluster counters during ${what}: ${JSON.stringify(counters)}`);
    }
  }
}

interface Running {
  variant: Variant;
  vr: VariantResult;
  stack: BenchStack;
  ctx: Ctx;
  redis: RedisCounter;
  logLines: string[];
  stopped: boolean;
}

const running: Running[] = [];

/** the processes of every stack: those of `variant` by name, the others as idle stacks */
function pidsFor (variant: Variant): Map<number, string> {
  const result = new Map<number, string>();
  for (const r of running) {
    if (r.stopped) {
      continue;
    }
    for (const [pid, label] of r.stack.allPids()) {
      result.set(pid, r.variant === variant ? label : 'idle stacks');
    }
  }
  return result;
}

async function startVariant (variant: Variant, workRoot: string, options: Options): Promise<Running | VariantResult> {
  const logLines: string[] = [];
  const log = (line: string): void => {
    const text = `${stamp()} [${variant}] ${line}`;
    logLines.push(text);
    console.log(text);
  };
  const cluster = isCluster(variant);
  const vr: VariantResult = {
    bootMs: [], counters: {}, cpu: {}, errors: [], failure: null, fanout: null, join: null, label: VARIANT_LABEL[variant], latency: [], logs: '',
    nodes: cluster ? 3 : 1, subscriptions: null, throughput: null, variant,
  };
  const workDir = path.join(workRoot, variant);
  const stack = new BenchStack({
    log,
    nodeArgs: options.cpuProf === variant ? ['--cpu-prof', `--cpu-prof-dir=${path.join(workDir, 'profiles')}`] : [],
    nodes: vr.nodes,
    variant,
    workDir,
  });
  try {
    log(`starting ${vr.nodes} node(s): ${vr.label}`);
    await stack.start();
    vr.bootMs = stack.nodes.map(n => Math.round(n.bootMs));
    log(`booted in ${vr.bootMs.join(', ')} ms`);
    const redis = new RedisCounter(stack.redisPort);
    await redis.connect();
    const ctx: Ctx = { cpu: () => new CpuMonitor(() => pidsFor(variant)), log, redis, stack };
    const r: Running = { ctx, logLines, redis, stack, stopped: false, variant, vr };
    running.push(r);
    return r;
  }
  catch (error) {
    vr.errors.push(`start: ${(error as Error).message}`.split('\n').slice(0, 6).join(' | '));
    log(`ERROR ${(error as Error).stack || error}`);
    await stack.stop();
    vr.logs = logLines.join('\n');
    return vr;
  }
}

async function stopVariant (r: Running, options: Options): Promise<void> {
  if (r.stopped) {
    return;
  }
  await r.redis.close();
  await r.stack.stop(options.cpuProf === r.variant);
  r.stopped = true;
  r.ctx.log('stopped');
  r.vr.logs = r.logLines.join('\n');
}

/** subscription scaling, join and failure detection: one variant at a time, then its stack stops */
async function clusterOperations (r: Running, results: BenchResults, options: Options): Promise<void> {
  const { ctx, vr, variant } = r;
  const s = results.settings;
  const cluster = isCluster(variant);
  let holders: Holders | null = null;
  try {
    ctx.log(`subscriptions: ${s.subscriptions}`);
    holders = await openHolders(ctx, 4);
    const h = holders;
    const cap = variant === 'bundled' ? s.bundledSubscriptionCapMs : 20 * 60 * 1000;
    vr.subscriptions = await attempt(vr, 'subscriptions', ctx,
      () => subscriptions(ctx, h, s.subscriptions, cap, s.singles, options.quick ? 60000 : 120000));

    if (cluster) {
      await sleep(1000);
      ctx.log('join');
      const rooms = vr.subscriptions ? vr.subscriptions.reached + vr.subscriptions.after.length : 0;
      vr.join = await attempt(vr, 'join', ctx, () => join(ctx, h, rooms, vr.subscriptions ? 'first-0' : null));
      await sleep(2000);
      ctx.log('failure detection');
      vr.failure = await attempt(vr, 'failure', ctx, () => failure(ctx, 2, 60000));
    }
  }
  catch (error) {
    vr.errors.push(`${(error as Error).message}`.split('\n').slice(0, 6).join(' | '));
    ctx.log(`ERROR ${(error as Error).stack || error}`);
  }
  finally {
    if (holders) {
      disconnectAll(holders.all as Client[]);
    }
    await stopVariant(r, options);
  }
}

/** fan-out, then latency and throughput with the variants interleaved (same conditions over time) */
async function notificationMeasurements (list: Running[], results: BenchResults, options: Options): Promise<void> {
  const s = results.settings;
  for (const r of list) {
    if (isCluster(r.variant)) {
      r.ctx.log('fan-out');
      r.vr.fanout = await attempt(r.vr, 'fan-out', r.ctx, () => fanout(r.ctx, s.fanoutNotifications, 1000, options.quick ? 2000 : 3000));
    }
  }
  if (options.fanoutOnly) {
    return;
  }
  const entries: RateEntry[] = [];
  for (const r of list) {
    try {
      entries.push({ clients: await openRateClients(r.ctx), ctx: r.ctx, name: r.variant });
    }
    catch (error) {
      r.vr.errors.push(`clients: ${(error as Error).message}`);
    }
  }
  const countersBefore = new Map<Variant, Awaited<ReturnType<typeof clusterCounters>>>();
  for (const r of list) {
    countersBefore.set(r.variant, await clusterCounters(r.ctx));
  }
  try {
    console.log(`${stamp()} latency at fixed rates, ${s.latencyRounds} rounds of ${s.latencyDurationMs} ms per rate, variants interleaved`);
    const latencies = await latency(entries, s.latencyRates, s.latencyRounds, s.latencyDurationMs);
    for (const r of list) {
      r.vr.latency = latencies.get(r.variant) || [];
    }
    console.log(`${stamp()} throughput steps, variants interleaved`);
    const steps = await throughput(entries, s.throughputRates, s.throughputStepMs, s.p99LimitMs);
    for (const r of list) {
      r.vr.throughput = steps.get(r.variant) || null;
      const t = r.vr.throughput;
      if (t) {
        r.ctx.log(`sustained ${t.sustained}/s; stopped: ${t.stoppedBecause}`);
      }
    }
  }
  catch (error) {
    for (const r of list) {
      r.vr.errors.push(`latency/throughput: ${(error as Error).message}`);
    }
    console.log(`${stamp()} ERROR ${(error as Error).stack || error}`);
  }
  finally {
    for (const entry of entries) {
      closeRateClients(entry.clients);
    }
    for (const r of list) {
      const counters = counterDelta(countersBefore.get(r.variant) || null, await clusterCounters(r.ctx));
      if (counters) {
        r.vr.counters['latency and throughput'] = counters;
        r.ctx.log(`cluster counters during latency and throughput: ${JSON.stringify(counters)}`);
      }
    }
  }
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.report) {
    const saved = JSON.parse(fs.readFileSync(options.report, 'utf8')) as BenchResults;
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(path.join(options.out, 'results.md'), markdown(saved));
    fs.writeFileSync(path.join(options.out, 'results.svg'), svg(saved));
    console.log(`results.md and results.svg rewritten in ${options.out} from ${options.report}`);
    return;
  }
  const quick = options.quick;
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-bench-'));
  const cpus = os.cpus();
  const results: BenchResults = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    durationS: 0,
    machine: {
      cores: cpus.length,
      cpuModel: cpus[0] ? cpus[0].model.trim() : 'unknown',
      kernel: os.release(),
      loadAverageAtEnd: [],
      loadAverageAtStart: os.loadavg(),
      memoryGiB: os.totalmem() / 2 ** 30,
      node: process.version,
    },
    quick,
    settings: {
      bundledSubscriptionCapMs: quick ? 25000 : 150000,
      fanoutNotifications: quick ? 1000 : 3000,
      latencyDurationMs: quick ? 2000 : 5000,
      latencyRounds: quick ? 2 : 3,
      latencyRates: [200, 1000, 5000],
      p99LimitMs: 100,
      payloadPaddingBytes: 200,
      publisherConnections: 4,
      singles: quick ? 3 : 5,
      subscriptions: quick ? 2000 : 10000,
      throughputRates: quick ? [1000, 2000, 2500, 3000, 4000, 6000] : [500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 4000, 5000, 6000, 8000],
      throughputStepMs: quick ? 2000 : 4000,
    },
    startedAt: startedAt.toISOString(),
    variants: [],
  };


  console.log(`${stamp()} work directory ${workRoot}; ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; variants: ${options.only.join(', ')}${quick ? ' (quick)' : ''}`);
  const others = os.loadavg()[0];
  if (others > 0.5) {
    console.log(`${stamp()} warning: load average ${others.toFixed(2)} before starting: other processes compete for the cores`);
  }

  // every stack up at once (idle ones cost little), so that the notification
  // measurements can interleave the variants
  const list: Running[] = [];
  for (const variant of options.only) {
    const started = await startVariant(variant, workRoot, options);
    if ('stack' in started) {
      list.push(started);
    }
    results.variants.push('stack' in started ? started.vr : started);
  }
  if (!options.skipNotifications) {
    await notificationMeasurements(list, results, options);
  }
  for (const r of list) {
    if (options.fanoutOnly) {
      await stopVariant(r, options);
      continue;
    }
    await clusterOperations(r, results, options);
    await sleep(1000);
  }

  results.machine.loadAverageAtEnd = os.loadavg();
  results.durationS = Math.round((Date.now() - t0) / 1000);
  fs.mkdirSync(options.out, { recursive: true });
  fs.writeFileSync(path.join(options.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = markdown(results);
  fs.writeFileSync(path.join(options.out, 'results.md'), md);
  fs.writeFileSync(path.join(options.out, 'results.svg'), svg(results));
  console.log(`\n${md}`);
  console.log(`results written to ${options.out} (results.md, results.json, results.svg) in ${results.durationS} s`);
  if (options.keep || options.cpuProf) {
    console.log(`work directory kept: ${workRoot}`);
  }
  else {
    fs.rmSync(workRoot, { force: true, recursive: true });
  }
}

runMain(main);
