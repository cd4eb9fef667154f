import createDebug from 'debug';

import type { ClusterNode } from '../cluster/node';
import type { KuzzleInstance, PluginContext } from './types';

const debug = createDebug('kuzzle:cluster:lifecycle');

const LEAVE_TIMEOUT = 3000;

/**
 * Admin actions made on one node (dump, shutdown) apply to the whole
 * cluster, and a node leaves the cluster before its process exits.
 *
 * Kuzzle 2.10's SIGTERM/SIGINT handler calls process.exit() synchronously
 * when no request is pending: an asynchronous hook never gets to run. So this
 * takes over those signals, leaves the cluster, then hands over to Kuzzle's
 * own handlers.
 */
export class Lifecycle {
  private readonly kuzzle: KuzzleInstance;
  private leaving: Promise<void> | null = null;

  constructor (private readonly context: PluginContext, private readonly node: ClusterNode) {
    this.kuzzle = context.accessors.kuzzle;
  }

  installSignalHandlers (): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as NodeJS.Signals[]) {
      const kuzzleHandlers = process.listeners(signal) as Array<(signal: NodeJS.Signals) => void>;
      process.removeAllListeners(signal);

      const handler = (): void => {
        this.context.log.info(`${signal} received: leaving the cluster`);
        void this.leave().then(() => {
          for (const fn of kuzzleHandlers) {
            fn(signal);
          }
          if (kuzzleHandlers.length === 0) {
            process.exit(0);
          }
        });
      };
      process.on(signal, handler);
    }
  }

  /** graceful leave, once, bounded in time */
  leave (): Promise<void> {
    if (!this.leaving) {
      this.leaving = Promise.race([
        this.node.stop().catch(error => {
          this.context.log.warn(`could not leave the cluster cleanly: ${(error as Error).message}`);
        }),
        new Promise<void>(resolve => setTimeout(resolve, LEAVE_TIMEOUT).unref()),
      ]);
    }
    return this.leaving;
  }

  onDump (request: { input?: { args?: Record<string, unknown> } }): void {
    const suffix = request?.input?.args?.suffix;
    void this.node.broadcast({ suffix: typeof suffix === 'string' ? suffix : '', t: 'dump' });
  }

  async applyDump (suffix: string): Promise<void> {
    try {
      await this.kuzzle.dump(suffix);
    }
    catch (error) {
      // a dump already running here is not an error of the cluster's
      this.context.log.warn(`dump requested by the cluster failed: ${(error as Error).message}`);
    }
  }

  /** admin:shutdown on this node: every node shuts down */
  async onShutdown (): Promise<void> {
    void this.node.broadcast({ t: 'shutdown' });
    await this.leave();
  }

  applyShutdown (): void {
    this.context.log.info('shutdown requested by another node of the cluster');
    debug('shutting down on cluster request');
    void this.leave().then(() => this.kuzzle.shutdown());
  }
}
