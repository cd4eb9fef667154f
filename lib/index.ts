import { loadConfig, ClusterConfig } from './config';
import { ClusterNode } from './cluster/node';
import { ClusterController } from './api/controller';
import { CONTENT_TYPE } from './metrics/exposition';
import { AppEvents } from './kuzzle/appEvents';
import { KuzzleHost } from './kuzzle/host';
import { ActionHandlers, registerLegacyController } from './kuzzle/legacyController';
import { Lifecycle } from './kuzzle/lifecycle';
import { NotificationRelay } from './kuzzle/notifications';
import { respondRaw } from './kuzzle/rawResponse';
import { RealtimeSync } from './kuzzle/realtime';
import { SecuritySync } from './kuzzle/security';
import { StorageCacheSync } from './kuzzle/storageCache';
import { StrategySync } from './kuzzle/strategies';
import { checkKuzzleVersion } from './kuzzle/version';
import type { ApiRequest, PluginContext } from './kuzzle/types';

type Handler = (...args: never[]) => unknown;

interface ActionDefinition {
  handler: (request: ApiRequest) => unknown;
  http: Array<{ verb: 'get' | 'post'; path: string }>;
}

/**
 * Kuzzle plugin entry point: declares hooks, pipes and the `cluster` API,
 * and delegates everything to the adapters of lib/kuzzle and the core of
 * lib/cluster.
 */
class ClusterPlugin {
  hooks: Record<string, Handler> = {};
  pipes: Record<string, Handler> = {};
  api: Record<string, { actions: Record<string, ActionDefinition> }> = {};

  config: ClusterConfig | null = null;
  node: ClusterNode | null = null;

  async init (rawConfig: unknown, context: PluginContext): Promise<void> {
    const kuzzle = context.accessors && context.accessors.kuzzle;

    if (!kuzzle) {
      throw new Error('the cluster plugin needs a privileged context: set "plugins.cluster.privileged: true" in your Kuzzle configuration');
    }

    const versionProblem = checkKuzzleVersion(kuzzle.version);
    if (versionProblem) {
      throw new Error(versionProblem);
    }

    const config = loadConfig(rawConfig, kuzzle.config.services.internalCache);
    const node = new ClusterNode(config, context.log);
    this.config = config;
    this.node = node;

    const realtime = new RealtimeSync(context, node, config.timers.waitForMissingRooms);
    const notifications = new NotificationRelay(context, node, realtime);
    const storage = new StorageCacheSync(kuzzle, node);
    const security = new SecuritySync(kuzzle, node);
    const strategies = new StrategySync(context, node);
    const appEvents = new AppEvents(node);
    const lifecycle = new Lifecycle(context, node);
    const controller = new ClusterController(node, context.errors.ServiceUnavailableError);

    await node.start(new KuzzleHost({
      appEvents, lifecycle, notifications, realtime, security, storage, strategies,
    }));

    realtime.overrideAsks();
    appEvents.register(kuzzle);
    lifecycle.installSignalHandlers();

    this.hooks = {
      'admin:afterDump': lifecycle.onDump.bind(lifecycle),
      'admin:afterShutdown': lifecycle.onShutdown.bind(lifecycle),
      'core:notify:document': notifications.onDocument.bind(notifications),
      'core:notify:user': notifications.onUser.bind(notifications),
      'core:profileRepository:delete': security.onProfileChanged.bind(security),
      'core:profileRepository:save': security.onProfileChanged.bind(security),
      'core:roleRepository:delete': security.onRoleChanged.bind(security),
      'core:roleRepository:save': security.onRoleChanged.bind(security),
      'core:storage:cache:add:after': storage.onAdded.bind(storage),
      'core:storage:cache:remove:after': storage.onRemoved.bind(storage),
    };

    // index/collection and role/profile changes are broadcast by hooks
    // during the API action; these after-pipes make Kuzzle answer once every
    // peer applied them
    const settled = async <T>(request: T): Promise<T> => {
      await node.settled();
      return request;
    };

    this.pipes = {
      'admin:afterResetSecurity': security.onSecurityReset.bind(security),
      'collection:after*': settled,
      'collection:afterDeleteSpecifications': security.onSpecificationsChanged.bind(security),
      'collection:afterUpdateSpecifications': security.onSpecificationsChanged.bind(security),
      'core:auth:strategyAdded': strategies.onAdded.bind(strategies),
      'core:auth:strategyRemoved': strategies.onRemoved.bind(strategies),
      'core:realtime:room:remove:before': realtime.onRoomRemove.bind(realtime),
      'core:realtime:user:join:after': realtime.onSubscribe.bind(realtime),
      'core:realtime:user:subscribe:after': realtime.onSubscribe.bind(realtime),
      'core:realtime:user:unsubscribe:after': realtime.onUnsubscribe.bind(realtime),
      'index:after*': settled,
      // joins before Kuzzle accepts client connections, so that it serves cluster state from the start
      'kuzzle:state:live': async () => {
        await node.join();
      },
      'realtime:beforeJoin': realtime.beforeJoin.bind(realtime),
      'security:after*': settled,
    };

    const handlers: ActionHandlers = {
      health: async () => controller.health(),
      metrics: async request => respondRaw(request, controller.metrics(), CONTENT_TYPE),
      reset: async () => controller.reset(),
      status: async () => controller.status(),
    };
    this.api = {
      cluster: {
        actions: {
          health: { handler: handlers.health, http: [{ path: '/_plugin/cluster/health', verb: 'get' }] },
          metrics: { handler: handlers.metrics, http: [{ path: '/_plugin/cluster/metrics', verb: 'get' }] },
          reset: { handler: handlers.reset, http: [{ path: '/_plugin/cluster/reset', verb: 'post' }] },
          status: { handler: handlers.status, http: [{ path: '/_plugin/cluster/status', verb: 'get' }] },
        },
      },
    };
    registerLegacyController(kuzzle, handlers);
  }
}

export = ClusterPlugin;
