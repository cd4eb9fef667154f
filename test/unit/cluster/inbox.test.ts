import should from 'should';
import sinon from 'sinon';

import type { Binding } from '../../../lib/config';
import { encodeCompactNotification } from '../../../lib/cluster/compact';
import { Identity } from '../../../lib/cluster/identity';
import { Inbox } from '../../../lib/cluster/inbox';
import {
  AckMessage, BROADCAST_TOPIC, DirectPayload, HeartbeatPayload, PROTOCOL_VERSION, Payload, Sequenced, SyncPayload, Unsequenced,
  compactTopic, encode, nodeTopic,
} from '../../../lib/cluster/messages';
import { Peer } from '../../../lib/cluster/peer';
import { FakeClock } from '../../support/fakeClock';

const MAX = 4096;
const binding = (port: number): Binding => ({ family: 'ipv4', host: '10.0.0.1', port, spec: `tcp://10.0.0.1:${port}`, url: `tcp://10.0.0.1:${port}` });
const info = (id: string) => ({ id, pub: `tcp://10.0.0.2:${id}`, router: `tcp://10.0.0.3:${id}`, startedAt: 1, version: 'test' });

const request = { data: {}, options: {} };
const userNote: DirectPayload = { content: { count: 1 }, request, room: 'r', scope: 'in', t: 'user' };
const documentNote: DirectPayload = { action: 'create', content: {}, request, rooms: ['r'], scope: 'in', t: 'document' };
const heartbeat: HeartbeatPayload = { direct: {}, ready: true, seq: 0, t: 'heartbeat' };

const frame = (from: string, payload: Payload, seq?: number): Buffer => Buffer.from(encode(from, payload, seq));
const compact = (payload: DirectPayload, seq: number): Buffer => Buffer.from(encodeCompactNotification(payload, seq, JSON.stringify(payload.content)));
const raw = (fields: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ from: 'p1', v: PROTOCOL_VERSION, ...fields }));

describe('Inbox', () => {
  let clock: FakeClock;
  let identity: Identity;
  let peers: Map<string, Peer>;
  let p1: Peer;
  let log: { info: sinon.SinonStub<[string], void>; warn: sinon.SinonStub<[string], void>; error: sinon.SinonStub<[string], void> };
  let handlers: {
    heartbeat: sinon.SinonStub<[Peer, Unsequenced<HeartbeatPayload>], void>;
    ack: sinon.SinonStub<[Peer, Unsequenced<AckMessage>], void>;
    notification: sinon.SinonStub<[Peer, Sequenced<DirectPayload>], void>;
    broadcast: sinon.SinonStub<[Peer, Sequenced<SyncPayload>], void>;
  };
  let inbox: Inbox;
  /** this node's own topic */
  let mine: string;

  /** every handler call, in order: [handler, peer id, kind, seq (a heartbeat's: its watermark)] */
  let seen: Array<[string, string, string, number | undefined]>;
  const dispatched = (): Array<[string, string, string, number | undefined]> => seen;
  const record = (handler: string, peer: Peer, message: { t: string; seq?: number }): void => {
    seen.push([handler, peer.id, message.t, message.seq]);
  };

  beforeEach(() => {
    clock = new FakeClock();
    identity = new Identity({ pub: binding(7511), router: binding(7510) });
    mine = nodeTopic(identity.id);
    p1 = new Peer(info('p1'), clock.now());
    peers = new Map([['p1', p1], ['p2', new Peer(info('p2'), clock.now())]]);
    log = { error: sinon.stub(), info: sinon.stub(), warn: sinon.stub() };
    seen = [];
    handlers = {
      ack: sinon.stub<[Peer, Unsequenced<AckMessage>], void>().callsFake((peer, m) => record('ack', peer, m)),
      broadcast: sinon.stub<[Peer, Sequenced<SyncPayload>], void>().callsFake((peer, m) => record('broadcast', peer, m)),
      heartbeat: sinon.stub<[Peer, Unsequenced<HeartbeatPayload>], void>().callsFake((peer, m) => record('heartbeat', peer, m)),
      notification: sinon.stub<[Peer, Sequenced<DirectPayload>], void>().callsFake((peer, m) => record('notification', peer, m)),
    };
    inbox = new Inbox(identity, { peer: id => peers.get(id) }, MAX, clock, log, handlers);
  });

  describe('dispatch by kind', () => {
    it('hands each checked message to the handler of its stream, in order, with the peer it came from', () => {
      inbox.onFrames('p1', [Buffer.from(BROADCAST_TOPIC), frame('p1', heartbeat), frame('p1', { t: 'validators' }, 1),
        frame('p1', { count: 0, room: 'r', t: 'room' }, 2), frame('p1', { t: 'leave' }, 3)]);
      inbox.onFrames('p1', [Buffer.from(mine), frame('p1', userNote, 1), frame('p1', { of: [4], t: 'ack' }), frame('p1', documentNote, 2)]);
      should(dispatched()).eql([
        ['heartbeat', 'p1', 'heartbeat', 0],
        ['broadcast', 'p1', 'validators', 1],
        ['broadcast', 'p1', 'room', 2],
        ['broadcast', 'p1', 'leave', 3],
        ['notification', 'p1', 'user', 1],
        ['ack', 'p1', 'ack', undefined],
        ['notification', 'p1', 'document', 2],
      ]);
      should(handlers.ack.firstCall.args[0]).equal(p1);
      should(p1.view().counters.invalid).equal(0);
      should(log.warn.called).be.false();
    });

    it('a valid message counts as hearing from the peer, an invalid one does not', () => {
      clock.tick(500);
      inbox.onFrames('p1', [Buffer.from(BROADCAST_TOPIC), Buffer.from('garbage')]);
      should(p1.silentFor(clock.now())).equal(500);
      inbox.onFrames('p1', [Buffer.from(BROADCAST_TOPIC), frame('p1', heartbeat)]);
      should(p1.silentFor(clock.now())).equal(0);
    });

    it('ignores frames from a node that is not (or no longer) a peer', () => {
      inbox.onFrames('stranger', [Buffer.from(BROADCAST_TOPIC), frame('stranger', heartbeat)]);
      inbox.onFrames('stranger', [Buffer.from('garbage')]);
      should(dispatched()).eql([]);
      should(inbox.unattributed.invalid).equal(0);
      should(log.warn.called).be.false();
    });

    it('stops at once when a message makes the peer go', () => {
      handlers.broadcast.callsFake((peer, message) => {
        record('broadcast', peer, message);
        peers.delete(peer.id);
      });
      inbox.onFrames('p1', [Buffer.from(BROADCAST_TOPIC), frame('p1', { t: 'leave' }, 1), frame('p1', heartbeat)]);
      should(dispatched()).eql([['broadcast', 'p1', 'leave', 1]]);
    });
  });

  describe('checks', () => {
    /** sends one envelope from p1 on `topic`; returns whether it was dispatched */
    function accepted (topic: string, body: Buffer): boolean {
      const before = dispatched().length;
      inbox.onFrames('p1', [Buffer.from(topic), body]);
      return dispatched().length > before;
    }

    it('drops and counts, on the peer it came from, what fails a check', () => {
      should(accepted(BROADCAST_TOPIC, Buffer.from('{not json'))).be.false();
      should(accepted(BROADCAST_TOPIC, raw({ seq: 1, t: 'leave', v: 99 }))).be.false();
      should(accepted(BROADCAST_TOPIC, raw({ seq: 1, t: 'launch' }))).be.false();
      should(accepted(BROADCAST_TOPIC, raw({ t: 'leave' }))).be.false();
      should(p1.view().counters.invalid).equal(4);
      should(peers.get('p2')?.view().counters.invalid).equal(0);
      should(inbox.unattributed.invalid).equal(0);
    });

    it('drops a frame larger than maxMessageSize', () => {
      const big = frame('p1', { event: 'e', payload: 'x'.repeat(MAX), t: 'app' }, 1);
      const small = frame('p1', { event: 'e', payload: 'x', t: 'app' }, 1);
      should(accepted(BROADCAST_TOPIC, big)).be.false();
      should(accepted(BROADCAST_TOPIC, small)).be.true();
      should(p1.view().counters.invalid).equal(1);
      should(log.warn.firstCall.args[0]).match(/exceeds maxMessageSize/);
    });

    it('drops a message whose sender is not the peer whose socket it came from', () => {
      should(accepted(BROADCAST_TOPIC, frame('p2', heartbeat))).be.false();
      should(p1.view().counters.invalid).equal(1);
      should(peers.get('p2')?.view().counters.invalid).equal(0);
      should(log.warn.firstCall.args[0]).match(/sender claims to be p2/);
    });

    it('takes notifications and acknowledgements only on this node\'s topic, the rest only on the broadcast one', () => {
      should(accepted(BROADCAST_TOPIC, frame('p1', userNote, 1))).be.false();
      should(accepted(BROADCAST_TOPIC, frame('p1', { of: [1], t: 'ack' }))).be.false();
      should(accepted(nodeTopic('someone-else'), frame('p1', documentNote, 1))).be.false();
      should(accepted(mine, frame('p1', heartbeat))).be.false();
      should(accepted(mine, frame('p1', { t: 'validators' }, 1))).be.false();
      should(p1.view().counters.invalid).equal(5);
      should(accepted(mine, frame('p1', documentNote, 1))).be.true();
      should(accepted(BROADCAST_TOPIC, frame('p1', { t: 'validators' }, 1))).be.true();
    });

    it('takes compact notifications and acknowledgements on this node\'s compact topic too, from the peer whose socket they came on', () => {
      const topic = compactTopic(identity.id);
      should(accepted(topic, compact(documentNote, 1))).be.true();
      should(accepted(mine, compact(userNote, 2))).be.true();
      should(accepted(topic, frame('p1', { of: [1], t: 'ack' }))).be.true();
      should(accepted(compactTopic('someone-else'), compact(documentNote, 3))).be.false();
      should(accepted(BROADCAST_TOPIC, compact(documentNote, 3))).be.false();
      should(accepted(topic, frame('p1', { t: 'validators' }, 1))).be.false();
      should(p1.view().counters.invalid).equal(3);
      should(handlers.notification.firstCall.args[1]).match({ from: 'p1', rooms: ['r'], seq: 1, t: 'document' });
      should(dispatched()).eql([['notification', 'p1', 'document', 1], ['notification', 'p1', 'user', 2], ['ack', 'p1', 'ack', undefined]]);
    });

    it('a new incarnation takes messages on its new topics only', () => {
      const oldTopic = compactTopic(identity.id);
      identity.renew();
      should(accepted(oldTopic, compact(documentNote, 1))).be.false();
      should(accepted(nodeTopic(identity.id), compact(documentNote, 1))).be.true();
      should(accepted(compactTopic(identity.id), compact(documentNote, 2))).be.true();
    });

    it('drops router messages sent on the PUB socket', () => {
      should(accepted(BROADCAST_TOPIC, frame('p1', { id: 'p1', pub: 'tcp://a:1', router: 'tcp://a:2', t: 'hello' }))).be.false();
      should(accepted(BROADCAST_TOPIC, frame('p1', { id: 'x', t: 'welcome' }))).be.false();
      should(accepted(BROADCAST_TOPIC, frame('p1', { first: 1, id: 'x', last: 2, t: 'replay' }))).be.false();
      should(accepted(BROADCAST_TOPIC, frame('p1', { count: 0, id: 'x', t: 'replayed' }))).be.false();
      should(p1.view().counters.invalid).equal(4);
    });

    it('drops a 0mq message without envelopes', () => {
      inbox.onFrames('p1', [Buffer.from(BROADCAST_TOPIC)]);
      inbox.onFrames('p1', []);
      should(p1.view().counters.invalid).equal(2);
      should(dispatched()).eql([]);
    });

    it('an invalid envelope does not spoil the others of the same 0mq message', () => {
      inbox.onFrames('p1', [Buffer.from(BROADCAST_TOPIC), frame('p1', { t: 'validators' }, 1), Buffer.from('garbage'),
        frame('p1', { t: 'validators' }, 2)]);
      should(dispatched()).eql([['broadcast', 'p1', 'validators', 1], ['broadcast', 'p1', 'validators', 2]]);
      should(p1.view().counters.invalid).equal(1);
    });

    it('logs once per source and kind, and counts every one', () => {
      for (let i = 0; i < 3; i++) {
        accepted(BROADCAST_TOPIC, Buffer.from('garbage'));
        accepted(BROADCAST_TOPIC, raw({ seq: 1, t: 'leave', v: 99 }));
      }
      inbox.onFrames('p2', [Buffer.from(BROADCAST_TOPIC), Buffer.from('garbage')]);
      should(p1.view().counters.invalid).equal(6);
      should(log.warn.callCount).equal(3);
      should(log.warn.args.map(([message]) => message)).match([/from p1: frame is not valid JSON/, /from p1: unsupported protocol version/, /from p2:/]);
    });
  });

  describe('router requests', () => {
    it('accepts a single-frame hello or replay request', () => {
      should(inbox.request([frame('p9', { id: 'p9', pub: 'tcp://a:1', router: 'tcp://a:2', t: 'hello' })])).match({ from: 'p9', t: 'hello' });
      should(inbox.request([frame('p1', { first: 2, id: 'r1', last: 5, t: 'replay' })])).match({ first: 2, from: 'p1', last: 5, t: 'replay' });
      should(inbox.unattributed.invalid).equal(0);
    });

    it('refuses anything else, counted as unattributed and logged once per kind', () => {
      should(inbox.request([])).be.null();
      should(inbox.request([frame('p1', { first: 2, id: 'r1', last: 5, t: 'replay' }), Buffer.from('x')])).be.null();
      should(inbox.request([frame('p1', heartbeat)])).be.null();
      should(inbox.request([frame('p1', { id: 'x', t: 'welcome' })])).be.null();
      should(inbox.request([Buffer.from('garbage')])).be.null();
      const unattributed = inbox.unattributed;
      should(unattributed.invalid).equal(5);
      // a copy
      unattributed.invalid = 0;
      should(inbox.unattributed.invalid).equal(5);
      should(p1.view().counters.invalid).equal(0);
      should(log.warn.args.map(([message]) => message)).match([/from router: expected 1 frame/, /from router: "heartbeat" is not a router request/]);
      should(log.warn.callCount).equal(2);
    });
  });
});
