import type { ApiRequest, PluginController, PluginsManager } from './types';

/**
 * The name the previous cluster plugin's API answers to: Kuzzle prefixes the
 * controllers a plugin declares through the deprecated `controllers` object
 * with the plugin's name, and scripts written for it call
 * `{controller: 'cluster/cluster', action: 'status'}`.
 */
export const LEGACY_CONTROLLER = 'cluster/cluster';

export type ActionHandlers = Record<string, (request: ApiRequest) => Promise<unknown>>;

/**
 * Makes the same actions answer under the previous plugin's controller name,
 * without a second set of HTTP routes (those stay on `cluster`).
 *
 * Kuzzle 2.10 refuses a plugin declaring both `api` and `controllers`, so the
 * alias goes straight into the plugins manager's controller table, which the
 * funnel, the role checks and `server:publicApi` read. It is registered
 * during init, before Kuzzle verifies the roles: a role granting
 * `cluster/cluster` stays valid.
 */
export function registerLegacyController (
  kuzzle: { pluginsManager: Pick<PluginsManager, 'controllers'> },
  handlers: ActionHandlers,
): void {
  const controllers = kuzzle.pluginsManager.controllers;
  if (controllers.has(LEGACY_CONTROLLER)) {
    throw new Error(`a controller named "${LEGACY_CONTROLLER}" is already registered: is the previous cluster plugin enabled too?`);
  }
  controllers.set(LEGACY_CONTROLLER, legacyController(handlers));
}

function legacyController (handlers: ActionHandlers): PluginController {
  const actions = new Set(Object.keys(handlers));
  return {
    ...handlers,
    _actions: actions,
    _isAction: (name: string) => actions.has(name),
  };
}
