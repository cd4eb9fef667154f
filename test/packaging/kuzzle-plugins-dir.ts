/**
 * Preload for a Kuzzle 2.10.4 process (`node -r ts-node/register/transpile-only
 * -r <this file> node_modules/kuzzle/bin/start-kuzzle-server`): Kuzzle loads
 * its enabled plugins from $KUZZLE_PLUGINS_ENABLED_DIR instead of
 * node_modules/kuzzle/plugins/enabled/ (where the repository itself is
 * symlinked for the other suites), so a packed copy of the plugin can be
 * booted without a second `cluster` entry there.
 */
import path from 'path';

interface PluginsManagerLike {
  pluginsEnabledDir: string;
}
interface PluginsManagerClass {
  prototype: PluginsManagerLike & { loadPlugins: (this: PluginsManagerLike, ...args: unknown[]) => unknown };
}

const enabledDir = process.env.KUZZLE_PLUGINS_ENABLED_DIR;
if (!enabledDir) {
  throw new Error('KUZZLE_PLUGINS_ENABLED_DIR is not set');
}

const kuzzleRoot = path.dirname(require.resolve('kuzzle/package.json'));
// Load Kuzzle in its natural order first: requiring the manager alone hits a require cycle.
require(kuzzleRoot);
const Manager = require(path.join(kuzzleRoot, 'lib', 'core', 'plugin', 'pluginsManager')) as PluginsManagerClass;

const loadPlugins = Manager.prototype.loadPlugins;
Manager.prototype.loadPlugins = function (this: PluginsManagerLike, ...args: unknown[]): unknown {
  this.pluginsEnabledDir = path.resolve(enabledDir);
  return loadPlugins.apply(this, args);
};
