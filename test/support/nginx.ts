import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createConnection } from 'net';

import { track } from './processes';

const TEMPLATE = path.resolve(__dirname, '..', '..', 'nginx', 'kuzzle-cluster.conf.template');

export function nginxBinary (): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (fs.existsSync(candidate)) {
      return candidate;
    }
  }
  const found = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    throw new Error('nginx not found: install it (Debian: apt-get install nginx) or run ./dev-npm-install.sh as root');
  }
  return found;
}

/** Writes an nginx configuration balancing 127.0.0.1:<listen> over the Kuzzle ports */
export function renderNginxConfig (dir: string, listen: number, upstreamPorts: number[]): string {
  const servers = upstreamPorts
    .map(port => `    server 127.0.0.1:${port} max_fails=1 fail_timeout=2s;`)
    .join('\n');
  const conf = fs.readFileSync(TEMPLATE, 'utf8')
    .replace(/@@LISTEN@@/g, `127.0.0.1:${listen}`)
    .replace(/@@UPSTREAM_SERVERS@@/g, servers)
    .replace(/@@PREFIX@@/g, dir);
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  return file;
}

export function checkNginxConfig (confFile: string): { ok: boolean; output: string } {
  const result = spawnSync(nginxBinary(), ['-t', '-c', confFile, '-p', path.dirname(confFile)], { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

export async function startNginx (dir: string, confFile: string, port: number): Promise<ChildProcess> {
  const checked = checkNginxConfig(confFile);
  if (!checked.ok) {
    throw new Error(`nginx rejects ${confFile}:\n${checked.output}`);
  }
  const child = track(spawn(nginxBinary(), ['-c', confFile, '-p', dir], { stdio: 'ignore' }));
  const deadline = Date.now() + 10000;
  for (;;) {
    const open = await new Promise<boolean>(resolve => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) {
      return child;
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`nginx did not start on port ${port} (see ${dir}/nginx-error.log)`);
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}
