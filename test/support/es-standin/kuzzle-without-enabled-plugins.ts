/**
 * Preload for a Kuzzle 2.10.4 process (`node -r ts-node/register/transpile-only
 * -r <this file> node_modules/kuzzle/bin/start-kuzzle-server`): Kuzzle then
 * ignores node_modules/kuzzle/plugins/enabled/, where the plugin under
 * development gets symlinked, so the stand-in can be checked against a vanilla
 * Kuzzle. Core plugins (logger, auth-passport-local) are not affected.
 */
import path from 'path';

interface PluginsManagerLike {
  pluginsEnabledDir: string;
}
interface PluginsManagerClass {
  prototype: PluginsManagerLike & { loadPlugins: (this: PluginsManagerLike, ...args: unknown[]) => unknown };
}

const kuzzleRoot = path.dirname(require.resolve('kuzzle/package.json'));
// Load Kuzzle in its natural order first: requiring the manager alone hits a require cycle.
require(kuzzleRoot);
const Manager = require(path.join(kuzzleRoot, 'lib', 'core', 'plugin', 'pluginsManager')) as PluginsManagerClass;

const loadPlugins = Manager.prototype.loadPlugins;
Manager.prototype.loadPlugins = function (this: PluginsManagerLike, ...args: unknown[]): unknown {
  // Kuzzle skips plugin directory loading when this path does not exist.
  this.pluginsEnabledDir = path.join(kuzzleRoot, 'plugins', 'es-standin-no-enabled-plugins');
  return loadPlugins.apply(this, args);
};
