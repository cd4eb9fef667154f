import should from 'should';
import sinon from 'sinon';

import { DEFAULT_REPLAY, DEFAULT_TIMERS, Timers, resolveBinding } from '../../../lib/config';
import { Acks } from '../../../lib/cluster/acks';
import { COMPACT_VERSION } from '../../../lib/cluster/compact';
import { Handshake } from '../../../lib/cluster/handshake';
import { Identity } from '../../../lib/cluster/identity';
import { Membership, MembershipListener } from '../../../lib/cluster/membership';
import {
  HeartbeatPayload, HelloRequest, PROTOCOL_VERSION, READS_PROTOCOL, Unsequenced, decode,
} from '../../../lib/cluster/messages';
import { Outbox } from '../../../lib/cluster/outbox';
import type { Peer } from '../../../lib/cluster/peer';
import { ReplayBuffer } from '../../../lib/cluster/replayBuffer';
import type { StateStore } from '../../../lib/cluster/state';
import { FakeClock, flush } from '../../support/fakeClock';
import { FakeTransport, RecordingLog, SentRequest, dropStore, nodeInfo, offlineStore } from '../../support/coreFakes';

interface Fixture {
  clock: FakeClock;
  identity: Identity;
  transport: FakeTransport;
  membership: Membership;
  listener: sinon.SinonStubbedInstance<MembershipListener>;
  handshake: Handshake;
  state: { joined: boolean; ready: boolean };
  store: StateStore;
}

const stores: StateStore[] = [];

function fixture (timers: Partial<Timers> = {}): Fixture {
  const clock = new FakeClock();
  const identity = new Identity({
    pub: resolveBinding('tcp://127.0.0.1:7511', 'pub'), router: resolveBinding('tcp://127.0.0.1:7510', 'router'),
  });
  const transport = new FakeTransport();
  const allTimers: Timers = { ...DEFAULT_TIMERS, ...timers };
  const acks = new Acks(clock, allTimers.ackTimeout, () => undefined);
  const outbox = new Outbox(identity, transport, acks, () => [], new ReplayBuffer(clock, DEFAULT_REPLAY), () => PROTOCOL_VERSION);
  const store = offlineStore();
  stores.push(store);
  const state = { joined: true, ready: true };
  const listener: sinon.SinonStubbedInstance<MembershipListener> = {
    partitionChanged: sinon.stub(), peerAdded: sinon.stub(), peerRemoved: sinon.stub(), refreshed: sinon.stub(), selfEvicted: sinon.stub(),
  };
  const membership = new Membership({
    clock, identity, isReady: () => state.ready, listener, log: new RecordingLog(), outbox, store, timers: allTimers, transport,
  });
  const handshake = new Handshake({
    clock, identity, isJoined: () => state.joined, isReady: () => state.ready, membership, outbox, timers: allTimers, transport,
  });
  return { clock, handshake, identity, listener, membership, state, store, transport };
}

function firstHeartbeat (from: string): Unsequenced<HeartbeatPayload> {
  return { direct: {}, from, ready: true, seq: 0, t: 'heartbeat', v: PROTOCOL_VERSION };
}

function hello (from: string, port = 5): Unsequenced<HelloRequest> {
  const info = nodeInfo(from, port);
  return { from, id: `hello-${from}`, pub: info.pub, router: info.router, t: 'hello', v: PROTOCOL_VERSION };
}

/** a request that fails once its timeout passed on the fake clock, like a DEALER to a dead peer */
function unanswered (clock: FakeClock): (request: SentRequest) => Promise<Buffer[]> {
  return request => new Promise((_resolve, reject) => {
    clock.after(request.timeout, () => reject(new Error('no answer')));
  });
}

describe('handshake', () => {
  after(() => {
    for (const store of stores) {
      dropStore(store);
    }
  });

  describe('greet (hello until the first heartbeat)', () => {
    it('sends a hello to the peer\'s ROUTER announcing this node\'s addresses and the newest protocol it reads', async () => {
      const f = fixture();
      const peer = f.membership.add(nodeInfo('p1', 1));
      const greeted = f.handshake.greet(peer);
      await flush();

      should(f.transport.requests).have.length(1);
      const [request] = f.transport.requests;
      should(request.routerUrl).equal(peer.info.router);
      should(request.timeout).equal(DEFAULT_TIMERS.discoverTimeout);
      should(request.message).eql({
        from: f.identity.id, id: request.message.id, protocol: READS_PROTOCOL, pub: 'tcp://127.0.0.1:7511', router: 'tcp://127.0.0.1:7510',
        t: 'hello', v: PROTOCOL_VERSION,
      });
      should(request.message.id).be.a.String().and.not.be.empty();

      peer.onHeartbeat(firstHeartbeat('p1'), f.identity.id);
      await greeted;
    });

    it('repeats every 200 ms while no heartbeat comes: 15 attempts within discoverTimeout (3000 ms), then gives up', async () => {
      const f = fixture();
      const peer = f.membership.add(nodeInfo('p1', 1));
      let done = false;
      const greeted = f.handshake.greet(peer).then(() => {
        done = true;
      });

      await f.clock.tickAsync(199);
      should(f.transport.requests).have.length(1);
      await f.clock.tickAsync(1);
      should(f.transport.requests).have.length(2);
      await f.clock.tickAsync(2799);
      should(f.transport.requests).have.length(15);
      should(done).be.false();
      await f.clock.tickAsync(1);
      await greeted;
      should(f.transport.requests).have.length(15);
      should(peer.greeting).be.true();
      // every hello is the same request, repeated
      should(new Set(f.transport.requests.map(r => r.message.id)).size).equal(1);
    });

    it('repeats every heartbeat when the heartbeat is shorter than 200 ms', async () => {
      const f = fixture({ discoverTimeout: 1000, heartbeat: 50, nodeTimeout: 200 });
      const peer = f.membership.add(nodeInfo('p1', 1));
      const greeted = f.handshake.greet(peer);
      await f.clock.tickAsync(1000);
      await greeted;
      should(f.transport.requests).have.length(20);
    });

    it('stops as soon as the first heartbeat arrives, without waiting for the retry delay', async () => {
      const f = fixture();
      const peer = f.membership.add(nodeInfo('p1', 1));
      let done = false;
      const greeted = f.handshake.greet(peer).then(() => {
        done = true;
      });
      await f.clock.tickAsync(400);
      should(f.transport.requests).have.length(3);

      peer.onHeartbeat(firstHeartbeat('p1'), f.identity.id);
      await flush();
      should(done).be.true();
      await greeted;
      await f.clock.tickAsync(3000);
      should(f.transport.requests).have.length(3);
    });

    it('sends nothing to a peer already greeted', async () => {
      const f = fixture();
      const peer = f.membership.add(nodeInfo('p1', 1));
      peer.onHeartbeat(firstHeartbeat('p1'), f.identity.id);
      await f.handshake.greet(peer);
      should(f.transport.requests).have.length(0);
    });

    it('stops once the peer is forgotten (left, evicted)', async () => {
      const f = fixture();
      const peer = f.membership.add(nodeInfo('p1', 1));
      const greeted = f.handshake.greet(peer);
      await f.clock.tickAsync(200);
      should(f.transport.requests).have.length(2);
      f.membership.forget(peer, { cause: 'left', detail: 'gone' });
      await f.clock.tickAsync(200);
      await greeted;
      await f.clock.tickAsync(3000);
      should(f.transport.requests).have.length(2);
    });

    it('a hello that times out (dead peer) uses the whole discoverTimeout: one attempt only', async () => {
      const f = fixture();
      f.transport.answer = unanswered(f.clock);
      const peer = f.membership.add(nodeInfo('p1', 1));
      const greeted = f.handshake.greet(peer);
      await f.clock.tickAsync(3000);
      should(f.transport.requests).have.length(1);
      await f.clock.tickAsync(200);
      await greeted;
      should(f.transport.requests).have.length(1);
    });

    it('a failed hello is retried after the delay, not at once', async () => {
      const f = fixture();
      f.transport.answer = async () => {
        throw new Error('refused');
      };
      const peer: Peer = f.membership.add(nodeInfo('p1', 1));
      const greeted = f.handshake.greet(peer);
      await f.clock.tickAsync(100);
      should(f.transport.requests).have.length(1);
      await f.clock.tickAsync(100);
      should(f.transport.requests).have.length(2);
      peer.onHeartbeat(firstHeartbeat('p1'), f.identity.id);
      await greeted;
    });
  });

  describe('answer (a hello on this node\'s ROUTER)', () => {
    it('replies welcome with the hello\'s id, from this node', () => {
      const f = fixture();
      const reply = f.handshake.answer(hello('p9'));
      should(reply).have.length(1);
      should(decode(Buffer.from(reply[0]), 1024)).eql({ from: f.identity.id, id: 'hello-p9', t: 'welcome', v: PROTOCOL_VERSION });
    });

    it('an unknown node becomes a peer once joined: subscribed to, announced', () => {
      const f = fixture();
      f.handshake.answer(hello('p9'));
      const peer = f.membership.peer('p9');
      should(peer).not.be.undefined();
      should(peer?.info).eql({
        id: 'p9', protocol: undefined, pub: 'tcp://127.0.0.1:7005', router: 'tcp://127.0.0.1:8005', startedAt: 0, version: '',
      });
      should(f.transport.connected.get('p9')).equal('tcp://127.0.0.1:7005');
      should(f.listener.peerAdded.calledOnceWithExactly(sinon.match.same(peer))).be.true();
    });

    it('a peer added from its hello keeps the protocol it announced', () => {
      const f = fixture();
      f.handshake.answer({ ...hello('p9'), protocol: COMPACT_VERSION });
      should(f.membership.peer('p9')?.info.protocol).equal(COMPACT_VERSION);
    });

    it('a known peer is not added again', () => {
      const f = fixture();
      const known = f.membership.add(nodeInfo('p9', 5));
      f.handshake.answer(hello('p9'));
      should(f.membership.peer('p9')).equal(known);
      should(f.listener.peerAdded.callCount).equal(1);
    });

    it('before joining, nobody is added (only registered members become peers, found by the join)', () => {
      const f = fixture();
      f.state.joined = false;
      const reply = f.handshake.answer(hello('p9'));
      should(f.membership.size).equal(0);
      should(f.listener.peerAdded.called).be.false();
      should(reply).have.length(1);
    });

    it('its own hello never makes this node its own peer', () => {
      const f = fixture();
      f.handshake.answer(hello(f.identity.id));
      should(f.membership.size).equal(0);
    });

    it('sends a heartbeat at once, announcing this node\'s readiness, so the peer learns its numbers', () => {
      const f = fixture();
      f.state.ready = false;
      f.handshake.answer(hello('p9'));
      should(f.transport.published).have.length(1);
      should(f.transport.published[0].topic).equal('B');
      should(f.transport.published[0].message).eql({
        direct: {}, from: f.identity.id, ready: false, seq: 0, t: 'heartbeat', v: PROTOCOL_VERSION,
      });

      f.state.ready = true;
      f.handshake.answer(hello('p9'));
      should(f.transport.ofType('heartbeat').map(p => p.message.ready)).eql([false, true]);
    });
  });
});
