import { spawn, spawnSync, ChildProcess } from 'child_process';
import { createConnection } from 'net';

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

  /** `extraArgs`: more redis-server options, e.g. to enable cluster mode */
  private constructor (readonly port: number, private readonly extraArgs: string[] = []) {}

  static async start (port?: number, extraArgs: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(port || await freePort(), extraArgs);
    await server.restart();
    return server;
  }

  /** not started yet (restart() starts it): its process is reachable even when starting fails */
  static create (port: number): RedisServer {
    return new RedisServer(port);
  }

  async restart (): Promise<void> {
    this.process = track(spawn(redisServerBinary(), [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'yes', ...this.extraArgs,
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
    servers.push(await RedisServer.start(ports[2 * i], [
      '--cluster-enabled', 'yes', '--cluster-port', String(ports[2 * i + 1]),
      '--cluster-config-file', `${dir}/nodes-${ports[2 * i]}.conf`, '--dir', dir,
    ]));
  }
  const created = spawnSync('redis-cli', [
    '--cluster', 'create', ...servers.map(s => `127.0.0.1:${s.port}`), '--cluster-yes',
  ], { encoding: 'utf8', timeout: 30000 });
  if (created.status !== 0) {
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  }
  return servers;
}
