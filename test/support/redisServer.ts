import { spawn, spawnSync, ChildProcess } from 'child_process';
import { writeFileSync } from 'fs';
import { createConnection } from 'net';
import * as os from 'os';

import { freePort, freePorts } from './ports';
import { kill, track, waitExit } from './processes';

export function redisServerBinary (): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (!path) {
    throw new Error('redis-server not found: install it (Debian: apt-get install redis-server) or run ./dev-npm-install.sh as root');
  }
  return path;
}

function ping (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setTimeout(500);
    socket.on('data', data => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A throw-away redis-server on 127.0.0.1, no persistence */
export class RedisServer {
  process: ChildProcess | null = null;

  /**
   * `args`: more redis-server options (cluster mode, replicaof...);
   * `configFile`: a configuration file to start from (a sentinel needs one it can rewrite)
   */
  private constructor (readonly port: number, private readonly more: { args?: string[]; configFile?: string } = {}) {}

  static async start (port?: number, more: { args?: string[]; configFile?: string } = {}): Promise<RedisServer> {
    const server = new RedisServer(port || await freePort(), more);
    await server.restart();
    return server;
  }

  /** not started yet (restart() starts it): its process is reachable even when starting fails */
  static create (port: number): RedisServer {
    return new RedisServer(port);
  }

  async restart (): Promise<void> {
    this.process = track(spawn(redisServerBinary(), [
      ...(this.more.configFile ? [this.more.configFile] : []),
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      // an RDB is still written for a replica's full sync: not into the working directory
      '--dir', os.tmpdir(),
      '--protected-mode', 'yes', ...(this.more.args || []),
    ], { stdio: 'ignore' }));
    const deadline = Date.now() + 10000;
    while (!await ping(this.port)) {
      if (Date.now() > deadline || this.process.exitCode !== null) {
        throw new Error(`redis-server did not start on port ${this.port}`);
      }
      await new Promise(resolve => setTimeout(resolve, 50));
    }
  }

  async stop (): Promise<void> {
    if (this.process) {
      kill(this.process);
      await waitExit(this.process);
      this.process = null;
    }
  }
}

/**
 * A throw-away Redis Cluster of `masters` redis-servers on 127.0.0.1 (cluster
 * bus on free ports too), slots spread by `redis-cli --cluster create`.
 */
export async function startRedisCluster (masters: number, dir: string): Promise<RedisServer[]> {
  const ports = await freePorts(masters * 2);
  const servers: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    servers.push(await RedisServer.start(ports[2 * i], { args: [
      '--cluster-enabled', 'yes', '--cluster-port', String(ports[2 * i + 1]),
      '--cluster-config-file', `${dir}/nodes-${ports[2 * i]}.conf`, '--dir', dir,
    ] }));
  }
  const created = spawnSync('redis-cli', [
    '--cluster', 'create', ...servers.map(s => `127.0.0.1:${s.port}`), '--cluster-yes',
  ], { encoding: 'utf8', timeout: 30000 });
  if (created.error) {
    throw new Error(`cannot run redis-cli (Debian: apt-get install redis-tools, a dependency of redis-server): ${created.error.message}`);
  }
  if (created.status !== 0) {
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  }
  return servers;
}

/**
 * A master, one replica and one sentinel watching them as `name` (quorum 1,
 * down after 1 s), all throw-away, on 127.0.0.1.
 */
export async function startRedisWithSentinel (name: string, dir: string): Promise<{ master: RedisServer; replica: RedisServer; sentinel: RedisServer }> {
  const master = await RedisServer.start();
  const replica = await RedisServer.start(undefined, { args: ['--replicaof', '127.0.0.1', String(master.port)] });
  const configFile = `${dir}/sentinel.conf`;
  writeFileSync(configFile, [
    `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 5000`,
    '',
  ].join('\n'));
  const sentinel = await RedisServer.start(undefined, { args: ['--sentinel'], configFile });
  return { master, replica, sentinel };
}
