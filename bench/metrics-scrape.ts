/**
 * What a Prometheus scrape of GET /_plugin/cluster/metrics costs.
 *
 *   npm run build && node -r ts-node/register/transpile-only bench/metrics-scrape.ts [--rooms=10000 --rate=200 --seconds=10] [--render-only]
 *
 * 1. In process: the CPU of one scrape's work (status projection + text
 *    rendering) for 3 nodes sharing `rooms` rooms, every node holding
 *    subscribers in every room.
 * 2. Real cluster: 3 Kuzzle 2.10.4 nodes with the plugin, `rooms` rooms
 *    subscribed on node 1 (spread over the clients), a publisher on node 2
 *    sending `rate` realtime messages/s to a room of node 1; the latency of
 *    those notifications without scraping, with 3 scrapers every second
 *    per node (already more than usual), and with 3 scrapers every 100 ms
 *    per node (30 scrapes/s per node), then without again.
 */
import { Kuzzle, WebSocket } from 'kuzzle-sdk';
import * as http from 'http';
import { performance } from 'perf_hooks';

import { noCounters } from '../lib/cluster/peer';
import { RoomRegistry } from '../lib/cluster/roomRegistry';
import { statusOf } from '../lib/cluster/status';
import { renderClusterMetrics } from '../lib/metrics/clusterMetrics';
import { Histogram } from '../lib/metrics/histogram';
import { KuzzleStack } from '../test/support/kuzzleStack';
import { summarize } from './metrics';
import { runMain, sleep } from './stack';

interface Options { rooms: number; rate: number; seconds: number }

function parseArgs (argv: string[]): Options & { renderOnly: boolean } {
  const options: Options = { rate: 200, rooms: 10000, seconds: 10 };
  const renderOnly = argv.includes('--render-only');
  for (const arg of argv.filter(a => a !== '--render-only')) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    const number = Number(value);
    if (!(key in options) || !Number.isInteger(number) || number <= 0) {
      throw new Error(`unknown or invalid option ${arg} (options: --rooms, --rate, --seconds)`);
    }
    options[key as keyof Options] = number;
  }
  return { ...options, renderOnly };
}

function renderCost (rooms: number): void {
  const registry = new RoomRegistry();
  const filter = { collection: 'c', filters: [[{ equals: { field: 'x' } }]], index: 'i' };
  for (let r = 0; r < rooms; r++) {
    for (const node of ['n1', 'n2', 'n3']) {
      registry.set(node, `room-${r}`, 1 + (r % 3), filter);
    }
  }
  const info = (id: string) => ({ id, pub: `tcp://10.0.0.${id.slice(1)}:7511`, router: `tcp://10.0.0.${id.slice(1)}:7510`, startedAt: 1, version: 'x' });
  const histogram = new Histogram();
  for (let i = 0; i < 1000; i++) {
    histogram.observe(i / 100000);
  }
  const scrape = (): string => renderClusterMetrics({
    ackWaits: histogram.snapshot(),
    activity: [{ count: 2, event: 'joined', reason: '' }],
    departed: noCounters(),
    heard: 3,
    minimumNodes: 1,
    received: { envelopes: 1, messages: 1 },
    redis: { errors: 0, roundTrips: histogram.snapshot(), up: true },
    status: statusOf({
      evictions: 0, health: { ok: true, reason: null }, now: 10,
      peers: ['n2', 'n3'].map(id => ({
        buffered: { bytes: 0, messages: 0 }, counters: noCounters(), heldBack: 0, info: info(id), lastHeard: 5, ready: true, seq: 1,
      })),
      registry, self: info('n1'), seq: 1,
      transport: { denied: 0, dropped: 0, sent: { envelopes: 1, messages: 1 } },
      unattributed: noCounters(),
    }),
  });
  for (let i = 0; i < 50; i++) {
    scrape();
  }
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 300; i++) {
    const start = performance.now();
    bytes = scrape().length;
    times.push(performance.now() - start);
  }
  const s = summarize(times);
  console.log(`render (status projection + exposition), 3 nodes, ${rooms} rooms (${registry.size} in the registry): `
    + `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms per scrape; ${bytes} bytes of text`);
}

function scrapeOnce (port: number): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', path: '/_plugin/cluster/metrics', port }, res => {
      res.resume();
      res.on('end', () => resolve(performance.now() - start));
    }).on('error', reject);
  });
}

/** `scrapers` loops per port, each scraping every `interval` ms, until stopped */
function startScrapers (ports: number[], scrapers: number, interval: number): { stop: () => Promise<number[]> } {
  let running = true;
  const times: number[] = [];
  const loops = ports.flatMap(port => Array.from({ length: scrapers }, async (_, i) => {
    await sleep((interval / scrapers) * i);
    while (running) {
      times.push(await scrapeOnce(port));
      await sleep(interval);
    }
  }));
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return times;
    },
  };
}

async function connect (port: number): Promise<Kuzzle> {
  const kuzzle = new Kuzzle(new WebSocket('127.0.0.1', { port }), { autoResubscribe: false });
  kuzzle.on('networkError', () => undefined);
  await kuzzle.connect();
  return kuzzle;
}

async function notificationLatency (publisher: Kuzzle, received: Map<number, number>, options: Options): Promise<ReturnType<typeof summarize> & { lost: number }> {
  const sent = new Map<number, number>();
  received.clear();
  const total = options.rate * options.seconds;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 1) {
      await sleep(wait);
    }
    sent.set(i, performance.now());
    void publisher.realtime.publish('bench', 'metrics', { probe: true, seq: i });
  }
  await sleep(2000);
  const latencies: number[] = [];
  for (const [seq, at] of sent) {
    const got = received.get(seq);
    if (got !== undefined) {
      latencies.push(got - at);
    }
  }
  return { ...summarize(latencies), lost: total - latencies.length };
}

async function main (): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  renderCost(options.rooms);
  if (options.renderOnly) {
    return;
  }

  const stack = await KuzzleStack.start({ nodes: 3 });
  const clients: Kuzzle[] = [];
  try {
    const [a, b] = [await connect(stack.nodes[0].port), await connect(stack.nodes[1].port)];
    clients.push(a, b);
    await a.index.create('bench').catch(() => undefined);
    await a.collection.create('bench', 'metrics', {});

    const subscribers = await Promise.all(Array.from({ length: 4 }, () => connect(stack.nodes[0].port)));
    clients.push(...subscribers);
    const subscribeStart = performance.now();
    for (let r = 0; r < options.rooms; r += 200) {
      await Promise.all(Array.from({ length: Math.min(200, options.rooms - r) }, (_, j) =>
        subscribers[(r + j) % subscribers.length].realtime.subscribe('bench', 'metrics', { equals: { room: `r${r + j}` } }, () => undefined)));
    }
    console.log(`${options.rooms} rooms subscribed on node 1 in ${Math.round(performance.now() - subscribeStart)} ms`);

    const received = new Map<number, number>();
    await a.realtime.subscribe('bench', 'metrics', { equals: { probe: true } }, (notification: unknown) => {
      const seq = probeSeq(notification);
      if (seq !== null) {
        received.set(seq, performance.now());
      }
    });
    const ports = stack.nodes.map(node => node.port);
    const status = JSON.parse((await httpGetText(ports[1], '/_plugin/cluster/status'))).result;
    console.log(`node 2 sees ${status.cluster.rooms} rooms cluster-wide`);

    await notificationLatency(b, received, { ...options, seconds: 2 });
    const phases: Array<[string, number, number]> = [
      ['no scraping', 0, 0],
      ['3 scrapers x every 1 s per node', 3, 1000],
      ['3 scrapers x every 100 ms per node', 3, 100],
      ['no scraping (again)', 0, 0],
    ];
    for (const [label, scrapers, interval] of phases) {
      const load = scrapers > 0 ? startScrapers(ports, scrapers, interval) : null;
      const latency = await notificationLatency(b, received, options);
      const scrapes = load ? summarize(await load.stop()) : null;
      console.log(`${label}: notification latency node 2 -> node 1 p50 ${latency.p50} ms, p95 ${latency.p95} ms, p99 ${latency.p99} ms, `
        + `max ${latency.max} ms (${latency.count} received, ${latency.lost} lost)`
        + (scrapes ? `; ${scrapes.count} scrapes, HTTP p50 ${scrapes.p50} ms, p99 ${scrapes.p99} ms` : ''));
    }
  }
  finally {
    for (const client of clients) {
      client.disconnect();
    }
    await stack.stop();
  }
}

function probeSeq (notification: unknown): number | null {
  const field = (value: unknown, name: string): unknown =>
    (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined);
  const seq = field(field(field(notification, 'result'), '_source'), 'seq');
  return typeof seq === 'number' ? seq : null;
}

function httpGetText (port: number, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', path: urlPath, port }, res => {
      const chunks: Buffer[] = [];
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    }).on('error', reject);
  });
}

runMain(main);
