import type { DirectPayload, HostPayload, RoomFilter } from './messages';
import type { Logger } from './logger';
import type { RoomChanges } from './roomRegistry';

export interface LocalRoom {
  room: string;
  count: number;
  filter: RoomFilter;
}

/** What the core needs from its host (Kuzzle, or a test harness) */
export interface ClusterHost {
  /** rooms that appeared in / vanished from the cluster (filters to add to / remove from the matcher) */
  roomsChanged (changes: RoomChanges): void;
  /** this node's own rooms, republished on (re)join and reset */
  localRooms (): LocalRoom[];
  /** storage, security, validators, strategies, app events, admin messages */
  onSync (from: string, message: HostPayload): Promise<void> | void;
  onNotification (from: string, message: DirectPayload): Promise<void> | void;
  /** after a message loss: re-read what is not in Redis (caches, validators, strategies) */
  refresh (): Promise<void>;
  /** once joined: exchange strategies and the like */
  onJoined (): Promise<void>;
}

/**
 * The host as the core calls it: bound once at start, and its failures
 * logged, never thrown into the protocol.
 */
export class HostLink {
  private host: ClusterHost | null = null;

  constructor (private readonly log: Logger) {}

  bind (host: ClusterHost): void {
    this.host = host;
  }

  private get bound (): ClusterHost {
    if (!this.host) {
      throw new Error('the cluster node is not started');
    }
    return this.host;
  }

  roomsChanged (changes: RoomChanges): void {
    if (changes.appeared.length === 0 && changes.vanished.length === 0) {
      return;
    }
    try {
      this.bound.roomsChanged(changes);
    }
    catch (error) {
      this.log.error(`cannot apply room changes: ${(error as Error).message}`);
    }
  }

  localRooms (): LocalRoom[] {
    return this.bound.localRooms();
  }

  onSync (from: string, message: HostPayload): Promise<void> {
    return this.call(host => host.onSync(from, message));
  }

  onNotification (from: string, message: DirectPayload): Promise<void> {
    return this.call(host => host.onNotification(from, message));
  }

  refresh (): Promise<void> {
    return this.call(host => host.refresh());
  }

  onJoined (): Promise<void> {
    return this.call(host => host.onJoined());
  }

  private async call (fn: (host: ClusterHost) => Promise<void> | void): Promise<void> {
    try {
      await fn(this.bound);
    }
    catch (error) {
      this.log.error(`${(error as Error).stack || error}`);
    }
  }
}
