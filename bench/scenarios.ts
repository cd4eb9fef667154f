/**
 * The measurements. Each one is bounded in count and time and leaves the
 * stack as it found it (clients disconnected, rooms unsubscribed), except
 * the subscription scaling, whose 10,000 rooms stay for the join and
 * failure measurements that follow it.
 */
import {
  COLLECTION, Client, INDEX, RateOptions, RateResult, connect, disconnectAll, now, runAtRate, waitDelivered,
} from './clients';
import { CpuMonitor, CpuUsage, cpuMsPer } from './cpu';
import {
  CommandStats, RedisCounter, TrafficMatrix, median, readPubTraffic, statsDelta, summarize, trafficDelta,
} from './metrics';
import { BenchStack, httpGet, sleep } from './stack';

export interface Ctx {
  stack: BenchStack;
  redis: RedisCounter;
  log: (line: string) => void;
  /** a CPU monitor over the bench's processes */
  cpu: () => CpuMonitor;
}

const PUBLISHERS = 4;
const PADDING = 200;

async function publishersOn (ctx: Ctx, node: number, count = PUBLISHERS): Promise<Client[]> {
  const port = ctx.stack.nodes[node].port;
  return Promise.all(Array.from({ length: count }, () => connect(node, port)));
}

/** per process: CPU microseconds per notification delivered (ms per 1,000) */
function cpuPerMessage (usage: CpuUsage, messages: number): Record<string, number> {
  const result = cpuMsPer(usage, messages, 1000);
  for (const label of Object.keys(result)) {
    result[label] = Math.round(result[label]);
  }
  return result;
}

/**
 * runAtRate, with the CPU use of every process from the first message to the
 * end of the drain, and the raw latencies
 */
async function measured (ctx: Ctx, options: RateOptions, latencies: number[]): Promise<RateResult> {
  const monitor = ctx.cpu();
  let usage: CpuUsage | undefined;
  const samples: Array<[number, number]> = [];
  const result = await runAtRate({
    ...options,
    afterDrain: () => {
      usage = monitor.stop();
    },
    beforeSend: () => {
      monitor.start();
    },
    samples,
  });
  for (const [, latencyMs] of samples) {
    latencies.push(latencyMs);
  }
  if (!usage) {
    usage = monitor.stop();
  }
  return { ...result, cpu: usage, cpuPerMessageUs: cpuPerMessage(usage, result.received) };
}

function describeRate (r: RateResult): string {
  const l = r.latencyMs;
  const cpu = r.cpuPerMessageUs ? `; CPU us/notification: ${Object.entries(r.cpuPerMessageUs).map(([k, v]) => `${k} ${v}`).join(', ')}` : '';
  return `target ${r.targetRate}/s achieved ${r.achievedRate}/s, received ${r.received}/${r.acked} acked `
    + `(lost ${r.lost}, errors ${r.errors}, throttled ${r.throttled}), p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms${cpu}`;
}

/** the clients of the latency and throughput runs: subscriber on node 1, publishers on node 2 (single node: node 1) */
export interface RateClients {
  subscriber: Client;
  publishers: Client[];
}

export async function openRateClients (ctx: Ctx): Promise<RateClients> {
  const cluster = ctx.stack.nodes.length > 1;
  const subscriber = await connect(0, ctx.stack.nodes[0].port);
  const publishers = await publishersOn(ctx, cluster ? 1 : 0);
  return { publishers, subscriber };
}

export function closeRateClients (clients: RateClients): void {
  disconnectAll([clients.subscriber, ...clients.publishers]);
}

/** reopens the clients of an entry if one of them lost its connection (bounded: one try per run) */
async function ensureConnected (entry: RateEntry): Promise<void> {
  const all = [entry.clients.subscriber, ...entry.clients.publishers];
  if (all.every(c => c.kuzzle.connected)) {
    return;
  }
  entry.ctx.log('  a client lost its connection: reconnecting the latency clients');
  closeRateClients(entry.clients);
  entry.clients = await openRateClients(entry.ctx);
}

export interface RateEntry {
  name: string;
  ctx: Ctx;
  clients: RateClients;
}

/** runs of one rate pooled: counts added up, percentiles over every message of every round */
function pooled (rate: number, runs: RateResult[], latencies: number[]): RateResult {
  const sum = (f: (r: RateResult) => number): number => runs.reduce((a, r) => a + f(r), 0);
  const windowS = sum(r => r.durationMs) / 1000;
  const cpuPer: Record<string, number> = {};
  for (const run of runs) {
    for (const [k, v] of Object.entries(run.cpuPerMessageUs || {})) {
      cpuPer[k] = (cpuPer[k] || 0) + v / runs.length;
    }
  }
  for (const k of Object.keys(cpuPer)) {
    cpuPer[k] = Math.round(cpuPer[k]);
  }
  // CPU use of the rounds, averaged over their total time
  const usages = runs.map(r => r.cpu).filter((u): u is CpuUsage => !!u);
  const seconds = usages.reduce((a, u) => a + u.seconds, 0);
  const weighted = (f: (u: CpuUsage) => number): number =>
    (seconds > 0 ? Math.round((usages.reduce((a, u) => a + f(u) * u.seconds, 0) / seconds) * 100) / 100 : 0);
  const byProcess: Record<string, number> = {};
  for (const label of new Set(usages.flatMap(u => Object.keys(u.byProcess)))) {
    byProcess[label] = weighted(u => u.byProcess[label] || 0);
  }
  const cpu: CpuUsage = {
    benchCores: weighted(u => u.benchCores),
    byProcess,
    machineCores: weighted(u => u.machineCores),
    otherCores: weighted(u => u.otherCores),
    seconds: Math.round(seconds),
  };
  return {
    achievedRate: Math.round(sum(r => r.sent) / windowS),
    acked: sum(r => r.acked),
    cpu,
    cpuPerMessageUs: cpuPer,
    deliveredRate: Math.round(runs.reduce((a, r) => a + r.deliveredRate, 0) / runs.length),
    duplicates: sum(r => r.duplicates),
    durationMs: Math.round(windowS * 1000),
    errors: sum(r => r.errors),
    firstError: runs.map(r => r.firstError).find(e => e) || null,
    latencyMs: summarize(latencies),
    lost: sum(r => r.lost),
    publishers: runs[0].publishers,
    received: sum(r => r.received),
    rounds: runs.map(r => r.latencyMs),
    sent: sum(r => r.sent),
    targetRate: rate,
    throttled: sum(r => r.throttled),
  };
}

// ---------------------------------------------------------------------------
// 1. latency at fixed rates, the variants interleaved round by round

export async function latency (entries: RateEntry[], rates: number[], rounds: number,
  durationMs: number): Promise<Map<string, RateResult[]>> {
  const results = new Map<string, RateResult[]>(entries.map(e => [e.name, []]));
  for (const entry of entries) {
    // warm-up, not reported: JIT, connection buffers
    await ensureConnected(entry);
    const warm = await runAtRate({ ...entry.clients, durationMs: 2000, padding: PADDING, rate: 500 });
    entry.ctx.log(`  warm-up: ${describeRate(warm)}`);
  }
  for (const rate of rates) {
    const runs = new Map<string, { results: RateResult[]; latencies: number[] }>(entries.map(e => [e.name, { latencies: [], results: [] }]));
    for (let round = 0; round < rounds; round++) {
      for (const entry of entries) {
        await sleep(500);
        const run = runs.get(entry.name) as { results: RateResult[]; latencies: number[] };
        try {
          await ensureConnected(entry);
          const result = await measured(entry.ctx, { ...entry.clients, durationMs, padding: PADDING, rate }, run.latencies);
          run.results.push(result);
          entry.ctx.log(`  latency @${rate}/s round ${round + 1}/${rounds}: ${describeRate(result)}`);
        }
        catch (error) {
          entry.ctx.log(`  latency @${rate}/s round ${round + 1}: ERROR ${(error as Error).message}`);
        }
      }
    }
    for (const entry of entries) {
      const run = runs.get(entry.name) as { results: RateResult[]; latencies: number[] };
      if (run.results.length) {
        const result = pooled(rate, run.results, run.latencies);
        entry.ctx.log(`  latency @${rate}/s, ${run.results.length} rounds pooled: ${describeRate(result)}`);
        (results.get(entry.name) as RateResult[]).push(result);
      }
    }
  }
  return results;
}

// ---------------------------------------------------------------------------
// 2. sustained throughput, the variants interleaved step by step

export interface ThroughputStep extends RateResult {
  pass: boolean;
  why: string | null;
  /** the first try, when it failed and the step was run again */
  retryOf: { why: string; p99: number | null; achievedRate: number } | null;
}

export interface ThroughputResult {
  steps: ThroughputStep[];
  /** highest target rate whose step passed */
  sustained: number | null;
  stoppedBecause: string;
}

function judge (step: RateResult, rate: number, p99LimitMs: number): string | null {
  const why: string[] = [];
  if (step.latencyMs.p99 === null || step.latencyMs.p99 > p99LimitMs) {
    why.push(`p99 ${step.latencyMs.p99} ms > ${p99LimitMs} ms`);
  }
  if (step.achievedRate < 0.95 * rate) {
    why.push(`achieved ${step.achievedRate}/s < 95% of ${rate}/s`);
  }
  if (step.lost + step.errors > 0.001 * Math.max(1, step.sent)) {
    why.push(`${step.lost} lost, ${step.errors} errors`);
  }
  return why.length ? why.join('; ') : null;
}

/**
 * Every variant still passing runs each step; a failing step is run once
 * more (a stall of the machine can fail one), and a variant stops at its
 * first step failing twice.
 */
export async function throughput (entries: RateEntry[], rates: number[], stepMs: number, p99LimitMs: number): Promise<Map<string, ThroughputResult>> {
  const results = new Map<string, ThroughputResult>(entries.map(e => [e.name, {
    steps: [], stoppedBecause: `every step up to ${rates[rates.length - 1]}/s passed`, sustained: null,
  }]));
  const active = new Set(entries.map(e => e.name));
  for (const rate of rates) {
    for (const entry of entries) {
      if (!active.has(entry.name)) {
        continue;
      }
      const result = results.get(entry.name) as ThroughputResult;
      let retryOf: ThroughputStep['retryOf'] = null;
      for (let attempt = 0; attempt < 2; attempt++) {
        await sleep(1000);
        let step: RateResult;
        try {
          await ensureConnected(entry);
          step = await measured(entry.ctx, { ...entry.clients, durationMs: stepMs, drainMs: 8000, padding: PADDING, rate }, []);
        }
        catch (error) {
          entry.ctx.log(`  throughput @${rate}/s: ERROR ${(error as Error).message}`);
          active.delete(entry.name);
          result.stoppedBecause = `${rate}/s: ${(error as Error).message}`;
          break;
        }
        const why = judge(step, rate, p99LimitMs);
        entry.ctx.log(`  throughput @${rate}/s${attempt ? ' (again)' : ''}: ${why ? `FAIL (${why})` : 'pass'}: ${describeRate(step)}`);
        if (!why || attempt === 1) {
          result.steps.push({ ...step, pass: !why, retryOf, why });
          if (why) {
            active.delete(entry.name);
            result.stoppedBecause = `${rate}/s, twice: ${why}`;
          }
          else {
            result.sustained = rate;
          }
          break;
        }
        retryOf = { achievedRate: step.achievedRate, p99: step.latencyMs.p99, why };
      }
    }
    if (active.size === 0) {
      break;
    }
  }
  return results;
}

// ---------------------------------------------------------------------------
// 6. fan-out: inter-node bytes per notification

export interface FanoutResult {
  notifications: number;
  publisherNode: number;
  subscriberNode: number;
  idleMs: number;
  windowMs: number;
  /** bytes received per sender->receiver pair during the sending window, raw */
  rawBytes: TrafficMatrix;
  /** same pairs while idle (heartbeats), scaled to the window */
  idleBytes: TrafficMatrix;
  /** (raw - idle) / notifications */
  bytesPerNotification: TrafficMatrix;
  rate: RateResult;
}

export async function fanout (ctx: Ctx, count: number, rate: number, idleMs: number): Promise<FanoutResult> {
  const pubAddresses = new Map(ctx.stack.nodes.map(n => [ctx.stack.pubAddress(n), n.index]));
  const pids = ctx.stack.pids();
  const read = (): ReturnType<typeof readPubTraffic> => readPubTraffic(pubAddresses, pids);
  const subscriber = await connect(0, ctx.stack.nodes[0].port);
  const publishers = await publishersOn(ctx, 1, 1);
  try {
    const idle0 = read();
    const idleStart = now();
    await sleep(idleMs);
    const idle = trafficDelta(idle0, read());
    const idleElapsed = now() - idleStart;

    let before = idle0;
    let windowStart = 0;
    let raw: TrafficMatrix = {};
    let windowMs = 0;
    const result = await runAtRate({
      afterDrain: () => {
        raw = trafficDelta(before, read());
        windowMs = now() - windowStart;
      },
      beforeSend: () => {
        before = read();
        windowStart = now();
      },
      durationMs: Math.ceil((count / rate) * 1000),
      padding: PADDING,
      publishers,
      rate,
      subscriber,
    });

    const idleScaled: TrafficMatrix = {};
    const perNotification: TrafficMatrix = {};
    for (const pair of new Set([...Object.keys(raw), ...Object.keys(idle)])) {
      idleScaled[pair] = Math.round(((idle[pair] || 0) * windowMs) / idleElapsed);
      perNotification[pair] = Math.round((((raw[pair] || 0) - idleScaled[pair]) / Math.max(1, result.received)) * 10) / 10;
    }
    ctx.log(`  fan-out: ${result.received} notifications node 2 -> node 1; bytes/notification per sender->receiver (nodes 0-based): ${JSON.stringify(perNotification)}`);
    return {
      bytesPerNotification: perNotification,
      idleBytes: idleScaled,
      idleMs: Math.round(idleElapsed),
      notifications: result.received,
      publisherNode: 1,
      rate: result,
      rawBytes: raw,
      subscriberNode: 0,
      windowMs: Math.round(windowMs),
    };
  }
  finally {
    disconnectAll([subscriber, ...publishers]);
  }
}

// ---------------------------------------------------------------------------
// cluster health and counters, watched during a measurement

export interface HealthWatch {
  polls: number;
  /** answers other than 200, per node */
  notReady: Record<string, number>;
  firstReason: string | null;
}

/** polls every node's health route every `interval` ms until stopped */
export function watchHealth (ctx: Ctx, interval = 100): { stop: () => Promise<HealthWatch> } {
  const result: HealthWatch = { firstReason: null, notReady: {}, polls: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(ctx.stack.nodes.filter(n => n.process && n.process.exitCode === null).map(async node => {
        const answer = await httpGet(node.port, ctx.stack.healthPath, 2000).catch(error => ({ body: (error as Error).message, status: 0 }));
        result.polls++;
        if (answer.status !== 200) {
          const key = `node ${node.index + 1}`;
          result.notReady[key] = (result.notReady[key] || 0) + 1;
          result.firstReason = result.firstReason || `${answer.status} ${answer.body.slice(0, 200)}`;
        }
      }));
      await sleep(interval);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return result;
    },
  };
}

/** our plugin's status counters, per node, summed over its view of its peers (null for the bundled plugin) */
export async function clusterCounters (ctx: Ctx): Promise<Record<string, Record<string, number>> | null> {
  const result: Record<string, Record<string, number>> = {};
  let found = false;
  for (const node of ctx.stack.nodes) {
    if (!node.process || node.process.exitCode !== null) {
      continue;
    }
    try {
      const status = JSON.parse((await httpGet(node.port, '/_plugin/cluster/status')).body) as {
        result?: { pool?: Array<{ counters?: Record<string, number> }>; dropped?: number; sent?: { envelopes: number; messages: number } };
      };
      const total: Record<string, number> = {};
      for (const peer of status.result?.pool || []) {
        for (const [key, value] of Object.entries(peer.counters || {})) {
          found = true;
          total[key] = (total[key] || 0) + value;
        }
      }
      if (typeof status.result?.dropped === 'number') {
        total.dropped = status.result.dropped;
      }
      if (status.result?.sent) {
        // envelopes sent to peers, and the 0mq messages that carried them
        total.sentEnvelopes = status.result.sent.envelopes;
        total.sentMessages = status.result.sent.messages;
      }
      result[`node ${node.index + 1}`] = total;
    }
    catch {
      // not our plugin, or the node is gone
    }
  }
  return found ? result : null;
}

/** counters gained between two readings, summed over the nodes present in both */
export function counterDelta (before: Record<string, Record<string, number>> | null,
  after: Record<string, Record<string, number>> | null): Record<string, number> | null {
  if (!before || !after) {
    return null;
  }
  const delta: Record<string, number> = {};
  for (const [node, counters] of Object.entries(after)) {
    const previous = before[node];
    if (!previous) {
      continue;
    }
    for (const [key, value] of Object.entries(counters)) {
      // a forgotten peer takes its counters with it: no negative gains
      delta[key] = (delta[key] || 0) + Math.max(0, value - (previous[key] || 0));
    }
  }
  return delta;
}

// ---------------------------------------------------------------------------
// 3. subscription scaling

export interface SingleSubscription {
  roomsBefore: number;
  node: number;
  /** subscribe call -> answer */
  ackMs: number;
  /** subscribe call -> first notification through every other node */
  convergedMs: number;
  redis: CommandStats;
}

export interface SubscriptionResult {
  target: number;
  /** rooms existing when the bulk ended (includes the first singles) */
  reached: number;
  capped: boolean;
  capMs: number;
  bulk: {
    count: number;
    errors: number;
    firstError: string | null;
    ackMs: number;
    /** until the last room of every node notifies through every other node */
    convergedMs: number | null;
    convergenceError: string | null;
    redis: CommandStats;
    /** health answers other than 200 while the bulk ran */
    health: HealthWatch;
    /** our plugin's gap/resync/loss counters during the bulk (null: bundled plugin, single node) */
    counters: Record<string, number> | null;
  };
  first: SingleSubscription[];
  after: SingleSubscription[];
  /** why the subscriptions after the bulk stopped, if they did */
  afterError: string | null;
  summary: {
    firstAckMs: number | null;
    firstConvergedMs: number | null;
    firstRedisCalls: number | null;
    afterAckMs: number | null;
    afterConvergedMs: number | null;
    afterRedisCalls: number | null;
  };
}

export interface Holders {
  /** per node: the connections holding the subscriptions */
  byNode: Client[][];
  /** per node: one connection used to publish probes */
  probers: Client[];
  all: Client[];
}

const probeSeen = new Map<string, Set<number>>();

function onNotification (n: unknown): void {
  const source = (n as { result?: { _source?: Record<string, unknown> } }).result?._source;
  if (source && typeof source.probe === 'number' && typeof source.sub === 'string') {
    probeSeen.get(source.sub)?.add(source.probe);
  }
}

export async function openHolders (ctx: Ctx, perNode: number): Promise<Holders> {
  const byNode: Client[][] = [];
  const probers: Client[] = [];
  for (const node of ctx.stack.nodes) {
    byNode.push(await Promise.all(Array.from({ length: perNode }, () => connect(node.index, node.port))));
    probers.push(await connect(node.index, node.port));
  }
  return { all: [...byNode.flat(), ...probers], byNode, probers };
}

async function subscribeOne (ctx: Ctx, holders: Holders, node: number, value: string, roomsBefore: number,
  timeout: number): Promise<SingleSubscription> {
  const seen = new Set<number>();
  probeSeen.set(value, seen);
  const holder = holders.byNode[node][0];
  const before = await ctx.redis.read();
  const start = now();
  await holder.kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { sub: value } }, onNotification);
  const ackMs = now() - start;
  const others = holders.probers.filter(p => p.node !== node);
  const waitStart = now();
  const delivered = await waitDelivered(others, { sub: value }, seen, timeout, 1);
  const convergedMs = others.length ? waitStart - start + Math.max(...delivered) : ackMs;
  const after = await ctx.redis.read();
  probeSeen.delete(value);
  return { ackMs: round(ackMs), convergedMs: round(convergedMs), node, redis: statsDelta(before, after), roomsBefore };
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export async function subscriptions (ctx: Ctx, holders: Holders, target: number, capMs: number,
  singles: number, convergenceTimeout: number): Promise<SubscriptionResult> {
  const nodes = ctx.stack.nodes.length;
  let rooms = 0;

  const first: SingleSubscription[] = [];
  for (let i = 0; i < singles; i++) {
    first.push(await subscribeOne(ctx, holders, i % nodes, `first-${i}`, rooms, 30000));
    rooms++;
    await sleep(50);
  }
  ctx.log(`  first ${singles} subscriptions: ack ${first.map(s => s.ackMs.toFixed(2)).join(', ')} ms; converged ${first.map(s => s.convergedMs.toFixed(2)).join(', ')} ms; redis calls ${first.map(s => s.redis.calls).join(', ')}`);

  // bulk: distinct filters, round-robin over every holder connection, a bounded window of requests in flight
  const connections = holders.byNode.flat();
  const perConnection = 8;
  const bulkTarget = Math.max(0, target - rooms);
  let next = 0;
  let acked = 0;
  let errors = 0;
  let firstError: string | null = null;
  const lastPerNode: Array<string | null> = ctx.stack.nodes.map(() => null);
  const countersBefore = await clusterCounters(ctx);
  const health = watchHealth(ctx);
  const before = await ctx.redis.read();
  const start = now();
  const deadline = start + capMs;
  let capped = false;
  let lastLog = start;

  const worker = async (client: Client): Promise<void> => {
    while (next < bulkTarget) {
      if (now() > deadline) {
        capped = true;
        return;
      }
      const value = `bulk-${next++}`;
      probeSeen.set(value, new Set());
      try {
        await client.kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { sub: value } }, onNotification);
        acked++;
        lastPerNode[client.node] = value;
      }
      catch (error) {
        errors++;
        firstError = firstError || (error as Error).message;
      }
      if (now() - lastLog > 5000) {
        lastLog = now();
        ctx.log(`  ... ${acked} subscriptions acknowledged after ${((now() - start) / 1000).toFixed(1)} s`);
      }
    }
  };
  await Promise.all(connections.flatMap(c => Array.from({ length: perConnection }, () => worker(c))));
  const ackMs = now() - start;
  rooms += acked;
  ctx.log(`  bulk: ${acked} subscriptions acknowledged in ${(ackMs / 1000).toFixed(2)} s${capped ? ' (capped by time)' : ''}, ${errors} errors`);

  let convergedMs: number | null = null;
  let convergenceError: string | null = null;
  try {
    const waits = ctx.stack.nodes.map(async node => {
      const value = lastPerNode[node.index];
      const others = holders.probers.filter(p => p.node !== node.index);
      if (!value || others.length === 0) {
        return;
      }
      await waitDelivered(others, { sub: value }, probeSeen.get(value) as Set<number>, convergenceTimeout, 10);
    });
    await Promise.all(waits);
    convergedMs = now() - start;
    ctx.log(`  bulk: converged on every node after ${(convergedMs / 1000).toFixed(2)} s`);
  }
  catch (error) {
    convergenceError = (error as Error).message;
    ctx.log(`  bulk: not converged: ${convergenceError}`);
  }
  const bulkRedis = statsDelta(before, await ctx.redis.read());
  const bulkHealth = await health.stop();
  const counters = counterDelta(countersBefore, await clusterCounters(ctx));
  ctx.log(`  bulk: health not 200 ${JSON.stringify(bulkHealth.notReady)} of ${bulkHealth.polls} polls${bulkHealth.firstReason ? ` (${bulkHealth.firstReason})` : ''}; cluster counters ${JSON.stringify(counters)}`);
  for (const key of Array.from(probeSeen.keys())) {
    if (key.startsWith('bulk-')) {
      probeSeen.delete(key);
    }
  }

  await sleep(1000);
  const after: SingleSubscription[] = [];
  let afterError: string | null = null;
  try {
    for (let i = 0; i < singles; i++) {
      after.push(await subscribeOne(ctx, holders, i % nodes, `after-${i}`, rooms, convergenceTimeout));
      rooms++;
      await sleep(50);
    }
    ctx.log(`  next ${singles} subscriptions (${rooms - singles} rooms before): ack ${after.map(s => s.ackMs.toFixed(2)).join(', ')} ms; converged ${after.map(s => s.convergedMs.toFixed(2)).join(', ')} ms; redis calls ${after.map(s => s.redis.calls).join(', ')}`);
  }
  catch (error) {
    // the bulk's figures stand: what failed after it is reported with them
    afterError = (error as Error).message.split('\n')[0];
    ctx.log(`  subscriptions after the bulk: ${afterError}`);
  }

  return {
    after,
    afterError,
    bulk: {
      ackMs: round(ackMs),
      convergedMs: convergedMs === null ? null : round(convergedMs),
      convergenceError,
      count: acked,
      counters,
      health: bulkHealth,
      errors,
      firstError,
      redis: bulkRedis,
    },
    capMs,
    capped,
    first,
    reached: first.length + acked,
    summary: {
      afterAckMs: median(after.map(s => s.ackMs)),
      afterConvergedMs: median(after.map(s => s.convergedMs)),
      afterRedisCalls: median(after.map(s => s.redis.calls)),
      firstAckMs: median(first.map(s => s.ackMs)),
      firstConvergedMs: median(first.map(s => s.convergedMs)),
      firstRedisCalls: median(first.map(s => s.redis.calls)),
    },
    target,
  };
}

// ---------------------------------------------------------------------------
// 4. join

export interface JoinResult {
  roomsInCluster: number;
  /** spawn -> health 200 */
  healthyMs: number;
  /** after health 200: until a probe published on the new node reaches a subscriber of an existing room */
  firstDeliveryAfterHealthyMs: number | null;
  /** status of the new node right after health 200 (our plugin: rooms it knows) */
  roomsKnown: number | null;
}

export async function join (ctx: Ctx, holders: Holders, roomsInCluster: number, probeRoom: string | null): Promise<JoinResult> {
  const handle = await ctx.stack.addNodeHandle();
  const healthyMs = await ctx.stack.startNode(handle.index, 120000);
  const healthyAt = now();
  let roomsKnown: number | null = null;
  try {
    const status = JSON.parse((await httpGet(handle.port, '/_plugin/cluster/status')).body) as { result?: { cluster?: { rooms?: number } } };
    roomsKnown = status.result?.cluster?.rooms ?? null;
  }
  catch {
    roomsKnown = null;
  }
  let firstDeliveryAfterHealthyMs: number | null = null;
  if (probeRoom) {
    const prober = await connect(handle.index, handle.port);
    holders.probers.push(prober);
    holders.all.push(prober);
    const seen = new Set<number>();
    probeSeen.set(probeRoom, seen);
    try {
      await waitDelivered([prober], { sub: probeRoom }, seen, 30000, 5);
      firstDeliveryAfterHealthyMs = round(now() - healthyAt);
    }
    catch (error) {
      ctx.log(`  join: no delivery through the new node: ${(error as Error).message}`);
    }
    probeSeen.delete(probeRoom);
  }
  ctx.log(`  join: node ${handle.index + 1} healthy ${Math.round(healthyMs)} ms after spawn, ${roomsInCluster} rooms in the cluster; rooms known ${roomsKnown}; first delivery through it ${firstDeliveryAfterHealthyMs} ms after healthy`);
  return { firstDeliveryAfterHealthyMs, healthyMs: Math.round(healthyMs), roomsInCluster, roomsKnown };
}

// ---------------------------------------------------------------------------
// 5. failure detection

export interface FailureResult {
  killedNode: number;
  nodesBefore: number;
  /** per survivor: SIGKILL -> its realtime:count answers the right number */
  perSurvivorMs: Record<string, number | null>;
  /** SIGKILL -> every survivor answers the right number */
  detectedMs: number | null;
  error: string | null;
}

export async function failure (ctx: Ctx, victim: number, timeoutMs: number): Promise<FailureResult> {
  const live = ctx.stack.nodes.filter(n => n.process && n.process.exitCode === null);
  const clients = await Promise.all(live.map(n => connect(n.index, n.port)));
  const run = `fd-${Date.now()}`;
  const result: FailureResult = { detectedMs: null, error: null, killedNode: victim, nodesBefore: live.length, perSurvivorMs: {} };
  try {
    let roomId = '';
    for (const client of clients) {
      roomId = await client.kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { fd: run } }, () => undefined);
    }
    const counts = async (list: Client[]): Promise<number[]> =>
      Promise.all(list.map(c => c.kuzzle.realtime.count(roomId).catch(() => -1)));
    const expectedBefore = clients.length;
    const settleStart = now();
    for (;;) {
      const values = await counts(clients);
      if (values.every(v => v === expectedBefore)) {
        break;
      }
      if (now() - settleStart > 30000) {
        throw new Error(`counts before the kill never reached ${expectedBefore}: ${values.join(', ')}`);
      }
      await sleep(50);
    }
    const survivors = clients.filter(c => c.node !== victim);
    const expected = expectedBefore - 1;
    const start = now();
    ctx.log(`  failure: SIGKILL to node ${victim + 1} at ${Date.now()} (epoch ms)`);
    ctx.stack.killNode(victim);
    const firstRight = new Map<number, number>();
    while (firstRight.size < survivors.length) {
      if (now() - start > timeoutMs) {
        throw new Error(`after ${timeoutMs} ms, ${survivors.length - firstRight.size} survivor(s) still count the dead node`);
      }
      const values = await counts(survivors);
      const at = now() - start;
      survivors.forEach((client, i) => {
        if (values[i] === expected && !firstRight.has(client.node)) {
          firstRight.set(client.node, at);
        }
        else if (values[i] !== expected) {
          firstRight.delete(client.node);
        }
      });
      await sleep(25);
    }
    for (const client of survivors) {
      result.perSurvivorMs[`node ${client.node + 1}`] = Math.round(firstRight.get(client.node) as number);
    }
    result.detectedMs = Math.round(Math.max(...Array.from(firstRight.values())));
    ctx.log(`  failure: node ${victim + 1} SIGKILLed, counts right on every survivor after ${result.detectedMs} ms (${JSON.stringify(result.perSurvivorMs)})`);
  }
  catch (error) {
    result.error = (error as Error).message;
    ctx.log(`  failure: ${result.error}`);
  }
  finally {
    disconnectAll(clients);
  }
  return result;
}
