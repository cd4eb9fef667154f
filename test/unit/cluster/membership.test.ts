import should from 'should';
import sinon from 'sinon';

import { Binding, DEFAULT_TIMERS, Timers } from '../../../lib/config';
import { Identity } from '../../../lib/cluster/identity';
import type { Logger } from '../../../lib/cluster/logger';
import { Membership, MembershipListener } from '../../../lib/cluster/membership';
import { PROTOCOL_VERSION } from '../../../lib/cluster/messages';
import { Outbox } from '../../../lib/cluster/outbox';
import type { Peer } from '../../../lib/cluster/peer';
import { Member, NodeInfo, StateStore } from '../../../lib/cluster/state';
import type { ClusterTransport } from '../../../lib/cluster/transport';
import { FakeClock, flush, settled } from '../../support/fakeClock';

/** heartbeat 1000 ms, nodeTimeout 2500 ms */
const timers: Timers = { ...DEFAULT_TIMERS };
const HEARTBEAT = timers.heartbeat;
const NODE_TIMEOUT = timers.nodeTimeout;
/** failure checks run four times per heartbeat */
const CHECK = HEARTBEAT / 4;

function binding (host: string, port: number): Binding {
  return { family: 'ipv4', host, port, spec: `tcp://${host}:${port}`, url: `tcp://${host}:${port}` };
}

function infoOf (id: string): NodeInfo {
  return { id, pub: `tcp://${id}:7511`, router: `tcp://${id}:7510`, startedAt: 1, version: '3.0.0' };
}

function alive (id: string, hears: string[] = []): Member {
  return { alive: { hears, ready: true }, info: infoOf(id) };
}

function dead (id: string): Member {
  return { alive: null, info: infoOf(id) };
}

function fakeTransport () {
  const transport = {
    bind: sinon.stub<[], Promise<void>>().resolves(),
    close: sinon.stub<[], void>(),
    connectPeer: sinon.stub<[string, string], void>(),
    denied: 0,
    disconnectPeer: sinon.stub<[string], void>(),
    drain: sinon.stub<[number], Promise<void>>().resolves(),
    dropped: 0,
    publish: sinon.stub<[string, string], void>(),
    request: sinon.stub<[string, string, number], Promise<Buffer[]>>().resolves([]),
    sent: { envelopes: 0, messages: 0 },
    setTopics: sinon.stub<[string[]], void>(),
  };
  return transport satisfies ClusterTransport;
}

function fakeLog () {
  const log = {
    error: sinon.stub<[string], void>(),
    info: sinon.stub<[string], void>(),
    warn: sinon.stub<[string], void>(),
  };
  return log satisfies Logger;
}

function fakeListener () {
  const listener = {
    partitionChanged: sinon.stub<Parameters<MembershipListener['partitionChanged']>, void>(),
    peerAdded: sinon.stub<[Peer], void>(),
    peerRemoved: sinon.stub<Parameters<MembershipListener['peerRemoved']>, void>(),
    refreshed: sinon.stub<[], void>(),
    selfEvicted: sinon.stub<[], void>(),
  };
  return listener satisfies MembershipListener;
}

/** one node's Membership, with a fake clock, Redis, transport and outbox */
function harness (clock = new FakeClock()) {
  const identity = new Identity({ pub: binding('10.0.0.1', 7511), router: binding('10.0.0.1', 7510) });
  const store = sinon.createStubInstance(StateStore);
  const outbox = sinon.createStubInstance(Outbox);
  const transport = fakeTransport();
  const log = fakeLog();
  const listener = fakeListener();
  const isReady = sinon.stub<[], boolean>().returns(true);
  const membership = new Membership({ clock, identity, isReady, listener, log, outbox, store, timers, transport });

  outbox.broadcast.resolves();
  store.register.resolves();
  store.removeNode.resolves('alive');
  store.releaseRemovedRooms.resolves(0);
  /** the membership Redis answers to the next heartbeats (this node is always in it) */
  const redisSays = (...members: Member[]): void => {
    store.heartbeat.resolves({ members: [{ alive: { hears: [], ready: true }, info: identity.info }, ...members], registered: true });
  };
  redisSays();

  /** a message of `peer` arrived now (its first heartbeat, if it was still greeting) */
  const hear = (peer: Peer): void => {
    if (peer.greeting) {
      peer.onHeartbeat({ direct: {}, from: peer.id, ready: true, seq: 0, t: 'heartbeat', v: PROTOCOL_VERSION }, identity.id);
    }
    peer.heard(clock.now());
  };

  const peer = (id: string): Peer => {
    const found = membership.peer(id);
    if (!found) {
      throw new Error(`no peer ${id}`);
    }
    return found;
  };

  return { clock, hear, identity, isReady, listener, log, membership, outbox, peer, redisSays, store, transport };
}

describe('Membership', () => {
  describe('registration and heartbeat', () => {
    it('register() writes this node\'s info and liveness with nodeTimeout as TTL, and resets the liveness age', async () => {
      const { clock, identity, membership, store } = harness();
      should(membership.livenessAge()).be.above(NODE_TIMEOUT);
      await membership.register();
      should(store.register.args).eql([[identity.info, { hears: [], ready: true }, NODE_TIMEOUT]]);
      // leftovers of a remover that died before releasing
      should(store.releaseRemovedRooms.callCount).equal(1);
      should(membership.livenessAge()).equal(0);
      clock.tick(300);
      should(membership.livenessAge()).equal(300);
    });

    it('a heartbeat announces readiness on 0mq, refreshes the Redis key and tells the listener', async () => {
      const { clock, identity, isReady, listener, membership, outbox, store } = harness();
      isReady.returns(false);
      clock.tick(700);
      await membership.heartbeat();
      should(outbox.heartbeat.args).eql([[false]]);
      should(store.heartbeat.args).eql([[identity.id, { hears: [], ready: false }, NODE_TIMEOUT]]);
      should(listener.refreshed.callCount).equal(1);
      should(membership.livenessAge()).equal(0);
    });

    it('a Redis failure changes nothing but the liveness age, which keeps growing', async () => {
      const { clock, listener, membership, redisSays, store } = harness();
      redisSays(alive('a'));
      await membership.heartbeat();
      store.heartbeat.rejects(new Error('connection lost'));
      clock.tick(3000);
      await membership.heartbeat();
      should(membership.livenessAge()).equal(3000);
      should(listener.refreshed.callCount).equal(1);
      should(listener.selfEvicted.called).be.false();
      should(membership.all().map(p => p.id)).eql(['a']);
    });

    it('a node Redis does not know any more is told it was evicted, and nothing else changes', async () => {
      const { clock, listener, membership, store } = harness();
      await membership.register();
      clock.tick(1000);
      store.heartbeat.resolves({ members: [alive('a')], registered: false });
      await membership.heartbeat();
      should(listener.selfEvicted.callCount).equal(1);
      should(listener.refreshed.called).be.false();
      should(listener.peerAdded.called).be.false();
      should(membership.size).equal(0);
      should(membership.livenessAge()).equal(1000);
    });

    it('startTimers() heartbeats every timers.heartbeat, once however often called; stop() cancels everything', async () => {
      const { clock, membership, outbox, store } = harness();
      membership.startTimers();
      membership.startTimers();
      await clock.tickAsync(3 * HEARTBEAT);
      should(store.heartbeat.callCount).equal(3);
      should(outbox.heartbeat.callCount).equal(3);

      membership.stop();
      should(clock.pendingTimers).equal(0);
      await clock.tickAsync(10 * HEARTBEAT);
      await membership.heartbeat();
      membership.startTimers();
      should(clock.pendingTimers).equal(0);
      should(store.heartbeat.callCount).equal(3);
      should(outbox.heartbeat.callCount).equal(3);
    });

    it('a heartbeat or a failure check answered by Redis after stop() changes nothing and tells nobody', async () => {
      const { clock, hear, listener, membership, outbox, peer, redisSays, store } = harness();
      redisSays(alive('a'));
      await membership.heartbeat();
      hear(peer('a'));
      listener.refreshed.resetHistory();

      const heartbeats: Array<(answer: { registered: boolean; members: Member[] }) => void> = [];
      store.heartbeat.callsFake(() => new Promise(resolve => {
        heartbeats.push(resolve);
      }));
      let answerRemoval = (_answer: 'alive' | 'gone' | number): void => undefined;
      store.removeNode.returns(new Promise(resolve => {
        answerRemoval = resolve;
      }));
      clock.tick(NODE_TIMEOUT + 1);
      const inFlight = [membership.heartbeat(), membership.heartbeat(), membership.detectFailures()];
      membership.stop();
      heartbeats[0]({ members: [alive('a'), alive('b')], registered: true });
      heartbeats[1]({ members: [], registered: false });
      answerRemoval(3);
      await Promise.all(inFlight);

      should(listener.selfEvicted.called).be.false();
      should(listener.refreshed.called).be.false();
      should(listener.peerAdded.callCount).equal(1);
      should(listener.peerRemoved.called).be.false();
      should(outbox.broadcast.called).be.false();
      should(membership.all().map(p => p.id)).eql(['a']);
    });
  });

  describe('the peer table', () => {
    it('adds every live member but itself, connecting to its PUB, once', async () => {
      const { listener, membership, redisSays, store, transport } = harness();
      redisSays(alive('a'), alive('b'));
      await membership.heartbeat();
      await membership.heartbeat();
      should(membership.size).equal(2);
      // this node's own entry is neither a peer nor a previous incarnation
      should(store.removeNode.called).be.false();
      should(transport.connectPeer.args).eql([['a', 'tcp://a:7511'], ['b', 'tcp://b:7511']]);
      should(listener.peerAdded.args.map(([peer]) => peer.id)).eql(['a', 'b']);
      const a = listener.peerAdded.args[0][0];
      should(membership.peer('a')).equal(a);
      should(membership.isCurrent(a)).be.true();
      should(a.greeting).be.true();
    });

    it('add() of a known id returns the peer already in the table', () => {
      const { listener, membership } = harness();
      const first = membership.add(infoOf('a'));
      should(membership.add(infoOf('a'))).equal(first);
      should(listener.peerAdded.callCount).equal(1);
    });

    it('forgets a peer that is not a member any more, once, and nobody waits for it', async () => {
      const { listener, log, membership, peer, redisSays, transport } = harness();
      redisSays(alive('a'), alive('b'));
      await membership.heartbeat();
      const b = peer('b');
      redisSays(alive('a'));
      await membership.heartbeat();
      should(membership.peer('b')).be.undefined();
      should(membership.isCurrent(b)).be.false();
      should(transport.disconnectPeer.args).eql([['b']]);
      should(listener.peerRemoved.args.map(([peer]) => peer)).eql([b]);
      should(log.warn.args).eql([['node b (tcp://b:7511) removed: not a member any more']]);
      should(await settled(b.synced)).be.true();
      should(await settled(b.greeted)).be.true();

      // forgetting every peer now does not report b again
      membership.restart();
      should(listener.peerRemoved.args.map(([peer]) => peer.id)).eql(['b', 'a']);
    });

    it('a member whose liveness key expired is a ghost: its state is removed from Redis, it is not added', async () => {
      const { log, membership, redisSays, store, transport } = harness();
      store.removeNode.withArgs('ghost', false).resolves(3);
      store.removeNode.withArgs('gone', false).resolves('gone');
      redisSays(dead('ghost'), dead('gone'));
      await membership.heartbeat();
      await flush();
      should(store.removeNode.args).eql([['ghost', false], ['gone', false]]);
      should(membership.size).equal(0);
      should(transport.connectPeer.called).be.false();
      // only the survivor that removed it says so, and releases its rooms
      should(log.warn.args).eql([['removed the state of dead node ghost (tcp://ghost:7511): 3 room(s)']]);
      should(store.releaseRemovedRooms.callCount).equal(1);
    });

    it('a failed ghost removal is retried at the next heartbeat', async () => {
      const { membership, redisSays, store } = harness();
      store.removeNode.onFirstCall().rejects(new Error('Redis down'));
      store.removeNode.onSecondCall().resolves(1);
      redisSays(dead('ghost'));
      await membership.heartbeat();
      await flush();
      await membership.heartbeat();
      await flush();
      should(store.removeNode.args).eql([['ghost', false], ['ghost', false]]);
    });

    it('a live member at this node\'s own PUB address is a previous incarnation: removed by force, never added', async () => {
      const { identity, log, membership, store } = harness();
      const old: Member = { alive: { hears: [], ready: false }, info: { ...infoOf('old'), pub: identity.info.pub } };
      store.heartbeat.resolves({ members: [{ alive: { hears: [], ready: true }, info: identity.info }, old], registered: true });
      store.removeNode.rejects(new Error('Redis down'));
      await membership.heartbeat();
      await flush();
      should(store.removeNode.args).eql([['old', true]]);
      should(membership.size).equal(0);
      should(log.warn.args).eql([[`removing node old: previous incarnation of this node at ${identity.info.pub}`]]);
      should(store.releaseRemovedRooms.called).be.false();

      store.removeNode.resolves(4);
      await membership.heartbeat();
      await flush();
      should(store.releaseRemovedRooms.callCount).equal(1);
    });

    it('a known peer whose key expired stays until failure detection decides', async () => {
      const { membership, redisSays, store } = harness();
      redisSays(alive('a'));
      await membership.heartbeat();
      redisSays(dead('a'));
      await membership.heartbeat();
      should(membership.all().map(p => p.id)).eql(['a']);
      should(store.removeNode.called).be.false();
    });

    it('restart() (after this node was evicted) forgets every peer, telling the listener for each', async () => {
      const { listener, log, membership, redisSays, transport } = harness();
      redisSays(alive('a'), alive('b'));
      await membership.heartbeat();
      membership.restart();
      should(membership.size).equal(0);
      should(listener.peerRemoved.args.map(([peer]) => peer.id)).eql(['a', 'b']);
      should(transport.disconnectPeer.args).eql([['a'], ['b']]);
      should(log.warn.args).eql([
        ['node a (tcp://a:7511) removed: this node was evicted'],
        ['node b (tcp://b:7511) removed: this node was evicted'],
      ]);
      // the new incarnation meets them again
      await membership.heartbeat();
      should(membership.all().map(p => p.id)).eql(['a', 'b']);
    });
  });

  describe('who this node hears', () => {
    it('a peer counts as heard once greeted, and for 2 × nodeTimeout after its last message', async () => {
      const { clock, hear, membership, peer, redisSays } = harness();
      redisSays(alive('a'), alive('b'));
      await membership.heartbeat();
      should(membership.heardPeers()).eql([]);
      hear(peer('a'));
      should(membership.heardPeers()).eql(['a']);
      should(membership.liveness()).eql({ hears: ['a'], ready: true });
      clock.tick(2 * NODE_TIMEOUT);
      should(membership.heardPeers()).eql(['a']);
      clock.tick(1);
      should(membership.heardPeers()).eql([]);
    });

    it('a peer is expected to acknowledge only if heard within two heartbeats', async () => {
      const { clock, hear, membership, peer, redisSays } = harness();
      redisSays(alive('a'), alive('b'));
      await membership.heartbeat();
      hear(peer('a'));
      should(membership.ackingPeers()).eql(['a']);
      clock.tick(2 * HEARTBEAT);
      should(membership.ackingPeers()).eql(['a']);
      clock.tick(1);
      should(membership.ackingPeers()).eql([]);
      should(membership.heardPeers()).eql(['a']);
    });

    it('publishes who it hears with each heartbeat', async () => {
      const { hear, identity, isReady, membership, peer, redisSays, store } = harness();
      redisSays(alive('a'), alive('b'));
      await membership.heartbeat();
      hear(peer('b'));
      isReady.returns(false);
      await membership.heartbeat();
      should(store.heartbeat.args[1]).eql([identity.id, { hears: ['b'], ready: false }, NODE_TIMEOUT]);
    });
  });

  describe('failure detection', () => {
    /** a node hearing peer a, with its timers started at the instant a was last heard */
    async function watching () {
      const h = harness();
      h.redisSays(alive('a'));
      await h.membership.heartbeat();
      h.hear(h.peer('a'));
      h.membership.startTimers();
      return { ...h, a: h.peer('a') };
    }

    it('evicts a peer silent past nodeTimeout whose key expired, at the next check: state removed, peers and listener told', async () => {
      const { a, clock, listener, log, membership, outbox, store, transport } = await watching();
      store.removeNode.resolves(2);
      let releaseDone = (_released: number): void => undefined;
      store.releaseRemovedRooms.returns(new Promise(resolve => {
        releaseDone = resolve;
      }));
      await clock.tickAsync(NODE_TIMEOUT);
      should(store.removeNode.called).be.false();
      should(membership.peer('a')).equal(a);

      await clock.tickAsync(CHECK);
      should(store.removeNode.args).eql([['a', false]]);
      should(outbox.broadcast.args).eql([[{ node: 'a', t: 'evicted' }]]);
      should(log.info.calledWith('removed evicted node a and its 2 room(s) from Redis')).be.true();
      // its rooms are released in the background: the peer is forgotten without waiting
      should(store.releaseRemovedRooms.callCount).equal(1);
      releaseDone(2);
      should(listener.peerRemoved.args.map(([peer]) => peer)).eql([a]);
      should(log.warn.args).eql([[`node a (tcp://a:7511) removed: no heartbeat for ${NODE_TIMEOUT + CHECK} ms`]]);
      should(transport.disconnectPeer.args).eql([['a']]);
      should(membership.size).equal(0);
    });

    it('keeps a silent peer whose Redis key is alive (a slow link, not a crash), checking again each time', async () => {
      const { a, clock, hear, listener, membership, outbox, store } = await watching();
      await clock.tickAsync(NODE_TIMEOUT + 4 * CHECK);
      should(store.removeNode.callCount).equal(4);
      should(membership.peer('a')).equal(a);
      should(outbox.broadcast.called).be.false();
      should(listener.peerRemoved.called).be.false();

      hear(a);
      await clock.tickAsync(NODE_TIMEOUT);
      should(store.removeNode.callCount).equal(4);
    });

    it('never asks Redis about a peer heard in time', async () => {
      const { a, clock, hear, store } = await watching();
      for (let i = 0; i < 10; i++) {
        await clock.tickAsync(HEARTBEAT);
        hear(a);
      }
      should(store.removeNode.called).be.false();
    });

    it('a peer another survivor already removed ("gone") is forgotten without telling the others', async () => {
      const { a, clock, listener, membership, outbox, store } = await watching();
      store.removeNode.resolves('gone');
      await clock.tickAsync(NODE_TIMEOUT + CHECK);
      should(outbox.broadcast.called).be.false();
      should(store.releaseRemovedRooms.called).be.false();
      should(listener.peerRemoved.args.map(([peer]) => peer)).eql([a]);
      should(membership.size).equal(0);
    });

    it('a Redis failure during the check keeps the peer until a later check succeeds', async () => {
      const { clock, listener, membership, store } = await watching();
      store.removeNode.onFirstCall().rejects(new Error('Redis down'));
      store.removeNode.onSecondCall().resolves(0);
      await clock.tickAsync(NODE_TIMEOUT + CHECK);
      should(membership.size).equal(1);
      await clock.tickAsync(CHECK);
      should(membership.size).equal(0);
      should(listener.peerRemoved.callCount).equal(1);
    });

    it('eviction race between survivors: exactly one removes the state and tells the others', async () => {
      const clock = new FakeClock();
      // the remove_node script, atomic: the first caller removes, the others find it gone
      let rooms: number | null = 5;
      const removeNode = async (_id: string, _force: boolean): Promise<'alive' | 'gone' | number> => {
        const removed = rooms;
        rooms = null;
        return removed === null ? 'gone' : removed;
      };
      const survivors = [harness(clock), harness(clock), harness(clock)];
      for (const survivor of survivors) {
        survivor.store.removeNode.callsFake(removeNode);
        survivor.redisSays(alive('dead'));
        await survivor.membership.heartbeat();
        survivor.hear(survivor.peer('dead'));
        survivor.membership.startTimers();
      }

      await clock.tickAsync(NODE_TIMEOUT + CHECK);
      const told = survivors.map(s => s.outbox.broadcast.args);
      should(told.filter(args => args.length > 0)).eql([[[{ node: 'dead', t: 'evicted' }]]]);
      for (const survivor of survivors) {
        should(survivor.store.removeNode.callCount).equal(1);
        should(survivor.listener.peerRemoved.callCount).equal(1);
        should(survivor.membership.size).equal(0);
      }
    });

    it('one release of removed rooms at a time; removals meanwhile start one more after it, and a failed one is not fatal', async () => {
      const { clock, membership, redisSays, store } = harness();
      const releases: Array<{ resolve: (n: number) => void; reject: (e: Error) => void }> = [];
      store.releaseRemovedRooms.callsFake(() => new Promise((resolve, reject) => {
        releases.push({ reject, resolve });
      }));
      store.removeNode.resolves(1);
      await membership.register();
      redisSays(dead('g1'));
      await membership.heartbeat();
      redisSays(dead('g2'));
      await membership.heartbeat();
      await flush();
      should(store.releaseRemovedRooms.callCount).equal(1);

      releases[0].reject(new Error('Redis down'));
      await flush();
      should(store.releaseRemovedRooms.callCount).equal(2);
      releases[1].resolve(10);
      await flush();
      await clock.tickAsync(HEARTBEAT);
      should(store.releaseRemovedRooms.callCount).equal(2);
    });

    it('overlapping checks (Redis slower than a check period) report the peer removed once', async () => {
      const { a, clock, listener, outbox, store } = await watching();
      let finishFirst = (_result: number): void => undefined;
      store.removeNode.onFirstCall().returns(new Promise(resolve => {
        finishFirst = resolve;
      }));
      store.removeNode.onSecondCall().resolves('gone');
      await clock.tickAsync(NODE_TIMEOUT + CHECK);
      should(listener.peerRemoved.called).be.false();
      await clock.tickAsync(CHECK);
      should(listener.peerRemoved.args.map(([peer]) => peer)).eql([a]);
      finishFirst(1);
      await flush();
      should(listener.peerRemoved.callCount).equal(1);
      should(outbox.broadcast.args).eql([[{ node: 'a', t: 'evicted' }]]);
      should(store.removeNode.callCount).equal(2);
    });
  });

  describe('partition', () => {
    it('steps back only once the verdict held for two heartbeats, announced once; asking for it changes nothing', async () => {
      const { clock, listener, membership, redisSays } = harness();
      // a and b hear each other, this node hears nobody: their side stays ready
      redisSays(alive('a', ['b']), alive('b', ['a']));
      await membership.heartbeat();
      should(membership.partitionVerdict()).be.null();
      clock.tick(HEARTBEAT);
      await membership.heartbeat();
      should(membership.partitionVerdict()).be.null();
      should(listener.partitionChanged.called).be.false();
      clock.tick(HEARTBEAT);
      await membership.heartbeat();
      const verdict = { heard: 1, members: 3, winner: 'a' };
      should(membership.partitionVerdict()).eql(verdict);
      should(membership.partitionVerdict()).eql(verdict);
      clock.tick(HEARTBEAT);
      await membership.heartbeat();
      should(listener.partitionChanged.args).eql([[verdict]]);
    });

    it('comes back at once when it hears the others again, and says so', async () => {
      const { clock, hear, listener, membership, peer, redisSays } = harness();
      redisSays(alive('a', ['b']), alive('b', ['a']));
      for (let i = 0; i < 3; i++) {
        await membership.heartbeat();
        clock.tick(HEARTBEAT);
      }
      should(membership.partitionVerdict()).not.be.null();
      hear(peer('a'));
      hear(peer('b'));
      await membership.heartbeat();
      should(membership.partitionVerdict()).be.null();
      should(listener.partitionChanged.args.map(([verdict]) => verdict !== null)).eql([true, false]);
    });

    it('the side hearing more nodes stays ready', async () => {
      const { clock, hear, membership, peer, redisSays } = harness();
      redisSays(alive('a', []), alive('b', []));
      await membership.heartbeat();
      hear(peer('a'));
      for (let i = 0; i < 5; i++) {
        clock.tick(HEARTBEAT);
        hear(peer('a'));
        await membership.heartbeat();
      }
      should(membership.partitionVerdict()).be.null();
    });

    it('a crashed peer (liveness key expired) is not a partition', async () => {
      const { clock, hear, membership, peer, redisSays } = harness();
      redisSays(alive('a', []), alive('b', []));
      await membership.heartbeat();
      hear(peer('a'));
      redisSays(alive('a', []), dead('b'));
      for (let i = 0; i < 5; i++) {
        clock.tick(HEARTBEAT);
        hear(peer('a'));
        await membership.heartbeat();
      }
      should(membership.partitionVerdict()).be.null();
    });

    it('restart() (a new incarnation) drops the verdict', async () => {
      const { clock, membership, redisSays } = harness();
      redisSays(alive('a', ['b']), alive('b', ['a']));
      for (let i = 0; i < 3; i++) {
        await membership.heartbeat();
        clock.tick(HEARTBEAT);
      }
      should(membership.partitionVerdict()).not.be.null();
      membership.restart();
      should(membership.partitionVerdict()).be.null();
    });
  });
});
