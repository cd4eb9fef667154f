/**
 * Kuzzle 2.33.1 and its native cluster, for the bench's "native" columns.
 *
 * Kuzzle 2.33.1 is not a dependency of the plugin: it is installed from the
 * npm registry on first use into a cache outside the repository,
 * `${XDG_CACHE_HOME:-$HOME/.cache}/kuzzle-plugin-cluster/kuzzle-2.33.1`, and
 * reused while complete. The install goes to a temporary directory next to
 * it, is checked (Kuzzle's native modules must load: uWebSockets.js,
 * zeromq), stamped, then renamed into place: an interrupted install never
 * looks complete, and is redone. The stamp names the Node ABI it was built
 * for; another Node version reinstalls.
 *
 * Every Kuzzle 2.33 release depends on a uWebSockets.js tarball hosted on
 * GitHub, outside the registry; an npm `overrides` entry resolves it to
 * `@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0` from the registry
 * (same API; its binary loads on Node 20).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

import { track } from '../test/support/processes';

export const NATIVE_VERSION = '2.33.1';
export const UWS_OVERRIDE = 'npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0';
const INSTALL_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * The cluster address of native node `index` (0-based): 127.0.0.2, .3, ...
 * Linux routes all of 127.0.0.0/8 to `lo` (a `local` route in the kernel's
 * local table), so these work without any setup; 127.0.0.1 stays for HTTP,
 * Redis and the Elasticsearch stand-in.
 */
export function nativeClusterIp (index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 250) {
    throw new Error(`no 127.0.0.x cluster address for node ${index}`);
  }
  return `127.0.0.${index + 2}`;
}

function canListen (host: string, port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ exclusive: true, host, port }, () => server.close(() => resolve(true)));
  });
}

/** whether every port can be bound on every host right now */
export async function portsFreeOn (hosts: string[], ports: number[]): Promise<boolean> {
  for (const host of hosts) {
    for (const port of ports) {
      if (!await canListen(host, port)) {
        return false;
      }
    }
  }
  return true;
}

export function nativeCacheDir (): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kuzzle-plugin-cluster', `kuzzle-${NATIVE_VERSION}`);
}

interface Stamp {
  kuzzle: string;
  /** process.versions.modules of the Node that installed it */
  abi: string;
}

function readStamp (dir: string): Stamp | null {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(path.join(dir, '.complete'), 'utf8'));
    if (parsed && typeof parsed === 'object' && 'kuzzle' in parsed && 'abi' in parsed
      && typeof parsed.kuzzle === 'string' && typeof parsed.abi === 'string') {
      return { abi: parsed.abi, kuzzle: parsed.kuzzle };
    }
  }
  catch {
    // no stamp, or not ours: not complete
  }
  return null;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** runs a command to completion (killed after `timeout` ms); never rejects: check `code` */
function run (command: string, args: string[], cwd: string, timeout: number): Promise<RunResult> {
  return new Promise(resolve => {
    const child = execFile(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout },
      (error, stdout, stderr) => {
        let code = 0;
        if (error) {
          code = typeof child.exitCode === 'number' && child.exitCode !== 0 ? child.exitCode : -1;
          if (error.killed) {
            stderr += `\n[killed after ${timeout} ms]`;
          }
        }
        resolve({ code, stderr, stdout });
      });
    track(child);
  });
}

function failed (what: string, result: RunResult): Error {
  return new Error(`${what} exited with ${result.code}\n--- stdout ---\n${result.stdout.slice(-3000)}\n--- stderr ---\n${result.stderr.slice(-3000)}`);
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  }
  catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kuzzle 2.33.1's package directory, installed first if needed (a few
 * minutes, once). `log` says what happens on a first run.
 */
export async function nativeKuzzle (log: (line: string) => void): Promise<string> {
  const dir = nativeCacheDir();
  const kuzzleDir = path.join(dir, 'node_modules', 'kuzzle');
  const stamp = readStamp(dir);
  if (stamp && stamp.kuzzle === NATIVE_VERSION && stamp.abi === process.versions.modules
    && fs.existsSync(path.join(kuzzleDir, 'package.json'))) {
    return kuzzleDir;
  }

  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  // leftovers of interrupted installs (their process is gone)
  const prefix = `${path.basename(dir)}.partial-`;
  for (const entry of fs.readdirSync(parent)) {
    const pid = Number(entry.slice(prefix.length));
    if (entry.startsWith(prefix) && !(Number.isInteger(pid) && pid !== process.pid && pidAlive(pid))) {
      fs.rmSync(path.join(parent, entry), { force: true, recursive: true });
    }
  }

  const why = fs.existsSync(dir)
    ? (stamp ? `the cached one is for ${stamp.kuzzle} on Node ABI ${stamp.abi}` : 'the cached install is incomplete')
    : 'first use';
  log(`installing kuzzle@${NATIVE_VERSION} from the npm registry into ${dir} (${why}; a few minutes, once),`
    + ` with the npm override "uWebSockets.js": "${UWS_OVERRIDE}"`);
  const started = Date.now();
  const work = path.join(parent, `${prefix}${process.pid}`);
  fs.mkdirSync(work, { recursive: true });
  try {
    fs.writeFileSync(path.join(work, 'package.json'), `${JSON.stringify({
      dependencies: { kuzzle: NATIVE_VERSION },
      description: `Kuzzle ${NATIVE_VERSION} for kuzzle-plugin-cluster's bench (bench/native.ts); safe to delete`,
      name: 'kuzzle-plugin-cluster-bench-native',
      overrides: { 'uWebSockets.js': UWS_OVERRIDE },
      private: true,
    }, null, 2)}\n`);
    const install = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], work, INSTALL_TIMEOUT_MS);
    if (install.code !== 0) {
      throw failed(`npm install kuzzle@${NATIVE_VERSION} (in ${work})`, install);
    }
    // the native modules Kuzzle cannot start without must load on this Node (uWebSockets.js
    // falls back to a JavaScript implementation, with a warning, when its binary does not)
    const check = await run(process.execPath, ['-e', [
      'const k = require.resolve("kuzzle/package.json");',
      'const req = require("module").createRequire(k);',
      'req("uWebSockets.js"); req("zeromq");',
      'if (!Object.keys(require.cache).some(f => f.includes("/uWebSockets.js/") && f.endsWith(".node"))) throw new Error("uWebSockets.js: no binary for this Node");',
      'console.log(require(k).version);',
    ].join(' ')], work, 60000);
    if (check.code !== 0 || check.stdout.trim() !== NATIVE_VERSION) {
      throw failed(`loading kuzzle@${NATIVE_VERSION}'s uWebSockets.js and zeromq`, check);
    }
    const done: Stamp = { abi: process.versions.modules, kuzzle: NATIVE_VERSION };
    fs.writeFileSync(path.join(work, '.complete'), `${JSON.stringify(done)}\n`);
    fs.rmSync(dir, { force: true, recursive: true });
    fs.renameSync(work, dir);
  }
  finally {
    fs.rmSync(work, { force: true, recursive: true });
  }
  log(`kuzzle@${NATIVE_VERSION} installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return kuzzleDir;
}

if (require.main === module) {
  nativeKuzzle(line => console.log(line)).then(dir => console.log(dir), (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
