import should from 'should';
import sinon from 'sinon';

import { ClusterHost, ClusterNode } from '../../../lib/cluster/node';
import {
  BROADCAST_TOPIC, HeartbeatPayload, PROTOCOL_VERSION, RoomFilter, compactTopic, encode, nodeTopic,
} from '../../../lib/cluster/messages';
import { Liveness, Member, NodeInfo, NodeSnapshot, StateStore } from '../../../lib/cluster/state';
import { FakeClock, flush, settled } from '../../support/fakeClock';
import { FakeTransport, RecordingLog, fakeTransportFactory, nodeInfo, unitConfig } from '../../support/coreFakes';

const filter = (collection: string): RoomFilter => ({ collection, filters: [[{ exists: 'a' }]], index: 'i' });

/**
 * Redis as the node sees it through StateStore, in memory: the store's
 * methods are stubbed on its prototype (ClusterNode makes its own store).
 */
class FakeRedis {
  up = false;
  readonly members = new Map<string, { info: NodeInfo; alive: Liveness | null }>();
  readonly rooms: Array<{ id: string; room: string; count: number; filter: RoomFilter | null; seq: number }> = [];
  /** the store the node made (captured on its first call) */
  store: StateStore | null = null;
  /** what register() does: succeed, or throw this */
  registerError: (() => Error | null) = () => null;
  snapshots = new Map<string, NodeSnapshot>();
  setRoomResult: () => Promise<boolean> = async () => true;

  readonly stubs: {
    connect: sinon.SinonStub<[], Promise<void>>;
    register: sinon.SinonStub<[NodeInfo, Liveness, number], Promise<void>>;
    heartbeat: sinon.SinonStub<[string, Liveness, number], Promise<{ registered: boolean; members: Member[] }>>;
    setRoom: sinon.SinonStub<[string, string, number, RoomFilter | null, number], Promise<boolean>>;
    snapshot: sinon.SinonStub<[string], Promise<NodeSnapshot>>;
    removeNode: sinon.SinonStub<[string, boolean], Promise<'alive' | 'gone' | number>>;
    releaseRemovedRooms: sinon.SinonStub<[], Promise<number>>;
    reset: sinon.SinonStub<[], Promise<number>>;
    close: sinon.SinonStub<[], Promise<void>>;
  };

  constructor (sandbox: sinon.SinonSandbox) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const redis = this;
    const proto = StateStore.prototype;
    sandbox.stub(proto, 'isUp').get(() => redis.up);
    this.stubs = {
      close: sandbox.stub(proto, 'close').resolves(),
      connect: sandbox.stub(proto, 'connect').callsFake(async function (this: StateStore) {
        redis.store = this;
        redis.up = true;
      }),
      heartbeat: sandbox.stub(proto, 'heartbeat').callsFake(async (id, liveness) => {
        const self = redis.members.get(id);
        if (!self) {
          return { members: [], registered: false };
        }
        self.alive = liveness;
        return { members: Array.from(redis.members.values()).map(m => ({ alive: m.alive, info: m.info })), registered: true };
      }),
      register: sandbox.stub(proto, 'register').callsFake(async (info, liveness) => {
        const error = redis.registerError();
        if (error) {
          throw error;
        }
        redis.members.set(info.id, { alive: liveness, info });
      }),
      releaseRemovedRooms: sandbox.stub(proto, 'releaseRemovedRooms').resolves(0),
      removeNode: sandbox.stub(proto, 'removeNode').callsFake(async id => (redis.members.delete(id) ? 0 : 'gone')),
      reset: sandbox.stub(proto, 'reset').resolves(0),
      setRoom: sandbox.stub(proto, 'setRoom').callsFake(async (id, room, count, roomFilter, seq) => {
        redis.rooms.push({ count, filter: roomFilter, id, room, seq });
        return redis.setRoomResult();
      }),
      snapshot: sandbox.stub(proto, 'snapshot').callsFake(async id =>
        redis.snapshots.get(id) || { registered: redis.members.has(id), rooms: [], seq: 0 }),
    };
  }

  /** another node, registered and alive */
  addMember (info: NodeInfo): void {
    this.members.set(info.id, { alive: { hears: [], ready: true }, info });
  }
}

function fakeHost (rooms: Array<{ room: string; count: number; filter: RoomFilter }> = []): sinon.SinonStubbedInstance<ClusterHost> {
  return {
    localRooms: sinon.stub<[], ReturnType<ClusterHost['localRooms']>>().callsFake(() => rooms),
    onJoined: sinon.stub<[], Promise<void>>().resolves(),
    onNotification: sinon.stub(),
    onSync: sinon.stub(),
    refresh: sinon.stub<[], Promise<void>>().resolves(),
    roomsChanged: sinon.stub(),
  };
}

interface Fixture {
  node: ClusterNode;
  clock: FakeClock;
  redis: FakeRedis;
  transport: FakeTransport;
  log: RecordingLog;
  host: sinon.SinonStubbedInstance<ClusterHost>;
}

function heartbeatFrom (id: string, seq = 0): string {
  const heartbeat: HeartbeatPayload = { direct: {}, ready: true, seq, t: 'heartbeat' };
  return encode(id, heartbeat);
}

describe('ClusterNode (composition root, fake transport, stubbed Redis, fake clock)', () => {
  const sandbox = sinon.createSandbox();
  const nodes: ClusterNode[] = [];

  async function fixture (config: Record<string, unknown> = {}, rooms: Array<{ room: string; count: number; filter: RoomFilter }> = []): Promise<Fixture> {
    const clock = new FakeClock();
    const redis = new FakeRedis(sandbox);
    const log = new RecordingLog();
    const made: FakeTransport[] = [];
    const node = new ClusterNode(unitConfig(config), log, { clock, transport: fakeTransportFactory(t => made.push(t)) });
    nodes.push(node);
    const host = fakeHost(rooms);
    await node.start(host);
    return { clock, host, log, node, redis, transport: made[0] };
  }

  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      await node.stop();
    }
    sandbox.restore();
  });

  describe('start', () => {
    it('makes its transport with the configured options and subscribes to the broadcast and its own topics', async () => {
      const f = await fixture({ highWaterMark: 123 });
      should(f.transport.options).eql({
        curve: null, highWaterMark: 123, maxMessageSize: 16 * 1024 * 1024,
        pubUrl: 'tcp://127.0.0.1:17511', routerUrl: 'tcp://127.0.0.1:17510',
      });
      should(f.transport.topicsSet).eql([[BROADCAST_TOPIC, nodeTopic(f.node.id), compactTopic(f.node.id)]]);
      should(f.transport.bound).be.true();
      should(f.log.at('info')).eql([`node ${f.node.id} listening on pub tcp://127.0.0.1:17511, router tcp://127.0.0.1:17510`]);
    });

    it('a bind failure closes the transport and names both addresses', async () => {
      const clock = new FakeClock();
      new FakeRedis(sandbox);
      const made: FakeTransport[] = [];
      const node = new ClusterNode(unitConfig(), new RecordingLog(), { clock, transport: fakeTransportFactory(t => made.push(t)) });
      made[0].bindResult = async () => {
        throw new Error('Address already in use');
      };
      await should(node.start(fakeHost())).be.rejectedWith(
        'cannot bind tcp://127.0.0.1:17511 / tcp://127.0.0.1:17510: Address already in use');
      should(made[0].closed).be.true();
    });
  });

  describe('join', () => {
    it('alone: connects, registers, republishes its rooms, heartbeats, tells the host, and is healthy', async () => {
      const f = await fixture({}, [{ count: 2, filter: filter('a'), room: 'ra' }]);
      should(f.node.health()).eql({ ok: false, reason: 'not joined yet' });

      await f.node.join();

      should(f.redis.stubs.connect.calledOnce).be.true();
      const [registered] = f.redis.stubs.register.firstCall.args;
      should([registered.id, registered.pub, registered.router]).eql([f.node.id, 'tcp://127.0.0.1:17511', 'tcp://127.0.0.1:17510']);
      should(f.redis.rooms).eql([{ count: 2, filter: filter('a'), id: f.node.id, room: 'ra', seq: 1 }]);
      should(f.redis.stubs.register.calledBefore(f.redis.stubs.setRoom)).be.true();
      should(f.redis.stubs.setRoom.calledBefore(f.redis.stubs.heartbeat)).be.true();
      should(f.transport.ofType('room').map(p => p.message.seq)).eql([1]);
      should(f.transport.ofType('heartbeat').map(p => p.message.seq)).eql([1]);
      should(f.host.onJoined.calledOnce).be.true();
      should(f.node.health()).eql({ ok: true, reason: null });
      should(f.log.at('info')).containEql(`node ${f.node.id} joined a cluster of 1 node(s)`);
    });

    it('join() while joining returns the same promise', async () => {
      const f = await fixture();
      const a = f.node.join();
      should(f.node.join()).equal(a);
      await a;
      should(f.redis.stubs.register.callCount).equal(1);
    });

    it('retries every joinAttemptInterval: attempt 3 of 3 succeeds, the failures are warned', async () => {
      const f = await fixture({ retryJoin: 3, timers: { joinAttemptInterval: 500 } });
      let failures = 2;
      f.redis.registerError = () => (failures-- > 0 ? new Error('Connection is closed.') : null);
      const joined = f.node.join();

      await flush();
      should(f.redis.stubs.register.callCount).equal(1);
      await f.clock.tickAsync(499);
      should(f.redis.stubs.register.callCount).equal(1);
      await f.clock.tickAsync(1);
      should(f.redis.stubs.register.callCount).equal(2);
      should(await settled(joined)).be.false();
      await f.clock.tickAsync(500);
      await joined;

      should(f.redis.stubs.register.callCount).equal(3);
      should(f.log.at('warn')).eql([
        'join attempt 1 failed: Connection is closed.',
        'join attempt 2 failed: Connection is closed.',
      ]);
      should(f.log.at('error')).eql([]);
      should(f.node.health().ok).be.true();
    });

    it('after retryJoin failed attempts, join() resolves (not joined, error logged) and the node keeps trying in the background', async () => {
      const f = await fixture({ retryJoin: 2, timers: { joinAttemptInterval: 100 } });
      let down = true;
      f.redis.registerError = () => (down ? new Error('Connection is closed.') : null);
      const joined = f.node.join();

      await f.clock.tickAsync(99);
      should(await settled(joined)).be.false();
      await f.clock.tickAsync(1);
      await joined;
      should(f.redis.stubs.register.callCount).equal(2);
      should(f.log.at('error')).eql([
        'join attempt 2 failed: Connection is closed.; still not joined after 2 attempts, retrying in the background',
      ]);
      should(f.node.health()).eql({ ok: false, reason: 'not joined yet' });

      // attempts 3, 4: quietly (debug only)
      await f.clock.tickAsync(200);
      should(f.redis.stubs.register.callCount).equal(4);
      should(f.log.at('warn')).have.length(1);
      should(f.log.at('error')).have.length(1);

      down = false;
      await f.clock.tickAsync(100);
      should(f.redis.stubs.register.callCount).equal(5);
      should(f.node.health()).eql({ ok: true, reason: null });
      await f.clock.tickAsync(1000);
      should(f.redis.stubs.register.callCount).equal(5);
    });

    it('a Redis Cluster redirection gets a hint about the "redis" setting', async () => {
      const f = await fixture({ retryJoin: 5 });
      f.redis.registerError = () => new Error('MOVED 1234 127.0.0.1:7001');
      void f.node.join();
      await flush();
      should(f.log.at('warn')[0]).equal('join attempt 1 failed: MOVED 1234 127.0.0.1:7001'
        + ' (this Redis is part of a Redis Cluster: set the plugin\'s "redis" to an array of its nodes)');
    });

    it('stop() ends the join loop', async () => {
      const f = await fixture({ retryJoin: 2, timers: { joinAttemptInterval: 100 } });
      f.redis.registerError = () => new Error('down');
      void f.node.join();
      await f.clock.tickAsync(100);
      should(f.redis.stubs.register.callCount).equal(2);
      await f.node.stop();
      await f.clock.tickAsync(1000);
      should(f.redis.stubs.register.callCount).equal(2);
    });

    it('waits for every peer\'s state before it is joined: greets it, reads its snapshot after its first heartbeat', async () => {
      const f = await fixture();
      const peer = nodeInfo('p1', 1);
      f.redis.addMember(peer);
      f.redis.snapshots.set('p1', { registered: true, rooms: [{ count: 3, filter: filter('b'), room: 'rb' }], seq: 7 });
      const joined = f.node.join();
      await flush();

      should(f.transport.connected.get('p1')).equal(peer.pub);
      should(f.transport.requests.map(r => [r.routerUrl, r.message.t])).eql([[peer.router, 'hello']]);
      should(await settled(joined)).be.false();
      should(f.node.health()).eql({ ok: false, reason: 'not joined yet' });

      f.transport.deliver('p1', BROADCAST_TOPIC, heartbeatFrom('p1', 7));
      await joined;
      should(f.redis.stubs.snapshot.calledOnceWithExactly('p1')).be.true();
      should(f.node.rooms.has('rb')).be.true();
      should(f.node.remoteCount('rb')).equal(3);
      should(f.node.status().peers.map(p => [p.id, p.seq])).eql([['p1', 7]]);
      should(f.node.health()).eql({ ok: true, reason: null });
      should(f.log.at('info')).containEql(`node ${f.node.id} joined a cluster of 2 node(s)`);
    });

    it('a silent peer delays the join by at most two request timeouts (2 × discoverTimeout)', async () => {
      const f = await fixture({ timers: { discoverTimeout: 1000 } });
      f.redis.addMember(nodeInfo('p1', 1));
      const joined = f.node.join();
      await f.clock.tickAsync(1999);
      should(await settled(joined)).be.false();
      await f.clock.tickAsync(1);
      should(await settled(joined)).be.true();
    });
  });

  describe('eviction of this node', () => {
    it('rejoins under a new id: new topic, registered again, numbering from 1, evictions counted', async () => {
      const f = await fixture({}, [{ count: 1, filter: filter('a'), room: 'ra' }]);
      await f.node.join();
      const oldId = f.node.id;
      should(f.node.status().evictions).equal(0);

      // its peers removed it from Redis while it was frozen
      f.redis.members.delete(oldId);
      f.transport.published.length = 0;
      await f.clock.tickAsync(1000);

      const newId = f.node.id;
      should(newId).not.equal(oldId);
      should(f.transport.topicsSet[f.transport.topicsSet.length - 1]).eql([BROADCAST_TOPIC, nodeTopic(newId), compactTopic(newId)]);
      should(f.log.at('warn')).containEql(`node ${oldId} was evicted by its peers (frozen or cut off): rejoining as ${newId}`);
      should(f.redis.members.has(newId)).be.true();
      should(f.redis.rooms.filter(r => r.id === newId)).eql([{ count: 1, filter: filter('a'), id: newId, room: 'ra', seq: 1 }]);
      should(f.transport.ofType('room').map(p => [p.message.from, p.message.seq])).eql([[newId, 1]]);
      should(f.node.status().evictions).equal(1);
      should(f.node.status().self.id).equal(newId);
      should(f.node.health()).eql({ ok: true, reason: null });
      should(f.host.onJoined.callCount).equal(2);
    });

    it('forgets its peers and their rooms on eviction', async () => {
      const f = await fixture();
      f.redis.addMember(nodeInfo('p1', 1));
      f.redis.snapshots.set('p1', { registered: true, rooms: [{ count: 3, filter: filter('b'), room: 'rb' }], seq: 0 });
      const joined = f.node.join();
      await flush();
      f.transport.deliver('p1', BROADCAST_TOPIC, heartbeatFrom('p1'));
      await joined;
      should(f.node.rooms.has('rb')).be.true();

      f.redis.members.delete(f.node.id);
      f.redis.members.delete('p1');
      await f.clock.tickAsync(1000);
      should(f.transport.disconnected).containEql('p1');
      should(f.node.rooms.has('rb')).be.false();
      should(f.node.status().peers).eql([]);
    });

    it('an eviction seen before joining is not a rejoin', async () => {
      const f = await fixture();
      f.redis.stubs.heartbeat.resolves({ members: [], registered: false });
      void f.node.join();
      await f.clock.tickAsync(100);
      should(f.node.status().evictions).equal(0);
    });
  });

  describe('setLocalRoom', () => {
    it('before joining: only recorded locally (republished by the join)', async () => {
      const f = await fixture();
      await f.node.setLocalRoom('ra', 2, filter('a'));
      should(f.node.rooms.has('ra')).be.true();
      should(f.redis.stubs.setRoom.called).be.false();
      should(f.transport.published).eql([]);
      should(f.host.roomsChanged.calledOnce).be.true();
    });

    it('once joined: written to Redis and broadcast under the same number', async () => {
      const f = await fixture();
      await f.node.join();
      await f.node.setLocalRoom('ra', 2, filter('a'));
      should(f.redis.rooms).eql([{ count: 2, filter: filter('a'), id: f.node.id, room: 'ra', seq: 1 }]);
      should(f.transport.ofType('room').map(p => p.message)).eql([
        { count: 2, filter: filter('a'), from: f.node.id, room: 'ra', seq: 1, t: 'room', v: PROTOCOL_VERSION },
      ]);
      // the last subscriber left: no filter on the wire, the known one kept for Redis
      await f.node.setLocalRoom('ra', 0, null);
      should(f.redis.rooms[1]).eql({ count: 0, filter: filter('a'), id: f.node.id, room: 'ra', seq: 2 });
      should(f.transport.ofType('room')[1].message).eql({ count: 0, from: f.node.id, room: 'ra', seq: 2, t: 'room', v: PROTOCOL_VERSION });
    });

    it('tells the peers without waiting for Redis, and resolves once Redis has it too', async () => {
      const f = await fixture();
      await f.node.join();
      let release = (): void => undefined;
      f.redis.setRoomResult = () => new Promise(resolve => {
        release = () => resolve(true);
      });
      let resolved = false;
      const setting = f.node.setLocalRoom('ra', 1, filter('a')).then(() => {
        resolved = true;
      });
      await f.clock.tickAsync(1);
      should(f.transport.ofType('room').map(p => p.message.seq)).eql([1]);
      should(resolved).be.false();
      release();
      await setting;
      should(resolved).be.true();
    });

    it('a write Redis refuses (no longer a member) triggers a heartbeat at once, which finds out', async () => {
      const f = await fixture();
      await f.node.join();
      const heartbeats = f.redis.stubs.heartbeat.callCount;
      f.redis.setRoomResult = async () => false;
      await f.node.setLocalRoom('ra', 1, filter('a'));
      should(f.redis.stubs.heartbeat.callCount).equal(heartbeats + 1);
    });

    it('a failed write makes the node not ready until Redis is back and its state republished', async () => {
      const f = await fixture({}, [{ count: 1, filter: filter('a'), room: 'ra' }]);
      await f.node.join();
      f.redis.setRoomResult = async () => {
        throw new Error('Connection is closed.');
      };
      await f.node.setLocalRoom('ra', 1, filter('a'));
      should(f.node.health()).eql({ ok: false, reason: 'local state not yet written to Redis' });

      f.redis.setRoomResult = async () => true;
      const writes = f.redis.rooms.length;
      should(f.redis.store).not.be.null();
      f.redis.store?.emit('up');
      await flush();
      should(f.redis.rooms.length).equal(writes + 1);
      should(f.node.health()).eql({ ok: true, reason: null });
    });
  });

  describe('notify, reset', () => {
    it('notifies the peers having subscribers in the rooms, on their own topic; nobody for unknown rooms', async () => {
      const f = await fixture();
      f.redis.addMember(nodeInfo('p1', 1));
      f.redis.snapshots.set('p1', { registered: true, rooms: [{ count: 1, filter: filter('b'), room: 'rb' }], seq: 0 });
      const joined = f.node.join();
      await flush();
      f.transport.deliver('p1', BROADCAST_TOPIC, heartbeatFrom('p1'));
      await joined;

      const sent = f.node.notify(['rb', 'unknown'], rooms => ({
        content: { x: 1 }, request: { data: {}, options: {} }, room: rooms[0], scope: 'in', t: 'user',
      }));
      should(sent).equal(1);
      const notes = f.transport.ofType('user');
      should(notes.map(n => [n.topic, n.message.room, n.message.seq])).eql([[nodeTopic('p1'), 'rb', 1]]);
      should(f.node.notify(['unknown'], () => {
        throw new Error('not built for nobody');
      })).equal(0);
    });

    it('reset: wipes Redis, tells the peers, republishes and rereads', async () => {
      const f = await fixture({}, [{ count: 1, filter: filter('a'), room: 'ra' }]);
      await f.node.join();
      const registered = f.redis.stubs.register.callCount;
      await f.node.reset();
      should(f.redis.stubs.reset.calledOnce).be.true();
      should(f.transport.ofType('reset')).have.length(1);
      should(f.redis.stubs.register.callCount).equal(registered + 1);
      should(f.redis.rooms.map(r => r.room)).eql(['ra', 'ra']);
    });
  });

  describe('stop', () => {
    it('removes its state, says leave, drains, closes; then not ready; a second stop does nothing', async () => {
      const f = await fixture();
      await f.node.join();
      await f.node.stop();
      should(f.redis.stubs.removeNode.calledOnceWithExactly(f.node.id, true)).be.true();
      should(f.transport.ofType('leave')).have.length(1);
      // its rooms are released once the peers were told, before the store closes
      should(f.redis.stubs.releaseRemovedRooms.calledAfter(f.redis.stubs.removeNode)).be.true();
      should(f.redis.stubs.releaseRemovedRooms.calledBefore(f.redis.stubs.close)).be.true();
      should(f.transport.drained).equal(1);
      should(f.transport.closed).be.true();
      should(f.redis.stubs.close.calledOnce).be.true();
      should(f.node.health()).eql({ ok: false, reason: 'node stopped' });
      should(f.log.at('info')).containEql(`node ${f.node.id} left the cluster`);

      // no heartbeat any more
      const heartbeats = f.redis.stubs.heartbeat.callCount;
      await f.clock.tickAsync(5000);
      should(f.redis.stubs.heartbeat.callCount).equal(heartbeats);

      await f.node.stop();
      should(f.redis.stubs.removeNode.calledOnce).be.true();
      should(f.redis.stubs.close.calledOnce).be.true();
    });

    it('with Redis down: leaves without touching Redis, still closes', async () => {
      const f = await fixture();
      await f.node.join();
      f.redis.up = false;
      await f.node.stop();
      should(f.redis.stubs.removeNode.called).be.false();
      should(f.transport.ofType('leave')).have.length(1);
      should(f.transport.closed).be.true();
    });
  });
});
