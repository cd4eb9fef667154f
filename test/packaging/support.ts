import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

import { track } from '../support/processes';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion (killed after `timeout` ms), tracked so that
 * killAll() stops it if the test gives up first. Never rejects: check `code`.
 */
export function run (
  command: string, args: string[], options: { cwd?: string; timeout: number; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise(resolve => {
    const child = execFile(command, args, {
      cwd: options.cwd ?? ROOT,
      encoding: 'utf8',
      env: options.env ?? process.env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeout,
    }, (error, stdout, stderr) => {
      let code = 0;
      if (error) {
        const status = (error as { code?: unknown }).code;
        code = typeof status === 'number' ? status : -1;
        if (error.killed) {
          stderr += `\n[killed after ${options.timeout} ms]`;
        }
      }
      resolve({ code, stderr, stdout });
    });
    track(child);
  });
}

export function describeRun (what: string, result: RunResult): string {
  return `${what} exited with ${result.code}\n--- stdout ---\n${result.stdout.slice(-4000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`;
}

/** Absolute path of an executable found in PATH (or the usual sbin dirs), or null */
export function which (name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    if (!dir) {
      continue;
    }
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) {
        return candidate;
      }
    }
    catch {
      // not there
    }
  }
  return null;
}

export function hasDockerComposeV2 (): boolean {
  if (!which('docker')) {
    return false;
  }
  return spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 10000 }).status === 0;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpRequest (
  port: number, urlPath: string, { method = 'GET', body, token }: { method?: string; body?: unknown; token?: string } = {},
): Promise<HttpAnswer> {
  const headers: http.OutgoingHttpHeaders = {};
  const payload = body === undefined ? null : JSON.stringify(body);
  if (payload !== null) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: false, headers, host: '127.0.0.1', method, path: urlPath, port, timeout: 5000 }, res => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ body: Buffer.concat(chunks).toString(), status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} on port ${port}: timeout`)));
    req.end(payload ?? undefined);
  });
}

export { waitFor } from '../support/wait';

export interface FakeBackend {
  port: number;
  /** headers of every request received, upgrades included */
  requests: http.IncomingHttpHeaders[];
  close: () => Promise<void>;
}

/**
 * A stand-in Kuzzle node for load-balancer tests: answers every request
 * with `status`, and accepts WebSocket upgrades by echoing raw bytes.
 */
export function startFakeBackend (status: number): Promise<FakeBackend> {
  const requests: http.IncomingHttpHeaders[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    requests.push(req.headers);
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'not ready');
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    requests.push(req.headers);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (data: Buffer) => socket.write(data));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        close: () => new Promise<void>(done => {
          for (const socket of sockets) {
            socket.destroy();
          }
          server.close(() => done());
        }),
        port: address.port,
        requests,
      });
    });
  });
}

/**
 * Opens a WebSocket-style upgrade through `port`, then sends `payload`:
 * resolves with the status line and what came back after the 101.
 */
export function upgradeAndEcho (port: number, payload: string): Promise<{ statusLine: string; echoed: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = '';
    let statusLine: string | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`upgrade through port ${port}: no echo after 5 s (received ${JSON.stringify(buffer)})`));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      socket.write([
        'GET /ws HTTP/1.1',
        'Host: kuzzle.example',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        '', '',
      ].join('\r\n'));
    });
    socket.on('data', (data: string) => {
      buffer += data;
      if (statusLine === null) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) {
          return;
        }
        statusLine = buffer.slice(0, buffer.indexOf('\r\n'));
        buffer = buffer.slice(end + 4);
        if (!statusLine.includes(' 101 ')) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ echoed: '', statusLine });
          return;
        }
        socket.write(payload);
      }
      if (buffer.length >= payload.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ echoed: buffer, statusLine });
      }
    });
    socket.on('error', error => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export interface PackedPlugin {
  tarball: string;
  /** paths inside the package, sorted */
  files: string[];
}

/** `npm pack` of this repository into `destDir` (its `prepare` script builds dist/ first) */
export async function packPlugin (destDir: string): Promise<PackedPlugin> {
  const result = await run('npm', ['pack', '--json', '--pack-destination', destDir], { timeout: 120000 });
  if (result.code !== 0) {
    throw new Error(describeRun('npm pack', result));
  }
  const parsed = JSON.parse(result.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (parsed.length !== 1) {
    throw new Error(`npm pack wrote ${parsed.length} packages`);
  }
  return {
    files: parsed[0].files.map(file => file.path).sort(),
    tarball: path.join(destDir, parsed[0].filename),
  };
}

/**
 * What users do with the tarball: unpack it and `npm install --omit=dev` in
 * it (`prepare` skips the build in a packed copy). `env` selects the Node
 * the native dependencies are installed for. Returns the plugin directory.
 */
export async function installPackedPlugin (tarball: string, destDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  fs.mkdirSync(destDir, { recursive: true });
  const untar = await run('tar', ['-xzf', tarball, '-C', destDir], { timeout: 30000 });
  if (untar.code !== 0) {
    throw new Error(describeRun('tar -xzf', untar));
  }
  const pluginDir = path.join(destDir, 'package');
  const install = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: pluginDir, env, timeout: 300000,
  });
  if (install.code !== 0) {
    throw new Error(describeRun('npm install --omit=dev', install));
  }
  return pluginDir;
}
