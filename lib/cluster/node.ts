import createDebug from 'debug';

import type { ClusterConfig } from '../config';
import type { HistogramSnapshot } from '../metrics/histogram';
import { Acks } from './acks';
import { Activity, ActivityEntry, ActivityCount } from './activity';
import { Clock, sleep, systemClock, withTimeout } from './clock';
import { Delivery } from './delivery';
import { Handshake } from './handshake';
import { Health, healthVerdict } from './health';
import { ClusterHost, HostLink } from './host';
import { Identity } from './identity';
import { Inbox } from './inbox';
import type { Logger } from './logger';
import { Membership } from './membership';
import { DirectPayload, HostPayload, RoomFilter, ownTopics, readsProtocol } from './messages';
import { Outbox } from './outbox';
import { PeerCounters, noCounters } from './peer';
import { Replay } from './replay';
import { ReplayBuffer } from './replayBuffer';
import { Resync } from './resync';
import { RoomQueries, RoomRegistry } from './roomRegistry';
import { StateStore } from './state';
import { ClusterNodeStatus, statusOf } from './status';
import { ClusterTransport, Transport, TransportFactory } from './transport';

export type { ClusterHost, LocalRoom } from './host';
export type { Health } from './health';
export type { Logger } from './logger';
export type { NodeStatus } from './status';
export type { ActivityEntry } from './activity';

/** what the metrics endpoint reads of a node, beside its status */
export interface NodeMetrics {
  status: ClusterNodeStatus;
  /** nodes this node hears, itself included */
  heard: number;
  minimumNodes: number;
  received: { envelopes: number; messages: number };
  /** membership events seen since start, by event and reason */
  activity: ActivityCount[];
  /** the counters of the peers no longer in the table, summed (so that node-wide totals never go down) */
  departed: PeerCounters;
  ackWaits: HistogramSnapshot;
  redis: { up: boolean; errors: number; roundTrips: HistogramSnapshot };
}

const debug = createDebug('kuzzle:cluster:node');

/** the first state read of every peer may take a hello and a snapshot: two request timeouts */
const SYNC_WAIT_REQUEST_TIMEOUTS = 2;
/** leaving: how long the last messages may take to reach 0mq (the PUB socket lingers 500 ms more) */
const LEAVE_DRAIN_MS = 500;

export interface ClusterNodeOptions {
  clock?: Clock;
  /** how the 0mq transport is made (tests decorate it to inject faults) */
  transport?: TransportFactory;
}

export type StrategyStore = Pick<StateStore, 'saveStrategy' | 'removeStrategy' | 'strategies'>;

/**
 * One member of the cluster: the composition root of the core and its
 * lifecycle (start, join, eviction, stop). Kuzzle-free: everything
 * host-specific goes through ClusterHost.
 */
export class ClusterNode {
  private readonly identity: Identity;
  private readonly registry = new RoomRegistry();
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly host: HostLink;
  private readonly transport: ClusterTransport;
  private readonly acks: Acks;
  private readonly outbox: Outbox;
  private readonly membership: Membership;
  private readonly inbox: Inbox;
  private readonly resync: Resync;
  private readonly delivery: Delivery;
  private readonly handshake: Handshake;
  private readonly replay: Replay;
  private readonly replayBuffer: ReplayBuffer;
  private joined = false;
  private joining: Promise<void> | null = null;
  private stopped = false;
  private evictions = 0;
  private readonly history: Activity;
  private readonly departed = noCounters();

  constructor (
    private readonly config: ClusterConfig,
    private readonly log: Logger,
    options: ClusterNodeOptions = {},
  ) {
    const clock = options.clock || systemClock;
    const makeTransport: TransportFactory = options.transport || ((o, onFrames, onRequest) => new Transport(o, onFrames, onRequest));
    const identity = new Identity(config.bindings);
    this.identity = identity;
    this.clock = clock;
    this.host = new HostLink(log);
    this.store = new StateStore(config.redis, `kuzzle-cluster/${identity.id}`, clock);
    const history = new Activity(clock, config.activity.maxEvents);
    this.history = history;
    this.transport = makeTransport(
      {
        curve: config.curve,
        highWaterMark: config.highWaterMark,
        maxMessageSize: config.maxMessageSize,
        pubUrl: config.bindings.pub.url,
        routerUrl: config.bindings.router.url,
      },
      (peer, frames) => this.inbox.onFrames(peer, frames),
      async frames => this.answer(frames));
    this.transport.setTopics(ownTopics(identity.id));

    const isReady = () => this.health().ok;
    this.acks = new Acks(clock, config.timers.ackTimeout, (peer, of) => this.outbox.ack(peer, of));
    this.replayBuffer = new ReplayBuffer(clock, config.replay);
    this.outbox = new Outbox(identity, this.transport, this.acks, () => this.membership.ackingPeers(), this.replayBuffer,
      peer => readsProtocol(this.membership.peer(peer)?.info.protocol));
    this.membership = new Membership({
      clock, identity, isReady, log,
      listener: {
        peerAdded: peer => {
          history.record({ address: peer.info.pub, event: 'joined', id: peer.id });
          void this.handshake.greet(peer);
        },
        peerRemoved: (peer, { cause, detail }) => {
          history.record(cause === 'left'
            ? { address: peer.info.pub, detail, event: 'left', id: peer.id }
            : { address: peer.info.pub, detail, event: 'evicted', id: peer.id, reason: cause });
          const { counters } = peer.view();
          for (const name of Object.keys(counters) as Array<keyof PeerCounters>) {
            this.departed[name] += counters[name];
          }
          this.outbox.forget(peer.id);
          this.acks.peerGone(peer.id);
          this.host.roomsChanged(this.registry.dropNode(peer.id));
        },
        partitionChanged: verdict => history.record(verdict
          ? { detail: `hears ${verdict.heard} of ${verdict.members} live nodes; the side of ${verdict.winner} stays ready`,
            event: 'not_ready', id: this.id, reason: 'partition' }
          : { detail: 'partition healed', event: 'recovered', id: this.id, reason: 'partition' }),
        refreshed: () => {
          if (this.resync.dirty && this.joined) {
            void this.resync.all();
          }
        },
        selfEvicted: () => void this.onEvicted(),
      },
      outbox: this.outbox, store: this.store, timers: config.timers, transport: this.transport,
    });
    this.resync = new Resync({
      acks: this.acks, activity: history, apply: (peer, message) => this.delivery.apply(peer, message), host: this.host,
      identity, log, membership: this.membership, outbox: this.outbox, registry: this.registry, store: this.store,
    });
    this.inbox = new Inbox(identity, this.membership, config.maxMessageSize, clock, log,
      { ack: (p, m) => this.delivery.ack(p, m), broadcast: (p, m) => this.delivery.broadcast(p, m),
        heartbeat: (p, m) => this.delivery.heartbeat(p, m), notification: (p, m) => this.delivery.notification(p, m) });
    this.replay = new Replay({
      buffer: this.replayBuffer, holdBack: config.replay.holdBack, host: this.host, identity, inbox: this.inbox, log,
      maxMessageSize: config.maxMessageSize, membership: this.membership, resync: this.resync, transport: this.transport,
    });
    this.delivery = new Delivery(identity, this.membership, this.registry, this.host, this.acks, this.resync, this.replay, log);
    this.handshake = new Handshake({
      clock, identity, isJoined: () => this.joined, isReady,
      membership: this.membership, outbox: this.outbox, timers: config.timers, transport: this.transport,
    });

    this.store.on('down', () => {
      history.record({ detail: 'Redis unreachable', event: 'not_ready', id: this.id, reason: 'redis_lost' });
      this.log.warn('Redis unreachable: this node is not ready until it comes back');
    });
    this.store.on('up', () => {
      if (this.joined) {
        history.record({ detail: 'Redis reachable again', event: 'recovered', id: this.id, reason: 'redis_lost' });
        this.log.info('Redis reachable again: resynchronizing');
        void this.resync.all();
      }
    });
  }

  get id (): string {
    return this.identity.id;
  }

  /** a request on this node's ROUTER */
  private answer (frames: Buffer[]): string[] | null {
    const request = this.inbox.request(frames);
    if (!request) {
      return null;
    }
    return request.t === 'hello' ? this.handshake.answer(request) : this.replay.answer(request);
  }

  /** the cluster's rooms, read-only */
  get rooms (): RoomQueries {
    return this.registry;
  }

  /** authentication strategies registered at runtime, kept in Redis */
  get strategies (): StrategyStore {
    return this.store;
  }

  /** Binds the sockets (throws on a bad or busy address). */
  async start (host: ClusterHost): Promise<void> {
    this.host.bind(host);
    const { pub, router } = this.config.bindings;
    try {
      await this.transport.bind();
    }
    catch (error) {
      this.transport.close();
      throw new Error(`cannot bind ${pub.url} / ${router.url}: ${(error as Error).message}`);
    }
    this.log.info(`node ${this.id} listening on pub ${pub.url}, router ${router.url}`);
  }

  /**
   * Joins the cluster, retrying every joinAttemptInterval. Resolves when
   * joined, or after `retryJoin` failed attempts (the node keeps trying).
   */
  join (): Promise<void> {
    if (!this.joining) {
      this.joining = new Promise(resolve => {
        void this.joinLoop(resolve);
      });
    }
    return this.joining;
  }

  /** `release` resolves join() once joined, or after retryJoin attempts (the loop goes on) */
  private async joinLoop (release: () => void): Promise<void> {
    const { retryJoin, timers } = this.config;
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.joinOnce();
        break;
      }
      catch (error) {
        const message = `join attempt ${attempt} failed: ${joinFailure(error as Error)}`;
        if (attempt < retryJoin) {
          this.log.warn(message);
        }
        else if (attempt === retryJoin) {
          this.log.error(`${message}; still not joined after ${attempt} attempts, retrying in the background`);
          release();
        }
        else {
          debug(message);
        }
        await sleep(this.clock, timers.joinAttemptInterval);
      }
    }
    release();
  }

  /** register → republish → timers → heartbeat → wait for every peer's state → joined */
  private async joinOnce (): Promise<void> {
    if (!this.store.isUp) {
      await this.store.connect().catch(async error => {
        // ioredis refuses connect() while it is already reconnecting by itself
        if (!/already connect/i.test((error as Error).message)) {
          throw error;
        }
      });
    }
    await this.membership.register();
    await this.resync.republish();
    this.membership.startTimers();
    await this.membership.heartbeat();

    const wait = SYNC_WAIT_REQUEST_TIMEOUTS * this.config.timers.discoverTimeout;
    await Promise.all(this.membership.all().map(peer => withTimeout(this.clock, peer.synced, wait)));
    await this.host.onJoined();

    this.joined = true;
    const joined = `joined a cluster of ${this.membership.size + 1} node(s)`;
    this.history.record({ address: this.identity.info.pub, detail: joined, event: 'joined', id: this.id });
    this.log.info(`node ${this.id} ${joined}`);
  }

  /** Redis says this node is no member: frozen or cut off too long. It rejoins under a new id. */
  private async onEvicted (): Promise<void> {
    if (this.stopped || !this.joined) {
      return;
    }
    this.evictions++;
    const oldId = this.id;
    this.history.record({
      address: this.identity.info.pub, detail: 'evicted by its peers (frozen or cut off)', event: 'evicted', id: oldId, reason: 'own_eviction',
    });
    this.joined = false;
    this.joining = null;

    this.membership.restart();
    this.registry.clear();
    this.outbox.restart();
    this.identity.renew();
    this.transport.setTopics(ownTopics(this.id));
    this.log.warn(`node ${oldId} was evicted by its peers (frozen or cut off): rejoining as ${this.id}`);
    await this.join();
  }

  /**
   * Records this node's subscription count for a room (0 = none left) in
   * Redis and tells the peers, both at once; resolves once Redis has it and
   * the peers applied it.
   *
   * The peers need not wait for Redis: the message carries the filter, and
   * a peer reading this node's state meanwhile applies the message unless
   * the state it read already holds that number (writes reach Redis in
   * number order, over one connection).
   */
  async setLocalRoom (room: string, count: number, filter: RoomFilter | null): Promise<void> {
    const roomFilter = filter || this.registry.filter(room) || null;
    const seq = this.outbox.nextSeq();
    this.host.roomsChanged(this.registry.set(this.id, room, count, roomFilter));

    if (!this.joined && !this.joining) {
      return;
    }
    const written = this.writeRoom(room, count, roomFilter, seq);
    const applied = this.outbox.sequenced({ count, filter: count > 0 && roomFilter ? roomFilter : undefined, room, t: 'room' }, seq, true);
    await Promise.all([written, applied]);
  }

  private async writeRoom (room: string, count: number, filter: RoomFilter | null, seq: number): Promise<void> {
    try {
      const written = await this.store.setRoom(this.id, room, count, filter, seq);
      if (!written) {
        // refused: this node is not registered any more, which the heartbeat finds out
        void this.membership.heartbeat();
      }
    }
    catch (error) {
      this.resync.markDirty();
      debug('room write failed (%s): republishing when Redis is back', (error as Error).message);
    }
  }

  /** Sequenced broadcast; with `ack`, resolves once every peer heard recently applied it (bounded). */
  broadcast (message: HostPayload, ack = false): Promise<void> {
    return this.outbox.broadcast(message, ack);
  }

  /** resolves once every message broadcast so far with `ack` is acknowledged (or timed out) */
  settled (): Promise<void> {
    return this.acks.settled();
  }

  /**
   * Sends a notification to the nodes having subscribers in those rooms,
   * each getting only its own rooms.
   * @returns number of nodes it was sent to
   */
  notify (rooms: string[], build: (rooms: string[]) => DirectPayload): number {
    const destinations = this.registry.nodesFor(rooms, this.id);
    for (const node of Array.from(destinations.keys())) {
      if (!this.membership.peer(node)) {
        destinations.delete(node);
      }
    }
    this.outbox.notify(destinations, build);
    return destinations.size;
  }

  /** Wipes the cluster state in Redis; every node republishes its own. */
  async reset (): Promise<void> {
    await this.store.reset();
    void this.outbox.broadcast({ t: 'reset' });
    await this.resync.all();
  }

  /** cluster-wide subscription count of a room, leaving out this node's own */
  remoteCount (room: string): number {
    return this.registry.total(room, this.id);
  }

  health (): Health {
    const peers = this.membership.all();
    return healthVerdict({
      dirty: this.resync.dirty,
      joined: this.joined,
      livenessAge: this.membership.livenessAge(),
      minimumNodes: this.config.minimumNodes,
      nodeTimeout: this.config.timers.nodeTimeout,
      nodes: this.membership.heardPeers().length + 1,
      partition: this.membership.partitionVerdict(),
      redisUp: this.store.isUp,
      stopped: this.stopped,
      syncing: peers.filter(peer => peer.syncing).map(peer => peer.id),
    });
  }

  status (): ClusterNodeStatus {
    return statusOf({
      evictions: this.evictions,
      health: this.health(),
      now: this.clock.now(),
      peers: this.membership.all().map(peer => ({ ...peer.view(), buffered: this.replayBuffer.size(peer.id) })),
      registry: this.registry,
      self: this.identity.info,
      seq: this.outbox.lastSeq,
      transport: this.transport,
      unattributed: this.inbox.unattributed,
    });
  }

  /** the last membership events this node saw, oldest first */
  activity (): ActivityEntry[] {
    return this.history.entries();
  }

  get received (): { envelopes: number; messages: number } {
    return { ...this.inbox.received };
  }

  metrics (): NodeMetrics {
    return {
      ackWaits: this.acks.waits.snapshot(),
      activity: this.history.counts(),
      departed: { ...this.departed },
      heard: this.membership.heardPeers().length + 1,
      minimumNodes: this.config.minimumNodes,
      received: this.received,
      redis: { errors: this.store.errors, roundTrips: this.store.roundTrips.snapshot(), up: this.store.isUp },
      status: this.status(),
    };
  }

  /** Graceful leave: removes this node's state and tells the peers at once. */
  async stop (): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    this.history.record({ address: this.identity.info.pub, event: 'left', id: this.id });
    this.membership.stop();
    try {
      const storeUp = this.store.isUp;
      if (storeUp) {
        await this.store.removeNode(this.id, true);
      }
      void this.outbox.broadcast({ t: 'leave' });
      // the peers are told first: this node's room references are released while its last messages drain
      const release = storeUp
        ? this.store.releaseRemovedRooms().catch(error => debug('leave: releasing rooms: %s', (error as Error).message))
        : null;
      await Promise.all([release, this.transport.drain(LEAVE_DRAIN_MS)]);
    }
    catch (error) {
      debug('leave: %s', (error as Error).message);
    }
    this.transport.close();
    await this.store.close();
    this.log.info(`node ${this.id} left the cluster`);
  }
}

function joinFailure (error: Error): string {
  // a standalone client talking to a Redis Cluster node gets redirections it cannot follow
  const hint = /^(MOVED|ASK) /.test(error.message)
    ? ' (this Redis is part of a Redis Cluster: set the plugin\'s "redis" to an array of its nodes)'
    : '';
  return `${error.message}${hint}`;
}
