/**
 * The processes of one benchmarked variant: a throw-away redis-server, the
 * in-memory Elasticsearch stand-in (in this process) and N real Kuzzle 2.10.4
 * nodes, each loading either this repository's plugin, the cluster plugin
 * bundled with Kuzzle, or no cluster plugin at all; or N Kuzzle 2.33.1 nodes
 * (bench/native.ts) and their native cluster (of one node for the single
 * 2.33.1 column), each started through bench/native-preload.ts. Everything binds 127.0.0.1 (the
 * native cluster's 0mq sockets: each node's own 127.0.0.x); every process is
 * killed by pid when the variant ends, and when the bench exits, whatever the
 * reason.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';

import * as ts from 'typescript';

import { EsStandin, startEsStandin } from '../test/support/es-standin/http';
import { nativeClusterIp, nativeKuzzle, portsFreeOn } from './native';
import type { KuzzleNodeHandle } from '../test/support/kuzzleStack';
import { freePort } from '../test/support/ports';
import { kill, killAllSync, track, waitExit } from '../test/support/processes';
import { RedisServer } from '../test/support/redisServer';
import { waitFor } from '../test/support/wait';

export const ROOT = path.resolve(__dirname, '..');
export const KUZZLE_DIR = path.join(ROOT, 'node_modules', 'kuzzle');
export const BUNDLED_PLUGIN = 'kuzzle-plugin-cluster';
export const BUNDLED_PLUGIN_DIR = path.join(KUZZLE_DIR, 'plugins', 'available', BUNDLED_PLUGIN);

export type Variant = 'ours' | 'bundled' | 'single' | 'native' | 'native-single';

/** every variant, in the order they start (the ceilings first) */
export const VARIANTS: Variant[] = ['single', 'native-single', 'ours', 'native', 'bundled'];

export const VARIANT_LABEL: Record<Variant, string> = {
  bundled: 'bundled plugin (Kuzzle 2.10.4)',
  native: 'native cluster (Kuzzle 2.33.1)',
  'native-single': 'single node, Kuzzle 2.33.1 (native cluster of one)',
  ours: 'this plugin',
  single: 'single node, no cluster',
};

/** Kuzzle 2.33.1 (bench/native.ts) rather than the repository's Kuzzle 2.10.4 */
/** the variants of an `--only=a,b` option, in VARIANTS order (the ceilings first); throws on an unknown one */
export function variantList (value: string): Variant[] {
  const list = value.split(',').map(v => v.trim());
  const variants = VARIANTS.filter(v => list.includes(v));
  if (variants.length !== list.length) {
    throw new Error(`unknown variant in ${value} (${VARIANTS.join(', ')})`);
  }
  return variants;
}

export const isNative = (variant: Variant): boolean => variant === 'native' || variant === 'native-single';

/** 3 nodes (and the join and failure measurements) */
export const isCluster = (variant: Variant): boolean => variant !== 'single' && variant !== 'native-single';

// ---------------------------------------------------------------------------
// helpers

/**
 * Runs a bench entry point: every process it started is killed by pid when
 * it ends, fails, or is interrupted (SIGINT, SIGTERM).
 */
export function runMain (main: () => Promise<void>): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`${signal}: killing every process the bench started`);
    killAllSync();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  main().then(() => {
    killAllSync();
    process.exit(0);
  }, (error: unknown) => {
    console.error(error);
    killAllSync();
    process.exit(1);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

/** pids of a process's children, [] when unknown (Kuzzle 2.33 forks a worker per node: lib/cluster/workers) */
function childPids (pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  }
  catch {
    return [];
  }
}

/** a SIGKILL takes the process's children along (a 2.33 worker would otherwise outlive its node for a few seconds) */
function killChild (child: ChildProcess | null, signal: NodeJS.Signals): void {
  if (child) {
    const children = signal === 'SIGKILL' && child.pid !== undefined && child.exitCode === null ? childPids(child.pid) : [];
    kill(child, signal);
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      }
      catch {
        // already gone
      }
    }
  }
}

const RESERVED_PORTS = new Set([6379, 7510, 7511, 7512, 9200]);

const handedOut = new Set<number>();

/** ports free on 127.0.0.1 now, never 6379 nor Kuzzle's defaults, never handed out twice in a run */
export async function freePorts (count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempts = 0; ports.length < count; attempts++) {
    if (attempts > 1000) {
      throw new Error('cannot find free ports');
    }
    const port = await freePort();
    if (!RESERVED_PORTS.has(port) && !handedOut.has(port)) {
      handedOut.add(port);
      ports.push(port);
    }
  }
  return ports;
}

export function httpGet (port: number, urlPath: string, timeout = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', method: 'GET', path: urlPath, port, timeout }, res => {
      const chunks: Buffer[] = [];
      res.on('data', chunk => chunks.push(chunk as Buffer));
      res.on('end', () => resolve({ body: Buffer.concat(chunks).toString(), status: res.statusCode || 0 }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** the preload, transpiled to plain JavaScript so that the Kuzzle nodes do not load ts-node */
function writePreload (workDir: string, name = 'preload'): string {
  const source = fs.readFileSync(path.join(__dirname, `${name}.ts`), 'utf8');
  const output = ts.transpileModule(source, {
    compilerOptions: { esModuleInterop: true, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2019 },
  });
  const file = path.join(workDir, `${name}.js`);
  fs.writeFileSync(file, output.outputText);
  return file;
}

/** ports free on every one of `hosts` now, never handed out twice in a run */
async function freePortsOn (hosts: string[]): Promise<[number, number]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ports = await freePorts(2);
    if (await portsFreeOn(hosts, ports)) {
      return [ports[0], ports[1]];
    }
  }
  throw new Error(`cannot find 2 ports free on ${hosts.join(', ')}`);
}

// ---------------------------------------------------------------------------

export interface NodeHandle extends Omit<KuzzleNodeHandle, 'output'> {
  tail: string[];
  /** ms from spawn to the first 200 of the health route */
  bootMs: number;
}

/** process.memoryUsage() of a node right after two full garbage collections, bytes */
export interface CollectedMemory {
  heapUsed: number;
  /** C++ objects bound to JavaScript ones (Buffers included) */
  external: number;
}

export interface StackOptions {
  variant: Variant;
  nodes: number;
  workDir: string;
  log: (line: string) => void;
  /** extra node.js options for the Kuzzle nodes (e.g. --cpu-prof) */
  nodeArgs?: string[];
}

export class BenchStack {
  readonly nodes: NodeHandle[] = [];
  redisPort = 0;
  private redis: RedisServer | null = null;
  private es: EsStandin | null = null;
  private preload = '';
  private heapProbe = '';
  private enabledDir = '';
  private kuzzleDir = KUZZLE_DIR;
  /** native cluster: the 0mq ports every node uses (on its own 127.0.0.x), sync then command */
  private nativePorts: [number, number] = [0, 0];

  constructor (readonly options: StackOptions) {}

  get variant (): Variant {
    return this.options.variant;
  }

  /** the route that says a node can serve: the plugin's health, or Kuzzle's own for the no-cluster node */
  get healthPath (): string {
    // Kuzzle 2.33 opens its HTTP port once its cluster node has joined
    return this.variant === 'ours' || this.variant === 'bundled' ? '/_plugin/cluster/health' : '/_healthCheck';
  }

  async start (): Promise<void> {
    fs.mkdirSync(this.options.workDir, { recursive: true });
    if (isNative(this.variant)) {
      this.kuzzleDir = await nativeKuzzle(this.options.log);
      this.preload = writePreload(this.options.workDir, 'native-preload');
      // the same two ports on every node's address (a node reaches the others with its own port numbers);
      // one more address for the node the join measurement adds
      this.nativePorts = await freePortsOn(Array.from({ length: this.options.nodes + 1 }, (_, i) => nativeClusterIp(i)));
    }
    else {
      this.preload = writePreload(this.options.workDir);
    }
    this.heapProbe = writePreload(this.options.workDir, 'heap-probe');
    this.enabledDir = path.join(this.options.workDir, 'plugins-enabled');
    fs.mkdirSync(this.enabledDir, { recursive: true });
    if (this.variant === 'ours') {
      if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
        throw new Error('the plugin is not built: run "npm run build" first');
      }
      // the way users install it: a `cluster` symlink in Kuzzle's enabled plugins
      fs.symlinkSync(ROOT, path.join(this.enabledDir, 'cluster'), 'dir');
    }

    await this.startRedis();
    this.es = await startEsStandin({ host: '127.0.0.1', port: 0 });
    this.options.log(`redis on ${this.redisPort}, Elasticsearch stand-in on ${this.es.port}`);

    for (let i = 0; i < this.options.nodes; i++) {
      await this.addNodeHandle();
    }
    // the first node creates Kuzzle's internal index; the others then boot together
    await this.startNode(0);
    await Promise.all(this.nodes.slice(1).map(node => this.startNode(node.index)));
  }

  private async startRedis (): Promise<void> {
    [this.redisPort] = await freePorts(1);
    // kept before it is started, so that stop() kills it even when it does not answer
    this.redis = RedisServer.create(this.redisPort);
    await this.redis.restart();
  }

  async addNodeHandle (): Promise<NodeHandle> {
    const [port, pubPort, routerPort] = isNative(this.variant) ? [...await freePorts(1), ...this.nativePorts] : await freePorts(3);
    const index = this.nodes.length;
    const node: NodeHandle = {
      bootMs: 0,
      index,
      logFile: path.join(this.options.workDir, `kuzzle-${index + 1}.log`),
      port,
      process: null,
      pubPort,
      routerPort,
      tail: [],
    };
    this.nodes.push(node);
    return node;
  }

  private nodeEnv (node: NodeHandle): NodeJS.ProcessEnv {
    const redisPort = String(this.redisPort);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BENCH_KUZZLE_DIR: KUZZLE_DIR,
      BENCH_PLUGINS_ENABLED_DIR: this.enabledDir,
      NODE_ENV: 'production',
      kuzzle_limits__loginsPerSecond: '1000',
      kuzzle_plugins__common__pipeWarnTime: '2000',
      // Kuzzle listens on every interface unless told otherwise
      kuzzle_server__host: '127.0.0.1',
      kuzzle_server__port: String(node.port),
      kuzzle_services__internalCache__node__host: '127.0.0.1',
      kuzzle_services__internalCache__node__port: redisPort,
      kuzzle_services__memoryStorage__node__host: '127.0.0.1',
      kuzzle_services__memoryStorage__node__port: redisPort,
      kuzzle_services__storageEngine__client__node: (this.es as EsStandin).url,
    };
    delete env.DEBUG;
    env.BENCH_HEAP_DIR = this.options.workDir;
    if (isNative(this.variant)) {
      Object.assign(env, {
        BENCH_NATIVE_CLUSTER_IP: nativeClusterIp(node.index),
        BENCH_NATIVE_HTTP_HOST: '127.0.0.1',
        BENCH_NATIVE_KUZZLE_DIR: this.kuzzleDir,
        // the single 2.33.1 node keeps its cluster on, alone: with `cluster.enabled: false`, Kuzzle 2.33.1
        // refuses every subscription (only the cluster answers 'core:realtime:room:create:after')
        kuzzle_cluster__enabled: 'true',
        kuzzle_cluster__ports__command: String(node.routerPort),
        kuzzle_cluster__ports__sync: String(node.pubPort),
      });
    }
    else if (this.variant === 'ours') {
      Object.assign(env, {
        kuzzle_plugins__cluster__bindings__pub: `tcp://[127.0.0.1:ipv4]:${node.pubPort}`,
        kuzzle_plugins__cluster__bindings__router: `tcp://[127.0.0.1:ipv4]:${node.routerPort}`,
        kuzzle_plugins__cluster__privileged: 'true',
      });
    }
    else if (this.variant === 'bundled') {
      // its config is merged shallowly: both bindings are given, timers keep their defaults (heartbeat 5000)
      Object.assign(env, {
        BENCH_ZEROMQ_COMPAT_FROM: BUNDLED_PLUGIN_DIR,
        BENCH_ZEROMQ_COMPAT_TO: require.resolve('zeromq/v5-compat'),
        kuzzle_plugins__cluster__bindings__pub: `tcp://127.0.0.1:${node.pubPort}`,
        kuzzle_plugins__cluster__bindings__router: `tcp://127.0.0.1:${node.routerPort}`,
        kuzzle_plugins__cluster__privileged: 'true',
        kuzzle_plugins__cluster__redis__host: '127.0.0.1',
        kuzzle_plugins__cluster__redis__port: redisPort,
      });
    }
    return env;
  }

  /** spawns node `index` and waits for its health route to answer 200 (bounded) */
  async startNode (index: number, timeout = 120000): Promise<number> {
    const node = this.nodes[index];
    const args = [...(this.options.nodeArgs || []), '-r', this.preload, '-r', this.heapProbe, path.join(this.kuzzleDir, 'bin', 'start-kuzzle-server')];
    if (this.variant === 'bundled') {
      args.push('--enable-plugins', BUNDLED_PLUGIN);
    }
    const log = fs.createWriteStream(node.logFile, { flags: 'a' });
    const started = performance.now();
    const child = track(spawn(process.execPath, args, {
      cwd: this.options.workDir,
      env: this.nodeEnv(node),
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    node.process = child;
    node.tail = [];
    const onData = (data: Buffer): void => {
      log.write(data);
      node.tail.push(...data.toString().split('\n').filter(Boolean));
      if (node.tail.length > 200) {
        node.tail.splice(0, node.tail.length - 200);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => log.end());

    await waitFor(`Kuzzle node ${index + 1} (${this.variant}, port ${node.port}) to be healthy`,
      async () => (await httpGet(node.port, this.healthPath, 1000)).status === 200,
      timeout,
      () => (child.exitCode !== null ? `exited with code ${child.exitCode}; last output:\n${node.tail.slice(-20).join('\n')}` : null),
      20);
    node.bootMs = performance.now() - started;
    return node.bootMs;
  }

  /** `host:port` of a node's PUB socket (the native nodes: their own 127.0.0.x, one port number for all) */
  pubAddress (node: NodeHandle): string {
    return `${isNative(this.variant) ? nativeClusterIp(node.index) : '127.0.0.1'}:${node.pubPort}`;
  }

  killNode (index: number): void {
    killChild(this.nodes[index].process, 'SIGKILL');
  }

  /** every live process of this stack (nodes and redis), pid -> label */
  allPids (): Map<number, string> {
    const result = new Map<number, string>();
    for (const node of this.nodes) {
      if (node.process && node.process.pid !== undefined && node.process.exitCode === null) {
        result.set(node.process.pid, `kuzzle ${node.index + 1}`);
      }
    }
    const redis = this.redis ? this.redis.process : null;
    if (redis && redis.pid !== undefined && redis.exitCode === null) {
      result.set(redis.pid, 'redis');
    }
    return result;
  }

  /**
   * A node's memory after two full garbage collections (bench/heap-probe.ts);
   * null if it did not write it within `timeout` ms.
   */
  async collectedMemory (pid: number, timeout = 30000): Promise<CollectedMemory | null> {
    const file = path.join(this.options.workDir, `heap-${pid}.json`);
    fs.rmSync(file, { force: true });
    process.kill(pid, 'SIGUSR2');
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      await sleep(100);
      if (fs.existsSync(file)) {
        return JSON.parse(fs.readFileSync(file, 'utf8')) as CollectedMemory;
      }
    }
    return null;
  }

  pids (): Map<number, number> {
    const result = new Map<number, number>();
    for (const node of this.nodes) {
      if (node.process && node.process.pid !== undefined && node.process.exitCode === null) {
        result.set(node.process.pid, node.index);
      }
    }
    return result;
  }

  /** kills every process by pid; `graceful`: SIGTERM the nodes first (a --cpu-prof profile is written on exit) */
  async stop (graceful = false): Promise<void> {
    if (graceful) {
      const nodes = this.nodes.map(n => n.process).filter((c): c is ChildProcess => c !== null);
      for (const child of nodes) {
        killChild(child, 'SIGTERM');
      }
      await Promise.all(nodes.map(child => waitExit(child, 20000).catch(() => undefined)));
    }
    const children = [...this.nodes.map(n => n.process), this.redis ? this.redis.process : null];
    for (const child of children) {
      killChild(child, 'SIGCONT');
      killChild(child, 'SIGKILL');
    }
    await Promise.all(children.map(child => (child ? waitExit(child, 10000).catch(() => undefined) : undefined)));
    if (this.es) {
      await this.es.close();
      this.es = null;
    }
  }
}
