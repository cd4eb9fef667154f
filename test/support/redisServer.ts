import { spawn, spawnSync, ChildProcess } from 'child_process';
import { createConnection } from 'net';

import { freePort } from './ports';
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

  private constructor (readonly port: number) {}

  static async start (port?: number): Promise<RedisServer> {
    const server = new RedisServer(port || await freePort());
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
      '--protected-mode', 'yes',
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
