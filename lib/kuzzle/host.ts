import type { ClusterHost, LocalRoom } from '../cluster/node';
import type { DirectPayload, HostPayload } from '../cluster/messages';
import type { RoomChanges } from '../cluster/roomRegistry';
import type { AppEvents } from './appEvents';
import type { Lifecycle } from './lifecycle';
import type { NotificationRelay } from './notifications';
import type { RealtimeSync } from './realtime';
import type { SecuritySync } from './security';
import type { StorageCacheSync } from './storageCache';
import type { StrategySync } from './strategies';

export interface Adapters {
  appEvents: AppEvents;
  lifecycle: Lifecycle;
  notifications: NotificationRelay;
  realtime: RealtimeSync;
  security: SecuritySync;
  storage: StorageCacheSync;
  strategies: StrategySync;
}

/** Routes what the cluster core receives to the Kuzzle adapters */
export class KuzzleHost implements ClusterHost {
  constructor (private readonly adapters: Adapters) {}

  roomsChanged (changes: RoomChanges): void {
    this.adapters.realtime.roomsChanged(changes);
  }

  localRooms (): LocalRoom[] {
    return this.adapters.realtime.localRooms();
  }

  async onNotification (_from: string, message: DirectPayload): Promise<void> {
    await this.adapters.notifications.dispatch(message);
  }

  async onSync (_from: string, message: HostPayload): Promise<void> {
    switch (message.t) {
      case 'storage':
        return this.adapters.storage.apply(message);
      case 'security':
        return this.adapters.security.apply(message);
      case 'validators':
        return this.adapters.security.reloadValidators();
      case 'strategy':
        return this.adapters.strategies.apply(message);
      case 'app':
        return this.adapters.appEvents.apply(message);
      case 'dump':
        return this.adapters.lifecycle.applyDump(message.suffix);
      case 'shutdown':
        return this.adapters.lifecycle.applyShutdown();
      default:
        return unknownKind(message);
    }
  }

  /**
   * After lost messages: what is not in Redis is re-read. (The index cache
   * cannot be: Kuzzle 2.10 offers no way to reload it.)
   */
  async refresh (): Promise<void> {
    await this.adapters.security.invalidateAll();
    await this.adapters.security.reloadValidators();
    await this.adapters.strategies.reload();
  }

  async onJoined (): Promise<void> {
    await this.adapters.strategies.exchange();
  }
}

/** a kind added to HostPayload without a case above does not compile; at run time it is an error */
function unknownKind (message: never): never {
  throw new Error(`no adapter for cluster message ${JSON.stringify(message)}`);
}
