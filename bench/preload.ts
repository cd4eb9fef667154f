/**
 * Preload for the Kuzzle nodes the benchmark starts. The bench transpiles
 * this file to plain JavaScript in its work directory and starts every node
 * as `node -r <that file> node_modules/kuzzle/bin/start-kuzzle-server`, so
 * that no node pays for ts-node.
 *
 * - BENCH_PLUGINS_ENABLED_DIR: Kuzzle loads its enabled plugins from this
 *   directory instead of node_modules/kuzzle/plugins/enabled/ (where the
 *   repository is symlinked as `cluster`). The bench gives an empty directory
 *   to the bundled-plugin and no-cluster nodes, and a directory holding only
 *   a `cluster` symlink to this repository to the nodes running our plugin.
 * - BENCH_ZEROMQ_COMPAT_FROM + BENCH_ZEROMQ_COMPAT_TO: `require('zeromq')`
 *   made by a file under the first directory (the cluster plugin bundled with
 *   Kuzzle, written for the zeromq 5 API) resolves to the second file
 *   (zeromq 6's `v5-compat`). Nothing is written under node_modules.
 * - BENCH_KUZZLE_DIR: Kuzzle's package directory.
 */
import Module from 'module';
import path from 'path';

interface PluginsManagerLike {
  pluginsEnabledDir: string;
}
interface PluginsManagerClass {
  prototype: PluginsManagerLike & { loadPlugins: (this: PluginsManagerLike, ...args: unknown[]) => unknown };
}
type Resolver = (request: string, parent: { filename?: string | null } | undefined, ...rest: unknown[]) => string;

const kuzzleRoot = process.env.BENCH_KUZZLE_DIR;
const enabledDir = process.env.BENCH_PLUGINS_ENABLED_DIR;
if (!kuzzleRoot || !enabledDir) {
  throw new Error('bench preload: BENCH_KUZZLE_DIR and BENCH_PLUGINS_ENABLED_DIR must be set');
}

const compatFrom = process.env.BENCH_ZEROMQ_COMPAT_FROM;
const compatTo = process.env.BENCH_ZEROMQ_COMPAT_TO;
if (compatFrom && compatTo) {
  const prefix = path.resolve(compatFrom) + path.sep;
  const moduleInternals = Module as unknown as { _resolveFilename: Resolver };
  const resolve = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function (this: unknown, request, parent, ...rest) {
    if (request === 'zeromq' && parent && typeof parent.filename === 'string' && parent.filename.startsWith(prefix)) {
      return compatTo;
    }
    return resolve.call(this, request, parent, ...rest);
  };
}

// Load Kuzzle in its natural order first: requiring the manager alone hits a require cycle.
require(kuzzleRoot);
const Manager = require(path.join(kuzzleRoot, 'lib', 'core', 'plugin', 'pluginsManager')) as PluginsManagerClass;

const loadPlugins = Manager.prototype.loadPlugins;
Manager.prototype.loadPlugins = function (this: PluginsManagerLike, ...args: unknown[]): unknown {
  this.pluginsEnabledDir = path.resolve(enabledDir);
  return loadPlugins.apply(this, args);
};
