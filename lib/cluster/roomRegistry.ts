import type { RoomFilter } from './messages';

/**
 * A room's filter and its subscription count per node; a node with no
 * subscriber is absent. Most rooms have subscribers on one node: that one
 * is held inline, a Map only for the others (a Map of one entry costs about
 * 180 bytes, for every room of the cluster on every node).
 */
class RoomEntry implements Iterable<[string, number]> {
  private node: string | null = null;
  private count = 0;
  private others: Map<string, number> | null = null;

  constructor (readonly filter: RoomFilter) {}

  get (node: string): number | undefined {
    return node === this.node ? this.count : this.others?.get(node);
  }

  set (node: string, count: number): void {
    if (this.node === null || this.node === node) {
      this.node = node;
      this.count = count;
    }
    else {
      (this.others ??= new Map()).set(node, count);
    }
  }

  delete (node: string): void {
    if (node !== this.node) {
      this.others?.delete(node);
    }
    else {
      this.node = null;
      this.count = 0;
      // the first of the others, if any, moves inline
      for (const [next, count] of this.others || []) {
        this.others?.delete(next);
        this.node = next;
        this.count = count;
        break;
      }
    }
    if (this.others?.size === 0) {
      this.others = null;
    }
  }

  get size (): number {
    return (this.node === null ? 0 : 1) + (this.others ? this.others.size : 0);
  }

  * [Symbol.iterator] (): IterableIterator<[string, number]> {
    if (this.node !== null) {
      yield [this.node, this.count];
    }
    if (this.others) {
      yield* this.others;
    }
  }
}

export interface RoomChanges {
  /** rooms that no node had before */
  appeared: Array<{ room: string; filter: RoomFilter }>;
  /** rooms that no node has any more */
  vanished: Array<{ room: string; filter: RoomFilter }>;
}

function noChanges (): RoomChanges {
  return { appeared: [], vanished: [] };
}

/** What the host may read of the cluster's rooms */
export interface RoomQueries {
  has (room: string): boolean;
  filter (room: string): RoomFilter | undefined;
  usedElsewhere (room: string, except: string): boolean;
  entries (): IterableIterator<{ room: string; filter: RoomFilter; total: number }>;
}

/**
 * This node's view of every room of the cluster: filter and per-node
 * subscription counts. Each node is the only writer of its own counts.
 */
export class RoomRegistry implements RoomQueries {
  private readonly rooms = new Map<string, RoomEntry>();
  private readonly byNode = new Map<string, Set<string>>();
  /** subscriptions per node and in all, kept as counts change: status and metrics read them in O(1) */
  private readonly subscriptionTotals = new Map<string, number>();
  private allSubscriptions = 0;

  /**
   * Sets `node`'s count for `room` (0 removes it). A room unknown so far
   * needs its filter; without one the count is ignored (and reported).
   */
  set (node: string, room: string, count: number, filter: RoomFilter | null, changes = noChanges()): RoomChanges {
    let entry = this.rooms.get(room);

    if (count <= 0) {
      const previous = entry?.get(node);
      if (entry && previous !== undefined) {
        entry.delete(node);
        this.addSubscriptions(node, -previous);
        this.forget(node, room);
        if (entry.size === 0) {
          this.rooms.delete(room);
          changes.vanished.push({ filter: entry.filter, room });
        }
      }
      return changes;
    }

    if (!entry) {
      if (!filter) {
        return changes;
      }
      entry = new RoomEntry(filter);
      this.rooms.set(room, entry);
      changes.appeared.push({ filter, room });
    }

    this.addSubscriptions(node, count - (entry.get(node) || 0));
    entry.set(node, count);

    let rooms = this.byNode.get(node);
    if (!rooms) {
      rooms = new Set();
      this.byNode.set(node, rooms);
    }
    rooms.add(room);

    return changes;
  }

  private addSubscriptions (node: string, delta: number): void {
    const total = (this.subscriptionTotals.get(node) || 0) + delta;
    if (total === 0) {
      this.subscriptionTotals.delete(node);
    }
    else {
      this.subscriptionTotals.set(node, total);
    }
    this.allSubscriptions += delta;
  }

  private forget (node: string, room: string): void {
    const rooms = this.byNode.get(node);
    if (rooms) {
      rooms.delete(room);
      if (rooms.size === 0) {
        this.byNode.delete(node);
      }
    }
  }

  /** Replaces everything known of `node` (resync from a snapshot) */
  replaceNode (node: string, rooms: Array<{ room: string; count: number; filter: RoomFilter | null }>): RoomChanges {
    const changes = noChanges();
    const incoming = new Set(rooms.map(r => r.room));

    for (const room of Array.from(this.byNode.get(node) || [])) {
      if (!incoming.has(room)) {
        this.set(node, room, 0, null, changes);
      }
    }
    for (const { room, count, filter } of rooms) {
      this.set(node, room, count, filter, changes);
    }

    // a room that vanished then appeared again in the same batch did not change
    const appeared = new Set(changes.appeared.map(c => c.room));
    const vanished = new Set(changes.vanished.map(c => c.room));
    return {
      appeared: changes.appeared.filter(c => !vanished.has(c.room)),
      vanished: changes.vanished.filter(c => !appeared.has(c.room)),
    };
  }

  dropNode (node: string): RoomChanges {
    return this.replaceNode(node, []);
  }

  has (room: string): boolean {
    return this.rooms.has(room);
  }

  filter (room: string): RoomFilter | undefined {
    return this.rooms.get(room)?.filter;
  }

  count (room: string, node: string): number {
    return this.rooms.get(room)?.get(node) || 0;
  }

  /** sum of the counts, leaving out `except` */
  total (room: string, except?: string): number {
    const entry = this.rooms.get(room);
    let total = 0;

    if (entry) {
      for (const [node, count] of entry) {
        if (node !== except) {
          total += count;
        }
      }
    }

    return total;
  }

  /** whether a node other than `except` has subscribers in `room` */
  usedElsewhere (room: string, except: string): boolean {
    const entry = this.rooms.get(room);
    return entry !== undefined && (entry.size > 1 || (entry.size === 1 && entry.get(except) === undefined));
  }

  /** the nodes (but `except`) having subscribers in any of `rooms`, with those rooms */
  nodesFor (rooms: string[], except: string): Map<string, string[]> {
    const result = new Map<string, string[]>();

    for (const room of rooms) {
      const entry = this.rooms.get(room);
      if (!entry) {
        continue;
      }
      for (const [node] of entry) {
        if (node === except) {
          continue;
        }
        const list = result.get(node);
        if (list) {
          list.push(room);
        }
        else {
          result.set(node, [room]);
        }
      }
    }

    return result;
  }

  roomsOf (node: string): string[] {
    return Array.from(this.byNode.get(node) || []);
  }

  nodes (): string[] {
    return Array.from(this.byNode.keys());
  }

  *entries (): IterableIterator<{ room: string; filter: RoomFilter; total: number }> {
    for (const [room, entry] of this.rooms) {
      let total = 0;
      for (const [, count] of entry) {
        total += count;
      }
      yield { filter: entry.filter, room, total };
    }
  }

  get size (): number {
    return this.rooms.size;
  }

  /** subscriptions held by `node` */
  subscriptionsOf (node: string): number {
    return this.subscriptionTotals.get(node) || 0;
  }

  /** how many rooms `node` has subscribers in */
  roomCountOf (node: string): number {
    const rooms = this.byNode.get(node);
    return rooms ? rooms.size : 0;
  }

  /** subscriptions of the whole cluster */
  get subscriptions (): number {
    return this.allSubscriptions;
  }

  clear (): void {
    this.rooms.clear();
    this.byNode.clear();
    this.subscriptionTotals.clear();
    this.allSubscriptions = 0;
  }
}
