/**
 * What the replay of lost notifications costs, and how long a gap takes to
 * be repaired:
 *
 *   node -r ts-node/register/transpile-only bench/replay.ts [--rate=2000 --seconds=4 --rounds=2 --gaps=100]
 *
 * 1. Memory of the replay buffer at its default bounds (in this process):
 *    one destination's ReplayBuffer filled with real encoded envelopes of
 *    1 KB and of 200 B of content until its bounds hold; heap growth after
 *    a full GC, against the bytes the buffer counts.
 * 2. CPU and memory per notification, buffer on (defaults) vs off
 *    (`replay.maxMessages: 0`): two core node processes (the cluster core
 *    without Kuzzle, test/support/coreNodeProcess.ts) on a real Redis and
 *    0mq; A sends B `rate` notifications/s of 1 KB for `seconds`; CPU time
 *    of each process (/proc/<pid>/stat) from the start of the stream until
 *    B got the last one, divided by the notifications; A's heap and RSS
 *    after a full GC at the end, with the buffer as full as the stream left
 *    it. The configurations alternate, `rounds` times each.
 * 3. Replay latency of a gap: A loses one notification on purpose (the
 *    test transport's loss rule), then sends the next one: B sees the gap
 *    when that one arrives, asks A for the missing one, and delivers both.
 *    Every notification carries its send time on CLOCK_MONOTONIC (the same
 *    clock in both processes); B's delivery time minus that is its
 *    latency: for the one behind the gap (held back during the replay) and
 *    for the replayed one, against plain notifications sent between gaps.
 *    The replay request's round trip is also read from B's debug log
 *    (`DEBUG=kuzzle:cluster:replay`, whole ms).
 *
 * Prints a Markdown report and writes it to bench/results/replay.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ReplayBuffer } from '../lib/cluster/replayBuffer';
import { DEFAULT_REPLAY } from '../lib/config';
import { DirectPayload, encodeNotification } from '../lib/cluster/messages';
import { systemClock } from '../lib/cluster/clock';
import { CoreNode, converged, eventually, meshOf } from '../test/support/coreNode';
import { killAll } from '../test/support/processes';
import { collectGarbage } from '../test/support/gc';
import { RedisServer } from '../test/support/redisServer';
import type { RoomFilter } from '../lib/cluster/messages';
import { processTicks } from './cpu';
import { LatencySummary, summarize } from './metrics';
import { runMain, sleep } from './stack';

interface Options { rate: number; seconds: number; rounds: number; gaps: number }

function isOption (key: string, options: Options): key is keyof Options {
  return Object.keys(options).includes(key);
}

function parseArgs (argv: string[]): Options {
  const options: Options = { gaps: 100, rate: 2000, rounds: 2, seconds: 4 };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    const number = Number(value);
    if (!isOption(key, options) || !Number.isInteger(number) || number <= 0) {
      throw new Error(`unknown or invalid option ${arg} (options: --rate, --seconds, --rounds, --gaps)`);
    }
    options[key] = number;
  }
  return options;
}

const filter: RoomFilter = { collection: 'bench', filters: [[{ exists: 'n' }]], index: 'replay' };
const MS_PER_TICK = 10;
const MiB = 1024 * 1024;

function isMemoryUsage (value: unknown): value is NodeJS.MemoryUsage {
  return typeof value === 'object' && value !== null && 'heapUsed' in value && typeof value.heapUsed === 'number'
    && 'rss' in value && typeof value.rss === 'number';
}

// ---------------------------------------------------------------------------
// 1. the buffer's memory at its default bounds

interface BufferMemory {
  content: number;
  envelope: number;
  messages: number;
  bytes: number;
  heapGrowth: number;
  /** ns per keep() on a full buffer (each one evicts the oldest) */
  keepNs: number;
}

function envelope (seq: number, contentBytes: number): string {
  const content = { _id: `doc-${seq}`, _source: { n: seq, padding: 'x'.repeat(contentBytes) } };
  const payload: DirectPayload = {
    content,
    request: { data: { action: 'create', collection: 'bench', controller: 'document', index: 'replay' }, options: {} },
    room: 'a0e0d8b7c1f2e3d4a5b6c7d8e9f0a1b2',
    scope: 'in',
    t: 'user',
  };
  return encodeNotification('4b133287-4498-4264-b070-8307d80f93ae', payload, seq, JSON.stringify(content));
}

function bufferMemory (contentBytes: number): BufferMemory {
  const buffer = new ReplayBuffer(systemClock, DEFAULT_REPLAY);
  const count = DEFAULT_REPLAY.maxMessages + 100;
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  let sentBytes = 0;
  for (let seq = 1; seq <= count; seq++) {
    // encoded, handed to 0mq (a copy), kept: as Outbox.notify and the transport do
    const body = envelope(seq, contentBytes);
    sentBytes += Buffer.from(body).length;
    buffer.keep('peer', seq, body);
  }
  collectGarbage();
  const heapGrowth = process.memoryUsage().heapUsed - before;
  const size = buffer.size('peer');

  // steady state: full, every keep() evicts
  const bodies = Array.from({ length: 1000 }, (_, i) => envelope(count + i + 1, contentBytes));
  const keeps = 200000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < keeps; i++) {
    buffer.keep('peer', count + i + 1, bodies[i % bodies.length]);
  }
  const keepNs = Number(process.hrtime.bigint() - started) / keeps;
  return {
    bytes: size.bytes, content: contentBytes, envelope: Math.round(sentBytes / count), heapGrowth, keepNs, messages: size.messages,
  };
}

// ---------------------------------------------------------------------------
// 2. CPU and memory per notification, buffer on vs off

interface StreamRun {
  buffer: 'on' | 'off';
  sent: number;
  seconds: number;
  /** CPU µs per notification */
  senderUs: number;
  receiverUs: number;
  senderHeapMiB: number;
  senderRssMiB: number;
  buffered: number;
  bufferedMiB: number;
}

async function pair (redisPort: number, extra: Record<string, unknown>): Promise<[CoreNode, CoreNode]> {
  const nodes = await Promise.all([0, 1].map(() => CoreNode.start(redisPort, extra)));
  await Promise.all(nodes.map(node => node.join()));
  await meshOf(nodes);
  await nodes[1].subscribe('stream', 1, filter);
  await converged(nodes, { stream: 1 });
  return [nodes[0], nodes[1]];
}

const ticksOf = (node: CoreNode): number => {
  const ticks = node.child.pid === undefined ? null : processTicks(node.child.pid);
  if (ticks === null) {
    throw new Error(`node ${node.id} is gone`);
  }
  return ticks;
};

async function streamRun (redisPort: number, on: boolean, options: Options): Promise<StreamRun> {
  const [a, b] = await pair(redisPort, on ? {} : { replay: { maxMessages: 0 } });
  await sleep(500);
  const cpu = [ticksOf(a), ticksOf(b)];
  const started = Date.now();
  const sent = await a.call({ cmd: 'stream', first: 1, ms: options.seconds * 1000, padding: 1000, rate: options.rate, rooms: ['stream'] });
  if (typeof sent !== 'number') {
    throw new Error('stream: no count');
  }
  await eventually(`${sent} notifications delivered`, () => b.notifications.length >= sent, 60000);
  const seconds = (Date.now() - started) / 1000;
  const used = [ticksOf(a) - cpu[0], ticksOf(b) - cpu[1]];
  const memory = await a.call({ cmd: 'memory' });
  if (!isMemoryUsage(memory)) {
    throw new Error('memory: not a process.memoryUsage()');
  }
  const status = await a.status();
  const buffered = status.status.peers.find(p => p.id === b.id)?.replay.buffered || { bytes: 0, messages: 0 };
  await Promise.all([a.stop(), b.stop()]);
  const us = (ticks: number): number => Math.round(ticks * MS_PER_TICK * 1000 / sent);
  return {
    buffer: on ? 'on' : 'off',
    buffered: buffered.messages,
    bufferedMiB: buffered.bytes / MiB,
    receiverUs: us(used[1]),
    senderHeapMiB: memory.heapUsed / MiB,
    senderRssMiB: memory.rss / MiB,
    senderUs: us(used[0]),
    seconds,
    sent,
  };
}

// ---------------------------------------------------------------------------
// 3. replay latency of a gap

interface GapRun {
  gaps: number;
  plain: LatencySummary;
  behindGap: LatencySummary;
  replayed: LatencySummary;
  roundTrip: LatencySummary;
  lost: number;
  replayedCount: number;
}

type Kind = 'plain' | 'behindGap' | 'replayed';

async function gapRun (redisPort: number, options: Options): Promise<GapRun> {
  process.env.DEBUG = 'kuzzle:cluster:replay';
  const [a, b] = await pair(redisPort, {});
  delete process.env.DEBUG;
  let n = 0;
  const kinds = new Map<number, Kind>();
  const stamped = async (kind: Kind): Promise<void> => {
    kinds.set(++n, kind);
    await a.call({ cmd: 'stamped', n, rooms: ['stream'] });
  };
  for (let gap = 0; gap < options.gaps; gap++) {
    await stamped('plain');
    await sleep(10);
    await a.call({ cmd: 'lose', rate: 1, types: ['user'] });
    await stamped('replayed');
    await a.call({ cmd: 'lose', rate: 0, types: [] });
    await stamped('behindGap');
    await sleep(20);
  }
  await eventually(`${n} notifications delivered`, () => b.notifications.length >= n, 30000);
  await sleep(200);

  const latencies: Record<Kind, number[]> = { behindGap: [], plain: [], replayed: [] };
  for (const { at, message } of b.notifications) {
    const content = message.content;
    if (typeof content === 'object' && content !== null && 'n' in content && 't' in content
      && typeof content.n === 'number' && typeof content.t === 'number') {
      const kind = kinds.get(content.n);
      if (kind) {
        latencies[kind].push(at - content.t);
      }
    }
  }
  const roundTrips = b.logs
    .map(line => /kuzzle:cluster:replay replay \d+\.\.\d+ from \S+: \d+ in (\d+) ms/.exec(line))
    .flatMap(match => (match ? [Number(match[1])] : []));
  const counters = (await b.status()).status.peers.find(p => p.id === a.id)?.counters || {};
  await Promise.all([a.stop(), b.stop()]);
  return {
    behindGap: summarize(latencies.behindGap),
    gaps: options.gaps,
    lost: counters.lostNotifications,
    plain: summarize(latencies.plain),
    replayed: summarize(latencies.replayed),
    replayedCount: counters.replayed,
    roundTrip: summarize(roundTrips),
  };
}

// ---------------------------------------------------------------------------

const fmt = (value: number | null, digits = 2): string => (value === null ? '-' : value.toFixed(digits));
const row = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;
const latencyRow = (label: string, s: LatencySummary): string =>
  row([label, s.count, fmt(s.p50), fmt(s.p95), fmt(s.p99), fmt(s.max)]);

async function main (): Promise<void> {
  const args = process.argv.slice(2);
  const options = parseArgs(args);
  const load = os.loadavg().map(l => l.toFixed(2)).join(' ');
  const lines: string[] = [
    '# Replay of lost notifications: cost and latency',
    '',
    `\`node -r ts-node/register/transpile-only bench/replay.ts${args.map(arg => ` ${arg}`).join('')}\`, run ${new Date().toISOString().slice(0, 16)}Z.`,
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model || '?'}), load average ${load} at the start (other helpers' test suites were running: the CPU figures are noisy).`,
    '',
    '## Memory of the buffer at its default bounds (one destination node)',
    '',
    `Defaults: ${DEFAULT_REPLAY.maxMessages} messages, ${DEFAULT_REPLAY.maxBytes / MiB} MiB, ${DEFAULT_REPLAY.maxAge} ms. Filled with ${DEFAULT_REPLAY.maxMessages + 100} real envelopes (Outbox's encoding) in one go, so that the count or byte bound holds (not the age bound); heap growth after a full GC, the buffer's structures included. Then 200,000 more keep() calls on the full buffer (each evicts the oldest), timed.`,
    '',
    row(['notification content', 'envelope (bytes)', 'kept', 'counted (MiB)', 'heap growth (MiB)', 'heap per kept one (bytes)', 'keep() on a full buffer (ns)']),
    row(['---', '---', '---', '---', '---', '---', '---']),
  ];
  for (const contentBytes of [1000, 200]) {
    const m = bufferMemory(contentBytes);
    lines.push(row([`${contentBytes} B`, m.envelope, m.messages, fmt(m.bytes / MiB), fmt(m.heapGrowth / MiB),
      Math.round(m.heapGrowth / m.messages), Math.round(m.keepNs)]));
  }
  console.log(lines.join('\n'));

  const redis = await RedisServer.start();
  try {
    const runs: StreamRun[] = [];
    for (let round = 0; round < options.rounds; round++) {
      // alternating which goes first, so that a drift of the machine's load favours neither
      for (const on of round % 2 === 0 ? [true, false] : [false, true]) {
        const run = await streamRun(redis.port, on, options);
        console.log(`  stream, buffer ${run.buffer}: ${run.sent} notifications, ${run.senderUs} / ${run.receiverUs} us`);
        runs.push(run);
      }
    }
    lines.push('', '## CPU and memory per notification, buffer on vs off',
      '',
      `Two core node processes (no Kuzzle), A sends B ${options.rate} notifications/s of 1 KB for ${options.seconds} s (10 ms ticks: the rate achieved is lower on a busy machine); "off" is \`replay.maxMessages: 0\`. CPU from the first notification until B got the last one, in 10 ms ticks of /proc/<pid>/stat (main and 0mq threads); memory of A after a full GC.`,
      '',
      row(['buffer', 'notifications', 'seconds', 'CPU per notification, A (sender) / B (receiver), µs', 'A heap (MiB)', 'A RSS (MiB)', 'A keeps for B']),
      row(['---', '---', '---', '---', '---', '---', '---']));
    for (const run of runs) {
      lines.push(row([run.buffer, run.sent, fmt(run.seconds, 1), `${run.senderUs} / ${run.receiverUs}`, fmt(run.senderHeapMiB, 1),
        fmt(run.senderRssMiB, 1), `${run.buffered} (${fmt(run.bufferedMiB, 1)} MiB)`]));
    }
    const mean = (buffer: 'on' | 'off', pick: (run: StreamRun) => number): number => {
      const values = runs.filter(run => run.buffer === buffer).map(pick);
      return values.reduce((x, y) => x + y, 0) / values.length;
    };
    lines.push('', `Means: sender ${fmt(mean('on', r => r.senderUs), 0)} µs with the buffer, ${fmt(mean('off', r => r.senderUs), 0)} without; `
      + `receiver (whose buffer stays empty: it sends nothing) ${fmt(mean('on', r => r.receiverUs), 0)} / ${fmt(mean('off', r => r.receiverUs), 0)}; `
      + `sender heap ${fmt(mean('on', r => r.senderHeapMiB), 1)} / ${fmt(mean('off', r => r.senderHeapMiB), 1)} MiB.`);

    const gaps = await gapRun(redis.port, options);
    lines.push('', '## Replay latency of a gap',
      '',
      `${gaps.gaps} gaps of one notification each (lost on purpose by A's transport), 30 ms apart; latency = B's delivery time - A's send time, one monotonic clock, ms. B counted ${gaps.replayedCount} replayed, ${gaps.lost} lost.`,
      '',
      row(['notification', 'count', 'p50', 'p95', 'p99', 'max']),
      row(['---', '---', '---', '---', '---', '---']),
      latencyRow('plain (no gap)', gaps.plain),
      latencyRow('behind the gap (B saw the gap on its arrival, held it back during the replay)', gaps.behindGap),
      latencyRow('replayed (sent before the one behind the gap)', gaps.replayed),
      latencyRow('replay request round trip, B\'s debug log (whole ms)', gaps.roundTrip),
      '',
      `From gap detection to delivery: the "behind the gap" latency minus a plain one, about ${fmt((gaps.behindGap.p50 ?? 0) - (gaps.plain.p50 ?? 0))} ms at the median.`);
  }
  finally {
    await killAll();
    await redis.stop();
  }

  const report = `${lines.join('\n')}\n`;
  console.log(report);
  fs.writeFileSync(path.join(__dirname, 'results', 'replay.md'), report);
}

runMain(main);
