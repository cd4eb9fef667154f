import should from 'should';

import { COMPACT_VERSION, decodeCompact, encodeCompactNotification } from '../../../lib/cluster/compact';
import { InvalidMessageError } from '../../../lib/cluster/invalid';
import { DirectPayload, encodeNotification } from '../../../lib/cluster/messages';

describe('compact notifications (protocol 2)', () => {
  const request = {
    data: {
      _id: 'doc', action: 'publish', collection: 'c', controller: 'realtime', index: 'i', requestId: 'rid', timestamp: 5, volatile: { sdk: 'x' },
    },
    options: { connection: { id: 'connection', protocol: 'websocket' } },
  };
  const document: DirectPayload = { action: 'publish', content: { _source: { a: 1 } }, request, rooms: ['r1', 'r2'], scope: 'in', t: 'document' };
  const user: DirectPayload = { content: { count: 3 }, request, room: 'r1', scope: 'out', t: 'user' };
  /** what a peer parses of one */
  const compact = (payload: DirectPayload, seq = 7): unknown[] =>
    JSON.parse(encodeCompactNotification(payload, seq, JSON.stringify(payload.content))) as unknown[];

  function kindOf (parsed: unknown[]): string {
    try {
      decodeCompact(parsed, 'n1');
    }
    catch (error) {
      should(error).be.instanceOf(InvalidMessageError);
      return (error as InvalidMessageError).kind;
    }
    return 'valid';
  }

  it('carry what Kuzzle\'s notifications read of the request, and take their sender from the socket', () => {
    should(decodeCompact(compact(document), 'n1')).eql({
      action: 'publish', content: { _source: { a: 1 } }, from: 'n1',
      request: {
        data: {
          action: undefined, collection: 'c', controller: 'realtime', index: 'i', requestId: 'rid', timestamp: 5, volatile: { sdk: 'x' },
        },
        options: { connection: { protocol: 'websocket' } },
      },
      rooms: ['r1', 'r2'], scope: 'in', seq: 7, t: 'document', v: COMPACT_VERSION,
    });
    should(decodeCompact(compact(user), 'n2')).eql({
      content: { count: 3 }, from: 'n2',
      request: {
        data: {
          action: 'publish', collection: 'c', controller: 'realtime', index: 'i', requestId: undefined, timestamp: 5, volatile: { sdk: 'x' },
        },
        options: { connection: { protocol: 'websocket' } },
      },
      room: 'r1', scope: 'out', seq: 7, t: 'user', v: COMPACT_VERSION,
    });
  });

  it('rebuild missing request fields as protocol 1 does', () => {
    const bare: DirectPayload = { ...document, content: undefined, request: { data: {}, options: {} } };
    should(decodeCompact(compact(bare), 'n1')).match({
      content: null,
      request: {
        data: { collection: undefined, controller: undefined, requestId: undefined, timestamp: undefined, volatile: null },
        options: { connection: { protocol: null } },
      },
    });
  });

  it('are shorter than protocol 1 envelopes by the key names, the sender and the unread request fields', () => {
    const content = JSON.stringify(document.content);
    const v1 = encodeNotification('9b2f1c4e-0e1a-4c55-9d7a-2f9f0c1d2e3f', document, 7, content);
    const v2 = encodeCompactNotification(document, 7, content);
    should(v1.length - v2.length).be.above(200);
  });

  it('are checked field by field', () => {
    const valid = compact(document);
    const variant = (index: number, value: unknown): unknown[] => {
      const copy = [...valid];
      copy[index] = value;
      return copy;
    };
    const requestVariant = (index: number, value: unknown): unknown[] => {
      const copy = [...(valid[6] as unknown[])];
      copy[index] = value;
      return variant(6, copy);
    };
    should(kindOf(valid)).equal('valid');
    should(kindOf(variant(0, 3))).equal('version');
    should(kindOf(variant(1, 'x'))).equal('type');
    should(kindOf(valid.slice(0, 7))).equal('type');
    should(kindOf(variant(2, -1))).equal('malformed');
    should(kindOf(variant(2, 'seven'))).equal('malformed');
    should(kindOf(variant(3, 'r1'))).equal('malformed');
    should(kindOf(variant(3, [1]))).equal('malformed');
    should(kindOf(variant(4, ''))).equal('malformed');
    should(kindOf(variant(5, 3))).equal('malformed');
    should(kindOf(variant(6, {}))).equal('malformed');
    should(kindOf(requestVariant(0, 1))).equal('malformed');
    should(kindOf(requestVariant(1, 'now'))).equal('malformed');
    should(kindOf(requestVariant(2, []))).equal('malformed');
    should(kindOf(requestVariant(7, {}))).equal('malformed');
    should(kindOf(variant(6, [...(valid[6] as unknown[]), null]))).equal('malformed');

    const validUser = compact(user);
    should(kindOf(validUser)).equal('valid');
    validUser[3] = '';
    should(kindOf(validUser)).equal('malformed');
    should(kindOf([])).equal('version');
  });
});
