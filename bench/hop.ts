/**
 * The floor under cross-node latency on this machine: one bare 0mq PUB ->
 * SUB hop between two Node.js processes (what every cross-node notification
 * crosses once, without Kuzzle or this plugin), at a fixed rate, first on
 * an idle machine, then with CPU-burning processes standing in for the
 * other Kuzzle nodes, Redis and clients of a benchmark run.
 *
 *   npm run bench:hop [-- --rate=1000 --seconds=10 --burners=2 --duty=0.6]
 *
 * Prints p50/p95/p99/max (ms) of the one-way latency, measured with the
 * monotonic clock both processes share, and the CPU each process used per
 * message (0mq's I/O thread included; the sender's pacing loop measured
 * alone and left out).
 */
import { fork, ChildProcess } from 'child_process';
import * as os from 'os';
import { Publisher, Subscriber } from 'zeromq';

import { freePort } from '../test/support/ports';
import { kill, track, waitExit } from '../test/support/processes';
import { summarize } from './metrics';
import { runMain } from './stack';

interface Options { rate: number; seconds: number; burners: number; duty: number }

function parseArgs (argv: string[]): Options {
  const options: Options = { burners: 2, duty: 0.6, rate: 1000, seconds: 10 };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    const number = Number(value);
    if (!(key in options) || !Number.isFinite(number) || number < 0) {
      throw new Error(`unknown or invalid option ${arg} (options: --rate, --seconds, --burners, --duty)`);
    }
    options[key as keyof Options] = number;
  }
  if (options.duty > 1 || options.rate === 0) {
    throw new Error('--duty is a fraction of a core (0..1), --rate must be positive');
  }
  return options;
}

interface Received {
  /** one-way latencies, ms */
  latencies: number[];
  /** CPU the receiving process used from the first message on (main and 0mq threads), us */
  cpuUs: number;
}

/** child: receives, and sends back the one-way latencies and its CPU use when told the run ended */
async function receiver (url: string): Promise<void> {
  const sub = new Subscriber();
  sub.connect(url);
  sub.subscribe('N');
  const latencies: number[] = [];
  let cpuAtFirst: NodeJS.CpuUsage | null = null;
  (process.send as (message: unknown) => void)('ready');
  for await (const [, body] of sub) {
    const text = body.toString();
    if (text === 'end') {
      break;
    }
    cpuAtFirst = cpuAtFirst || process.cpuUsage();
    latencies.push(Number(process.hrtime.bigint() - BigInt(text)) / 1e6);
  }
  const cpu = process.cpuUsage(cpuAtFirst || undefined);
  const received: Received = { cpuUs: cpu.user + cpu.system, latencies };
  process.send?.(received, () => process.exit(0));
}

/** child: busy `duty` of every 10 ms, like a node serving a steady load */
function burner (duty: number): void {
  setInterval(() => {
    const until = Date.now() + 10 * duty;
    while (Date.now() < until) {
      // burning CPU on purpose
    }
  }, 10);
}

/** sends `rate` messages a second for `seconds` (or only paces, to measure the loop itself); returns the CPU used, us */
async function paced (pub: Publisher, rate: number, seconds: number, send: boolean): Promise<number> {
  const cpu = process.cpuUsage();
  const total = rate * seconds;
  const start = Date.now();
  for (let sent = 0; sent < total;) {
    const due = Math.floor((Date.now() - start) * rate / 1000);
    for (; sent < Math.min(due, total); sent++) {
      if (send) {
        await pub.send(['N', process.hrtime.bigint().toString()]);
      }
    }
    await new Promise(resolve => setTimeout(resolve, 1));
  }
  const used = process.cpuUsage(cpu);
  return used.user + used.system;
}

interface Measured extends Received {
  /** CPU the sending process used per message, beyond its pacing loop, us */
  senderUsPerMessage: number;
}

async function measure (options: Options, burners: number): Promise<Measured> {
  const port = await freePort();
  const url = `tcp://127.0.0.1:${port}`;
  const pub = new Publisher();
  await pub.bind(url);

  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < burners; i++) {
      children.push(track(fork(__filename, [`burner=${options.duty}`], { execArgv: process.execArgv })));
    }
    const child = track(fork(__filename, [`receiver=${url}`], { execArgv: process.execArgv }));
    children.push(child);
    const received = new Promise<Received>(resolve => child.on('message', message => {
      if (typeof message === 'object' && message !== null) {
        resolve(message as Received);
      }
    }));
    await new Promise(resolve => child.once('message', resolve));
    // the SUB connected: let the subscription reach the PUB
    await new Promise(resolve => setTimeout(resolve, 300));

    const loopSeconds = Math.min(2, options.seconds);
    const loopUs = await paced(pub, options.rate, loopSeconds, false) / loopSeconds * options.seconds;
    const sendingUs = await paced(pub, options.rate, options.seconds, true);
    await new Promise(resolve => setTimeout(resolve, 200));
    await pub.send(['N', 'end']);
    const result = await received;
    const count = options.rate * options.seconds;
    return {
      cpuUs: result.cpuUs,
      latencies: result.latencies,
      senderUsPerMessage: Math.max(0, sendingUs - loopUs) / count,
    };
  }
  finally {
    for (const child of children) {
      kill(child);
    }
    await Promise.all(children.map(c => waitExit(c)));
    pub.close();
  }
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  console.log(`bare 0mq PUB -> SUB hop between two Node.js processes, ${options.rate} msg/s for ${options.seconds} s`);
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0].model}), load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}\n`);
  console.log('| other load | received | p50 | p95 | p99 | max | CPU per message, sender / receiver (us) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const burners of [0, options.burners]) {
    const { latencies, cpuUs, senderUsPerMessage } = await measure(options, burners);
    const label = burners === 0 ? 'none (idle machine)' : `${burners} process(es) busy ${Math.round(options.duty * 100)} % of a core`;
    const summary = summarize(latencies);
    const cells = [summary.p50, summary.p95, summary.p99, summary.max].map(ms => (ms === null ? 'n/a' : ms.toFixed(2)));
    const cpu = `${senderUsPerMessage.toFixed(0)} / ${(cpuUs / Math.max(1, latencies.length)).toFixed(0)}`;
    console.log(`| ${label} | ${latencies.length} of ${options.rate * options.seconds} | ${cells.join(' | ')} | ${cpu} |`);
  }
}

// this file is also the two kinds of child process it forks
const [role, value] = (process.argv[2] || '').split('=');
if (role === 'receiver') {
  void receiver(value);
}
else if (role === 'burner') {
  burner(Number(value));
}
else {
  runMain(main);
}
