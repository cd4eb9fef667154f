import type { ClusterNode } from '../cluster/node';
import type { StorageMessage } from '../cluster/messages';
import type { KuzzleInstance } from './types';

export interface CacheEvent {
  index: string;
  collection?: string;
  scope: 'public' | 'private';
}

/**
 * Kuzzle 2.10 caches the list of indexes and collections in memory, filled
 * once at boot: an index created on one node must be added to the others'.
 */
export class StorageCacheSync {
  constructor (private readonly kuzzle: KuzzleInstance, private readonly node: ClusterNode) {}

  onAdded (event: CacheEvent): void {
    this.send('add', event);
  }

  onRemoved (event: CacheEvent): void {
    this.send('remove', event);
  }

  private send (op: 'add' | 'remove', event: CacheEvent): void {
    const message: StorageMessage = { index: event.index, op, scope: event.scope, t: 'storage' };
    if (event.collection) {
      message.collection = event.collection;
    }
    // acknowledged by the peers before the API answers: see Plugin's after-pipes
    void this.node.broadcast(message, true);
  }

  async apply (message: StorageMessage): Promise<void> {
    await this.kuzzle.ask(`core:storage:${message.scope}:cache:${message.op}`, message.index, message.collection);
  }
}
