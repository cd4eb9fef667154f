/**
 * Fan-out (issue 14, workload 2): `--per-node` (50) subscribers on every
 * node share one filter, one publisher on node 2 publishes at `--rate`
 * (100/s) for `--duration` ms: every message is delivered to every
 * subscriber. Measured per round: deliveries/s, delivery latency
 * percentiles (publish call -> a subscriber's callback, over every
 * delivery), deliveries lost, and CPU per 1,000 deliveries per process.
 * The single-node columns get the same number of subscribers in total (the
 * same deliveries per message) on their one node.
 *
 * Every stack stays up for the whole run; rounds alternate the order of the
 * columns and open fresh subscriber connections each time.
 *
 *   npm run bench:fanout -- [--only=ours,native,single] [--rounds=3] [--out=bench/results/fanout.json] [--cpu-prof=DIR]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { COLLECTION, Client, INDEX, connect, disconnectAll, now } from './clients';
import { CpuMonitor, CpuUsage, cpuMsPer, kuzzleTotal } from './cpu';
import { LatencySummary, medianSpread, summarize } from './metrics';
import { parseOptions, positiveInteger } from './options';
import { BenchStack, VARIANT_LABEL, Variant, isCluster, runMain, sleep, variantList } from './stack';

interface Options {
  only: Variant[];
  perNode: number;
  rate: number;
  durationMs: number;
  rounds: number;
  out: string | null;
  /** write a V8 CPU profile of every Kuzzle node into this directory */
  cpuProf: string | null;
}

function parseArgs (argv: string[]): Options {
  const options: Options = {
    cpuProf: null, durationMs: 10000, only: ['ours', 'native', 'single'], out: null, perNode: 50, rate: 100, rounds: 3,
  };
  parseOptions(argv, {
    values: {
      '--cpu-prof': value => { options.cpuProf = path.resolve(value); },
      '--duration': (value, key) => { options.durationMs = positiveInteger(key, value); },
      '--only': value => { options.only = variantList(value); },
      '--out': value => { options.out = path.resolve(value); },
      '--per-node': (value, key) => { options.perNode = positiveInteger(key, value); },
      '--rate': (value, key) => { options.rate = positiveInteger(key, value); },
      '--rounds': (value, key) => { options.rounds = positiveInteger(key, value); },
    },
  });
  return options;
}

interface FanoutRound {
  variant: Variant;
  round: number;
  subscribers: number;
  published: number;
  errors: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** deliveries / (last delivery - first publish) */
  deliveriesPerS: number;
  latencyMs: LatencySummary;
  cpu: CpuUsage | null;
  /** per process: CPU ms per 1,000 deliveries */
  cpuMsPer1000: Record<string, number>;
  error: string | null;
}

interface Subscriber {
  client: Client;
  probed: boolean;
  seen: Set<number>;
}

async function fanoutRound (stack: BenchStack, variant: Variant, round: number, options: Options,
  log: (line: string) => void): Promise<FanoutRound> {
  const nodes = stack.nodes.length;
  const subscribersPerNode = isCluster(variant) ? options.perNode : options.perNode * 3;
  const run = `fan-${round}-${Date.now()}`;
  const pad = 'x'.repeat(200);
  const latencies: number[] = [];
  const result: FanoutRound = {
    cpu: null, cpuMsPer1000: {}, deliveriesPerS: 0, delivered: 0, duplicates: 0, error: null, errors: 0, expected: 0,
    latencyMs: summarize([]), lost: 0, published: 0, round, subscribers: subscribersPerNode * nodes, variant,
  };
  const subscribers: Subscriber[] = [];
  let publisher: Client | null = null;
  const monitor = new CpuMonitor(() => stack.allPids());
  let monitoring = false;
  let lastDelivery = 0;
  try {
    for (const node of stack.nodes) {
      const clients = await Promise.all(Array.from({ length: subscribersPerNode }, () => connect(node.index, node.port)));
      subscribers.push(...clients.map(client => ({ client, probed: false, seen: new Set<number>() })));
    }
    publisher = await connect(nodes > 1 ? 1 : 0, stack.nodes[nodes > 1 ? 1 : 0].port);
    for (const s of subscribers) {
      await s.client.kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { run } }, (n: unknown) => {
        const source = (n as { result?: { _source?: Record<string, unknown> } }).result?._source;
        if (!source) {
          return;
        }
        if (source.probe === true) {
          s.probed = true;
          return;
        }
        const seq = source.seq as number;
        if (s.seen.has(seq)) {
          result.duplicates++;
          return;
        }
        s.seen.add(seq);
        lastDelivery = now();
        latencies.push(lastDelivery - (source.t as number));
      });
    }
    // every subscriber must hear the publisher's node before the clock starts
    const readyBy = now() + 30000;
    while (!subscribers.every(s => s.probed)) {
      if (now() > readyBy) {
        throw new Error(`${subscribers.filter(s => !s.probed).length} subscribers never heard a probe from the publisher's node`);
      }
      await publisher.kuzzle.realtime.publish(INDEX, COLLECTION, { probe: true, run });
      await sleep(50);
    }
    await sleep(500);

    monitor.start();
    monitoring = true;
    const start = now();
    const total = Math.round((options.rate * options.durationMs) / 1000);
    const pending: Array<Promise<unknown>> = [];
    const pub = publisher;
    for (let seq = 0; seq < total; seq++) {
      const due = start + (seq * 1000) / options.rate;
      const wait = due - now();
      if (wait > 0) {
        await sleep(wait);
      }
      pending.push(pub.kuzzle.realtime.publish(INDEX, COLLECTION, { pad, run, seq, t: now() }).then(() => {
        result.published++;
      }, () => {
        result.errors++;
      }));
    }
    await Promise.all(pending);
    result.expected = result.published * subscribers.length;
    const drainBy = now() + 10000;
    while (latencies.length < result.expected && now() < drainBy) {
      await sleep(20);
    }
    result.cpu = monitor.stop();
    monitoring = false;
    result.delivered = latencies.length;
    result.lost = Math.max(0, result.expected - result.delivered);
    result.deliveriesPerS = lastDelivery > start ? Math.round(result.delivered / ((lastDelivery - start) / 1000)) : 0;
    result.latencyMs = summarize(latencies);
    result.cpuMsPer1000 = cpuMsPer(result.cpu, result.delivered, 1000);
    const l = result.latencyMs;
    log(`${result.subscribers} subscribers, ${result.published} published (${result.errors} errors): ${result.delivered}/${result.expected} delivered `
      + `(${result.lost} lost, ${result.duplicates} duplicates), ${result.deliveriesPerS}/s; p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms; `
      + `CPU ms per 1,000 deliveries ${JSON.stringify(result.cpuMsPer1000)}`);
  }
  catch (error) {
    result.error = (error as Error).message;
    log(`ERROR ${(error as Error).stack || error}`);
  }
  finally {
    if (monitoring) {
      monitor.stop();
    }
    disconnectAll([...subscribers.map(s => s.client), ...(publisher ? [publisher] : [])]);
  }
  return result;
}

function report (options: Options, results: FanoutRound[]): string[] {
  return [
    `Median (min-max) over ${options.rounds} round(s):`,
    '',
    '| variant | subscribers | deliveries/s | lost | p50 (ms) | p99 (ms) | CPU ms per 1,000 deliveries, Kuzzle nodes | bench clients |',
    '|---|---|---|---|---|---|---|---|',
    ...options.only.map(v => {
      const list = results.filter(r => r.variant === v);
      return `| ${VARIANT_LABEL[v]} | ${list[0] ? list[0].subscribers : 'n/a'} | ${medianSpread(list.map(r => r.deliveriesPerS))} `
        + `| ${list.reduce((a, r) => a + r.lost, 0)} | ${medianSpread(list.map(r => r.latencyMs.p50))} | ${medianSpread(list.map(r => r.latencyMs.p99))} `
        + `| ${medianSpread(list.map(r => kuzzleTotal(r.cpuMsPer1000)))} | ${medianSpread(list.map(r => r.cpuMsPer1000['bench clients'] ?? null))} |`;
    }),
    '',
    'Every round:',
    '',
    '| variant | round | delivered / expected | deliveries/s | p50 / p95 / p99 / max (ms) | CPU ms per 1,000 deliveries (per process) | machine / foreign cores |',
    '|---|---|---|---|---|---|---|',
    ...results.map(r => {
      const l = r.latencyMs;
      return `| ${VARIANT_LABEL[r.variant]} | ${r.round} | ${r.error ? `error: ${r.error}` : `${r.delivered} / ${r.expected}`} | ${r.deliveriesPerS} `
        + `| ${l.p50} / ${l.p95} / ${l.p99} / ${l.max} | ${Object.entries(r.cpuMsPer1000).map(([k, v]) => `${k} ${v}`).join(', ')} `
        + `| ${r.cpu ? `${r.cpu.machineCores} / ${r.cpu.otherCores}` : 'n/a'} |`;
    }),
  ];
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-fanout-'));
  console.log(`fan-out: ${options.perNode} subscribers per node, 1 publisher, ${options.rate}/s for ${options.durationMs} ms, `
    + `${options.rounds} round(s); load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`);
  const stacks = new Map<Variant, BenchStack>();
  const logFor = (variant: Variant, round: number) => (line: string): void =>
    console.log(`[${new Date().toISOString().slice(11, 19)}] [${variant}${round ? ` #${round}` : ''}] ${line}`);
  const results: FanoutRound[] = [];
  try {
    for (const variant of options.only) {
      const stack = new BenchStack({
        log: logFor(variant, 0),
        nodeArgs: options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.cpuProf, variant)}`] : [],
        nodes: isCluster(variant) ? 3 : 1,
        variant,
        workDir: path.join(workRoot, variant),
      });
      stacks.set(variant, stack);
      await stack.start();
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const variant of round % 2 ? options.only : [...options.only].reverse()) {
        results.push(await fanoutRound(stacks.get(variant) as BenchStack, variant, round, options, logFor(variant, round)));
        await sleep(1000);
      }
    }
  }
  finally {
    for (const stack of stacks.values()) {
      // SIGTERM first: a node writes its profile on exit
      await stack.stop(options.cpuProf !== null);
    }
    fs.rmSync(workRoot, { force: true, recursive: true });
  }
  const lines = report(options, results);
  console.log(`\n${lines.join('\n')}`);
  if (options.out) {
    fs.writeFileSync(options.out, `${JSON.stringify({ load: os.loadavg(), options, results }, null, 2)}\n`);
    fs.writeFileSync(options.out.replace(/\.json$/, '.md'),
      `# Fan-out\n\n${options.perNode} subscribers per node on one filter (single nodes: ${options.perNode * 3} on their one node), one publisher on node 2, `
      + `${options.rate} msg/s for ${options.durationMs / 1000} s, 200 bytes of padding; every stack up for the whole run, rounds alternating the columns `
      + `(${new Date().toISOString()}; bench/fanout.ts, see bench/README.md).\n\n${lines.join('\n')}\n`);
  }
}

runMain(main);
