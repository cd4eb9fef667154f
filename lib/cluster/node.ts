import { v4 as uuid } from 'uuid';
import createDebug from 'debug';

import type { ClusterConfig } from '../config';
import {
  AckMessage, BROADCAST_TOPIC, DirectPayload, Envelope, HeartbeatPayload, HelloRequest,
  InvalidMessageError, Payload, RoomFilter, SyncPayload, decode, encode, nodeTopic,
} from './messages';
import { partitionWinner } from './partition';
import { Peer, PeerCounters, checkSequence } from './peer';
import { RoomChanges, RoomRegistry } from './roomRegistry';
import { Member, NodeInfo, StateStore } from './state';
import { Transport } from './transport';

const debug = createDebug('kuzzle:cluster:node');
const debugMessages = createDebug('kuzzle:cluster:messages');

export interface Logger {
  info (message: string): void;
  warn (message: string): void;
  error (message: string): void;
}

export interface LocalRoom {
  room: string;
  count: number;
  filter: RoomFilter;
}

/** What the node needs from its host (Kuzzle, or a test harness) */
export interface ClusterHost {
  /** rooms that appeared in / vanished from the cluster (filters to add to / remove from the matcher) */
  roomsChanged (changes: RoomChanges): void;
  /** this node's own rooms, republished on (re)join and reset */
  localRooms (): LocalRoom[];
  /** storage, security, validators, strategies, app events, admin messages */
  onSync (from: string, message: SyncPayload): Promise<void> | void;
  onNotification (from: string, message: DirectPayload): Promise<void> | void;
  /** after a message loss: re-read what is not in Redis (caches, validators, strategies) */
  refresh (): Promise<void>;
  /** once joined: exchange strategies and the like */
  onJoined (): Promise<void>;
}

export interface NodeStatus {
  id: string;
  pub: string;
  router: string;
  ready: boolean;
  /** ms since the last message from that node (0 for the local node) */
  lastHeartbeatAge: number;
  /** last sequence number sent (local node) or applied (peer) */
  seq: number;
  counters: PeerCounters | null;
  rooms: number;
  subscriptions: number;
}

export interface Health {
  ok: boolean;
  reason: string | null;
}

const VERSION = (require('../../package.json') as { version: string }).version;

/**
 * One member of the cluster: membership, heartbeats, failure detection,
 * replication of room state and delivery of notifications.
 * Kuzzle-free: everything host-specific goes through ClusterHost.
 */
/** a broadcast message waiting for the peers' acknowledgements */
interface PendingAck {
  waiting: Set<string>;
  done: () => void;
  settled: Promise<void>;
}

export class ClusterNode {
  id: string;
  readonly registry = new RoomRegistry();
  readonly store: StateStore;
  private readonly transport: Transport;
  private readonly peers = new Map<string, Peer>();
  private host: ClusterHost | null = null;
  private seq = 0;
  /** highest sequence number handed to the transport */
  private sentSeq = 0;
  private readonly directSeq = new Map<string, number>();
  private joined = false;
  private joining: Promise<void> | null = null;
  private stopped = false;
  private evictions = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private failureTimer: NodeJS.Timeout | null = null;
  private startedAt = Date.now();
  /** when this node last refreshed its Redis liveness key */
  private livenessRefreshedAt = 0;
  /** since when this node thinks it is on the losing side of a partition (0: it does not) */
  private partitionSince = 0;
  /** live members (from Redis) and the peers each says it hears */
  private members = new Map<string, string[]>();
  /** fault injection (tests): peers whose frames are ignored, as if the link were cut */
  private readonly cutFrom = new Set<string>();
  /** a Redis write failed: republish everything once Redis is back */
  private dirty = false;
  private resyncingAll: Promise<void> | null = null;
  /** broadcast messages waiting for the peers' acknowledgements, by sequence number */
  private readonly pendingAcks = new Map<number, PendingAck>();
  private resyncAllAgain = false;
  /** acknowledgements to send at the end of this event-loop turn, per peer */
  private readonly acksOut = new Map<string, number[]>();
  private readonly loggedInvalid = new Set<string>();
  /** frames dropped before a peer could be identified (unknown sender...) */
  private readonly unattributed: PeerCounters = {
    duplicates: 0, gaps: 0, invalid: 0, lostNotifications: 0, resyncs: 0,
  };

  constructor (
    private readonly config: ClusterConfig,
    private readonly log: Logger,
  ) {
    this.id = uuid();
    this.store = new StateStore(config.redis, `kuzzle-cluster/${this.id}`);
    this.transport = new Transport(
      {
        curve: config.curve,
        highWaterMark: config.highWaterMark,
        maxMessageSize: config.maxMessageSize,
        pubUrl: config.bindings.pub.url,
        routerUrl: config.bindings.router.url,
      },
      (peer, frames) => this.onFrames(peer, frames),
      frames => this.onRequest(frames));
    this.transport.setTopics([BROADCAST_TOPIC, nodeTopic(this.id)]);

    this.store.on('down', () => {
      this.log.warn('Redis unreachable: this node is not ready until it comes back');
    });
    this.store.on('up', () => {
      if (this.joined) {
        this.log.info('Redis reachable again: resynchronizing');
        void this.resyncAll();
      }
    });
  }

  get info (): NodeInfo {
    return {
      id: this.id,
      pub: this.config.bindings.pub.url,
      router: this.config.bindings.router.url,
      startedAt: this.startedAt,
      version: VERSION,
    };
  }

  /** Binds the sockets (throws on a bad or busy address) and starts joining. */
  async start (host: ClusterHost): Promise<void> {
    this.host = host;
    try {
      await this.transport.bind();
    }
    catch (error) {
      this.transport.close();
      throw new Error(`cannot bind ${this.config.bindings.pub.url} / ${this.config.bindings.router.url}: ${(error as Error).message}`);
    }
    this.log.info(`node ${this.id} listening on pub ${this.config.bindings.pub.url}, router ${this.config.bindings.router.url}`);
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
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.joinOnce();
        break;
      }
      catch (error) {
        const reason = (error as Error).message;
        // a standalone client talking to a Redis Cluster node gets redirections it cannot follow
        const hint = /^(MOVED|ASK) /.test(reason)
          ? ' (this Redis is part of a Redis Cluster: set the plugin\'s "redis" to an array of its nodes)'
          : '';
        const message = `join attempt ${attempt} failed: ${reason}${hint}`;
        if (attempt < this.config.retryJoin) {
          this.log.warn(message);
        }
        else if (attempt === this.config.retryJoin) {
          this.log.error(`${message}; still not joined after ${attempt} attempts, retrying in the background`);
          release();
        }
        else {
          debug(message);
        }
        await delay(this.config.timers.joinAttemptInterval);
      }
    }
    release();
  }

  private async joinOnce (): Promise<void> {
    if (!this.store.isUp) {
      await this.store.connect().catch(async error => {
        // ioredis refuses connect() while it is already reconnecting by itself
        if (!/already connect/i.test((error as Error).message)) {
          throw error;
        }
      });
    }

    await this.store.register(this.info, this.liveness(), this.config.timers.nodeTimeout);
    this.livenessRefreshedAt = Date.now();
    await this.republish();

    this.startTimers();
    await this.heartbeat();

    await Promise.all(Array.from(this.peers.values()).map(peer =>
      withTimeout(peer.synced, this.config.timers.discoverTimeout * 2)));

    await this.hostCall(() => (this.host as ClusterHost).onJoined());

    this.joined = true;
    this.log.info(`node ${this.id} joined a cluster of ${this.peers.size + 1} node(s)`);
  }

  private startTimers (): void {
    if (this.heartbeatTimer) {
      return;
    }
    this.heartbeatTimer = setInterval(() => {
      void this.heartbeat();
    }, this.config.timers.heartbeat);
    // cheap (a Redis call only for peers silent past nodeTimeout), and it
    // bounds detection to nodeTimeout plus this interval
    this.failureTimer = setInterval(() => {
      void this.detectFailures();
    }, Math.max(10, Math.floor(this.config.timers.heartbeat / 4)));
    this.heartbeatTimer.unref();
    this.failureTimer.unref();
  }

  private liveness (): { ready: boolean; hears: string[] } {
    return { hears: this.heardPeers(), ready: this.health().ok };
  }

  /**
   * Peers heard recently. Twice the node timeout: a dead peer's Redis key
   * expires before that, so a crash is an eviction, never a "partition".
   */
  private heardPeers (): string[] {
    const now = Date.now();
    const limit = 2 * this.config.timers.nodeTimeout;
    return Array.from(this.peers.values())
      .filter(p => !p.handshaking && now - p.lastSeen <= limit)
      .map(p => p.id);
  }

  // -------------------------------------------------------------------------
  // membership

  private async heartbeat (): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.sendHeartbeat();

    let membership: { registered: boolean; members: Member[] };
    try {
      membership = await this.store.heartbeat(this.id, this.liveness(), this.config.timers.nodeTimeout);
    }
    catch (error) {
      debug('heartbeat: %s', (error as Error).message);
      return;
    }

    if (!membership.registered) {
      await this.onEvicted();
      return;
    }
    this.livenessRefreshedAt = Date.now();
    if (this.dirty && this.joined) {
      void this.resyncAll();
    }

    const memberIds = new Set<string>();
    this.members = new Map(membership.members
      .filter(member => member.alive !== null)
      .map(member => [member.info.id, (member.alive as { hears: string[] }).hears]));
    for (const member of membership.members) {
      memberIds.add(member.info.id);
      if (member.info.id === this.id || this.peers.has(member.info.id)) {
        continue;
      }
      if (member.alive === null) {
        void this.removeGhost(member.info);
      }
      else if (member.info.pub === this.config.bindings.pub.url) {
        // a previous incarnation of this very node (restarted within the TTL)
        this.log.warn(`removing node ${member.info.id}: previous incarnation of this node at ${member.info.pub}`);
        void this.store.removeNode(member.info.id, true).catch(() => undefined);
      }
      else {
        this.addPeer(member.info);
      }
    }

    for (const peer of Array.from(this.peers.values())) {
      if (!memberIds.has(peer.id)) {
        this.forgetPeer(peer, 'not a member any more');
      }
    }
  }

  private sendHeartbeat (): void {
    const direct: Record<string, number> = {};
    for (const [node, seq] of this.directSeq) {
      direct[node] = seq;
    }
    const heartbeat: HeartbeatPayload = { direct, ready: this.health().ok, seq: this.sentSeq, t: 'heartbeat' };
    this.transport.publish(BROADCAST_TOPIC, encode(this.id, heartbeat));
  }

  private async removeGhost (info: NodeInfo): Promise<void> {
    try {
      const result = await this.store.removeNode(info.id, false);
      if (typeof result === 'number') {
        this.log.warn(`removed the state of dead node ${info.id} (${info.pub}): ${result} room(s)`);
      }
    }
    catch (error) {
      debug('ghost removal failed: %s', (error as Error).message);
    }
  }

  private addPeer (info: NodeInfo): Peer {
    const existing = this.peers.get(info.id);
    if (existing) {
      return existing;
    }

    const peer = new Peer(info);
    this.peers.set(info.id, peer);
    this.transport.connectPeer(info.id, info.pub);
    this.log.info(`adding node ${info.id} (pub ${info.pub}, router ${info.router})`);
    void this.greet(peer);
    return peer;
  }

  /** hello makes the peer connect back and send a heartbeat at once */
  private async greet (peer: Peer): Promise<void> {
    const hello: HelloRequest = {
      id: uuid(), pub: this.info.pub, router: this.info.router, t: 'hello',
    };
    const deadline = Date.now() + this.config.timers.discoverTimeout;

    while (peer.handshaking && this.peers.get(peer.id) === peer && Date.now() < deadline) {
      try {
        await this.transport.request(peer.info.router, encode(this.id, hello), this.config.timers.discoverTimeout);
      }
      catch (error) {
        debug('hello to %s: %s', peer.id, (error as Error).message);
      }
      await Promise.race([peer.greeted, delay(Math.min(200, this.config.timers.heartbeat))]);
    }

    if (peer.handshaking) {
      // nothing heard yet: its first heartbeat starts the resync, or it gets
      // evicted if its Redis key expires too
      debug('no heartbeat yet from %s', peer.id);
    }
  }

  private forgetPeer (peer: Peer, reason: string): void {
    if (this.peers.get(peer.id) !== peer) {
      return;
    }
    this.peers.delete(peer.id);
    this.directSeq.delete(peer.id);
    this.stopWaitingFor(peer.id);
    this.transport.disconnectPeer(peer.id);
    this.applyChanges(this.registry.dropNode(peer.id));
    peer.markSynced();
    this.log.warn(`node ${peer.id} (${peer.info.pub}) removed: ${reason}`);
  }

  private async detectFailures (): Promise<void> {
    const now = Date.now();

    for (const peer of Array.from(this.peers.values())) {
      if (now - peer.lastSeen <= this.config.timers.nodeTimeout) {
        continue;
      }
      try {
        const result = await this.store.removeNode(peer.id, false);
        if (result === 'alive') {
          continue;
        }
        const silence = Date.now() - peer.lastSeen;
        if (typeof result === 'number') {
          // this node won the race: it cleaned the Redis state, the others
          // just forget; told first, so they need not wait for their own check
          void this.broadcast({ node: peer.id, t: 'evicted' });
          this.log.info(`removed ${result} room(s) of evicted node ${peer.id} from Redis`);
        }
        this.forgetPeer(peer, `no heartbeat for ${silence} ms`);
      }
      catch (error) {
        debug('failure detection: %s', (error as Error).message);
      }
    }
  }

  private async onEvicted (): Promise<void> {
    if (this.stopped || !this.joined) {
      return;
    }
    this.evictions++;
    const oldId = this.id;
    this.joined = false;
    this.joining = null;

    for (const peer of Array.from(this.peers.values())) {
      this.forgetPeer(peer, 'this node was evicted');
    }
    this.registry.clear();
    this.directSeq.clear();
    this.seq = 0;
    this.sentSeq = 0;
    this.id = uuid();
    this.transport.setTopics([BROADCAST_TOPIC, nodeTopic(this.id)]);
    this.log.warn(`node ${oldId} was evicted by its peers (frozen or cut off): rejoining as ${this.id}`);
    await this.join();
  }

  // -------------------------------------------------------------------------
  // local changes

  /**
   * Records this node's subscription count for a room (0 = none left) in
   * Redis, then tells the peers.
   */
  async setLocalRoom (room: string, count: number, filter: RoomFilter | null): Promise<void> {
    const known = this.registry.filter(room) || null;
    const roomFilter = filter || known;
    const seq = ++this.seq;

    this.applyChanges(this.registry.set(this.id, room, count, roomFilter));

    if (!this.joined && !this.joining) {
      return;
    }

    try {
      const written = await this.store.setRoom(this.id, room, count, roomFilter, seq);
      if (!written) {
        void this.heartbeat();
      }
    }
    catch (error) {
      this.dirty = true;
      debug('room write failed (%s): republishing when Redis is back', (error as Error).message);
    }

    // the subscription is acknowledged to the client once every peer knows it
    await this.send({ count, filter: count > 0 && roomFilter ? roomFilter : undefined, room, t: 'room' }, seq, true);
  }

  private async republish (): Promise<void> {
    const host = this.host as ClusterHost;
    const rooms = host.localRooms();
    const mine = new Set(rooms.map(r => r.room));

    for (const room of this.registry.roomsOf(this.id)) {
      if (!mine.has(room)) {
        rooms.push({ count: 0, filter: this.registry.filter(room) as RoomFilter, room });
      }
    }

    this.dirty = false;
    // ioredis pipelines these: one round trip, applied in order
    await Promise.all(rooms.map(async ({ room, count, filter }) => {
      const seq = ++this.seq;
      this.applyChanges(this.registry.set(this.id, room, count, filter));
      await this.store.setRoom(this.id, room, count, filter, seq);
      this.send({ count, filter: count > 0 ? filter : undefined, room, t: 'room' }, seq);
    }));
  }

  /**
   * Sequenced broadcast. With `ack`, the returned promise resolves once
   * every peer heard recently applied the message, or after timers.ackTimeout.
   */
  broadcast (message: SyncPayload, ack = false): Promise<void> {
    return this.send(message, ++this.seq, ack);
  }

  private send (message: SyncPayload, seq: number, ack = false): Promise<void> {
    // heartbeats announce what was sent, not numbers still waiting on Redis
    this.sentSeq = Math.max(this.sentSeq, seq);
    const wait = ack && this.config.timers.ackTimeout > 0;
    const waiting = new Set(wait ? this.ackingPeers() : []);
    this.transport.publish(BROADCAST_TOPIC, encode(this.id, message, seq, waiting.size > 0));

    if (waiting.size === 0) {
      return Promise.resolve();
    }
    let done = (): void => undefined;
    const settled = new Promise<void>(resolve => {
      const timer = setTimeout(() => {
        debug('message #%d: no ack from %o within %d ms', seq, Array.from(waiting), this.config.timers.ackTimeout);
        done();
      }, this.config.timers.ackTimeout);
      done = (): void => {
        clearTimeout(timer);
        this.pendingAcks.delete(seq);
        resolve();
      };
    });
    this.pendingAcks.set(seq, { done, settled, waiting });
    return settled;
  }

  /** resolves once every message broadcast so far with `ack` is acknowledged (or timed out) */
  async settled (): Promise<void> {
    await Promise.all(Array.from(this.pendingAcks.values()).map(pending => pending.settled));
  }

  /** peers expected to acknowledge: greeted, and heard within two heartbeats */
  private ackingPeers (): string[] {
    const now = Date.now();
    return Array.from(this.peers.values())
      .filter(p => !p.handshaking && now - p.lastSeen <= 2 * this.config.timers.heartbeat)
      .map(p => p.id);
  }

  private onAck (peer: Peer, of: number[]): void {
    for (const seq of of) {
      this.noLongerWaiting(this.pendingAcks.get(seq), peer.id);
    }
  }

  /** a peer that is gone will not acknowledge anything */
  private stopWaitingFor (peer: string): void {
    for (const pending of Array.from(this.pendingAcks.values())) {
      this.noLongerWaiting(pending, peer);
    }
  }

  /** a pending message settles when the last peer it waits for acknowledged it or left */
  private noLongerWaiting (pending: PendingAck | undefined, peer: string): void {
    if (pending && pending.waiting.delete(peer) && pending.waiting.size === 0) {
      pending.done();
    }
  }

  /** acknowledgements are coalesced: one message per peer and event-loop turn */
  private acknowledge (peer: Peer, message: Envelope<SyncPayload>): void {
    if (!message.ack) {
      return;
    }
    const seqs = this.acksOut.get(peer.id);
    if (seqs) {
      seqs.push(message.seq as number);
      return;
    }
    this.acksOut.set(peer.id, [message.seq as number]);
    if (this.acksOut.size === 1) {
      setImmediate(() => this.sendAcks());
    }
  }

  private sendAcks (): void {
    for (const [peer, of] of this.acksOut) {
      const ack: AckMessage = { of, t: 'ack' };
      this.transport.publish(nodeTopic(peer), encode(this.id, ack));
    }
    this.acksOut.clear();
  }

  /**
   * Sends a notification to the nodes having subscribers in those rooms,
   * each getting only its own rooms.
   * @returns number of nodes it was sent to
   */
  notify (rooms: string[], build: (rooms: string[]) => DirectPayload): number {
    let sent = 0;
    for (const [node, nodeRooms] of this.registry.nodesFor(rooms, this.id)) {
      if (this.peers.has(node)) {
        const seq = (this.directSeq.get(node) || 0) + 1;
        this.directSeq.set(node, seq);
        this.transport.publish(nodeTopic(node), encode(this.id, build(nodeRooms), seq));
        sent++;
      }
    }
    return sent;
  }

  /** Wipes the cluster state in Redis; every node republishes its own. */
  async reset (): Promise<void> {
    await this.store.reset();
    void this.broadcast({ t: 'reset' });
    await this.resyncAll();
  }

  /**
   * Rewrites this node's state to Redis and re-reads every peer's. Calls
   * made while one runs are folded into one more round after it.
   */
  private resyncAll (): Promise<void> {
    this.resyncAllAgain = true;
    if (!this.resyncingAll) {
      this.resyncingAll = (async () => {
        try {
          while (this.resyncAllAgain) {
            this.resyncAllAgain = false;
            await this.store.register(this.info, this.liveness(), this.config.timers.nodeTimeout);
            await this.republish();
            await Promise.all(Array.from(this.peers.values()).map(peer => this.resync(peer, 'reset')));
          }
        }
        catch (error) {
          this.dirty = true;
          this.log.warn(`resynchronization failed: ${(error as Error).message}`);
        }
        finally {
          this.resyncingAll = null;
        }
      })();
    }
    return this.resyncingAll;
  }

  // -------------------------------------------------------------------------
  // inbound

  private countInvalid (peer: Peer | undefined, source: string, error: Error): void {
    (peer ? peer.counters : this.unattributed).invalid++;
    const kind = error instanceof InvalidMessageError ? error.kind : 'malformed';
    const key = `${source}/${kind}`;
    if (!this.loggedInvalid.has(key)) {
      this.loggedInvalid.add(key);
      this.log.warn(`dropping invalid message from ${source}: ${error.message} (logged once per source and kind; see status counters)`);
    }
  }

  /** one 0mq message from a peer: a topic, then one or more envelopes */
  private onFrames (peerId: string, frames: Buffer[]): void {
    const peer = this.peers.get(peerId);

    if (!peer || this.cutFrom.has(peerId)) {
      return;
    }
    if (frames.length < 2) {
      this.countInvalid(peer, peerId, new InvalidMessageError('malformed', `expected a topic and envelopes, got ${frames.length} frame(s)`));
      return;
    }

    const topic = frames[0].toString();
    for (let i = 1; i < frames.length && this.peers.get(peerId) === peer; i++) {
      this.onEnvelope(peer, topic, frames[i]);
    }
  }

  private onEnvelope (peer: Peer, topic: string, frame: Buffer): void {
    const peerId = peer.id;
    let envelope: Envelope;
    try {
      envelope = decode(frame, this.config.maxMessageSize);
    }
    catch (error) {
      this.countInvalid(peer, peerId, error as Error);
      return;
    }

    if (envelope.from !== peerId) {
      this.countInvalid(peer, peerId, new InvalidMessageError('malformed', `sender claims to be ${envelope.from}`));
      return;
    }

    const direct = envelope.t === 'document' || envelope.t === 'user' || envelope.t === 'ack';
    if (topic !== (direct ? nodeTopic(this.id) : BROADCAST_TOPIC)) {
      this.countInvalid(peer, peerId, new InvalidMessageError('malformed', `message "${envelope.t}" on topic ${topic}`));
      return;
    }

    peer.lastSeen = Date.now();
    debugMessages('%s <- %s %s #%d', this.id, peerId, envelope.t, envelope.seq);

    if (envelope.t === 'heartbeat') {
      this.onHeartbeat(peer, envelope as Envelope<HeartbeatPayload>);
    }
    else if (envelope.t === 'ack') {
      this.onAck(peer, (envelope as Envelope<AckMessage>).of);
    }
    else if (direct) {
      this.onDirect(peer, envelope as Envelope<DirectPayload>);
    }
    else if (envelope.t === 'hello' || envelope.t === 'welcome') {
      this.countInvalid(peer, peerId, new InvalidMessageError('type', `"${envelope.t}" is a router message`));
    }
    else {
      this.onSequenced(peer, envelope as Envelope<SyncPayload>);
    }
  }

  private onHeartbeat (peer: Peer, heartbeat: Envelope<HeartbeatPayload>): void {
    peer.ready = heartbeat.ready;
    const directSent = heartbeat.direct[this.id] || 0;

    if (peer.handshaking) {
      // everything up to these numbers was sent before this node listened
      peer.handshaking = false;
      peer.seq = heartbeat.seq;
      peer.directSeq = directSent;
      peer.markGreeted();
      void this.resync(peer, 'join');
      return;
    }

    if (directSent > peer.directSeq) {
      this.lostNotifications(peer, directSent - peer.directSeq);
      peer.directSeq = directSent;
    }
    if (!peer.syncing && heartbeat.seq > peer.seq) {
      peer.counters.gaps++;
      this.log.warn(`lost the last ${heartbeat.seq - peer.seq} message(s) from ${peer.id}: resynchronizing`);
      void this.resync(peer, 'gap');
    }
  }

  private lostNotifications (peer: Peer, lost: number): void {
    peer.counters.lostNotifications += lost;
    this.log.warn(`${lost} notification(s) from ${peer.id} were lost (slow or dropped link): resynchronizing`);
    void this.resync(peer, 'gap');
  }

  private onDirect (peer: Peer, message: Envelope<DirectPayload>): void {
    if (peer.handshaking) {
      return;
    }
    const verdict = checkSequence(peer.directSeq, message.seq as number);

    if (verdict === 'duplicate') {
      peer.counters.duplicates++;
      return;
    }
    if (verdict === 'gap') {
      this.lostNotifications(peer, (message.seq as number) - peer.directSeq - 1);
    }
    peer.directSeq = message.seq as number;
    void this.hostCall(() => (this.host as ClusterHost).onNotification(peer.id, message));
  }

  private onSequenced (peer: Peer, message: Envelope<SyncPayload>): void {
    if (peer.handshaking) {
      return;
    }
    if (peer.syncing) {
      peer.buffer.push(message);
      return;
    }

    const verdict = checkSequence(peer.seq, message.seq as number);
    if (verdict === 'duplicate') {
      peer.counters.duplicates++;
      return;
    }
    if (verdict === 'gap') {
      peer.counters.gaps++;
      this.log.warn(`message(s) ${peer.seq + 1}..${(message.seq as number) - 1} from ${peer.id} lost: resynchronizing`);
      peer.buffer.push(message);
      void this.resync(peer, 'gap');
      return;
    }

    peer.seq = message.seq as number;
    this.apply(peer, message);
  }

  private apply (peer: Peer, message: Envelope<SyncPayload>): void {
    switch (message.t) {
      case 'room':
        this.applyChanges(this.registry.set(peer.id, message.room, message.count, message.filter || null));
        this.acknowledge(peer, message);
        return;
      case 'leave':
        this.forgetPeer(peer, 'left the cluster');
        return;
      case 'evicted': {
        const evicted = this.peers.get(message.node);
        if (evicted) {
          this.forgetPeer(evicted, `evicted by ${peer.id}`);
        }
        else if (message.node === this.id) {
          void this.heartbeat();
        }
        return;
      }
      case 'reset':
        void this.resyncAll();
        return;
      default:
        void this.hostCall(() => (this.host as ClusterHost).onSync(peer.id, message))
          .then(() => this.acknowledge(peer, message));
    }
  }

  /**
   * Re-reads a peer's state from Redis. Messages received meanwhile are
   * buffered, then applied unless the snapshot already covers them.
   */
  private async resync (peer: Peer, reason: 'join' | 'gap' | 'reset'): Promise<void> {
    if (peer.syncing && reason !== 'join') {
      peer.resyncAgain = true;
      return;
    }
    peer.syncing = true;
    let attempts = 0;

    try {
      do {
        peer.resyncAgain = false;
        attempts++;
        if (reason !== 'join' || attempts > 1) {
          peer.counters.resyncs++;
        }

        const before = peer.seq;
        const snapshot = await this.store.snapshot(peer.id);

        if (this.peers.get(peer.id) !== peer) {
          return;
        }
        if (!snapshot.registered) {
          this.forgetPeer(peer, 'not a member any more');
          return;
        }

        const missing = snapshot.rooms.filter(r => r.filter === null && !this.registry.has(r.room));
        if (missing.length > 0) {
          debug('%d room(s) of %s have no filter in Redis', missing.length, peer.id);
        }
        this.applyChanges(this.registry.replaceNode(peer.id, snapshot.rooms));

        if (reason === 'gap') {
          await this.hostCall(() => (this.host as ClusterHost).refresh());
        }

        // synchronous from here on: nothing can be buffered unseen
        const buffered = peer.buffer.sort((a, b) => (a.seq as number) - (b.seq as number));
        peer.buffer = [];
        let last = Math.max(before, snapshot.seq);

        for (const message of buffered) {
          const seq = message.seq as number;
          if (seq <= before || (message.t === 'room' && seq <= snapshot.seq)) {
            // already applied (a duplicate, or a late one), or in the state read from Redis
            if (seq <= before) {
              peer.counters.duplicates++;
            }
            this.acknowledge(peer, message);
            continue;
          }
          if (seq > last + 1) {
            peer.counters.gaps++;
            peer.resyncAgain = true;
          }
          this.apply(peer, message);
          last = Math.max(last, seq);
          if (this.peers.get(peer.id) !== peer) {
            return;
          }
        }
        peer.seq = last;
      } while (peer.resyncAgain && attempts < 5);
    }
    catch (error) {
      this.log.warn(`cannot read the state of ${peer.id}: ${(error as Error).message}`);
      peer.resyncAgain = false;
      // retried at the next gap or heartbeat watermark
      peer.seq = Math.max(peer.seq, ...peer.buffer.map(m => m.seq as number));
      peer.buffer = [];
      this.dirty = true;
    }
    finally {
      peer.syncing = false;
      peer.markSynced();
    }
  }

  private applyChanges (changes: RoomChanges): void {
    if (changes.appeared.length > 0 || changes.vanished.length > 0) {
      try {
        (this.host as ClusterHost).roomsChanged(changes);
      }
      catch (error) {
        this.log.error(`cannot apply room changes: ${(error as Error).message}`);
      }
    }
  }

  private async hostCall (fn: () => Promise<void> | void): Promise<void> {
    try {
      await fn();
    }
    catch (error) {
      this.log.error(`${(error as Error).stack || error}`);
    }
  }

  /** router requests from peers */
  private async onRequest (frames: Buffer[]): Promise<string | null> {
    let request: Envelope;
    try {
      if (frames.length !== 1) {
        throw new InvalidMessageError('malformed', `expected 1 frame, got ${frames.length}`);
      }
      request = decode(frames[0], this.config.maxMessageSize);
      if (request.t !== 'hello') {
        throw new InvalidMessageError('type', `"${request.t}" is not a router request`);
      }
    }
    catch (error) {
      this.countInvalid(undefined, 'router', error as Error);
      return null;
    }

    const hello = request as Envelope<HelloRequest>;
    if (hello.from !== this.id && !this.peers.has(hello.from) && this.joined) {
      // unknown yet: only a registered member becomes a peer (checked by its snapshot)
      this.addPeer({ id: hello.from, pub: hello.pub, router: hello.router, startedAt: 0, version: '' });
    }
    this.sendHeartbeat();
    const reply: Payload = { id: hello.id, t: 'welcome' };
    return encode(this.id, reply);
  }

  /** Fault injection for tests: ignore everything from these peers (a cut link) */
  injectCut (peers: string[]): void {
    this.cutFrom.clear();
    for (const peer of peers) {
      this.cutFrom.add(peer);
    }
  }

  /** Fault injection for tests: `lose` returns true for each outbound message to lose */
  injectOutboundLoss (lose: ((type: string, topic: string) => boolean) | null): void {
    this.transport.loseOutbound = lose && ((topic, body) => {
      const type = /"t":"([a-z]+)"/.exec(body);
      return lose(type ? type[1] : '', topic);
    });
  }

  // -------------------------------------------------------------------------
  // queries

  /** cluster-wide subscription count of a room, leaving out this node's own */
  remoteCount (room: string): number {
    return this.registry.total(room, this.id);
  }

  health (): Health {
    if (this.stopped) {
      return { ok: false, reason: 'node stopped' };
    }
    if (!this.joined) {
      return { ok: false, reason: 'not joined yet' };
    }
    if (!this.store.isUp) {
      return { ok: false, reason: 'Redis unreachable' };
    }
    const silence = Date.now() - this.livenessRefreshedAt;
    if (silence > this.config.timers.nodeTimeout) {
      // frozen, or cut from Redis: the peers may have evicted this node already
      return { ok: false, reason: `liveness not refreshed for ${silence} ms: possibly evicted, checking` };
    }
    // a peer still greeting is not waited for: a node joining must not make
    // the others flap; a peer being re-read after a loss is
    const syncing = Array.from(this.peers.values()).filter(p => p.syncing && !p.handshaking);
    if (syncing.length > 0) {
      return { ok: false, reason: `synchronizing with ${syncing.map(p => p.id).join(', ')}` };
    }
    if (this.dirty) {
      return { ok: false, reason: 'local state not yet written to Redis' };
    }
    const heard = new Set(this.heardPeers());
    const winner = partitionWinner(this.id, heard, this.members);
    // what others say they hear comes from their last heartbeat: the verdict
    // must hold for two heartbeats before this node steps back
    if (!winner) {
      this.partitionSince = 0;
    }
    else if (this.partitionSince === 0) {
      this.partitionSince = Date.now();
    }
    if (winner && Date.now() - this.partitionSince >= 2 * this.config.timers.heartbeat) {
      return {
        ok: false,
        reason: `partitioned: this node hears ${heard.size + 1} of ${this.members.size} live nodes; the side of ${winner} stays ready`,
      };
    }
    const nodes = heard.size + 1;
    if (nodes < this.config.minimumNodes) {
      return { ok: false, reason: `${nodes} node(s) in the cluster, minimumNodes is ${this.config.minimumNodes}` };
    }
    return { ok: true, reason: null };
  }

  status (): {
    self: NodeStatus; peers: NodeStatus[]; evictions: number; dropped: number; denied: number; unattributed: PeerCounters;
    sent: { envelopes: number; messages: number };
  } {
    const now = Date.now();
    const self: NodeStatus = {
      counters: null,
      id: this.id,
      lastHeartbeatAge: 0,
      pub: this.config.bindings.pub.url,
      ready: this.health().ok,
      rooms: this.registry.roomsOf(this.id).length,
      router: this.config.bindings.router.url,
      seq: this.seq,
      subscriptions: this.registry.subscriptionsOf(this.id),
    };
    const peers = Array.from(this.peers.values()).map(peer => ({
      counters: { ...peer.counters },
      id: peer.id,
      lastHeartbeatAge: now - peer.lastSeen,
      pub: peer.info.pub,
      ready: peer.ready,
      rooms: this.registry.roomsOf(peer.id).length,
      router: peer.info.router,
      seq: peer.seq,
      subscriptions: this.registry.subscriptionsOf(peer.id),
    }));
    return {
      denied: this.transport.denied,
      dropped: this.transport.dropped,
      evictions: this.evictions,
      peers,
      self,
      sent: { ...this.transport.sent },
      unattributed: { ...this.unattributed },
    };
  }

  /** Graceful leave: removes this node's state and tells the peers at once. */
  async stop (): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    if (this.heartbeatTimer) {
      clearInterval(this.heartbeatTimer);
    }
    if (this.failureTimer) {
      clearInterval(this.failureTimer);
    }
    try {
      if (this.store.isUp) {
        await this.store.removeNode(this.id, true);
      }
      void this.broadcast({ t: 'leave' });
      await this.transport.drain(500);
    }
    catch (error) {
      debug('leave: %s', (error as Error).message);
    }
    this.transport.close();
    await this.store.close();
    this.log.info(`node ${this.id} left the cluster`);
  }
}

function delay (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

function withTimeout (promise: Promise<void>, ms: number): Promise<void> {
  return Promise.race([promise, delay(ms)]);
}
