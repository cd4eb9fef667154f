import createDebug from 'debug';

import type { Timers } from '../config';
import type { ActivityReason } from './activity';
import type { Cancel, Clock } from './clock';
import { PartitionVerdict, PartitionWatch } from './health';
import type { Identity } from './identity';
import type { Logger } from './logger';
import type { Outbox } from './outbox';
import { partitionWinner } from './partition';
import { Peer } from './peer';
import type { Liveness, Member, NodeInfo, StateStore } from './state';
import type { ClusterTransport } from './transport';

const debug = createDebug('kuzzle:cluster:membership');

/**
 * A peer counts as heard for twice the node timeout: a dead peer's Redis
 * key expires before that, so a crash is an eviction, never a "partition".
 */
const HEARD_FOR_TIMEOUTS = 2;
/** a peer is asked for acknowledgements if heard within two heartbeats */
const ACKING_FOR_HEARTBEATS = 2;
/**
 * Failure checks run this many times per heartbeat: cheap (a Redis call only
 * for peers silent past nodeTimeout), and detection is bounded by
 * nodeTimeout plus heartbeat / 4.
 */
const FAILURE_CHECKS_PER_HEARTBEAT = 4;
const MIN_FAILURE_CHECK_MS = 10;
/** peers' `hears` lag a heartbeat: a partition verdict holds two before this node steps back */
const PARTITION_HOLD_HEARTBEATS = 2;

/** why a peer left the table: `left` when it said so, else why it was evicted; `detail` is logged */
export interface Removal {
  cause: 'left' | ActivityReason;
  detail: string;
}

export const LEFT: Removal = { cause: 'left', detail: 'left the cluster' };
export const NOT_A_MEMBER: Removal = { cause: 'not_a_member', detail: 'not a member any more' };

export interface MembershipListener {
  peerAdded (peer: Peer): void;
  /** the peer is already out of the table */
  peerRemoved (peer: Peer, removal: Removal): void;
  /** Redis says this node is not a member any more */
  selfEvicted (): void;
  /** the liveness key was refreshed */
  refreshed (): void;
  /** the partition rule made this node step back (a verdict), or let it stand again (null) */
  partitionChanged (verdict: PartitionVerdict | null): void;
}

export interface MembershipOptions {
  identity: Identity;
  timers: Timers;
  store: StateStore;
  transport: ClusterTransport;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  /** this node's own health verdict, published in heartbeats and liveness */
  isReady: () => boolean;
  listener: MembershipListener;
}

/**
 * Who is in the cluster: the peer table, this node's heartbeat (0mq and its
 * Redis liveness key), who each member says it hears, ghost cleanup, failure
 * detection and the eviction race.
 */
export class Membership {
  private readonly peers = new Map<string, Peer>();
  /** live members (from Redis) and the peers each says it hears */
  private members = new Map<string, string[]>();
  private livenessRefreshedAt = 0;
  private readonly partition: PartitionWatch;
  /** whether partitionChanged last announced a verdict */
  private steppedBack = false;
  private timers: Cancel[] = [];
  private stopped = false;
  /** a release of removed nodes' rooms is running; `releaseAgain`: more were removed meanwhile */
  private releasing = false;
  private releaseAgain = false;

  constructor (private readonly options: MembershipOptions) {
    this.partition = new PartitionWatch(PARTITION_HOLD_HEARTBEATS * options.timers.heartbeat);
  }

  /** heartbeats and failure checks, once */
  startTimers (): void {
    if (this.timers.length > 0 || this.stopped) {
      return;
    }
    const { clock, timers } = this.options;
    this.timers = [
      clock.every(timers.heartbeat, () => void this.heartbeat()),
      clock.every(Math.max(MIN_FAILURE_CHECK_MS, Math.floor(timers.heartbeat / FAILURE_CHECKS_PER_HEARTBEAT)),
        () => void this.detectFailures()),
    ];
  }

  stop (): void {
    this.stopped = true;
    for (const cancel of this.timers) {
      cancel();
    }
    this.timers = [];
  }

  peer (id: string): Peer | undefined {
    return this.peers.get(id);
  }

  /** still the same peer (not forgotten, not replaced)? */
  isCurrent (peer: Peer): boolean {
    return this.peers.get(peer.id) === peer;
  }

  all (): Peer[] {
    return Array.from(this.peers.values());
  }

  get size (): number {
    return this.peers.size;
  }

  /** peers heard recently */
  heardPeers (): string[] {
    const now = this.options.clock.now();
    const limit = HEARD_FOR_TIMEOUTS * this.options.timers.nodeTimeout;
    return this.all().filter(p => !p.greeting && p.silentFor(now) <= limit).map(p => p.id);
  }

  /** peers expected to acknowledge a message: greeted, and heard within two heartbeats */
  ackingPeers (): string[] {
    const now = this.options.clock.now();
    const limit = ACKING_FOR_HEARTBEATS * this.options.timers.heartbeat;
    return this.all().filter(p => !p.greeting && p.silentFor(now) <= limit).map(p => p.id);
  }

  liveness (): Liveness {
    return { hears: this.heardPeers(), ready: this.options.isReady() };
  }

  /** ms since this node last refreshed its liveness key */
  livenessAge (): number {
    return this.options.clock.now() - this.livenessRefreshedAt;
  }

  /** the partition verdict against this node, once it held long enough */
  partitionVerdict (): PartitionVerdict | null {
    return this.partition.steppedBack(this.options.clock.now());
  }

  /** registers this node in Redis (join, rejoin, resync) */
  async register (): Promise<void> {
    const { identity, store, timers } = this.options;
    await store.register(identity.info, this.liveness(), timers.nodeTimeout);
    this.livenessRefreshedAt = this.options.clock.now();
    // leftovers of a node that removed another and died before releasing its rooms
    this.releaseRemovedRooms();
  }

  /**
   * Removes a node from Redis. Whoever removed it releases its rooms, in
   * the background: a node holding many rooms does not delay its eviction.
   */
  private async removeNode (id: string, force: boolean): Promise<'alive' | 'gone' | number> {
    const result = await this.options.store.removeNode(id, force);
    if (typeof result === 'number') {
      this.releaseRemovedRooms();
    }
    return result;
  }

  private releaseRemovedRooms (): void {
    if (this.stopped) {
      return;
    }
    if (this.releasing) {
      this.releaseAgain = true;
      return;
    }
    this.releasing = true;
    this.options.store.releaseRemovedRooms().then(
      released => debug('released %d room reference(s) of removed nodes', released),
      (error: Error) => debug('releasing the rooms of removed nodes: %s', error.message),
    ).finally(() => {
      this.releasing = false;
      if (this.releaseAgain) {
        this.releaseAgain = false;
        this.releaseRemovedRooms();
      }
    });
  }

  async heartbeat (): Promise<void> {
    if (this.stopped) {
      return;
    }
    const { identity, listener, outbox, store, timers } = this.options;
    outbox.heartbeat(this.options.isReady());

    let membership: { registered: boolean; members: Member[] };
    try {
      membership = await store.heartbeat(identity.id, this.liveness(), timers.nodeTimeout);
    }
    catch (error) {
      debug('heartbeat: %s', (error as Error).message);
      return;
    }
    if (this.stopped) {
      // answered after stop(): nothing to act on any more
      return;
    }
    if (!membership.registered) {
      listener.selfEvicted();
      return;
    }
    this.livenessRefreshedAt = this.options.clock.now();
    listener.refreshed();
    this.updateMembers(membership.members);
    this.observePartition();
  }

  private updateMembers (members: Member[]): void {
    const { identity, log } = this.options;
    const ids = new Set(members.map(member => member.info.id));
    this.members = new Map();
    for (const { alive, info } of members) {
      if (alive) {
        this.members.set(info.id, alive.hears);
      }
    }

    for (const { alive, info } of members) {
      if (info.id === identity.id || this.peers.has(info.id)) {
        continue;
      }
      if (!alive) {
        void this.removeGhost(info);
      }
      else if (info.pub === identity.info.pub) {
        log.warn(`removing node ${info.id}: previous incarnation of this node at ${info.pub}`);
        this.removeNode(info.id, true).catch(() => undefined);
      }
      else {
        this.add(info);
      }
    }

    for (const peer of this.all()) {
      if (!ids.has(peer.id)) {
        this.forget(peer, NOT_A_MEMBER);
      }
    }
  }

  /** runs every failure check, so a change of verdict is announced within heartbeat / 4 of holding */
  private observePartition (): void {
    const heard = new Set(this.heardPeers());
    const winner = partitionWinner(this.options.identity.id, heard, this.members);
    const now = this.options.clock.now();
    this.partition.observe(winner ? { heard: heard.size + 1, members: this.members.size, winner } : null, now);
    const verdict = this.partition.steppedBack(now);
    if ((verdict !== null) !== this.steppedBack) {
      this.steppedBack = verdict !== null;
      this.options.listener.partitionChanged(verdict);
    }
  }

  private async removeGhost (info: NodeInfo): Promise<void> {
    try {
      const result = await this.removeNode(info.id, false);
      if (typeof result === 'number') {
        this.options.log.warn(`removed the state of dead node ${info.id} (${info.pub}): ${result} room(s)`);
      }
    }
    catch (error) {
      debug('ghost removal failed: %s', (error as Error).message);
    }
  }

  add (info: NodeInfo): Peer {
    const existing = this.peers.get(info.id);
    if (existing) {
      return existing;
    }
    const peer = new Peer(info, this.options.clock.now());
    this.peers.set(info.id, peer);
    this.options.transport.connectPeer(info.id, info.pub);
    this.options.log.info(`adding node ${info.id} (pub ${info.pub}, router ${info.router})`);
    this.options.listener.peerAdded(peer);
    return peer;
  }

  forget (peer: Peer, removal: Removal): void {
    if (!this.isCurrent(peer)) {
      return;
    }
    this.peers.delete(peer.id);
    this.options.transport.disconnectPeer(peer.id);
    peer.forget();
    this.options.listener.peerRemoved(peer, removal);
    this.options.log.warn(`node ${peer.id} (${peer.info.pub}) removed: ${removal.detail}`);
  }

  forgetAll (removal: Removal): void {
    for (const peer of this.all()) {
      this.forget(peer, removal);
    }
  }

  /**
   * A peer silent past nodeTimeout whose Redis key expired is evicted. The
   * survivors race to remove its state from Redis; exactly one wins.
   */
  async detectFailures (): Promise<void> {
    const { clock, outbox, timers } = this.options;
    for (const peer of this.all()) {
      if (peer.silentFor(clock.now()) <= timers.nodeTimeout) {
        continue;
      }
      try {
        const result = await this.removeNode(peer.id, false);
        if (this.stopped) {
          return;
        }
        if (result === 'alive') {
          continue;
        }
        if (typeof result === 'number') {
          // told first, so that the others need not wait for their own check
          void outbox.broadcast({ node: peer.id, t: 'evicted' });
          this.options.log.info(`removed evicted node ${peer.id} and its ${result} room(s) from Redis`);
        }
        this.forget(peer, { cause: 'timeout', detail: `no heartbeat for ${peer.silentFor(clock.now())} ms` });
      }
      catch (error) {
        debug('failure detection: %s', (error as Error).message);
      }
    }
    this.observePartition();
  }

  /** after an eviction: a new incarnation starts with no peers */
  restart (): void {
    this.forgetAll({ cause: 'own_eviction', detail: 'this node was evicted' });
    this.members = new Map();
    this.partition.observe(null, this.options.clock.now());
    this.steppedBack = false;
  }
}
