/**
 * Measurement helpers: latency summaries, Redis INFO commandstats deltas,
 * and per-connection TCP byte counters read with `ss -tinp`.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';

import Redis from 'ioredis';

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** nearest-rank percentile of sorted values */
function percentile (sorted: number[], p: number): number | null {
  if (sorted.length === 0) {
    return null;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

const round = (value: number | null, digits = 3): number | null =>
  (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);

export function summarize (values: number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  const mean = list.length ? list.reduce((a, b) => a + b, 0) / list.length : null;
  return {
    count: list.length,
    max: round(list.length ? list[list.length - 1] : null),
    mean: round(mean),
    p50: round(percentile(list, 50)),
    p95: round(percentile(list, 95)),
    p99: round(percentile(list, 99)),
  };
}

export function median (values: number[]): number | null {
  return percentile(Array.from(Float64Array.from(values).sort()), 50);
}

// ---------------------------------------------------------------------------
// Redis

/** `median (min-max)` of the values present, `n/a` when none */
export function medianSpread (values: Array<number | null>): string {
  const list = values.filter((v): v is number => v !== null);
  return list.length ? `${median(list)} (${Math.min(...list)}-${Math.max(...list)})` : 'n/a';
}

export interface CommandStats {
  calls: number;
  usec: number;
  byCommand: Record<string, number>;
}

/**
 * Reads INFO commandstats of the bench's redis. Commands run inside Lua
 * scripts are counted too (as are the EVALSHA that ran them). The INFO
 * calls of this reader are left out.
 */
export class RedisCounter {
  private readonly client: Redis;

  constructor (port: number) {
    this.client = new Redis({ host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, port });
    this.client.on('error', () => undefined);
  }

  async connect (): Promise<void> {
    await this.client.connect();
  }

  async read (): Promise<CommandStats> {
    const text = await this.client.info('commandstats');
    const stats: CommandStats = { byCommand: {}, calls: 0, usec: 0 };
    for (const line of text.split('\n')) {
      const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
      if (!match || match[1] === 'info') {
        continue;
      }
      const calls = Number(match[2]);
      stats.byCommand[match[1]] = calls;
      stats.calls += calls;
      stats.usec += Number(match[3]);
    }
    return stats;
  }

  /** INFO memory used_memory: bytes Redis allocated for its data and buffers */
  async usedMemory (): Promise<number> {
    const match = /^used_memory:(\d+)/m.exec(await this.client.info('memory'));
    if (!match) {
      throw new Error('INFO memory has no used_memory');
    }
    return Number(match[1]);
  }

  async close (): Promise<void> {
    this.client.disconnect();
  }
}

export function statsDelta (before: CommandStats, after: CommandStats): CommandStats {
  const byCommand: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after.byCommand)) {
    const delta = calls - (before.byCommand[command] || 0);
    if (delta > 0) {
      byCommand[command] = delta;
    }
  }
  return { byCommand, calls: after.calls - before.calls, usec: after.usec - before.usec };
}

// ---------------------------------------------------------------------------
// TCP bytes between cluster nodes

export interface SocketBytes {
  /** node owning the client end of the connection (the SUB side: it receives) */
  receiver: number;
  /** node owning the listening port (the PUB side: it sends) */
  sender: number;
  local: string;
  received: number;
  acked: number;
}

/** `host:port` of an `ss` address column, IPv4-mapped IPv6 (`[::ffff:127.0.0.2]:p`) as plain IPv4 */
export function normalizeAddress (address: string): string {
  const match = /^\[(?:::ffff:)?([^\]]+)\]:(\d+)$/.exec(address);
  return match ? `${match[1]}:${match[2]}` : address;
}

/**
 * Bytes received on every established TCP connection to one of
 * `pubAddresses` (`host:port` -> sending node), read on the connecting (SUB)
 * end, whose owner pid maps to a node: that is what each node's PUB socket
 * sent to each peer, TCP/IP headers excluded. The sender is told apart by
 * address and port: the native 2.33 nodes use one port number, each on its
 * own 127.0.0.x. `ss -tinp` gives bytes_received / bytes_acked per socket
 * (Linux tcp_info); root sees every process's sockets.
 */
export function readPubTraffic (pubAddresses: Map<string, number>, pids: Map<number, number>): SocketBytes[] {
  const out = execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = out.split('\n');
  const result: SocketBytes[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s/.test(line) || line.trim() === '') {
      continue;
    }
    const fields = line.trim().split(/\s+/);
    const local = fields[2];
    const peer = normalizeAddress(fields[3] || '');
    const sender = pubAddresses.get(peer);
    if (sender === undefined || !/^127\./.test(peer)) {
      continue;
    }
    const pidMatch = /pid=(\d+)/.exec(line);
    const receiver = pidMatch ? pids.get(Number(pidMatch[1])) : undefined;
    if (receiver === undefined) {
      continue;
    }
    const info = lines[i + 1] && /^\s/.test(lines[i + 1]) ? lines[i + 1] : '';
    const received = Number((/bytes_received:(\d+)/.exec(info) || [])[1] || 0);
    const acked = Number((/bytes_acked:(\d+)/.exec(info) || [])[1] || 0);
    result.push({ acked, local, received, receiver, sender });
  }
  return result;
}

export type TrafficMatrix = Record<string, number>;

/** bytes received per `sender->receiver` pair between two readings (connections present in both) */
export function trafficDelta (before: SocketBytes[], after: SocketBytes[]): TrafficMatrix {
  const previous = new Map(before.map(s => [`${s.local}|${s.sender}|${s.receiver}`, s.received]));
  const matrix: TrafficMatrix = {};
  for (const socket of after) {
    const key = `${socket.local}|${socket.sender}|${socket.receiver}`;
    const pair = `${socket.sender}->${socket.receiver}`;
    const delta = socket.received - (previous.get(key) ?? 0);
    matrix[pair] = (matrix[pair] || 0) + delta;
  }
  return matrix;
}

/** resident memory of a process in bytes (/proc/<pid>/status VmRSS), null when it is gone */
export function residentBytes (pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  }
  catch {
    return null;
  }
}
