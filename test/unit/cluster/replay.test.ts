import should from 'should';
import sinon from 'sinon';

import type { Binding } from '../../../lib/config';
import { encodeCompactNotification } from '../../../lib/cluster/compact';
import { HostLink } from '../../../lib/cluster/host';
import type { ClusterHost } from '../../../lib/cluster/host';
import { Identity } from '../../../lib/cluster/identity';
import { Inbox } from '../../../lib/cluster/inbox';
import { Membership } from '../../../lib/cluster/membership';
import {
  DirectPayload, PROTOCOL_VERSION, ReplayRequest, Sequenced, Unsequenced, decode, encode,
} from '../../../lib/cluster/messages';
import { Peer } from '../../../lib/cluster/peer';
import { Replay } from '../../../lib/cluster/replay';
import { ReplayBuffer } from '../../../lib/cluster/replayBuffer';
import { Resync } from '../../../lib/cluster/resync';
import { RequestTimeoutError } from '../../../lib/cluster/transport';
import { FakeTransport, RecordingLog, SentRequest } from '../../support/coreFakes';
import { FakeClock, flush } from '../../support/fakeClock';

const HOLD_BACK = 250;
const MAX = 1 << 20;
const LIMITS = { maxAge: 5000, maxBytes: 1 << 20, maxMessages: 100 };

const binding = (host: string, port: number): Binding => ({ family: 'ipv4', host, port, spec: `tcp://${host}:${port}`, url: `tcp://${host}:${port}` });

function note (from: string, seq: number): Sequenced<DirectPayload> {
  return { content: { n: seq }, from, request: { data: {}, options: {} }, room: 'r', scope: 'in', seq, t: 'user', v: PROTOCOL_VERSION };
}

/** a Membership whose table is `members` */
function membershipOf (members: Map<string, Peer>): sinon.SinonStubbedInstance<Membership> {
  const membership = sinon.createStubInstance(Membership);
  membership.peer.callsFake(id => members.get(id));
  membership.isCurrent.callsFake(peer => members.get(peer.id) === peer);
  return membership;
}

/** a request waiting for the sender's answer */
interface Pending {
  request: SentRequest;
  /** the sender answers it from what it keeps */
  answer: () => void;
  fail: (error: Error) => void;
}

describe('Replay', () => {
  let clock: FakeClock;
  let log: RecordingLog;
  let transport: FakeTransport;
  let pending: Pending[];

  // the receiving node (this one) and its view of the sender
  let self: Identity;
  let peer: Peer;
  let members: Map<string, Peer>;
  let resync: sinon.SinonStubbedInstance<Resync>;
  let delivered: Array<[string, number]>;
  let replay: Replay;

  // the sending node
  let senderIdentity: Identity;
  let senderBuffer: ReplayBuffer;
  let sender: Replay;

  beforeEach(() => {
    clock = new FakeClock();
    log = new RecordingLog();
    self = new Identity({ pub: binding('10.0.0.1', 7511), router: binding('10.0.0.1', 7510) });
    senderIdentity = new Identity({ pub: binding('10.0.0.2', 7511), router: binding('10.0.0.2', 7510) });

    // the sender keeps what it sent to this node, and answers only its peers
    senderBuffer = new ReplayBuffer(clock, LIMITS);
    sender = new Replay({
      buffer: senderBuffer, holdBack: HOLD_BACK, host: new HostLink(log), identity: senderIdentity,
      inbox: sinon.createStubInstance(Inbox), log, maxMessageSize: MAX,
      membership: membershipOf(new Map([[self.id, new Peer(self.info, 0)]])),
      resync: sinon.createStubInstance(Resync), transport: new FakeTransport(),
    });

    pending = [];
    transport = new FakeTransport();
    transport.answer = request => new Promise((resolve, reject) => {
      // the transport gives up after the timeout it was given
      const cancel = clock.after(request.timeout, () => reject(new RequestTimeoutError(request.routerUrl, request.timeout)));
      pending.push({
        answer: () => {
          cancel();
          const asked = decode(Buffer.from(JSON.stringify(request.message)), MAX) as Unsequenced<ReplayRequest>;
          resolve(sender.answer(asked).map(body => Buffer.from(body)));
        },
        fail: error => {
          cancel();
          reject(error);
        },
        request,
      });
    });

    peer = new Peer(senderIdentity.info, clock.now());
    // greeted (nothing sent to this node yet) and synced
    peer.onHeartbeat({ direct: {}, from: peer.id, ready: true, seq: 0, t: 'heartbeat', v: PROTOCOL_VERSION }, self.id);
    peer.endResync();
    members = new Map([[peer.id, peer]]);

    delivered = [];
    const host: ClusterHost = {
      localRooms: () => [],
      onJoined: async () => undefined,
      onNotification: (from, message) => {
        delivered.push([from, 'seq' in message ? Number(message.seq) : 0]);
      },
      onSync: async () => undefined,
      refresh: async () => undefined,
      roomsChanged: () => undefined,
    };
    const hostLink = new HostLink(log);
    hostLink.bind(host);
    const membership = membershipOf(members);
    resync = sinon.createStubInstance(Resync);
    resync.peer.resolves();
    const inbox = new Inbox(self, membership, MAX, clock, log, {
      ack: sinon.stub(), broadcast: sinon.stub(), heartbeat: sinon.stub(), notification: sinon.stub(),
    });
    replay = new Replay({
      buffer: new ReplayBuffer(clock, LIMITS), holdBack: HOLD_BACK, host: hostLink, identity: self, inbox, log,
      maxMessageSize: MAX, membership, resync, transport,
    });
  });

  /** the sender sends notifications first..last to this node (kept for replay) */
  function send (first: number, last: number, compact = false): void {
    for (let seq = first; seq <= last; seq++) {
      const notification = note(senderIdentity.id, seq);
      senderBuffer.keep(self.id, seq, compact
        ? encodeCompactNotification(notification, seq, JSON.stringify(notification.content))
        : encode(senderIdentity.id, notification, seq));
    }
  }

  /** a notification reaching this node: delivered at once, held back, or starting a replay */
  function arrives (seq: number): Promise<void> | null {
    const verdict = peer.onNotification(note(peer.id, seq));
    if (verdict.kind === 'deliver') {
      delivered.push([peer.id, seq]);
    }
    return verdict.kind === 'recover' ? replay.recover(peer, verdict.missing) : null;
  }

  const deliveredSeqs = (): number[] => delivered.map(([from, seq]) => {
    should(from).equal(peer.id);
    return seq;
  });

  it('asks the sender\'s router for exactly the missing range, bounded by the hold-back time', async () => {
    send(1, 5);
    arrives(1);
    const recovering = arrives(5);
    should(recovering).not.be.null();
    should(pending).have.length(1);
    should(pending[0].request).match({
      message: { first: 2, from: self.id, last: 4, t: 'replay' }, routerUrl: senderIdentity.info.router, timeout: HOLD_BACK,
    });
    pending[0].answer();
    await recovering;
    should(deliveredSeqs()).eql([1, 2, 3, 4, 5]);
    should(peer.view()).match({ counters: { lostNotifications: 0, replayed: 3 }, heldBack: 0 });
    should(resync.peer.called).be.false();
    should(log.at('warn')).eql([]);
  });

  it('takes compact notifications, as a sender reading protocol 2 kept them, from the peer it asked', async () => {
    send(1, 5, true);
    arrives(1);
    const recovering = arrives(5);
    pending[0].answer();
    await recovering;
    should(deliveredSeqs()).eql([1, 2, 3, 4, 5]);
    should(peer.view()).match({ counters: { invalid: 0, lostNotifications: 0, replayed: 3 } });
  });

  it('holds back what arrives meanwhile and releases everything once, in order', async () => {
    send(1, 8);
    const recovering = arrives(3);
    arrives(5);
    arrives(4);
    arrives(4);
    should(deliveredSeqs()).eql([]);
    should(peer.view().heldBack).equal(3);
    pending[0].answer();
    await recovering;
    should(deliveredSeqs()).eql([1, 2, 3, 4, 5]);
    should(peer.view().counters).match({ duplicates: 1, replayed: 2 });
    arrives(6);
    should(deliveredSeqs()).eql([1, 2, 3, 4, 5, 6]);
    should(pending).have.length(1);
  });

  it('holds back no longer than the hold-back time: then what never came is lost', async () => {
    send(1, 5);
    const recovering = arrives(4);
    arrives(5);
    await clock.tickAsync(HOLD_BACK - 1);
    should(deliveredSeqs()).eql([]);
    await clock.tickAsync(1);
    await recovering;
    should(deliveredSeqs()).eql([4, 5]);
    should(peer.view()).match({ counters: { lostNotifications: 3, replayed: 0 }, heldBack: 0 });
    should(log.at('warn')).match([/3 notification\(s\) from .* were lost/]);
    should(resync.peer.calledOnceWithExactly(peer, 'gap')).be.true();
  });

  it('counts as lost what the sender no longer keeps', async () => {
    send(1, 2);
    clock.tick(LIMITS.maxAge + 1);
    send(3, 6);
    const recovering = arrives(6);
    pending[0].answer();
    await recovering;
    should(deliveredSeqs()).eql([3, 4, 5, 6]);
    should(peer.view().counters).match({ lostNotifications: 2, replayed: 3 });
    should(resync.peer.calledOnceWithExactly(peer, 'gap')).be.true();
  });

  it('asks again, for exactly the next gap, when more went missing among the held-back ones', async () => {
    send(1, 9);
    const recovering = arrives(3);
    arrives(4);
    arrives(7);
    pending[0].answer();
    await flush();
    should(deliveredSeqs()).eql([1, 2, 3, 4]);
    should(pending).have.length(2);
    should(pending[1].request.message).match({ first: 5, last: 6, t: 'replay' });
    pending[1].answer();
    await recovering;
    should(deliveredSeqs()).eql([1, 2, 3, 4, 5, 6, 7]);
    should(peer.view().counters).match({ lostNotifications: 0, replayed: 4 });
  });

  it('a sender gone mid-replay: what arrived is released in order, the rest is lost, and it is not asked again', async () => {
    send(1, 9);
    const recovering = arrives(3);
    arrives(4);
    arrives(7);
    // evicted while its answer is awaited; its router is gone with it
    members.delete(peer.id);
    peer.forget();
    pending[0].fail(new Error('socket closed'));
    await flush();
    should(deliveredSeqs()).eql([3, 4, 7]);
    should(pending).have.length(1);
    await recovering;
    should(peer.view()).match({ counters: { lostNotifications: 4 }, heldBack: 0 });
  });

  it('takes a reply that does not match its request for no reply', async () => {
    transport.answer = async () => [
      encode(senderIdentity.id, { count: 1, id: 'another request', t: 'replayed' }),
      encode(senderIdentity.id, note(senderIdentity.id, 2), 2),
    ].map(body => Buffer.from(body));
    await arrives(3);
    should(deliveredSeqs()).eql([3]);
    should(peer.view().counters).match({ lostNotifications: 2, replayed: 0 });
  });

  it('drops, and counts as invalid, replayed frames that are not the notifications asked for', async () => {
    send(1, 5);
    const asked: Array<[unknown, unknown]> = [];
    transport.answer = async request => {
      asked.push([request.message.first, request.message.last]);
      // the first reply carries foreign frames; the next ones nothing
      const frames = asked.length > 1 ? [] : [
        encode(senderIdentity.id, note(senderIdentity.id, 2), 2),
        encode(senderIdentity.id, note(senderIdentity.id, 9), 9),
        encode('someone-else', note('someone-else', 3), 3),
        encode(senderIdentity.id, { t: 'validators' }, 3),
        'garbage',
      ];
      return [encode(senderIdentity.id, { count: frames.length, id: String(request.message.id), t: 'replayed' }), ...frames]
        .map(body => Buffer.from(body));
    };
    await arrives(4);
    should(deliveredSeqs()).eql([2, 4]);
    should(peer.view().counters).match({ invalid: 4, lostNotifications: 2, replayed: 1 });
    // a reply ending before the range may have been cut by its size: the rest is asked for
    should(asked).eql([[1, 3], [3, 3]]);
  });

  describe('answering', () => {
    const ask = (from: string, first: number, last: number): Unsequenced<ReplayRequest> => ({ first, from, id: 'q1', last, t: 'replay', v: PROTOCOL_VERSION });

    it('sends back what it still keeps of the range, as it was sent, after a header counting them', () => {
      send(1, 5);
      const frames = sender.answer(ask(self.id, 2, 4));
      should(frames).have.length(4);
      should(decode(Buffer.from(frames[0]), MAX)).match({ count: 3, from: senderIdentity.id, id: 'q1', t: 'replayed' });
      should(frames.slice(1)).eql(senderBuffer.range(self.id, 2, 4));
      should(frames.slice(1).map(body => decode(Buffer.from(body), MAX))).match([{ seq: 2 }, { seq: 3 }, { seq: 4 }]);
    });

    it('gives a node only its own stream, and a stranger nothing', () => {
      send(1, 2);
      senderBuffer.keep('other', 1, 'for another node');
      should(sender.answer(ask(self.id, 1, 9)).slice(1)).eql(senderBuffer.range(self.id, 1, 9));
      const stranger = sender.answer(ask('other', 1, 1));
      should(stranger).have.length(1);
      should(decode(Buffer.from(stranger[0]), MAX)).match({ count: 0, t: 'replayed' });
    });
  });
});
