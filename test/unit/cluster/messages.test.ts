import should from 'should';

import { COMPACT_VERSION, encodeCompactNotification } from '../../../lib/cluster/compact';
import { InvalidMessageError } from '../../../lib/cluster/invalid';
import {
  DirectPayload, PROTOCOL_VERSION, Payload, READS_PROTOCOL, compactTopic, decode, encode, encodeNotification, nodeTopic, ownTopics, readsProtocol,
} from '../../../lib/cluster/messages';

/** what a receiver gets for an encoded envelope */
const frameOf = (...args: Parameters<typeof encode>): Buffer => Buffer.from(encode(...args));

const MAX = 4096;

function kindOf (frame: Buffer | string, sender?: string): string {
  try {
    decode(Buffer.isBuffer(frame) ? frame : Buffer.from(frame), MAX, sender);
  }
  catch (error) {
    should(error).be.instanceOf(InvalidMessageError);
    return (error as InvalidMessageError).kind;
  }
  return 'valid';
}

const envelope = (fields: Record<string, unknown>): string => JSON.stringify({ from: 'n1', v: PROTOCOL_VERSION, ...fields });

describe('messages', () => {
  it('round-trips every message type through encode/decode', () => {
    const filter = { collection: 'c', filters: [], index: 'i' };
    const request = { data: {}, options: {} };
    const payloads = [
      { count: 2, filter, room: 'r', t: 'room' },
      { count: 0, room: 'r', t: 'room' },
      { index: 'i', op: 'add', scope: 'public', t: 'storage' },
      { collection: 'c', index: 'i', op: 'remove', scope: 'private', t: 'storage' },
      { id: 'admin', kind: 'role', t: 'security' },
      { kind: 'all', t: 'security' },
      { t: 'validators' },
      { name: 's', op: 'add', pluginName: 'p', strategy: { config: {} }, t: 'strategy' },
      { name: 's', op: 'remove', pluginName: 'p', t: 'strategy' },
      { event: 'e', payload: { a: 1 }, t: 'app' },
      { suffix: '', t: 'dump' },
      { t: 'shutdown' }, { t: 'reset' }, { t: 'leave' }, { node: 'n2', t: 'evicted' },
      { action: 'create', content: {}, request, rooms: ['r'], scope: 'in', t: 'document' },
      { content: { count: 1 }, request, room: 'r', scope: 'out', t: 'user' },
    ] as Payload[];

    for (const payload of payloads) {
      const decoded = decode(frameOf('n1', payload, 7), MAX);
      should(decoded).match({ ...payload, from: 'n1', seq: 7, v: PROTOCOL_VERSION });
      // a sequenced kind without its number is refused
      should(kindOf(encode('n1', payload))).equal('malformed');
    }

    const heartbeat = decode(frameOf('n1', { direct: { n2: 3 }, ready: true, seq: 9, t: 'heartbeat' }), MAX);
    should(heartbeat).match({ direct: { n2: 3 }, seq: 9, t: 'heartbeat' });
    should(decode(frameOf('n1', { id: 'x', pub: 'tcp://a:1', router: 'tcp://a:2', t: 'hello' }), MAX).t).equal('hello');
    should(decode(frameOf('n1', { of: [12, 13], t: 'ack' }), MAX)).match({ of: [12, 13], t: 'ack' });
    should(decode(frameOf('n1', { t: 'validators' }, 3, true), MAX)).match({ ack: true, seq: 3 });
  });

  it('rejects garbage', () => {
    should(kindOf(Buffer.from([0xff, 0x00, 0x13]))).equal('malformed');
    should(kindOf('')).equal('malformed');
    should(kindOf('[1,2]')).equal('malformed');
    should(kindOf('null')).equal('malformed');
    should(kindOf('"text"')).equal('malformed');
  });

  it('rejects another protocol version', () => {
    should(kindOf(envelope({ t: 'leave', seq: 1, v: 2 }))).equal('version');
    should(kindOf(JSON.stringify({ from: 'n1', seq: 1, t: 'leave' }))).equal('version');
  });

  it('rejects unknown types', () => {
    should(kindOf(envelope({ seq: 1, t: 'launchMissiles' }))).equal('type');
    should(kindOf(envelope({ seq: 1, t: 'toString' }))).equal('type');
    should(kindOf(envelope({ seq: 1 }))).equal('type');
  });

  it('rejects oversized frames before parsing them', () => {
    should(kindOf(envelope({ pad: 'x'.repeat(MAX), t: 'leave', seq: 1 }))).equal('oversized');
  });

  it('rejects missing or ill-typed fields', () => {
    should(kindOf(envelope({ t: 'leave' }))).equal('malformed'); // no seq
    should(kindOf(envelope({ seq: -1, t: 'leave' }))).equal('malformed');
    should(kindOf(envelope({ seq: 1.5, t: 'leave' }))).equal('malformed');
    should(kindOf(JSON.stringify({ seq: 1, t: 'leave', v: PROTOCOL_VERSION }))).equal('malformed'); // no from
    should(kindOf(envelope({ count: 1, room: 'r', seq: 1, t: 'room' }))).equal('malformed'); // no filter
    should(kindOf(envelope({ count: 1, filter: { index: 'i' }, room: 'r', seq: 1, t: 'room' }))).equal('malformed');
    should(kindOf(envelope({ count: '1', room: 'r', seq: 1, t: 'room' }))).equal('malformed');
    should(kindOf(envelope({ index: 'i', op: 'drop', scope: 'public', seq: 1, t: 'storage' }))).equal('malformed');
    should(kindOf(envelope({ index: 'i', op: 'add', scope: 'secret', seq: 1, t: 'storage' }))).equal('malformed');
    should(kindOf(envelope({ kind: 'user', seq: 1, t: 'security' }))).equal('malformed');
    should(kindOf(envelope({ name: 's', op: 'add', pluginName: 'p', seq: 1, t: 'strategy' }))).equal('malformed');
    should(kindOf(envelope({ seq: 1, t: 'app' }))).equal('malformed');
    should(kindOf(envelope({ seq: 1, suffix: 3, t: 'dump' }))).equal('malformed');
    should(kindOf(envelope({ request: {}, rooms: 'r', scope: 'in', action: 'x', seq: 1, t: 'document' }))).equal('malformed');
    should(kindOf(envelope({ request: { data: {} }, room: 'r', scope: 'in', seq: 1, t: 'user' }))).equal('malformed');
    should(kindOf(envelope({ direct: [], ready: true, seq: 1, t: 'heartbeat' }))).equal('malformed');
    should(kindOf(envelope({ direct: { a: 'x' }, ready: true, seq: 1, t: 'heartbeat' }))).equal('malformed');
    should(kindOf(envelope({ direct: {}, ready: 'yes', seq: 1, t: 'heartbeat' }))).equal('malformed');
    should(kindOf(envelope({ id: 'x', pub: 'p', t: 'hello' }))).equal('malformed');
    should(kindOf(envelope({ of: -1, t: 'ack' }))).equal('malformed');
    should(kindOf(envelope({ of: 3, t: 'ack' }))).equal('malformed');
    should(kindOf(envelope({ of: [], t: 'ack' }))).equal('malformed');
    should(kindOf(envelope({ of: [1, 'x'], t: 'ack' }))).equal('malformed');
    should(kindOf(envelope({ ack: 'yes', seq: 1, t: 'leave' }))).equal('malformed');
  });

  it('heartbeats, acknowledgements and router messages are not sequenced', () => {
    for (const payload of [
      { id: 'x', pub: 'tcp://a:1', router: 'tcp://a:2', t: 'hello' },
      { id: 'x', t: 'welcome' },
      { of: [1], t: 'ack' },
    ] as Payload[]) {
      should(decode(frameOf('n1', payload), MAX)).not.have.property('seq');
    }
  });

  it('a hello may announce the newest protocol its sender reads', () => {
    const hello = { id: 'x', pub: 'tcp://a:1', router: 'tcp://a:2', t: 'hello' };
    should(decode(Buffer.from(envelope({ ...hello, protocol: 2 })), MAX)).match({ protocol: 2 });
    for (const protocol of [0, 1.5, '2', null]) {
      should(kindOf(envelope({ ...hello, protocol }))).equal('malformed');
    }
    should(readsProtocol(undefined)).equal(PROTOCOL_VERSION);
    should(readsProtocol(3)).equal(3);
    should(readsProtocol(-2)).equal(PROTOCOL_VERSION);
    should(readsProtocol('2')).equal(PROTOCOL_VERSION);
    should(READS_PROTOCOL).equal(COMPACT_VERSION);
  });

  it('a node subscribes to the broadcast topic and its two own topics, of equal length for every node', () => {
    should(ownTopics('n1')).eql(['B', nodeTopic('n1'), compactTopic('n1')]);
    should(compactTopic('n1')).not.equal(compactTopic('n2'));
    should(compactTopic('n1')).equal(compactTopic('n1'));
    should(compactTopic('9b2f1c4e-0e1a-4c55-9d7a-2f9f0c1d2e3f')).have.length(17);
    should(compactTopic('n1')).have.length(17);
  });

  it('encodes a notification around its content, encoded once for every destination', () => {
    const payload: DirectPayload = {
      action: 'create', content: { _id: 'd', n: 1 }, request: { data: { index: 'i' }, options: {} }, rooms: ['r1'], scope: 'in', t: 'document',
    };
    should(decode(Buffer.from(encodeNotification('n1', payload, 3, JSON.stringify(payload.content))), MAX))
      .eql({ ...payload, from: 'n1', seq: 3, v: PROTOCOL_VERSION });
    const bare = decode(Buffer.from(encodeNotification('n1', { ...payload, content: undefined }, 4, undefined)), MAX);
    should(bare).match({ rooms: ['r1'], seq: 4, t: 'document' }).and.not.have.property('content');
  });

  it('reads a JSON array as a compact notification, valid only from a known sender (a peer\'s PUB socket or its replay reply)', () => {
    const document: DirectPayload = {
      action: 'publish', content: { a: 1 }, request: { data: {}, options: {} }, rooms: ['r1'], scope: 'in', t: 'document',
    };
    const frame = Buffer.from(encodeCompactNotification(document, 7, JSON.stringify(document.content)));
    should(kindOf(frame)).equal('malformed');
    should(decode(frame, MAX, 'n1')).match({ from: 'n1', rooms: ['r1'], seq: 7, t: 'document', v: COMPACT_VERSION });
    should(kindOf(Buffer.alloc(MAX + 1, ' '), 'n1')).equal('oversized');
  });
});
