import { EventEmitter } from 'events';

import type { ClusterNode } from '../cluster/node';
import type { AppEventMessage } from '../cluster/messages';
import type { KuzzleInstance } from './types';

type Listener = (payload: unknown) => void;

/**
 * Answers the asks behind Kuzzle 2.9+'s `app.cluster` (broadcast, on, once,
 * off, removeAllListeners): events broadcast on one node reach the listeners
 * of the other nodes.
 */
export class AppEvents {
  private readonly emitter = new EventEmitter();

  constructor (private readonly node: ClusterNode) {
    this.emitter.setMaxListeners(0);
  }

  register (kuzzle: KuzzleInstance): void {
    kuzzle.onAsk('cluster:event:broadcast', (event, payload) => this.broadcast(event as string, payload));
    kuzzle.onAsk('cluster:event:on', (event, listener) => this.emitter.on(event as string, listener as Listener));
    kuzzle.onAsk('cluster:event:once', (event, listener) => this.emitter.once(event as string, listener as Listener));
    kuzzle.onAsk('cluster:event:off', (event, listener) => this.emitter.off(event as string, listener as Listener));
    kuzzle.onAsk('cluster:event:removeAllListeners', event => this.emitter.removeAllListeners(event as string));
  }

  private broadcast (event: string, payload: unknown): void {
    if (typeof event !== 'string' || event.length === 0) {
      throw new Error('cluster event name must be a non-empty string');
    }
    // JSON only: what cannot cross the wire fails here, not on the peers
    const json = payload === undefined ? undefined : JSON.parse(JSON.stringify(payload));
    void this.node.broadcast({ event, payload: json, t: 'app' });
  }

  apply (message: AppEventMessage): void {
    this.emitter.emit(message.event, message.payload);
  }
}
