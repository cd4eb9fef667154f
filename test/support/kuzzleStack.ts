/**
 * A local cluster of real Kuzzle 2.10.4 nodes loading this plugin the way
 * users install it (symlink in Kuzzle's plugins/enabled/), with a Redis, an
 * Elasticsearch (the in-memory stand-in unless a URL is given) and
 * optionally nginx in front. Used by ./dev.sh and the end-to-end tests.
 */
import { spawn, ChildProcess } from 'child_process';
import { Kuzzle, WebSocket } from 'kuzzle-sdk';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

import { freePorts } from './ports';
import { kill, killAll, track, waitExit } from './processes';
import { RedisServer } from './redisServer';
import { renderNginxConfig, startNginx } from './nginx';
import { waitFor } from './wait';

export const ROOT = path.resolve(__dirname, '..', '..');
const KUZZLE_DIR = path.join(ROOT, 'node_modules', 'kuzzle');

export interface StackOptions {
  nodes: number;
  /** Kuzzle HTTP/WebSocket ports; free ports when absent */
  kuzzlePorts?: number[];
  /** nginx port (none when absent) */
  nginxPort?: number;
  redisPort?: number;
  /** a real Elasticsearch instead of the in-memory stand-in */
  esUrl?: string;
  esPort?: number;
  /** extra plugins.cluster configuration */
  cluster?: Record<string, unknown>;
  /** directory for logs and generated configuration */
  workDir?: string;
  /** print node output on the console */
  verbose?: boolean;
  /** other plugin directories to enable for the stack's lifetime (test plugins) */
  plugins?: string[];
  /** the Kuzzle installation to run (node_modules/kuzzle when absent) */
  kuzzleDir?: string;
  /** the node binary that runs Kuzzle (this process's when absent) */
  nodeBinary?: string;
  /** the plugin directory enabled as `cluster` (this repository, built, when absent) */
  pluginDir?: string;
  /** node.js options for the Kuzzle nodes, before Kuzzle's script (e.g. a preload: ['-r', file]) */
  nodeArgs?: string[];
  /** extra environment of the Kuzzle nodes */
  env?: Record<string, string>;
}

export interface KuzzleNodeHandle {
  index: number;
  port: number;
  pubPort: number;
  routerPort: number;
  process: ChildProcess | null;
  logFile: string;
  output: string[];
}

/** Makes the plugin loadable by Kuzzle: built, and symlinked into plugins/enabled as `cluster` */
export function installPlugin (kuzzleDir = KUZZLE_DIR, pluginDir = ROOT): void {
  if (!fs.existsSync(path.join(pluginDir, 'dist', 'index.js'))) {
    throw new Error(`the plugin in ${pluginDir} is not built: run "npm run build" first`);
  }
  const link = path.join(kuzzleDir, 'plugins', 'enabled', 'cluster');
  let current: string | null = null;
  try {
    current = fs.readlinkSync(link);
  }
  catch {
    current = null;
  }
  if (current !== pluginDir) {
    fs.rmSync(link, { force: true, recursive: true });
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(pluginDir, link, 'dir');
  }
}

export function httpGet (port: number, urlPath: string, method = 'GET', body?: unknown): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = payload === undefined
    ? {}
    : { 'content-length': Buffer.byteLength(payload), 'content-type': 'application/json' };
  return new Promise((resolve, reject) => {
    const req = http.request({ headers, host: '127.0.0.1', method, path: urlPath, port, timeout: 5000 }, res => {
      const chunks: Buffer[] = [];
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => resolve({ body: Buffer.concat(chunks).toString(), status: res.statusCode || 0 }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(payload);
  });
}

/** Kuzzle's generic HTTP entry point: any controller and action, routed or not */
export function httpQuery (port: number, request: { controller: string; action: string }): Promise<{ status: number; body: string }> {
  return httpGet(port, '/_query', 'POST', request);
}

/** an SDK client over WebSocket to one node, without resubscription on reconnect */
export async function connectSdk (port: number): Promise<Kuzzle> {
  const kuzzle = new Kuzzle(new WebSocket('127.0.0.1', { port }), { autoResubscribe: false });
  kuzzle.on('networkError', () => undefined);
  await kuzzle.connect();
  return kuzzle;
}

/** after a suite: its SDK clients disconnected, its stack stopped, every other tracked process killed */
export async function tearDown (stack: KuzzleStack | null | undefined, clients: Kuzzle[]): Promise<void> {
  for (const client of clients) {
    client.disconnect();
  }
  if (stack) {
    await stack.stop();
  }
  await killAll();
}

export class KuzzleStack {
  redis!: RedisServer;
  esUrl = '';
  private es: ChildProcess | null = null;
  private nginx: ChildProcess | null = null;
  readonly nodes: KuzzleNodeHandle[] = [];
  readonly workDir: string;
  private readonly kuzzleDir: string;

  private constructor (readonly options: StackOptions) {
    this.kuzzleDir = options.kuzzleDir || KUZZLE_DIR;
    this.workDir = options.workDir || fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-'));
    fs.mkdirSync(this.workDir, { recursive: true });
  }

  static async start (options: StackOptions): Promise<KuzzleStack> {
    const stack = new KuzzleStack(options);
    try {
      await stack.boot();
    }
    catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  private async boot (): Promise<void> {
    installPlugin(this.kuzzleDir, this.options.pluginDir);
    for (const dir of this.options.plugins || []) {
      const link = path.join(this.kuzzleDir, 'plugins', 'enabled', path.basename(dir));
      fs.rmSync(link, { force: true, recursive: true });
      fs.symlinkSync(dir, link, 'dir');
    }
    this.redis = await RedisServer.start(this.options.redisPort);
    this.esUrl = this.options.esUrl || await this.startEs();

    const kuzzlePorts = this.options.kuzzlePorts || await freePorts(this.options.nodes);
    for (let i = 0; i < this.options.nodes; i++) {
      const [pubPort, routerPort] = await freePorts(2);
      this.nodes.push({
        index: i,
        logFile: path.join(this.workDir, `kuzzle-${i + 1}.log`),
        output: [],
        port: kuzzlePorts[i],
        process: null,
        pubPort,
        routerPort,
      });
    }

    // the first node creates Kuzzle's internal index; the others then boot together
    await this.startNode(0);
    await Promise.all(this.nodes.slice(1).map(node => this.startNode(node.index)));

    if (this.options.nginxPort) {
      const confFile = renderNginxConfig(this.workDir, this.options.nginxPort, this.nodes.map(n => n.port));
      this.nginx = await startNginx(this.workDir, confFile, this.options.nginxPort);
    }
  }

  private async startEs (): Promise<string> {
    const [port] = this.options.esPort ? [this.options.esPort] : await freePorts(1);
    const es = track(spawn(process.execPath, [
      '-r', 'ts-node/register/transpile-only', path.join(ROOT, 'test', 'support', 'es-standin', 'cli.ts'),
      '--port', String(port), '--host', '127.0.0.1',
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    this.es = es;
    const log = fs.createWriteStream(path.join(this.workDir, 'es-standin.log'));
    es.stdout?.pipe(log);
    es.stderr?.pipe(log);
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the Elasticsearch stand-in', async () => (await httpGet(port, '/')).status === 200, 30000,
      () => (es.exitCode !== null ? `exited with code ${es.exitCode}` : null));
    return url;
  }

  nodeEnv (node: KuzzleNodeHandle): NodeJS.ProcessEnv {
    const redisPort = String(this.redis.port);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      kuzzle_plugins__cluster__bindings__pub: `tcp://[127.0.0.1:ipv4]:${node.pubPort}`,
      kuzzle_plugins__cluster__bindings__router: `tcp://[127.0.0.1:ipv4]:${node.routerPort}`,
      kuzzle_plugins__cluster__privileged: 'true',
      kuzzle_plugins__common__pipeWarnTime: '2000',
      // Kuzzle listens on every interface unless told otherwise
      kuzzle_server__host: '127.0.0.1',
      kuzzle_server__port: String(node.port),
      kuzzle_limits__loginsPerSecond: '1000',
      kuzzle_services__internalCache__node__host: '127.0.0.1',
      kuzzle_services__internalCache__node__port: redisPort,
      kuzzle_services__memoryStorage__node__host: '127.0.0.1',
      kuzzle_services__memoryStorage__node__port: redisPort,
      kuzzle_services__storageEngine__client__node: this.esUrl,
      NODE_ENV: 'production',
    };
    for (const [key, value] of Object.entries(flatten(this.options.cluster || {}))) {
      env[`kuzzle_plugins__cluster__${key}`] = value;
    }
    return { ...env, ...this.options.env };
  }

  async startNode (index: number): Promise<void> {
    const node = this.nodes[index];
    const log = fs.createWriteStream(node.logFile, { flags: 'a' });
    const nodeBinary = this.options.nodeBinary || process.execPath;
    const args = [...(this.options.nodeArgs || []), path.join(this.kuzzleDir, 'bin', 'start-kuzzle-server')];
    const child = track(spawn(nodeBinary, args, {
      cwd: this.workDir,
      env: this.nodeEnv(node),
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    node.process = child;
    node.output.length = 0;
    const onData = (data: Buffer): void => {
      log.write(data);
      node.output.push(...data.toString().split('\n').filter(Boolean));
      if (node.output.length > 500) {
        node.output.splice(0, node.output.length - 500);
      }
      if (this.options.verbose) {
        process.stdout.write(data.toString().split('\n').filter(Boolean).map(l => `[kuzzle-${index + 1}] ${l}\n`).join(''));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);

    await waitFor(`Kuzzle node ${index + 1} (port ${node.port}) to be healthy`,
      async () => { const r = await httpGet(node.port, '/_plugin/cluster/health'); if (process.env.DEBUG_STACK) console.log(r.status, r.body.slice(0, 300)); return r.status === 200; },
      90000,
      () => (child.exitCode !== null ? `exited with code ${child.exitCode}; last output:\n${node.output.slice(-20).join('\n')}` : null));
  }

  /** for a failed test: the last lines each node printed */
  printLastOutput (lines = 25): void {
    for (const node of this.nodes) {
      console.log(`--- last output of kuzzle-${node.index + 1} (${node.logFile})\n${node.output.slice(-lines).map(l => l.slice(0, 400)).join('\n')}`);
    }
  }

  /** SIGKILL (or another signal) */
  killNode (index: number, signal: NodeJS.Signals = 'SIGKILL'): void {
    const child = this.nodes[index].process;
    if (child) {
      kill(child, signal);
    }
  }

  async stopNode (index: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.nodes[index].process;
    if (child) {
      kill(child, signal);
      await waitExit(child, 15000).catch(() => {
        kill(child);
        return waitExit(child);
      });
      this.nodes[index].process = null;
    }
  }

  async stop (): Promise<void> {
    if (this.nginx) {
      // SIGKILL would orphan nginx's workers
      kill(this.nginx, 'SIGTERM');
      await waitExit(this.nginx, 5000).catch(() => undefined);
    }
    const children = [...this.nodes.map(n => n.process), this.nginx, this.es];
    for (const child of children) {
      if (child) {
        kill(child, 'SIGCONT');
        kill(child);
      }
    }
    await Promise.all(children.map(child => (child ? waitExit(child).catch(() => undefined) : undefined)));
    if (this.redis) {
      await this.redis.stop();
    }
    for (const dir of this.options.plugins || []) {
      fs.rmSync(path.join(this.kuzzleDir, 'plugins', 'enabled', path.basename(dir)), { force: true, recursive: true });
    }
  }
}

function flatten (obj: Record<string, unknown>, prefix = ''): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      Object.assign(result, flatten(value as Record<string, unknown>, `${prefix}${key}__`));
    }
    else {
      result[`${prefix}${key}`] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  return result;
}
