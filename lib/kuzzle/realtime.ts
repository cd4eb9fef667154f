import createDebug from 'debug';
import { performance } from 'perf_hooks';

import type { ClusterNode, LocalRoom } from '../cluster/node';
import type { RoomFilter } from '../cluster/messages';
import type { RoomChanges } from '../cluster/roomRegistry';
import type {
  AskAnswerer, KuzzleInstance, KuzzleRequest, KuzzleUser, PluginContext,
  SubscriptionDiff, UnsubscriptionPayload,
} from './types';

const debug = createDebug('kuzzle:cluster:realtime');

type RoomList = Record<string, Record<string, Record<string, number>>>;

/**
 * Vanished remote rooms leave Koncorde in slices of at most this many
 * rooms and this long (ms), a pause (ms) between two: when a peer dies with
 * 33,000 rooms, every survivor drops them at once, and slices of 200 back
 * to back (10-40 ms each on a loaded 2-core machine) delayed every request
 * by up to half a second — just when the dead node's clients reconnect.
 */
const VANISHED_ROOMS_PER_TURN = 200;
const VANISHED_ROOMS_TURN_MS = 2;
const VANISHED_ROOMS_PAUSE_MS = 10;

/**
 * Keeps Kuzzle's realtime engine in step with the cluster: local
 * subscriptions are published, remote rooms are added to Koncorde so that
 * writes made here match them, and realtime:count/list answer cluster-wide.
 */
export class RealtimeSync {
  private readonly kuzzle: KuzzleInstance;
  /** rooms with local subscribers that this node published, with their filter */
  private readonly published = new Map<string, RoomFilter>();
  private originalRoomSize: AskAnswerer | null = null;
  private originalList: AskAnswerer | null = null;
  /** remote rooms gone from the cluster, still to remove from Koncorde */
  private readonly vanishing = new Set<string>();
  private dropScheduled = false;

  constructor (
    private readonly context: PluginContext,
    private readonly node: ClusterNode,
    private readonly waitForMissingRooms: number,
  ) {
    this.kuzzle = context.accessors.kuzzle;
  }

  /**
   * Takes over realtime:count and realtime:list. Kuzzle allows one answerer
   * per ask event, so the original ones are wrapped, not replaced.
   */
  overrideAsks (): void {
    const answerers = this.kuzzle.coreAnswerers;
    this.originalRoomSize = answerers.get('core:realtime:room:size:get') || null;
    this.originalList = answerers.get('core:realtime:list') || null;

    if (!this.originalRoomSize || !this.originalList) {
      throw new Error('this Kuzzle version has no core:realtime:room:size:get / core:realtime:list answerers');
    }

    answerers.set('core:realtime:room:size:get', (roomId: unknown) => this.count(roomId as string));
    answerers.set('core:realtime:list', (user: unknown) => this.list(user as KuzzleUser));
  }

  restoreAsks (): void {
    if (this.originalRoomSize && this.originalList) {
      this.kuzzle.coreAnswerers.set('core:realtime:room:size:get', this.originalRoomSize);
      this.kuzzle.coreAnswerers.set('core:realtime:list', this.originalList);
    }
  }

  /** number of local connections in a room, or null if the room is not in this node's hotel clerk */
  localSize (roomId: string): number | null {
    const answer = (this.originalRoomSize || this.kuzzle.coreAnswerers.get('core:realtime:room:size:get')) as AskAnswerer;
    // Kuzzle answers "not here" with an error: skip capturing its stack
    // (about 3x cheaper, and this runs for every remote room)
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return answer(roomId) as number;
    }
    catch {
      return null;
    }
    finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }

  /** cluster-wide subscribers count of a room */
  clusterSize (roomId: string): number {
    return (this.localSize(roomId) || 0) + this.node.remoteCount(roomId);
  }

  // -------------------------------------------------------------------------
  // pipes

  async onSubscribe (diff: SubscriptionDiff): Promise<SubscriptionDiff> {
    const filter = Array.isArray(diff.filters)
      ? { collection: diff.collection, filters: diff.filters, index: diff.index }
      : this.node.rooms.filter(diff.roomId) || this.published.get(diff.roomId) || null;
    await this.publish(diff.roomId, filter);
    return diff;
  }

  async onUnsubscribe (payload: UnsubscriptionPayload): Promise<UnsubscriptionPayload> {
    await this.publish(payload.room.id, null);
    return payload;
  }

  private async publish (roomId: string, filter: RoomFilter | null): Promise<void> {
    const count = this.localSize(roomId) || 0;
    const known = filter || this.published.get(roomId) || this.node.rooms.filter(roomId) || null;

    if (count > 0) {
      if (!known) {
        this.context.log.warn(`room ${roomId} has subscribers but no known filter: not propagated`);
        return;
      }
      this.published.set(roomId, known);
    }
    else if (!this.published.delete(roomId)) {
      // never published (propagate: false, or subscribed before anything else): nothing to undo
      return;
    }

    debug('local room %s: %d subscriber(s)', roomId, count);
    await this.node.setLocalRoom(roomId, count, known);
  }

  /** refuses to drop a filter from Koncorde while another node still uses the room */
  async onRoomRemove (roomId: string): Promise<string> {
    if (this.node.rooms.usedElsewhere(roomId, this.node.id)) {
      throw new Error(`room ${roomId} is still used by other cluster nodes`);
    }
    return roomId;
  }

  /** realtime:join of a room created on another node */
  async beforeJoin (request: KuzzleRequest): Promise<KuzzleRequest> {
    const body = request.input.body;
    const roomId = body && typeof body.roomId === 'string' ? body.roomId : null;

    if (!roomId || this.localSize(roomId) !== null) {
      return request;
    }

    let filter = this.node.rooms.filter(roomId);
    if (!filter) {
      // it may still be replicating
      filter = await this.waitForRoom(roomId);
    }
    if (filter) {
      await this.kuzzle.ask('core:realtime:room:create', filter.index, filter.collection, roomId);
    }
    return request;
  }

  private async waitForRoom (roomId: string): Promise<RoomFilter | undefined> {
    const deadline = Date.now() + this.waitForMissingRooms;
    while (Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, Math.min(50, this.waitForMissingRooms)));
      const filter = this.node.rooms.filter(roomId);
      if (filter) {
        return filter;
      }
    }
    return undefined;
  }

  // -------------------------------------------------------------------------
  // asks

  private async count (roomId: string): Promise<number> {
    if (this.localSize(roomId) === null && !this.node.rooms.has(roomId)) {
      await this.waitForRoom(roomId);
      if (!this.node.rooms.has(roomId)) {
        // Kuzzle's own answer: the room_not_found error
        return (this.originalRoomSize as AskAnswerer)(roomId) as number;
      }
    }
    return this.clusterSize(roomId);
  }

  private async list (user: KuzzleUser): Promise<RoomList> {
    const list = await (this.originalList as AskAnswerer)(user) as RoomList;
    const allowed = new Map<string, Promise<boolean>>();
    const { Request } = this.context.constructors;

    for (const { room, filter } of this.node.rooms.entries()) {
      const key = `${filter.index}\u0000${filter.collection}`;
      let check = allowed.get(key);
      if (!check) {
        check = user.isActionAllowed(new Request({
          action: 'subscribe', collection: filter.collection, controller: 'realtime', index: filter.index,
        }));
        allowed.set(key, check);
      }
      if (!await check) {
        continue;
      }
      const collections = list[filter.index] || (list[filter.index] = {});
      const rooms = collections[filter.collection] || (collections[filter.collection] = {});
      rooms[room] = this.clusterSize(room);
    }

    return list;
  }

  // -------------------------------------------------------------------------
  // from the cluster

  roomsChanged (changes: RoomChanges): void {
    const koncorde = this.kuzzle.koncorde;

    for (const { room, filter } of changes.appeared) {
      this.vanishing.delete(room);
      if (!koncorde.hasFilter(room)) {
        koncorde.store({ collection: filter.collection, id: room, index: filter.index, normalized: filter.filters });
        debug('added remote room %s (%s/%s)', room, filter.index, filter.collection);
      }
    }
    for (const { room } of changes.vanished) {
      this.vanishing.add(room);
    }
    this.dropVanishedRooms();
  }

  /**
   * Removes vanished remote rooms from Koncorde, a slice at a time: a dead
   * peer can take thousands of rooms with it, and a filter left a little
   * longer only matches a room no node notifies.
   */
  private dropVanishedRooms (): void {
    const koncorde = this.kuzzle.koncorde;
    let budget = VANISHED_ROOMS_PER_TURN;
    const deadline = performance.now() + VANISHED_ROOMS_TURN_MS;

    for (const room of this.vanishing) {
      if (budget-- === 0 || performance.now() > deadline) {
        if (!this.dropScheduled) {
          this.dropScheduled = true;
          setTimeout(() => {
            this.dropScheduled = false;
            this.dropVanishedRooms();
          }, VANISHED_ROOMS_PAUSE_MS);
        }
        return;
      }
      this.vanishing.delete(room);
      // gone for good (not back meanwhile), and not one this node's hotel clerk holds: Kuzzle removes those
      if (!this.node.rooms.has(room) && koncorde.hasFilter(room) && this.localSize(room) === null) {
        koncorde.remove(room);
        debug('removed remote room %s', room);
      }
    }
  }

  localRooms (): LocalRoom[] {
    const rooms: LocalRoom[] = [];
    for (const [room, filter] of this.published) {
      const count = this.localSize(room) || 0;
      if (count > 0) {
        rooms.push({ count, filter, room });
      }
    }
    return rooms;
  }
}
