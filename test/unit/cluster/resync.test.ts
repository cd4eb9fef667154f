import should from 'should';
import sinon from 'sinon';

import { DEFAULT_REPLAY, DEFAULT_TIMERS, resolveBinding } from '../../../lib/config';
import { Acks } from '../../../lib/cluster/acks';
import { Activity } from '../../../lib/cluster/activity';
import { ClusterHost, HostLink } from '../../../lib/cluster/host';
import { Identity } from '../../../lib/cluster/identity';
import { LEFT, Membership, NOT_A_MEMBER, Removal } from '../../../lib/cluster/membership';
import { HeartbeatPayload, PROTOCOL_VERSION, RoomFilter, Sequenced, SyncPayload, Unsequenced } from '../../../lib/cluster/messages';
import { Outbox } from '../../../lib/cluster/outbox';
import type { Peer } from '../../../lib/cluster/peer';
import { ReplayBuffer } from '../../../lib/cluster/replayBuffer';
import { Resync } from '../../../lib/cluster/resync';
import { RoomRegistry } from '../../../lib/cluster/roomRegistry';
import type { NodeSnapshot, StateStore } from '../../../lib/cluster/state';
import { FakeClock, flush } from '../../support/fakeClock';
import { FakeTransport, RecordingLog, StubOf, dropStore, nodeInfo, offlineStore } from '../../support/coreFakes';

const filter = (collection: string): RoomFilter => ({ collection, filters: [[{ exists: 'a' }]], index: 'i' });

interface Fixture {
  /** why each peer was removed, in order */
  removals: Removal[];
  clock: FakeClock;
  identity: Identity;
  registry: RoomRegistry;
  transport: FakeTransport;
  membership: Membership;
  resync: Resync;
  log: RecordingLog;
  host: sinon.SinonStubbedInstance<ClusterHost>;
  apply: sinon.SinonStub<[Peer, Sequenced<SyncPayload>], void>;
  acknowledged: Array<{ peer: string; of: number[] }>;
  snapshot: StubOf<StateStore['snapshot']>;
  setRoom: StubOf<StateStore['setRoom']>;
  register: StubOf<StateStore['register']>;
}

const stores: StateStore[] = [];

function fixture (): Fixture {
  const clock = new FakeClock();
  const identity = new Identity({
    pub: resolveBinding('tcp://127.0.0.1:7511', 'pub'), router: resolveBinding('tcp://127.0.0.1:7510', 'router'),
  });
  const transport = new FakeTransport();
  const acknowledged: Array<{ peer: string; of: number[] }> = [];
  const acks = new Acks(clock, DEFAULT_TIMERS.ackTimeout, (peer, of) => acknowledged.push({ of, peer }));
  const outbox = new Outbox(identity, transport, acks, () => [], new ReplayBuffer(clock, DEFAULT_REPLAY), () => PROTOCOL_VERSION);
  const store = offlineStore();
  stores.push(store);
  const snapshot = sinon.stub(store, 'snapshot').resolves({ registered: true, rooms: [], seq: 0 });
  const setRoom = sinon.stub(store, 'setRoom').resolves(true);
  const register = sinon.stub(store, 'register').resolves();
  const log = new RecordingLog();
  const host: sinon.SinonStubbedInstance<ClusterHost> = {
    localRooms: sinon.stub<[], ReturnType<ClusterHost['localRooms']>>().returns([]),
    onJoined: sinon.stub<[], Promise<void>>().resolves(),
    onNotification: sinon.stub(),
    onSync: sinon.stub(),
    refresh: sinon.stub<[], Promise<void>>().resolves(),
    roomsChanged: sinon.stub(),
  };
  const link = new HostLink(log);
  link.bind(host);
  const removals: Removal[] = [];
  const membership = new Membership({
    clock, identity, isReady: () => true, log,
    listener: {
      partitionChanged: () => undefined, peerAdded: () => undefined, peerRemoved: (_, removal) => removals.push(removal),
      refreshed: () => undefined, selfEvicted: () => undefined,
    },
    outbox, store, timers: DEFAULT_TIMERS, transport,
  });
  const registry = new RoomRegistry();
  const apply = sinon.stub<[Peer, Sequenced<SyncPayload>], void>();
  const resync = new Resync({
    acks, activity: new Activity(clock, 50), apply, host: link, identity, log, membership, outbox, registry, store,
  });
  return { acknowledged, apply, clock, host, identity, log, membership, register, registry, removals, resync, setRoom, snapshot, transport };
}

function heartbeat (from: string, seq: number): Unsequenced<HeartbeatPayload> {
  return { direct: {}, from, ready: true, seq, t: 'heartbeat', v: PROTOCOL_VERSION };
}

/** a peer whose first heartbeat arrived (its numbers known from `seq`) */
function greetedPeer (f: Fixture, id: string, seq = 0, port = 1): Peer {
  const peer = f.membership.add(nodeInfo(id, port));
  peer.onHeartbeat(heartbeat(id, seq), f.identity.id);
  return peer;
}

/** a peer whose state was read once (sane): later reads are resyncs; the stubs' history is reset */
async function sanePeer (f: Fixture, id: string, port = 1): Promise<Peer> {
  const peer = greetedPeer(f, id, 0, port);
  await f.resync.peer(peer, 'join');
  f.snapshot.resetHistory();
  f.host.roomsChanged.resetHistory();
  return peer;
}

/** resolves the returned promise's `release` to let a stubbed call finish */
function gate<T> (value: T): { promise: Promise<T>; release: () => void } {
  let release = (): void => undefined;
  const promise = new Promise<T>(resolve => {
    release = () => resolve(value);
  });
  return { promise, release };
}

function room (from: string, seq: number, name: string, count: number, ack = false): Sequenced<SyncPayload> {
  return { count, filter: filter(name), from, room: name, seq, t: 'room', v: PROTOCOL_VERSION, ...(ack ? { ack } : {}) };
}

describe('resync', () => {
  after(() => {
    for (const store of stores) {
      dropStore(store);
    }
  });

  describe('peer (reread one peer\'s state)', () => {
    it('join: reads the peer\'s snapshot into the registry, announces new rooms, then the peer is sane and synced', async () => {
      const f = fixture();
      const peer = greetedPeer(f, 'p1');
      f.snapshot.resolves({ registered: true, rooms: [{ count: 3, filter: filter('a'), room: 'ra' }], seq: 4 });
      let synced = false;
      void peer.synced.then(() => {
        synced = true;
      });

      await f.resync.peer(peer, 'join');

      should(f.snapshot.calledOnceWithExactly('p1')).be.true();
      should(f.registry.count('ra', 'p1')).equal(3);
      should(f.host.roomsChanged.calledOnce).be.true();
      should(f.host.roomsChanged.firstCall.args[0]).eql({ appeared: [{ filter: filter('a'), room: 'ra' }], vanished: [] });
      should(f.host.refresh.called).be.false();
      should(peer.syncing).be.false();
      should(peer.appliedSeq).equal(4);
      should(peer.view().counters.resyncs).equal(0);
      await flush();
      should(synced).be.true();
    });

    it('replaces what was known of the peer: rooms it no longer holds vanish', async () => {
      const f = fixture();
      const peer = await sanePeer(f, 'p1');
      f.registry.set('p1', 'old', 1, filter('old'));
      f.snapshot.resolves({ registered: true, rooms: [{ count: 1, filter: filter('new'), room: 'new' }], seq: 1 });
      await f.resync.peer(peer, 'gap');
      should(f.registry.has('old')).be.false();
      should(f.registry.roomsOf('p1')).eql(['new']);
      should(f.host.roomsChanged.firstCall.args[0]).eql({
        appeared: [{ filter: filter('new'), room: 'new' }], vanished: [{ filter: filter('old'), room: 'old' }],
      });
    });

    it('gap: also asks the host to refresh what is not in Redis, and counts a resync', async () => {
      const f = fixture();
      const peer = await sanePeer(f, 'p1');
      await f.resync.peer(peer, 'gap');
      should(f.host.refresh.calledOnce).be.true();
      should(peer.view().counters.resyncs).equal(1);
    });

    it('a peer Redis no longer lists is forgotten', async () => {
      const f = fixture();
      const peer = greetedPeer(f, 'p1');
      f.snapshot.resolves({ registered: false, rooms: [], seq: 0 });
      await f.resync.peer(peer, 'join');
      should(f.membership.peer('p1')).be.undefined();
      should(f.transport.disconnected).eql(['p1']);
      should(f.removals).eql([NOT_A_MEMBER]);
    });

    it('a peer gone from Redis whose leave came during the read is removed as having left', async () => {
      const f = fixture();
      const peer = await sanePeer(f, 'p1');
      const read = gate<NodeSnapshot>({ registered: false, rooms: [], seq: 0 });
      f.snapshot.returns(read.promise);
      const done = f.resync.peer(peer, 'gap');
      should(peer.onBroadcast({ from: 'p1', seq: 1, t: 'leave', v: PROTOCOL_VERSION })).eql({ kind: 'buffered' });
      read.release();
      await done;
      should(f.membership.peer('p1')).be.undefined();
      should(f.removals).eql([LEFT]);
    });

    it('a peer forgotten while its snapshot was read: nothing of it is applied', async () => {
      const f = fixture();
      const peer = greetedPeer(f, 'p1');
      const read = gate<NodeSnapshot>({ registered: true, rooms: [{ count: 1, filter: filter('a'), room: 'ra' }], seq: 1 });
      f.snapshot.returns(read.promise);
      const done = f.resync.peer(peer, 'join');
      f.membership.forget(peer, { cause: 'left', detail: 'left' });
      read.release();
      await done;
      should(f.registry.has('ra')).be.false();
      should(f.host.roomsChanged.called).be.false();
    });

    it('messages kept during the read: those the snapshot covers are only acknowledged, later ones applied in order', async () => {
      const f = fixture();
      const peer = greetedPeer(f, 'p1', 0);
      const read = gate<NodeSnapshot>({ registered: true, rooms: [{ count: 1, filter: filter('r1'), room: 'r1' }], seq: 2 });
      f.snapshot.returns(read.promise);
      const done = f.resync.peer(peer, 'join');
      await flush();
      // arrive out of order while the snapshot is read
      for (const message of [room('p1', 3, 'r3', 1), room('p1', 1, 'r1', 1, true), room('p1', 2, 'r2', 1, true)]) {
        should(peer.onBroadcast(message)).eql({ kind: 'buffered' });
      }
      read.release();
      await done;

      should(f.apply.args.map(([, message]) => message.seq)).eql([3]);
      should(f.apply.firstCall.args[0]).equal(peer);
      f.clock.runSoon();
      should(f.acknowledged).eql([{ of: [1, 2], peer: 'p1' }]);
      should(peer.appliedSeq).equal(3);
    });

    it('a read asked for while one runs folds into one more round', async () => {
      const f = fixture();
      const peer = await sanePeer(f, 'p1');
      const read = gate<NodeSnapshot>({ registered: true, rooms: [], seq: 0 });
      f.snapshot.onCall(0).returns(read.promise);

      const first = f.resync.peer(peer, 'gap');
      await flush();
      // three more gaps during the read: one more round, not three
      await Promise.all([f.resync.peer(peer, 'gap'), f.resync.peer(peer, 'gap'), f.resync.peer(peer, 'gap')]);
      read.release();
      await first;
      should(f.snapshot.callCount).equal(2);
      should(peer.view().counters.resyncs).equal(2);
    });

    it('rounds are bounded: at most 5 reads in a row when messages keep going missing', async () => {
      const f = fixture();
      const peer = greetedPeer(f, 'p1');
      // every read sees another gap
      f.snapshot.callsFake(async () => {
        void f.resync.peer(peer, 'gap');
        return { registered: true, rooms: [], seq: 0 };
      });
      await f.resync.peer(peer, 'join');
      should(f.snapshot.callCount).equal(5);
      should(peer.syncing).be.false();
    });

    it('a failed read: logged, the peer goes back to sane, this node republishes when Redis is back (dirty)', async () => {
      const f = fixture();
      const peer = greetedPeer(f, 'p1');
      f.snapshot.rejects(new Error('Connection is closed.'));
      await f.resync.peer(peer, 'join');
      should(f.log.at('warn')).eql(['cannot read the state of p1: Connection is closed.']);
      should(f.resync.dirty).be.true();
      should(peer.syncing).be.false();
      should(peer.greeting).be.false();
    });
  });

  describe('republish (rewrite this node\'s state)', () => {
    it('writes every local room with a fresh sequence number and broadcasts it, in order', async () => {
      const f = fixture();
      f.host.localRooms.returns([
        { count: 2, filter: filter('a'), room: 'ra' },
        { count: 1, filter: filter('b'), room: 'rb' },
      ]);
      await f.resync.republish();

      const self = f.identity.id;
      should(f.setRoom.args).eql([[self, 'ra', 2, filter('a'), 1], [self, 'rb', 1, filter('b'), 2]]);
      should(f.transport.published.map(p => ({ topic: p.topic, ...p.message }))).eql([
        { count: 2, filter: filter('a'), from: self, room: 'ra', seq: 1, t: 'room', topic: 'B', v: PROTOCOL_VERSION },
        { count: 1, filter: filter('b'), from: self, room: 'rb', seq: 2, t: 'room', topic: 'B', v: PROTOCOL_VERSION },
      ]);
      should(f.registry.count('ra', self)).equal(2);
      should(f.host.roomsChanged.callCount).equal(2);
    });

    it('a room this node no longer holds is written at 0 and broadcast without a filter', async () => {
      const f = fixture();
      const self = f.identity.id;
      f.registry.set(self, 'gone', 4, filter('g'));
      f.host.localRooms.returns([]);
      await f.resync.republish();
      should(f.setRoom.args).eql([[self, 'gone', 0, filter('g'), 1]]);
      should(f.transport.published[0].message).eql({ count: 0, from: self, room: 'gone', seq: 1, t: 'room', v: PROTOCOL_VERSION });
      should(f.registry.has('gone')).be.false();
    });

    it('clears the dirty flag', async () => {
      const f = fixture();
      f.resync.markDirty();
      should(f.resync.dirty).be.true();
      await f.resync.republish();
      should(f.resync.dirty).be.false();
    });
  });

  describe('all (folded rounds for every peer)', () => {
    it('registers, republishes, then rereads every peer', async () => {
      const f = fixture();
      await sanePeer(f, 'p1', 1);
      await sanePeer(f, 'p2', 2);
      f.host.localRooms.returns([{ count: 1, filter: filter('a'), room: 'ra' }]);
      await f.resync.all();
      should(f.register.calledOnce).be.true();
      should(f.register.firstCall.args[0]).eql(f.identity.info);
      should(f.setRoom.calledOnce).be.true();
      should(f.register.calledBefore(f.setRoom)).be.true();
      should(f.setRoom.calledBefore(f.snapshot)).be.true();
      should(f.snapshot.args.map(([id]) => id).sort()).eql(['p1', 'p2']);
      // a reset rereads Redis only: the host's caches are refreshed after a gap, not here
      should(f.host.refresh.called).be.false();
    });

    it('concurrent requests fold into one more round, all answered by the same promise', async () => {
      const f = fixture();
      await sanePeer(f, 'p1');
      const registered = gate<void>(undefined);
      f.register.onCall(0).returns(registered.promise);

      const first = f.resync.all();
      await flush();
      const second = f.resync.all();
      const third = f.resync.all();
      should(second).equal(first);
      should(third).equal(first);
      registered.release();
      await Promise.all([first, second, third]);

      // the round under way, then one more for the three calls made meanwhile
      should(f.register.callCount).equal(2);
      should(f.snapshot.callCount).equal(2);
    });

    it('a request after the rounds ended starts new ones', async () => {
      const f = fixture();
      await f.resync.all();
      await f.resync.all();
      should(f.register.callCount).equal(2);
    });

    it('a failure ends the rounds: logged, dirty, the promise still resolves', async () => {
      const f = fixture();
      f.register.rejects(new Error('Redis down'));
      await f.resync.all();
      should(f.log.at('warn')).eql(['resynchronization failed: Redis down']);
      should(f.resync.dirty).be.true();
      should(f.setRoom.called).be.false();
    });
  });
});
