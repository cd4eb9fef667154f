import type { Clock } from './clock';

/**
 * What a node saw of the cluster's membership, newest last (the native
 * Kuzzle cluster's `activity`): nodes joining, leaving, evicted and why,
 * resyncs, Redis lost and back, partitions.
 */
export type ActivityEvent =
  /** a node joined (a peer, or this node once it joined) */
  | 'joined'
  /** a node left gracefully (a peer's leave message, or this node stopping) */
  | 'left'
  /** a node was removed without leaving: see the reason */
  | 'evicted'
  /** a peer's state was re-read from Redis */
  | 'resync'
  /** this node lost Redis, or the partition rule made it step back */
  | 'not_ready'
  /** Redis is back, or the partition healed */
  | 'recovered';

export type ActivityReason =
  /** evicted: silent past nodeTimeout and its Redis liveness expired (removed by this node) */
  | 'timeout'
  /** evicted: another survivor removed it first and told this node */
  | 'evicted_by_peer'
  /** evicted: Redis no longer lists it (Redis lost its data, a reset, or a removal this node missed) */
  | 'not_a_member'
  /** evicted: this node itself was evicted (frozen or cut off), so it forgot every peer and rejoins */
  | 'own_eviction'
  /** resync: a gap in the peer's stream */
  | 'gap'
  /** resync: a full resynchronization (Redis back, a reset) */
  | 'reset'
  | 'redis_lost'
  | 'partition';

export interface ActivityEntry {
  /** ISO 8601, as in the native cluster's activity */
  date: string;
  /** ms since the epoch, by this node's clock */
  timestamp: number;
  event: ActivityEvent;
  /** the node concerned */
  id: string;
  /** its pub address, when known */
  address?: string;
  reason?: ActivityReason;
  /** the human-readable detail, as logged */
  detail?: string;
}

export interface ActivityCount {
  event: ActivityEvent;
  /** '' when the event has none */
  reason: ActivityReason | '';
  count: number;
}

export interface ActivityInput {
  event: ActivityEvent;
  id: string;
  address?: string;
  reason?: ActivityReason;
  detail?: string;
}

/**
 * The last `capacity` membership events, in a bounded ring (recording is
 * O(1), no allocation beyond the entry), and how many of each event and
 * reason were seen since start (metrics count them even once out of the ring).
 */
export class Activity {
  private readonly ring: Array<ActivityEntry | undefined>;
  /** index of the next write */
  private next = 0;
  private size = 0;
  private readonly totals = new Map<string, ActivityCount>();

  constructor (private readonly clock: Clock, readonly capacity: number) {
    this.ring = new Array<ActivityEntry | undefined>(capacity);
  }

  record (input: ActivityInput): void {
    const key = `${input.event}/${input.reason || ''}`;
    const total = this.totals.get(key);
    if (total) {
      total.count++;
    }
    else {
      this.totals.set(key, { count: 1, event: input.event, reason: input.reason || '' });
    }
    if (this.capacity === 0) {
      return;
    }
    const timestamp = this.clock.now();
    const entry: ActivityEntry = { date: new Date(timestamp).toISOString(), event: input.event, id: input.id, timestamp };
    if (input.address !== undefined) {
      entry.address = input.address;
    }
    if (input.reason !== undefined) {
      entry.reason = input.reason;
    }
    if (input.detail !== undefined) {
      entry.detail = input.detail;
    }
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** oldest first */
  entries (): ActivityEntry[] {
    const result: ActivityEntry[] = [];
    const start = (this.next - this.size + this.capacity) % (this.capacity || 1);
    for (let i = 0; i < this.size; i++) {
      result.push({ ...(this.ring[(start + i) % this.capacity] as ActivityEntry) });
    }
    return result;
  }

  /** events seen since start, by event and reason ('' when none) */
  counts (): ActivityCount[] {
    return Array.from(this.totals.values(), total => ({ ...total }));
  }
}
