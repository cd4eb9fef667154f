import should from 'should';
import sinon from 'sinon';

import type { Binding } from '../../../lib/config';
import { Acks } from '../../../lib/cluster/acks';
import { COMPACT_VERSION } from '../../../lib/cluster/compact';
import { Identity } from '../../../lib/cluster/identity';
import {
  BROADCAST_TOPIC, DirectPayload, Envelope, PROTOCOL_VERSION, compactTopic, decode, nodeTopic,
} from '../../../lib/cluster/messages';
import { Outbox } from '../../../lib/cluster/outbox';
import { ReplayBuffer } from '../../../lib/cluster/replayBuffer';
import type { ClusterTransport } from '../../../lib/cluster/transport';
import { FakeClock, settled } from '../../support/fakeClock';

const ACK_TIMEOUT = 1000;

const binding = (port: number): Binding => ({ family: 'ipv4', host: '10.0.0.1', port, spec: `tcp://10.0.0.1:${port}`, url: `tcp://10.0.0.1:${port}` });

function stubTransport () {
  return {
    bind: sinon.stub<[], Promise<void>>().resolves(),
    close: sinon.stub<[], void>(),
    connectPeer: sinon.stub<[string, string], void>(),
    denied: 0,
    disconnectPeer: sinon.stub<[string], void>(),
    drain: sinon.stub<[number], Promise<void>>().resolves(),
    dropped: 0,
    publish: sinon.stub<[string, string], void>(),
    request: sinon.stub<[string, string, number], Promise<Buffer[]>>().rejects(new Error('no router here')),
    sent: { envelopes: 0, messages: 0 },
    setTopics: sinon.stub<[string[]], void>(),
  } satisfies ClusterTransport;
}



function document (rooms: string[], content: unknown): DirectPayload {
  return { action: 'create', content, request: { data: { _id: 'd1' }, options: {} }, rooms, scope: 'in', t: 'document' };
}

describe('Outbox', () => {
  let clock: FakeClock;
  let identity: Identity;
  let transport: ReturnType<typeof stubTransport>;
  let acks: Acks;
  let peers: string[];
  let replay: ReplayBuffer;
  let outbox: Outbox;
  /** the newest protocol each peer reads (1 when not set) */
  let protocols: Map<string, number>;

  /** what a peer makes of a body this outbox sent */
  const decoded = (body: string): Envelope => decode(Buffer.from(body), 1 << 20, identity.id);

  /** [topic, decoded envelope] of everything published, in order */
  const published = (): Array<[string, Envelope]> => transport.publish.args.map(([topic, body]) => [topic, decoded(body)]);
  const lastHeartbeat = (): Envelope => {
    outbox.heartbeat(true);
    return decoded(transport.publish.lastCall.args[1]);
  };
  /** the notification numbers a heartbeat sent now announces */
  const announced = (): Record<string, number> | null => {
    const heartbeat = lastHeartbeat();
    return heartbeat.t === 'heartbeat' ? heartbeat.direct : null;
  };

  function build (ackTimeout = ACK_TIMEOUT): void {
    clock = new FakeClock();
    identity = new Identity({ pub: binding(7511), router: binding(7510) });
    transport = stubTransport();
    acks = new Acks(clock, ackTimeout, sinon.stub<[string, number[]], void>());
    peers = ['p1', 'p2'];
    replay = new ReplayBuffer(clock, { maxAge: 5000, maxBytes: 1 << 20, maxMessages: 100 });
    protocols = new Map();
    outbox = new Outbox(identity, transport, acks, () => peers, replay, peer => protocols.get(peer) ?? PROTOCOL_VERSION);
  }

  beforeEach(() => build());

  describe('broadcast stream', () => {
    it('numbers messages from 1, one numbering for all peers, on the broadcast topic', async () => {
      should(outbox.lastSeq).equal(0);
      await outbox.broadcast({ t: 'validators' });
      await outbox.broadcast({ kind: 'role', t: 'security' });
      should(outbox.nextSeq()).equal(3);
      should(outbox.lastSeq).equal(3);
      should(published()).match([
        [BROADCAST_TOPIC, { from: identity.id, seq: 1, t: 'validators' }],
        [BROADCAST_TOPIC, { from: identity.id, kind: 'role', seq: 2, t: 'security' }],
      ]);
      should(published()[0][1]).not.have.property('ack');
    });

    it('a message sent with `ack` waits for every peer to acknowledge it, and says so', async () => {
      const done = outbox.broadcast({ t: 'validators' }, true);
      should(published()[0][1]).match({ ack: true, seq: 1 });
      acks.onAck('p1', [1]);
      should(await settled(done)).be.false();
      acks.onAck('p2', [1]);
      should(await settled(done)).be.true();
    });

    it('does not wait longer than the acknowledgement timeout', async () => {
      const done = outbox.broadcast({ t: 'validators' }, true);
      clock.tick(ACK_TIMEOUT - 1);
      should(await settled(done)).be.false();
      clock.tick(1);
      should(await settled(done)).be.true();
    });

    it('asks for no acknowledgement when no peer would give one, or when acknowledgements are off', async () => {
      peers = [];
      should(await settled(outbox.broadcast({ t: 'validators' }, true))).be.true();
      should(published()[0][1]).not.have.property('ack');
      build(0);
      should(await settled(outbox.broadcast({ t: 'validators' }, true))).be.true();
      should(published()[0][1]).not.have.property('ack');
    });

    it('sends a reserved number when told to', async () => {
      const seq = outbox.nextSeq();
      should(outbox.nextSeq()).equal(seq + 1);
      await outbox.sequenced({ count: 0, room: 'r', t: 'room' }, seq, false);
      should(published()).match([[BROADCAST_TOPIC, { room: 'r', seq, t: 'room' }]]);
    });
  });

  describe('heartbeat', () => {
    it('announces the highest broadcast number actually sent, not those only reserved', async () => {
      should(lastHeartbeat()).match({ from: identity.id, ready: true, seq: 0, t: 'heartbeat' });
      should(announced()).eql({});
      const [one, two, three] = [outbox.nextSeq(), outbox.nextSeq(), outbox.nextSeq()];
      should(lastHeartbeat()).match({ seq: 0 });
      await outbox.sequenced({ t: 'validators' }, two, false);
      should(lastHeartbeat()).match({ seq: two });
      // a lower number sent late does not lower it
      await outbox.sequenced({ t: 'validators' }, one, false);
      should(lastHeartbeat()).match({ seq: two });
      await outbox.sequenced({ t: 'validators' }, three, false);
      should(lastHeartbeat()).match({ seq: three });
    });

    it('announces its readiness and the last notification number sent to each node', () => {
      outbox.notify(new Map([['a', ['r1']], ['b', ['r2']]]), rooms => document(rooms, {}));
      outbox.notify(new Map([['a', ['r1']]]), rooms => document(rooms, {}));
      outbox.heartbeat(false);
      const [topic, heartbeat] = published()[published().length - 1];
      should(topic).equal(BROADCAST_TOPIC);
      should(heartbeat).eql({ direct: { a: 2, b: 1 }, from: identity.id, ready: false, seq: 0, t: 'heartbeat', v: heartbeat.v });
    });
  });

  describe('notifications', () => {
    it('sends one notification per destination node, with its rooms, numbered in that node\'s stream', () => {
      const destinations = new Map([['a', ['r1']], ['b', ['r2', 'r3']]]);
      outbox.notify(destinations, rooms => document(rooms, { _id: 'd1' }));
      outbox.notify(new Map([['b', ['r2']], ['c', ['r4']]]), rooms => document(rooms, { _id: 'd2' }));
      should(published()).match([
        [nodeTopic('a'), { content: { _id: 'd1' }, from: identity.id, rooms: ['r1'], seq: 1, t: 'document' }],
        [nodeTopic('b'), { content: { _id: 'd1' }, rooms: ['r2', 'r3'], seq: 1, t: 'document' }],
        [nodeTopic('b'), { content: { _id: 'd2' }, rooms: ['r2'], seq: 2, t: 'document' }],
        [nodeTopic('c'), { content: { _id: 'd2' }, rooms: ['r4'], seq: 1, t: 'document' }],
      ]);
      // the broadcast numbering is not touched
      should(outbox.lastSeq).equal(0);
    });

    it('encodes the content once for all destinations', () => {
      const toJSON = sinon.spy(() => ({ big: 'x'.repeat(100) }));
      const content = { toJSON };
      outbox.notify(new Map([['a', ['r1']], ['b', ['r2']], ['c', ['r3']]]), rooms => document(rooms, content));
      should(toJSON.callCount).equal(1);
      should(published().map(([, envelope]) => envelope)).matchEach({ content: { big: 'x'.repeat(100) } });
    });

    it('encodes again a content that differs between destinations', () => {
      outbox.notify(new Map([['a', ['r1']], ['b', ['r2']]]), rooms => document(rooms, { room: rooms[0] }));
      should(published().map(([, envelope]) => envelope)).match([{ content: { room: 'r1' } }, { content: { room: 'r2' } }]);
    });

    it('keeps each notification, as sent, for a replay to its destination', () => {
      outbox.notify(new Map([['a', ['r1']], ['b', ['r2']]]), rooms => document(rooms, { n: 1 }));
      outbox.notify(new Map([['a', ['r1']]]), rooms => document(rooms, { n: 2 }));
      const sentTo = (node: string): string[] => transport.publish.args.filter(([topic]) => topic === nodeTopic(node)).map(([, body]) => body);
      should(replay.range('a', 1, 2)).eql(sentTo('a'));
      should(replay.range('b', 1, 1)).eql(sentTo('b'));
      should(sentTo('a')).have.length(2);
    });
  });

  it('sends an acknowledgement on the peer\'s own topic', () => {
    protocols.set('p2', COMPACT_VERSION);
    outbox.ack('p1', [3, 4]);
    outbox.ack('p2', [5]);
    should(published()).match([
      [nodeTopic('p1'), { from: identity.id, of: [3, 4], t: 'ack' }],
      [compactTopic('p2'), { from: identity.id, of: [5], t: 'ack' }],
    ]);
  });

  describe('to peers reading protocol 2', () => {
    beforeEach(() => protocols.set('b', COMPACT_VERSION));

    it('sends compact notifications on their compact topic, version 1 envelopes to the others', () => {
      outbox.notify(new Map([['a', ['r1']], ['b', ['r2', 'r3']]]), rooms => document(rooms, { _id: 'd1' }));
      const [[topicA, bodyA], [topicB, bodyB]] = transport.publish.args;
      should(topicA).equal(nodeTopic('a'));
      should(JSON.parse(bodyA)).match({ from: identity.id, v: PROTOCOL_VERSION });
      should(topicB).equal(compactTopic('b'));
      should(JSON.parse(bodyB)).be.an.Array().and.match({ 0: COMPACT_VERSION });
      should(bodyB.length).be.below(bodyA.length);
      should(decoded(bodyB)).match({ action: 'create', content: { _id: 'd1' }, from: identity.id, rooms: ['r2', 'r3'], scope: 'in', seq: 1, t: 'document' });
    });

    it('numbers them in the peer\'s own stream and keeps them, as sent, for a replay', () => {
      outbox.notify(new Map([['b', ['r2']]]), rooms => document(rooms, { n: 1 }));
      outbox.notify(new Map([['b', ['r2']]]), rooms => document(rooms, { n: 2 }));
      const sent = transport.publish.args.map(([, body]) => body);
      should(sent.map(body => decoded(body))).match([{ content: { n: 1 }, seq: 1 }, { content: { n: 2 }, seq: 2 }]);
      should(replay.range('b', 1, 2)).eql(sent);
      should(announced()).eql({ b: 2 });
    });
  });

  it('forgets a gone peer\'s notification numbering and what it kept for it', () => {
    outbox.notify(new Map([['a', ['r1']], ['b', ['r2']]]), rooms => document(rooms, {}));
    outbox.forget('a');
    should(announced()).eql({ b: 1 });
    should(replay.range('a', 1, 1)).eql([]);
    should(replay.range('b', 1, 1)).have.length(1);
    outbox.notify(new Map([['a', ['r1']]]), rooms => document(rooms, {}));
    should(published()[published().length - 1]).match([nodeTopic('a'), { seq: 1 }]);
  });

  it('a new incarnation numbers everything from 1 again and keeps nothing of the previous one', async () => {
    await outbox.broadcast({ t: 'validators' });
    outbox.notify(new Map([['a', ['r1']]]), rooms => document(rooms, {}));
    outbox.restart();
    should(outbox.lastSeq).equal(0);
    should(lastHeartbeat()).match({ seq: 0 });
    should(announced()).eql({});
    should(replay.range('a', 1, 1)).eql([]);
    await outbox.broadcast({ t: 'validators' });
    outbox.notify(new Map([['a', ['r1']]]), rooms => document(rooms, {}));
    should(published().slice(-2)).match([[BROADCAST_TOPIC, { seq: 1, t: 'validators' }], [nodeTopic('a'), { seq: 1 }]]);
  });
});
