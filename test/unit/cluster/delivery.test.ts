import should from 'should';
import sinon from 'sinon';

import type { Binding } from '../../../lib/config';
import { Acks } from '../../../lib/cluster/acks';
import { Delivery } from '../../../lib/cluster/delivery';
import { HostLink } from '../../../lib/cluster/host';
import type { ClusterHost } from '../../../lib/cluster/host';
import { Identity } from '../../../lib/cluster/identity';
import { Membership } from '../../../lib/cluster/membership';
import {
  DirectPayload, HeartbeatPayload, HostPayload, PROTOCOL_VERSION, Sequenced, SyncPayload, Unsequenced,
} from '../../../lib/cluster/messages';
import { Peer } from '../../../lib/cluster/peer';
import { Replay } from '../../../lib/cluster/replay';
import { Resync } from '../../../lib/cluster/resync';
import { RoomRegistry } from '../../../lib/cluster/roomRegistry';
import type { RoomChanges } from '../../../lib/cluster/roomRegistry';
import { RecordingLog, StubOf, nodeInfo } from '../../support/coreFakes';
import { FakeClock, flush } from '../../support/fakeClock';

const ACK_TIMEOUT = 1000;
const binding = (port: number): Binding => ({ family: 'ipv4', host: '10.0.0.1', port, spec: `tcp://10.0.0.1:${port}`, url: `tcp://10.0.0.1:${port}` });
const filter = { collection: 'c', filters: [[{ exists: 'a' }]], index: 'i' };

function note (seq: number): Sequenced<DirectPayload> {
  return { content: { n: seq }, from: 'p1', request: { data: {}, options: {} }, room: 'r', scope: 'in', seq, t: 'user', v: PROTOCOL_VERSION };
}

function sequenced (payload: SyncPayload, seq: number, ack = false): Sequenced<SyncPayload> {
  return { ...payload, ack, from: 'p1', seq, v: PROTOCOL_VERSION };
}

describe('Delivery', () => {
  let clock: FakeClock;
  let identity: Identity;
  let membership: sinon.SinonStubbedInstance<Membership>;
  let registry: RoomRegistry;
  let host: {
    roomsChanged: StubOf<ClusterHost['roomsChanged']>;
    onSync: StubOf<ClusterHost['onSync']>;
    onNotification: StubOf<ClusterHost['onNotification']>;
  };
  let acksSent: sinon.SinonStub<[string, number[]], void>;
  let acks: Acks;
  let resync: sinon.SinonStubbedInstance<Resync>;
  let replay: sinon.SinonStubbedInstance<Replay>;
  let log: RecordingLog;
  let delivery: Delivery;
  let peer: Peer;

  function heartbeat (seq: number, toSelf: number): Unsequenced<HeartbeatPayload> {
    return { direct: { [identity.id]: toSelf }, from: 'p1', ready: true, seq, t: 'heartbeat', v: PROTOCOL_VERSION };
  }

  /** greeted (`seq` broadcast, `notifications` sent to this node before) and its state read */
  function greet (seq = 0, notifications = 0): void {
    delivery.heartbeat(peer, heartbeat(seq, notifications));
    peer.beginResync(true);
    peer.drain(seq, 0);
    peer.endResync();
    resync.peer.resetHistory();
  }

  /** acknowledgements sent at the end of this turn */
  function acknowledged (): Array<[string, number[]]> {
    clock.runSoon();
    return acksSent.args.map(([to, of]) => [to, of]);
  }

  beforeEach(() => {
    clock = new FakeClock();
    identity = new Identity({ pub: binding(7511), router: binding(7510) });
    membership = sinon.createStubInstance(Membership);
    membership.heartbeat.resolves();
    registry = new RoomRegistry();
    host = { onNotification: sinon.stub(), onSync: sinon.stub(), roomsChanged: sinon.stub() };
    host.onSync.resolves();
    const link = new HostLink(new RecordingLog());
    link.bind({ ...host, localRooms: () => [], onJoined: async () => undefined, refresh: async () => undefined });
    acksSent = sinon.stub();
    acks = new Acks(clock, ACK_TIMEOUT, acksSent);
    resync = sinon.createStubInstance(Resync);
    resync.peer.resolves();
    resync.all.resolves();
    replay = sinon.createStubInstance(Replay);
    replay.recover.resolves();
    log = new RecordingLog();
    delivery = new Delivery(identity, membership, registry, link, acks, resync, replay, log);
    peer = new Peer(nodeInfo('p1'), clock.now());
  });

  describe('heartbeats', () => {
    it('the first one has the peer\'s state read', () => {
      delivery.heartbeat(peer, heartbeat(4, 2));
      should(resync.peer.calledOnceWithExactly(peer, 'join')).be.true();
      should(replay.recover.called).be.false();
    });

    it('asks for a replay of the notifications announced but never received', () => {
      greet(0, 2);
      delivery.heartbeat(peer, heartbeat(0, 5));
      should(replay.recover.calledOnceWithExactly(peer, { first: 3, last: 5 })).be.true();
      should(resync.peer.called).be.false();
    });

    it('has the peer\'s state read again after broadcast messages announced but never received', () => {
      greet(3);
      delivery.heartbeat(peer, heartbeat(5, 0));
      should(resync.peer.calledOnceWithExactly(peer, 'gap')).be.true();
      should(log.at('warn')).match([/lost the last 2 message\(s\) from p1/]);
    });

    it('does nothing more when nothing is missing', () => {
      greet(3, 1);
      delivery.heartbeat(peer, heartbeat(3, 1));
      should(resync.peer.called).be.false();
      should(replay.recover.called).be.false();
      should(log.lines).eql([]);
    });
  });

  it('an acknowledgement settles what waited for it', async () => {
    let settled = false;
    void acks.expect(7, ['p1']).then(() => {
      settled = true;
    });
    delivery.ack(peer, { from: 'p1', of: [7], t: 'ack', v: PROTOCOL_VERSION });
    await flush();
    should(settled).be.true();
  });

  describe('notifications', () => {
    it('hands those in order to the host, once', () => {
      greet();
      delivery.notification(peer, note(1));
      delivery.notification(peer, note(2));
      delivery.notification(peer, note(2));
      should(host.onNotification.args.map(([from, message]) => [from, message])).eql([['p1', note(1)], ['p1', note(2)]]);
    });

    it('ignores those of a peer not greeted yet', () => {
      delivery.notification(peer, note(1));
      should(host.onNotification.called).be.false();
    });

    it('after a gap, asks for a replay of exactly the missing ones and holds back the rest', () => {
      greet();
      delivery.notification(peer, note(1));
      delivery.notification(peer, note(4));
      delivery.notification(peer, note(5));
      should(host.onNotification.args.map(([, message]) => message)).eql([note(1)]);
      should(replay.recover.calledOnceWithExactly(peer, { first: 2, last: 3 })).be.true();
      should(peer.view().heldBack).equal(2);
    });
  });

  describe('broadcast messages', () => {
    it('applies a room change: registry, host matcher, and an acknowledgement when asked for', () => {
      greet();
      delivery.broadcast(peer, sequenced({ count: 2, filter, room: 'r1', t: 'room' }, 1, true));
      should(registry.count('r1', 'p1')).equal(2);
      should(host.roomsChanged.calledOnce).be.true();
      should(host.roomsChanged.firstCall.args[0]).eql({ appeared: [{ filter, room: 'r1' }], vanished: [] } satisfies RoomChanges);
      delivery.broadcast(peer, sequenced({ count: 3, filter, room: 'r1', t: 'room' }, 2));
      should(registry.count('r1', 'p1')).equal(3);
      // only real changes reach the host
      should(host.roomsChanged.calledOnce).be.true();
      should(acknowledged()).eql([['p1', [1]]]);
    });

    it('after a gap, applies nothing and has the peer\'s state read again', () => {
      greet();
      delivery.broadcast(peer, sequenced({ count: 1, filter, room: 'r1', t: 'room' }, 3, true));
      should(registry.has('r1')).be.false();
      should(resync.peer.calledOnceWithExactly(peer, 'gap')).be.true();
      should(log.at('warn')).match([/message\(s\) 1\.\.2 from p1 lost/]);
      should(acknowledged()).eql([]);
    });

    it('applies nothing twice, nor while the peer\'s state is being read', () => {
      greet();
      delivery.broadcast(peer, sequenced({ t: 'validators' }, 1));
      delivery.broadcast(peer, sequenced({ t: 'validators' }, 1));
      should(host.onSync.calledOnce).be.true();
      peer.beginResync(false);
      delivery.broadcast(peer, sequenced({ t: 'validators' }, 2));
      should(host.onSync.calledOnce).be.true();
      should(resync.peer.called).be.false();
    });

    it('hands host messages to the host and acknowledges them only once the host applied them', async () => {
      greet();
      let applied: () => void = () => undefined;
      host.onSync.returns(new Promise<void>(resolve => {
        applied = resolve;
      }));
      const message = sequenced({ kind: 'role', id: 'admin', t: 'security' } satisfies HostPayload, 1, true);
      delivery.broadcast(peer, message);
      should(host.onSync.calledOnceWithExactly('p1', sinon.match.same(message))).be.true();
      await flush();
      should(acknowledged()).eql([]);
      applied();
      await flush();
      should(acknowledged()).eql([['p1', [1]]]);
    });

    it('a peer leaving is forgotten', () => {
      greet();
      delivery.broadcast(peer, sequenced({ t: 'leave' }, 1));
      should(membership.forget.calledOnce).be.true();
      should(membership.forget.firstCall.args[0]).equal(peer);
    });

    it('a peer evicted by another is forgotten; this node, said evicted, asks Redis', () => {
      greet();
      const other = new Peer(nodeInfo('p2', 2), clock.now());
      membership.peer.withArgs('p2').returns(other);
      delivery.broadcast(peer, sequenced({ node: 'p2', t: 'evicted' }, 1));
      should(membership.forget.calledOnce).be.true();
      should(membership.forget.firstCall.args[0]).equal(other);
      should(membership.heartbeat.called).be.false();

      delivery.broadcast(peer, sequenced({ node: identity.id, t: 'evicted' }, 2));
      should(membership.heartbeat.calledOnce).be.true();

      delivery.broadcast(peer, sequenced({ node: 'unknown', t: 'evicted' }, 3));
      should(membership.forget.calledOnce).be.true();
      should(membership.heartbeat.calledOnce).be.true();
    });

    it('a reset has every state read again', () => {
      greet();
      delivery.broadcast(peer, sequenced({ t: 'reset' }, 1));
      should(resync.all.calledOnce).be.true();
    });
  });
});
