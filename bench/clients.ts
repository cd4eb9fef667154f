/**
 * kuzzle-sdk clients (WebSocket, one Kuzzle node each) and the open-loop
 * load generator used by the latency and throughput measurements.
 */
import { Kuzzle, WebSocket } from 'kuzzle-sdk';

import type { CpuUsage } from './cpu';
import { LatencySummary, summarize } from './metrics';
import { sleep } from './stack';

export const INDEX = 'bench';
export const COLLECTION = 'rt';

export interface Client {
  node: number;
  kuzzle: Kuzzle;
}

export async function connect (node: number, port: number): Promise<Client> {
  // the SDK drops a connection whose ping is not answered within pingInterval
  // (2 s by default): overload measurements would lose their clients
  const kuzzle = new Kuzzle(new WebSocket('127.0.0.1', { autoReconnect: false, pingInterval: 3600000, port }), {
    autoResubscribe: false,
    requestTimeout: 60000,
  });
  kuzzle.on('networkError', () => undefined);
  await kuzzle.connect();
  return { kuzzle, node };
}

export function disconnectAll (clients: Client[]): void {
  for (const client of clients) {
    try {
      client.kuzzle.disconnect();
    }
    catch {
      // already closed
    }
  }
}

interface NotificationLike {
  result?: { _source?: Record<string, unknown> };
}

/** monotonic clock of this process, in ms with sub-ms resolution (publisher and subscriber share it) */
export const now = (): number => performance.now();

export interface RateResult {
  targetRate: number;
  durationMs: number;
  publishers: number;
  /** publish requests sent */
  sent: number;
  /** not sent because too many requests were already waiting for an answer (overload) */
  throttled: number;
  acked: number;
  errors: number;
  received: number;
  duplicates: number;
  /** acknowledged publications whose notification never arrived (after draining) */
  lost: number;
  /** sent / window */
  achievedRate: number;
  /** notifications received / (last receive - start) */
  deliveredRate: number;
  latencyMs: LatencySummary;
  firstError: string | null;
  /** CPU use from the first message to the end of the drain */
  cpu?: CpuUsage;
  /** the same, per process, in CPU microseconds per notification received */
  cpuPerMessageUs?: Record<string, number>;
  /** when several runs are pooled: each run's latencies */
  rounds?: LatencySummary[];
}

export interface RateOptions {
  subscriber: Client;
  publishers: Client[];
  rate: number;
  durationMs: number;
  /** extra body bytes */
  padding?: number;
  /** outstanding publish requests above which sending is skipped (open loop, bounded) */
  maxInFlight?: number;
  /** how long to wait for the last notifications */
  drainMs?: number;
  /** called between readiness and the first message (e.g. to read counters) */
  beforeSend?: () => void | Promise<void>;
  /** called once drained, before unsubscribing */
  afterDrain?: () => void | Promise<void>;
  /** fills `samples` with [send time relative to the start, latency] per message (diagnostics) */
  samples?: Array<[number, number]>;
}

let runCounter = 0;

/**
 * Subscribes on `subscriber`'s node, waits until each publisher's node
 * delivers to it, then publishes at a fixed rate, round-robin over the
 * publishers, for a bounded duration. Every message carries its send time.
 */
export async function runAtRate (options: RateOptions): Promise<RateResult> {
  const { subscriber, publishers, rate, durationMs } = options;
  const run = `r${process.pid}-${++runCounter}-${Date.now()}`;
  const pad = 'x'.repeat(options.padding ?? 0);
  const maxInFlight = options.maxInFlight ?? 4000;
  const latencies: number[] = [];
  const seen = new Set<number>();
  let duplicates = 0;
  let lastReceive = 0;
  const probesSeen = new Set<number>();
  let sendStart = 0;

  const roomId = await subscriber.kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { run } }, (n: unknown) => {
    const source = (n as NotificationLike).result?._source;
    if (!source) {
      return;
    }
    const received = now();
    if (typeof source.probe === 'number') {
      probesSeen.add(source.probe);
      return;
    }
    const seq = source.seq as number;
    if (seen.has(seq)) {
      duplicates++;
      return;
    }
    seen.add(seq);
    latencies.push(received - (source.t as number));
    lastReceive = received;
    if (options.samples) {
      options.samples.push([(source.t as number) - sendStart, received - (source.t as number)]);
    }
  });

  try {
    // the room must be known by every publisher's node before the clock starts
    await waitDelivered(publishers, { run }, probesSeen, 20000);

    if (options.beforeSend) {
      await options.beforeSend();
    }

    let sent = 0;
    let acked = 0;
    let errors = 0;
    let throttled = 0;
    let inFlight = 0;
    let firstError: string | null = null;
    const start = now();
    sendStart = start;
    let scheduled = 0;

    for (;;) {
      const elapsed = Math.min(now() - start, durationMs);
      const due = Math.floor((rate * elapsed) / 1000);
      while (scheduled < due) {
        scheduled++;
        if (inFlight >= maxInFlight) {
          throttled++;
          continue;
        }
        const publisher = publishers[sent % publishers.length];
        const seq = sent++;
        inFlight++;
        publisher.kuzzle.realtime.publish(INDEX, COLLECTION, { pad, run, seq, t: now() })
          .then(() => {
            acked++;
          }, (error: unknown) => {
            errors++;
            firstError = firstError || (error as Error).message;
          })
          .finally(() => {
            inFlight--;
          });
      }
      if (elapsed >= durationMs) {
        break;
      }
      await sleep(1);
    }
    const windowMs = now() - start;

    // drain: wait for answers and notifications (bounded)
    const drainDeadline = now() + (options.drainMs ?? 5000);
    let lastCount = -1;
    let stableSince = now();
    while (now() < drainDeadline) {
      if (inFlight === 0 && seen.size >= acked) {
        break;
      }
      if (seen.size !== lastCount) {
        lastCount = seen.size;
        stableSince = now();
      }
      else if (inFlight === 0 && now() - stableSince > 1500) {
        break;
      }
      await sleep(20);
    }
    if (options.afterDrain) {
      await options.afterDrain();
    }

    return {
      achievedRate: Math.round(sent / (windowMs / 1000)),
      acked,
      deliveredRate: lastReceive > start ? Math.round(seen.size / ((lastReceive - start) / 1000)) : 0,
      duplicates,
      durationMs: Math.round(windowMs),
      errors,
      firstError,
      latencyMs: summarize(latencies),
      lost: Math.max(0, acked - seen.size),
      publishers: publishers.length,
      received: seen.size,
      sent,
      targetRate: rate,
      throttled,
    };
  }
  finally {
    await subscriber.kuzzle.realtime.unsubscribe(roomId).catch(() => undefined);
  }
}

/**
 * Publishes a probe (`match` + a probe number) from every client in `from` every few ms
 * until one from each arrives (`seen` is filled by the subscriber's callback
 * with the probe numbers received). Returns, per client, the ms between the
 * call and the send time of its first delivered probe.
 */
export async function waitDelivered (from: Client[], match: Record<string, unknown>, seen: Set<number>, timeout: number,
  interval = 5): Promise<number[]> {
  const start = now();
  const sentAt = new Map<number, { client: number; t: number }>();
  const firstDelivered: Array<number | null> = from.map(() => null);
  let probe = 0;
  for (;;) {
    for (const p of seen) {
      const sent = sentAt.get(p);
      if (sent && (firstDelivered[sent.client] === null || (firstDelivered[sent.client] as number) > sent.t - start)) {
        firstDelivered[sent.client] = sent.t - start;
      }
    }
    if (firstDelivered.every(t => t !== null)) {
      return firstDelivered as number[];
    }
    if (now() - start > timeout) {
      throw new Error(`no notification through ${firstDelivered.filter(t => t === null).length} node(s) after ${timeout} ms`);
    }
    from.forEach((client, i) => {
      if (firstDelivered[i] === null) {
        const id = probe++;
        sentAt.set(id, { client: i, t: now() });
        client.kuzzle.realtime.publish(INDEX, COLLECTION, { ...match, probe: id })
          .catch(() => undefined);
      }
    });
    await sleep(interval);
  }
}
