import type { ClusterNode } from '../cluster/node';
import type { StrategyMessage } from '../cluster/messages';
import type { KuzzleInstance, PluginContext } from './types';

export interface StrategyEvent {
  name: string;
  pluginName: string;
  strategy?: Record<string, unknown>;
}

/**
 * Authentication strategies added at runtime by a plugin on one node are
 * stored in Redis and registered on every node (the plugin must be installed
 * everywhere: a strategy names its plugin's methods).
 */
export class StrategySync {
  private readonly kuzzle: KuzzleInstance;

  constructor (private readonly context: PluginContext, private readonly node: ClusterNode) {
    this.kuzzle = context.accessors.kuzzle;
  }

  async onAdded (event: StrategyEvent): Promise<StrategyEvent> {
    if (event.strategy) {
      await this.node.strategies.saveStrategy(event.name, { pluginName: event.pluginName, strategy: event.strategy });
      await this.node.broadcast({ name: event.name, op: 'add', pluginName: event.pluginName, strategy: event.strategy, t: 'strategy' }, true);
    }
    return event;
  }

  async onRemoved (event: StrategyEvent): Promise<StrategyEvent> {
    await this.node.strategies.removeStrategy(event.name);
    await this.node.broadcast({ name: event.name, op: 'remove', pluginName: event.pluginName, t: 'strategy' }, true);
    return event;
  }

  apply (message: StrategyMessage): void {
    if (message.op === 'add') {
      this.register(message.name, message.pluginName, message.strategy as Record<string, unknown>);
    }
    else {
      this.unregister(message.name);
    }
  }

  private register (name: string, pluginName: string, strategy: Record<string, unknown>): void {
    const current = this.kuzzle.pluginsManager.strategies[name];
    if (current && current.owner === pluginName && JSON.stringify(current.strategy) === JSON.stringify(strategy)) {
      return;
    }
    try {
      this.kuzzle.pluginsManager.registerStrategy(pluginName, name, strategy);
    }
    catch (error) {
      this.context.log.error(`cannot register strategy "${name}" of plugin "${pluginName}" (is the plugin installed on this node?): ${(error as Error).message}`);
    }
  }

  private unregister (name: string): void {
    const current = this.kuzzle.pluginsManager.strategies[name];
    if (current) {
      try {
        this.kuzzle.pluginsManager.unregisterStrategy(current.owner, name);
      }
      catch (error) {
        this.context.log.error(`cannot unregister strategy "${name}": ${(error as Error).message}`);
      }
    }
  }

  /** publishes this node's strategies, then registers the cluster's */
  async exchange (): Promise<void> {
    const manager = this.kuzzle.pluginsManager;
    for (const name of manager.listStrategies()) {
      const { owner, strategy } = manager.strategies[name];
      await this.node.strategies.saveStrategy(name, { pluginName: owner, strategy });
    }
    await this.reload();
  }

  /** registers the strategies stored in Redis */
  async reload (): Promise<void> {
    const stored = await this.node.strategies.strategies();
    for (const [name, { pluginName, strategy }] of stored) {
      this.register(name, pluginName, strategy);
    }
  }
}
