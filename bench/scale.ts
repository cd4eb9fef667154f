/**
 * Scale (issue 14, workloads 4 and 5): `--subscriptions` (100,000)
 * subscriptions with distinct filters held by the nodes of one stack. Per
 * column, on a fresh stack:
 *
 * - memory: resident memory of every Kuzzle node, its live heap (+ external
 *   memory) after two full garbage collections (bench/heap-probe.ts), and
 *   Redis's used_memory, before the subscriptions and after them, per
 *   subscription;
 * - the cost of the first subscriptions and of those after the bulk
 *   (ack, until notified through every other node, Redis commands);
 * - cross-node notification latency at `--rate` (1,000/s), before and with
 *   the subscriptions in place;
 * - a 4th node joining, and failure detection (SIGKILL -> right count on
 *   every survivor), with the subscriptions in place (cluster columns).
 *
 *   npm run bench:scale -- [--only=ours,native,single] [--subscriptions=100000] [--out=bench/results/scale.json] [--keep] [--node-args=--trace-gc]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { RateResult, disconnectAll } from './clients';
import { CpuMonitor, CpuUsage, cpuMsPer, kuzzleTotal } from './cpu';
import { RedisCounter, residentBytes } from './metrics';
import {
  Ctx, FailureResult, JoinResult, SubscriptionResult, closeRateClients, failure, join, latency, openHolders, openRateClients, subscriptions,
} from './scenarios';
import { parseOptions, positiveInteger } from './options';
import { BenchStack, VARIANT_LABEL, Variant, isCluster, runMain, sleep, variantList } from './stack';

interface Options {
  only: Variant[];
  subscriptions: number;
  rate: number;
  out: string | null;
  /** keep the work directory (node logs) */
  keep: boolean;
  /** extra node.js options of the Kuzzle nodes (e.g. --trace-gc, whose lines land in the node logs) */
  nodeArgs: string[];
}

function parseArgs (argv: string[]): Options {
  const options: Options = { keep: false, nodeArgs: [], only: ['ours', 'native', 'single'], out: null, rate: 1000, subscriptions: 100000 };
  parseOptions(argv, {
    flags: { '--keep': () => { options.keep = true; } },
    values: {
      '--node-args': value => { options.nodeArgs = value.split(','); },
      '--only': value => { options.only = variantList(value); },
      '--out': value => { options.out = path.resolve(value); },
      '--rate': (value, key) => { options.rate = positiveInteger(key, value); },
      '--subscriptions': (value, key) => { options.subscriptions = positiveInteger(key, value); },
    },
  });
  return options;
}

interface Memory {
  /** resident bytes per node label */
  nodes: Record<string, number>;
  /** live heap + external bytes after two full collections, per node label */
  collected: Record<string, number>;
  redisUsed: number;
}

interface ScaleResult {
  variant: Variant;
  nodes: number;
  memoryBefore: Memory | null;
  memoryAfter: Memory | null;
  /** (after - before) / subscriptions held */
  bytesPerSubscription: { perNode: Record<string, number>; collectedPerNode: Record<string, number>; redis: number } | null;
  subscriptions: SubscriptionResult | null;
  bulkCpu: CpuUsage | null;
  latencyBefore: RateResult | null;
  latencyWith: RateResult | null;
  join: JoinResult | null;
  failure: FailureResult | null;
  errors: string[];
}

async function memory (stack: BenchStack, redis: RedisCounter): Promise<Memory> {
  const nodes: Record<string, number> = {};
  const collected: Record<string, number> = {};
  for (const [pid, label] of stack.allPids()) {
    if (!label.startsWith('kuzzle')) {
      continue;
    }
    // resident memory first: the collections below change it
    const bytes = residentBytes(pid);
    if (bytes !== null) {
      nodes[label] = bytes;
    }
    const live = await stack.collectedMemory(pid);
    if (!live) {
      throw new Error(`${label} did not report its memory after a garbage collection (bench/heap-probe.ts)`);
    }
    collected[label] = live.heapUsed + live.external;
  }
  return { collected, nodes, redisUsed: await redis.usedMemory() };
}

/** (after - before) / held, per node label */
function perSubscription (before: Record<string, number>, after: Record<string, number>, held: number): Record<string, number> {
  const perNode: Record<string, number> = {};
  for (const [label, bytes] of Object.entries(after)) {
    perNode[label] = Math.round((bytes - (before[label] ?? bytes)) / held);
  }
  return perNode;
}

async function step<T> (result: ScaleResult, what: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  }
  catch (error) {
    result.errors.push(`${what}: ${(error as Error).message}`);
    log(`ERROR ${what}: ${(error as Error).stack || error}`);
    return null;
  }
}

async function latencyAt (ctx: Ctx, rate: number): Promise<RateResult> {
  const clients = await openRateClients(ctx);
  try {
    const [result] = (await latency([{ clients, ctx, name: 'scale' }], [rate], 3, 5000)).get('scale') || [];
    if (!result) {
      throw new Error(`no latency run at ${rate}/s succeeded`);
    }
    return result;
  }
  finally {
    closeRateClients(clients);
  }
}

async function scale (variant: Variant, workRoot: string, options: Options): Promise<ScaleResult> {
  const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] [${variant}] ${line}`);
  const cluster = isCluster(variant);
  const stack = new BenchStack({ log, nodeArgs: options.nodeArgs, nodes: cluster ? 3 : 1, variant, workDir: path.join(workRoot, variant) });
  const result: ScaleResult = {
    bulkCpu: null, bytesPerSubscription: null, errors: [], failure: null, join: null, latencyBefore: null, latencyWith: null,
    memoryAfter: null, memoryBefore: null, nodes: cluster ? 3 : 1, subscriptions: null, variant,
  };
  let counter: RedisCounter | null = null;
  try {
    await stack.start();
    log(`booted in ${stack.nodes.map(n => Math.round(n.bootMs)).join(', ')} ms`);
    counter = new RedisCounter(stack.redisPort);
    await counter.connect();
    const ctx: Ctx = { cpu: () => new CpuMonitor(() => stack.allPids()), log, redis: counter, stack };

    result.latencyBefore = await step(result, 'latency before', log, () => latencyAt(ctx, options.rate));
    await sleep(2000);
    result.memoryBefore = await memory(stack, counter);
    log(`memory before: ${JSON.stringify(result.memoryBefore)}`);

    const holders = await openHolders(ctx, 4);
    try {
      const monitor = ctx.cpu();
      monitor.start();
      result.subscriptions = await step(result, 'subscriptions', log,
        () => subscriptions(ctx, holders, options.subscriptions, 30 * 60 * 1000, 5, 300000));
      result.bulkCpu = monitor.stop();
      await sleep(5000);
      result.memoryAfter = await memory(stack, counter);
      const held = result.subscriptions ? result.subscriptions.reached + result.subscriptions.after.length : 0;
      if (held > 0) {
        const before = result.memoryBefore;
        const after = result.memoryAfter;
        result.bytesPerSubscription = {
          collectedPerNode: perSubscription(before.collected, after.collected, held),
          perNode: perSubscription(before.nodes, after.nodes, held),
          redis: Math.round((after.redisUsed - before.redisUsed) / held),
        };
      }
      log(`memory with ${held} subscriptions: ${JSON.stringify(result.memoryAfter)}; bytes per subscription ${JSON.stringify(result.bytesPerSubscription)}`);

      result.latencyWith = await step(result, 'latency with the subscriptions', log, () => latencyAt(ctx, options.rate));
      if (cluster) {
        await sleep(1000);
        result.join = await step(result, 'join', log, () => join(ctx, holders, held, result.subscriptions ? 'first-0' : null));
        await sleep(2000);
        result.failure = await step(result, 'failure', log, () => failure(ctx, 2, 60000));
      }
    }
    finally {
      disconnectAll(holders.all);
    }
  }
  catch (error) {
    result.errors.push((error as Error).message);
    log(`ERROR ${(error as Error).stack || error}`);
  }
  finally {
    await counter?.close();
    await stack.stop();
  }
  return result;
}

const MiB = 2 ** 20;

/**
 * Bytes per subscription, per node; flagged when the bulk never converged:
 * a cluster in that state may have dropped subscriptions since (native
 * 2.33.1 did, its clients disconnected), and its memory then says nothing.
 */
function perNodeBytes (r: ScaleResult, perNode: Record<string, number> | undefined): string | null {
  if (!perNode) {
    return null;
  }
  const figures = Object.entries(perNode).map(([k, v]) => `${k} ${v}`).join(', ');
  return r.subscriptions?.bulk.convergedMs === null ? `not valid, the bulk never converged (${figures})` : figures;
}

function report (results: ScaleResult[], options: Options): string[] {
  const lat = (x: RateResult | null): string | null => (x ? `${x.latencyMs.p50} / ${x.latencyMs.p95} / ${x.latencyMs.p99} (lost ${x.lost})` : null);
  const single = (s: SubscriptionResult | null, which: 'first' | 'after'): string | null => {
    if (!s) {
      return null;
    }
    const m = s.summary;
    return which === 'first'
      ? `${m.firstAckMs} ms acked, ${m.firstConvergedMs} ms converged, ${m.firstRedisCalls} Redis commands`
      : `${m.afterAckMs} ms acked, ${m.afterConvergedMs} ms converged, ${m.afterRedisCalls} Redis commands (${s.reached} rooms before)${s.afterError ? `; failed: ${s.afterError}` : ''}`;
  };
  const rows: Array<[string, (r: ScaleResult) => string | null]> = [
    ['subscriptions held', r => (r.subscriptions ? `${r.subscriptions.reached + r.subscriptions.after.length} (${r.subscriptions.bulk.errors} errors)` : null)],
    ['bulk: acked / converged on every node', r => {
      const bulk = r.subscriptions?.bulk;
      return bulk
        ? `${(bulk.ackMs / 1000).toFixed(1)} s / ${bulk.convergedMs === null ? `not converged: ${bulk.convergenceError}` : `${(bulk.convergedMs / 1000).toFixed(1)} s`}`
        : null;
    }],
    ['bulk: Kuzzle CPU per subscription', r => {
      const s = r.subscriptions;
      const cpu = r.bulkCpu;
      if (!s || !cpu) {
        return null;
      }
      return `${kuzzleTotal(cpuMsPer(cpu, s.reached, 1)).toFixed(3)} ms`;
    }],
    ['Kuzzle node resident memory, before -> with them', ({ memoryAfter: after, memoryBefore: before }) => (before && after
      ? Object.entries(after.nodes).map(([k, bytes]) => `${k}: ${(before.nodes[k] / MiB).toFixed(0)} -> ${(bytes / MiB).toFixed(0)} MiB`).join('; ')
      : null)],
    ['resident bytes per subscription, per node', r => perNodeBytes(r, r.bytesPerSubscription?.perNode)],
    ['live heap after a full GC, before -> with them', ({ memoryAfter: after, memoryBefore: before }) => (before && after
      ? Object.entries(after.collected).map(([k, bytes]) => `${k}: ${(before.collected[k] / MiB).toFixed(0)} -> ${(bytes / MiB).toFixed(0)} MiB`).join('; ')
      : null)],
    ['live heap bytes per subscription, per node', r => perNodeBytes(r, r.bytesPerSubscription?.collectedPerNode)],
    ['Redis used_memory, before -> with them (bytes per subscription)', r => (r.memoryBefore && r.memoryAfter && r.bytesPerSubscription
      ? `${(r.memoryBefore.redisUsed / MiB).toFixed(1)} -> ${(r.memoryAfter.redisUsed / MiB).toFixed(1)} MiB (${r.bytesPerSubscription.redis})`
      : null)],
    ['1st subscriptions (median of 5)', r => single(r.subscriptions, 'first')],
    ['subscriptions after the bulk (median of 5)', r => single(r.subscriptions, 'after')],
    [`latency @${options.rate}/s before, p50 / p95 / p99 ms`, r => lat(r.latencyBefore)],
    [`latency @${options.rate}/s with the subscriptions`, r => lat(r.latencyWith)],
    ['join: 4th node spawn -> healthy', r => (r.join ? `${r.join.healthyMs} ms (${r.join.roomsInCluster} rooms; first delivery through it ${r.join.firstDeliveryAfterHealthyMs} ms after healthy)` : null)],
    ['failure detection: SIGKILL -> right count on every survivor', r => (r.failure ? (r.failure.detectedMs === null ? `failed: ${r.failure.error}` : `${r.failure.detectedMs} ms`) : null)],
    ['errors', r => (r.errors.length ? r.errors.map(e => e.split('\n')[0]).join('; ') : 'none')],
  ];
  return [
    `| measurement | ${results.map(r => VARIANT_LABEL[r.variant]).join(' | ')} |`,
    `| --- | ${results.map(() => '---').join(' | ')} |`,
    ...rows.map(([label, f]) => `| ${label} | ${results.map(r => f(r) ?? 'n/a').join(' | ')} |`),
  ];
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-scale-'));
  const startedAt = new Date();
  console.log(`scale: ${options.subscriptions} subscriptions, columns ${options.only.join(', ')}; load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`);
  const results: ScaleResult[] = [];
  try {
    for (const variant of options.only) {
      results.push(await scale(variant, workRoot, options));
      await sleep(1000);
    }
  }
  finally {
    if (options.keep) {
      console.log(`work directory kept: ${workRoot}`);
    }
    else {
      fs.rmSync(workRoot, { force: true, recursive: true });
    }
  }
  const lines = report(results, options);
  console.log(`\n${lines.join('\n')}`);
  if (options.out) {
    fs.writeFileSync(options.out, `${JSON.stringify({ load: os.loadavg(), options, results, startedAt }, null, 2)}\n`);
    fs.writeFileSync(options.out.replace(/\.json$/, '.md'),
      `# Scale: ${options.subscriptions.toLocaleString('en')} subscriptions\n\n`
      + `Distinct filters, made from 4 connections per node, 8 requests in flight each; a fresh stack per column, one after the other `
      + `(${startedAt.toISOString()}, ${Math.round((Date.now() - startedAt.getTime()) / 60000)} min; bench/scale.ts, see bench/README.md). `
      + `Memory of each Kuzzle node 2 s before the subscriptions and 5 s after them: resident memory (VmRSS), then the live heap `
      + `(V8 heap used + external memory) right after two full garbage collections (bench/heap-probe.ts); Redis: INFO used_memory.\n\n`
      + `${lines.join('\n')}\n`);
  }
}

runMain(main);
