import type { ClusterNode } from '../cluster/node';
import type { SecurityMessage } from '../cluster/messages';
import type { KuzzleInstance } from './types';

/**
 * Kuzzle 2.10 keeps roles, profiles and validation specifications in memory:
 * a change made on one node invalidates the others' copies.
 */
export class SecuritySync {
  constructor (private readonly kuzzle: KuzzleInstance, private readonly node: ClusterNode) {}

  onProfileChanged (payload: { _id?: string }): void {
    void this.node.broadcast({ id: payload._id, kind: 'profile', t: 'security' }, true);
  }

  onRoleChanged (payload: { _id?: string }): void {
    void this.node.broadcast({ id: payload._id, kind: 'role', t: 'security' }, true);
  }

  /** pipe: Kuzzle answers once every peer reloaded */
  async onSecurityReset<T> (request: T): Promise<T> {
    await this.node.broadcast({ kind: 'all', t: 'security' }, true);
    return request;
  }

  /** pipe: Kuzzle answers once every peer reloaded */
  async onSpecificationsChanged<T> (request: T): Promise<T> {
    await this.node.broadcast({ t: 'validators' }, true);
    return request;
  }

  async apply (message: SecurityMessage): Promise<void> {
    if (message.kind === 'all') {
      await this.invalidateAll();
    }
    else {
      await this.kuzzle.ask(`core:security:${message.kind}:invalidate`, message.id);
    }
  }

  async invalidateAll (): Promise<void> {
    await this.kuzzle.ask('core:security:profile:invalidate');
    await this.kuzzle.ask('core:security:role:invalidate');
  }

  async reloadValidators (): Promise<void> {
    await this.kuzzle.validation.curateSpecification();
  }
}
