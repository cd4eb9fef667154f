/**
 * Subscription storm (issue 14, workload 3): `--subscriptions` (6,000)
 * subscriptions with distinct filters from `--clients` (30) WebSocket
 * clients spread round-robin over the nodes, all clients at once, at most
 * `--in-flight` (10) requests outstanding per client. Measured per variant,
 * on a fresh stack: the time to the last answer (acked), the time until
 * `realtime:count` of the last room of every client answers 1 on every node
 * (counted everywhere: rooms of one client are created in order, so its last
 * room counted means all of them are), and the CPU of every process over
 * that window.
 *
 *   node -r ts-node/register/transpile-only bench/storm.ts --only=ours,native [--out=bench/results/storm.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { COLLECTION, Client, INDEX, connect, disconnectAll, now } from './clients';
import { CpuMonitor, CpuUsage, cpuMsPer, kuzzleTotal } from './cpu';
import { medianSpread } from './metrics';
import { parseOptions, positiveInteger } from './options';
import { BenchStack, VARIANT_LABEL, Variant, isCluster, runMain, sleep, variantList } from './stack';

interface Options {
  only: Variant[];
  subscriptions: number;
  clients: number;
  inFlight: number;
  rounds: number;
  out: string | null;
}

function parseArgs (argv: string[]): Options {
  const options: Options = { clients: 30, inFlight: 10, only: ['ours', 'native'], out: null, rounds: 1, subscriptions: 6000 };
  parseOptions(argv, {
    values: {
      '--clients': (value, key) => { options.clients = positiveInteger(key, value); },
      '--in-flight': (value, key) => { options.inFlight = positiveInteger(key, value); },
      '--only': value => { options.only = variantList(value); },
      '--out': value => { options.out = path.resolve(value); },
      '--rounds': (value, key) => { options.rounds = positiveInteger(key, value); },
      '--subscriptions': (value, key) => { options.subscriptions = positiveInteger(key, value); },
    },
  });
  return options;
}

interface StormResult {
  variant: Variant;
  round: number;
  nodes: number;
  subscriptions: number;
  clients: number;
  acked: number;
  errors: number;
  firstError: string | null;
  /** start -> last answer */
  ackedMs: number | null;
  /** start -> the last room of every client counted 1 on every node */
  countedMs: number | null;
  cpu: CpuUsage | null;
  /** CPU ms per subscription, per process, over the window */
  cpuMsPerSubscription: Record<string, number>;
  error: string | null;
}

const tenth = (v: number): number => Math.round(v * 10) / 10;

async function storm (variant: Variant, round: number, workRoot: string, options: Options): Promise<StormResult> {
  const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] [${variant} #${round}] ${line}`);
  const stack = new BenchStack({ log, nodes: isCluster(variant) ? 3 : 1, variant, workDir: path.join(workRoot, `${variant}-${round}`) });
  const result: StormResult = {
    acked: 0, ackedMs: null, clients: options.clients, countedMs: null, cpu: null, cpuMsPerSubscription: {}, error: null, errors: 0,
    firstError: null, nodes: isCluster(variant) ? 3 : 1, round, subscriptions: options.subscriptions, variant,
  };
  const opened: Client[] = [];
  const monitor = new CpuMonitor(() => stack.allPids());
  let monitoring = false;
  try {
    await stack.start();
    log(`booted in ${stack.nodes.map(n => Math.round(n.bootMs)).join(', ')} ms`);
    const nodes = stack.nodes.length;
    const clients: Client[] = [];
    for (let i = 0; i < options.clients; i++) {
      const client = await connect(i % nodes, stack.nodes[i % nodes].port);
      clients.push(client);
      opened.push(client);
    }
    const counters: Client[] = [];
    for (const node of stack.nodes) {
      const client = await connect(node.index, node.port);
      counters.push(client);
      opened.push(client);
    }
    await sleep(1000);
    const perClient = Math.ceil(options.subscriptions / options.clients);
    const lastRoom: Array<string | null> = clients.map(() => null);
    const noop = (): void => undefined;
    monitor.start();
    monitoring = true;
    const start = now();
    let lastAck = 0;
    await Promise.all(clients.map(async (client, c) => {
      let next = 0;
      const total = Math.min(perClient, options.subscriptions - c * perClient);
      const worker = async (): Promise<void> => {
        while (next < total) {
          const i = next++;
          try {
            const roomId = await client.kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { storm: `c${c}-s${i}` } }, noop);
            result.acked++;
            lastAck = now();
            if (i === total - 1) {
              lastRoom[c] = roomId;
            }
          }
          catch (error) {
            result.errors++;
            result.firstError = result.firstError || (error as Error).message;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.inFlight, Math.max(1, total)) }, () => worker()));
    }));
    result.ackedMs = tenth(lastAck - start);
    log(`${result.acked}/${options.subscriptions} acked in ${result.ackedMs} ms (${result.errors} errors${result.firstError ? `: ${result.firstError}` : ''})`);
    const rooms = lastRoom.filter((r): r is string => r !== null);
    const deadline = now() + 60000;
    for (;;) {
      const counts = await Promise.all(counters.flatMap(counter => rooms.map(room => counter.kuzzle.realtime.count(room).catch(() => -1))));
      if (counts.every(count => count === 1)) {
        result.countedMs = tenth(now() - start);
        break;
      }
      if (now() > deadline) {
        result.error = `not counted everywhere after 60 s: ${counts.filter(count => count !== 1).length} of ${counts.length} counts differ from 1`;
        break;
      }
      await sleep(50);
    }
    result.cpu = monitor.stop();
    monitoring = false;
    const cpu = result.cpu;
    result.cpuMsPerSubscription = cpuMsPer(cpu, result.acked, 1);
    log(`counted on every node after ${result.countedMs} ms; cores ${JSON.stringify(cpu)}; CPU ms per subscription ${JSON.stringify(result.cpuMsPerSubscription)}`);
  }
  catch (error) {
    result.error = (error as Error).message;
    log(`ERROR ${(error as Error).stack || error}`);
  }
  finally {
    if (monitoring) {
      monitor.stop();
    }
    disconnectAll(opened);
    await stack.stop();
  }
  return result;
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-storm-'));
  console.log(`subscription storm: ${options.subscriptions} subscriptions from ${options.clients} clients, ${options.inFlight} in flight each; `
    + `load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`);
  const results: StormResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    // the order of the variants alternates from one round to the next
    for (const variant of round % 2 ? options.only : [...options.only].reverse()) {
      results.push(await storm(variant, round, workRoot, options));
      await sleep(1000);
    }
  }
  const lines = [
    `Median (min-max) over ${options.rounds} round(s):`,
    '',
    '| variant | acked (ms) | counted on every node (ms) | CPU ms per subscription in the Kuzzle nodes |',
    '|---|---|---|---|',
    ...options.only.map(v => {
      const list = results.filter(r => r.variant === v);
      return `| ${VARIANT_LABEL[v]} | ${medianSpread(list.map(r => r.ackedMs))} | ${medianSpread(list.map(r => r.countedMs))} | ${medianSpread(list.map(r => kuzzleTotal(r.cpuMsPerSubscription)))} |`;
    }),
    '',
    'Every round:',
    '',
    '| variant | round | acked (ms) | counted on every node (ms) | CPU ms per subscription (Kuzzle nodes) | machine / foreign cores |',
    '|---|---|---|---|---|---|',
    ...results.map(r => {
      const nodes = Object.entries(r.cpuMsPerSubscription).filter(([k]) => k.startsWith('kuzzle'));
      const total = kuzzleTotal(r.cpuMsPerSubscription);
      return `| ${VARIANT_LABEL[r.variant]} | ${r.round} | ${r.ackedMs ?? 'n/a'} (${r.acked}/${r.subscriptions}, ${r.errors} errors) | ${r.countedMs ?? `n/a${r.error ? `: ${r.error}` : ''}`} `
        + `| ${total.toFixed(3)} (${nodes.map(([k, v]) => `${k} ${v}`).join(', ')}) | ${r.cpu ? `${r.cpu.machineCores} / ${r.cpu.otherCores}` : 'n/a'} |`;
    }),
  ];
  console.log(`\n${lines.join('\n')}`);
  if (options.out) {
    fs.writeFileSync(options.out, `${JSON.stringify({ load: os.loadavg(), options, results }, null, 2)}\n`);
    fs.writeFileSync(options.out.replace(/\.json$/, '.md'),
      `# Subscription storm\n\n${options.subscriptions} subscriptions with distinct filters from ${options.clients} clients spread over the nodes, `
      + `${options.inFlight} requests in flight per client, a fresh stack per round and variant (${new Date().toISOString()}; bench/storm.ts, see bench/README.md).\n\n${lines.join('\n')}\n`);
  }
  fs.rmSync(workRoot, { force: true, recursive: true });
}

runMain(main);
