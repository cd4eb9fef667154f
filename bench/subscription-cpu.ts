/**
 * Where the CPU of a subscription goes, node by node: N subscriptions with
 * distinct filters, made either all on node 1 (what the subscribing node
 * pays vs what applying it costs each peer) or spread over the nodes (as in
 * the main benchmark), against a single node without cluster.
 *
 *   npm run bench:subscription-cpu [-- --subscriptions=8000 --cpu-prof=DIR]
 *
 * --cpu-prof writes a V8 profile of every node in DIR/<run> (summarize with
 * bench/profile.ts).
 * CPU is read from /proc/<pid>/stat of every Kuzzle node around the bulk.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { COLLECTION, Client, INDEX, connect, disconnectAll } from './clients';
import { processTicks } from './cpu';
import { parseOptions, positiveInteger } from './options';
import { BenchStack, Variant, runMain, sleep } from './stack';

const CONNECTIONS = 12;
const IN_FLIGHT_PER_CONNECTION = 8;
const WARM_UP = 300;

function cpuTicks (pid: number): number {
  const ticks = processTicks(pid);
  if (ticks === null) {
    throw new Error(`process ${pid} is gone`);
  }
  return ticks;
}

async function subscribeAll (clients: Client[], prefix: string, count: number): Promise<void> {
  let next = 0;
  const worker = async (client: Client): Promise<void> => {
    while (next < count) {
      const value = `${prefix}${next++}`;
      await client.kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { sub: value } }, () => undefined);
    }
  };
  await Promise.all(clients.flatMap(client => Array.from({ length: IN_FLIGHT_PER_CONNECTION }, () => worker(client))));
}

async function measure (variant: Variant, spread: boolean, count: number, profiles: string | null): Promise<string> {
  const run = variant === 'single' ? 'single' : spread ? 'spread' : 'one-node';
  const stack = new BenchStack({
    log: () => undefined,
    nodeArgs: profiles ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profiles, run)}`] : [],
    nodes: variant === 'single' ? 1 : 3,
    variant,
    workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-subscription-cpu-')),
  });
  const clients: Client[] = [];
  try {
    await stack.start();
    const nodeOf = (i: number): number => (spread ? i % stack.nodes.length : 0);
    for (let i = 0; i < CONNECTIONS; i++) {
      clients.push(await connect(nodeOf(i), stack.nodes[nodeOf(i)].port));
    }
    await clients[0].kuzzle.index.create(INDEX).catch(() => undefined);
    await clients[0].kuzzle.collection.create(INDEX, COLLECTION, {}).catch(() => undefined);
    await subscribeAll(clients, 'warm-', WARM_UP);
    await sleep(1500);

    const pids = stack.nodes.map(node => node.process?.pid as number);
    const before = pids.map(cpuTicks);
    const benchBefore = process.cpuUsage();
    const start = Date.now();
    await subscribeAll(clients, 'sub-', count);
    const wall = Date.now() - start;
    await sleep(1500);
    const bench = process.cpuUsage(benchBefore);

    // ticks are 10 ms
    const perNode = pids.map((pid, i) => (cpuTicks(pid) - before[i]) * 10 / count);
    const total = perNode.reduce((a, b) => a + b, 0);
    const label = variant === 'single' ? 'single node, no cluster' : `this plugin, ${spread ? 'spread over 3 nodes' : 'all on node 1'}`;
    return `| ${label} | ${(wall / 1000).toFixed(2)} | ${perNode.map(ms => ms.toFixed(3)).join(' / ')} | ${total.toFixed(3)} | ${((bench.user + bench.system) / 1000 / count).toFixed(3)} |`;
  }
  finally {
    disconnectAll(clients);
    // SIGTERM first: a node writes its profile on exit
    await stack.stop(profiles !== null);
  }
}

async function main (): Promise<void> {
  let count = 8000;
  let profiles: string | null = null;
  parseOptions(process.argv.slice(2), {
    values: {
      '--cpu-prof': value => { profiles = path.resolve(value); },
      '--subscriptions': (value, key) => { count = positiveInteger(key, value); },
    },
  });
  console.log(`${count} subscriptions with distinct filters, ${CONNECTIONS} connections x ${IN_FLIGHT_PER_CONNECTION} in flight, after ${WARM_UP} to warm up; ${os.cpus().length} cores\n`);
  console.log('| run | seconds | CPU ms per subscription, node 1 / 2 / 3 | all nodes | bench clients |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(await measure('single', false, count, profiles));
  console.log(await measure('ours', false, count, profiles));
  console.log(await measure('ours', true, count, profiles));
}

runMain(main);
