import createDebug from 'debug';

import type { Acks } from './acks';
import type { Activity } from './activity';
import type { HostLink } from './host';
import type { Identity } from './identity';
import type { Logger } from './logger';
import { LEFT, NOT_A_MEMBER } from './membership';
import type { Membership } from './membership';
import type { RoomFilter, Sequenced, SyncPayload } from './messages';
import type { Outbox } from './outbox';
import type { Peer } from './peer';
import type { RoomRegistry } from './roomRegistry';
import type { StateStore } from './state';

const debug = createDebug('kuzzle:cluster:resync');

/** reads of one peer's state in a row, when messages keep going missing during them */
const MAX_ROUNDS = 5;

export type ResyncReason = 'join' | 'gap' | 'reset';

export interface ResyncOptions {
  identity: Identity;
  store: StateStore;
  registry: RoomRegistry;
  membership: Membership;
  outbox: Outbox;
  acks: Acks;
  host: HostLink;
  log: Logger;
  activity: Activity;
  /** applies one of a peer's state messages, in order */
  apply: (peer: Peer, message: Sequenced<SyncPayload>) => void;
}

/**
 * Redis is the truth: this rereads a peer's state (after its first heartbeat,
 * a gap, a reset), rewrites this node's own (republish), or both for every
 * peer (Redis back, reset). Calls made while a full round runs fold into one
 * more round after it.
 */
export class Resync {
  private everyone: Promise<void> | null = null;
  private everyoneAgain = false;
  /** a Redis write failed: republish everything once Redis is back */
  private stale = false;

  constructor (private readonly options: ResyncOptions) {}

  get dirty (): boolean {
    return this.stale;
  }

  markDirty (): void {
    this.stale = true;
  }

  /** Messages received meanwhile are kept, then applied unless the state read covers them. */
  async peer (peer: Peer, reason: ResyncReason): Promise<void> {
    const first = reason === 'join';
    if (!peer.beginResync(first)) {
      return;
    }
    const { activity, apply, acks, host, log, membership, registry, store } = this.options;
    if (!first) {
      activity.record({ address: peer.info.pub, event: 'resync', id: peer.id, reason });
    }
    let round = 0;
    try {
      do {
        round++;
        peer.nextRound(first, round);
        const before = peer.appliedSeq;
        const snapshot = await store.snapshot(peer.id);

        if (!membership.isCurrent(peer)) {
          return;
        }
        if (!snapshot.registered) {
          // gone from Redis because it left: its 'leave' came during the read
          membership.forget(peer, peer.announcedLeave ? LEFT : NOT_A_MEMBER);
          return;
        }
        const missing = snapshot.rooms.filter(r => r.filter === null && !registry.has(r.room));
        if (missing.length > 0) {
          debug('%d room(s) of %s have no filter in Redis', missing.length, peer.id);
        }
        host.roomsChanged(registry.replaceNode(peer.id, snapshot.rooms));
        if (reason === 'gap') {
          await host.refresh();
        }

        // synchronous from here on: nothing can be kept unseen
        for (const { apply: applies, message } of peer.drain(before, snapshot.seq)) {
          if (!applies) {
            acks.acknowledge(peer.id, message);
            continue;
          }
          apply(peer, message);
          if (!membership.isCurrent(peer)) {
            return;
          }
        }
      } while (peer.wantsAnotherRound && round < MAX_ROUNDS);
    }
    catch (error) {
      log.warn(`cannot read the state of ${peer.id}: ${(error as Error).message}`);
      peer.abandonResync();
      this.stale = true;
    }
    finally {
      peer.endResync();
    }
  }

  /** Rewrites this node's state to Redis and rereads every peer's. */
  all (): Promise<void> {
    this.everyoneAgain = true;
    if (!this.everyone) {
      this.everyone = this.allRounds().finally(() => {
        this.everyone = null;
      });
    }
    return this.everyone;
  }

  private async allRounds (): Promise<void> {
    const { log, membership } = this.options;
    try {
      while (this.everyoneAgain) {
        this.everyoneAgain = false;
        await membership.register();
        await this.republish();
        await Promise.all(membership.all().map(peer => this.peer(peer, 'reset')));
      }
    }
    catch (error) {
      this.stale = true;
      log.warn(`resynchronization failed: ${(error as Error).message}`);
    }
  }

  /** Writes this node's rooms to Redis (rooms it no longer holds at 0) and tells the peers. */
  async republish (): Promise<void> {
    const { host, identity, outbox, registry, store } = this.options;
    const rooms: Array<{ room: string; count: number; filter: RoomFilter | null }> = host.localRooms();
    const held = new Set(rooms.map(r => r.room));
    for (const room of registry.roomsOf(identity.id)) {
      if (!held.has(room)) {
        rooms.push({ count: 0, filter: registry.filter(room) || null, room });
      }
    }

    this.stale = false;
    // ioredis pipelines these: one round trip, applied in order
    await Promise.all(rooms.map(async ({ room, count, filter }) => {
      const seq = outbox.nextSeq();
      host.roomsChanged(registry.set(identity.id, room, count, filter));
      await store.setRoom(identity.id, room, count, filter, seq);
      void outbox.sequenced({ count, filter: count > 0 && filter ? filter : undefined, room, t: 'room' }, seq, false);
    }));
  }
}
