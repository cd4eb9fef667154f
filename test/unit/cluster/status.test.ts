import should from 'should';

import { noCounters } from '../../../lib/cluster/peer';
import type { PeerView } from '../../../lib/cluster/peer';
import { RoomRegistry } from '../../../lib/cluster/roomRegistry';
import { StatusFacts, statusOf } from '../../../lib/cluster/status';
import type { BufferSize } from '../../../lib/cluster/replayBuffer';
import { nodeInfo } from '../../support/coreFakes';

const filter = (collection: string) => ({ collection, filters: [[{ exists: 'a' }]], index: 'i' });

/** self holds r1 (2) and r2 (1); peer p1 (an earlier release: no protocol announced) holds r1 (3) and r3 (4); peer p2 holds nothing */
function knownFacts (): StatusFacts {
  const registry = new RoomRegistry();
  registry.set('self', 'r1', 2, filter('c1'));
  registry.set('self', 'r2', 1, filter('c2'));
  registry.set('p1', 'r1', 3, null);
  registry.set('p1', 'r3', 4, filter('c3'));

  const p1: PeerView & { buffered: BufferSize } = {
    buffered: { bytes: 300, messages: 3 },
    counters: { ...noCounters(), duplicates: 2, gaps: 1, resyncs: 1 },
    heldBack: 5,
    info: nodeInfo('p1', 1),
    lastHeard: 9_400,
    ready: true,
    seq: 17,
  };
  const p2: PeerView & { buffered: BufferSize } = {
    buffered: { bytes: 0, messages: 0 },
    counters: noCounters(),
    heldBack: 0,
    info: { ...nodeInfo('p2', 2), protocol: 2 },
    lastHeard: 10_000,
    ready: false,
    seq: 0,
  };
  return {
    evictions: 2,
    health: { ok: true, reason: null },
    now: 10_000,
    peers: [p1, p2],
    registry,
    self: { ...nodeInfo('self', 0), protocol: 2 },
    seq: 42,
    transport: { denied: 6, dropped: 7, sent: { envelopes: 100, messages: 40 } },
    unattributed: { ...noCounters(), invalid: 8 },
  };
}

describe('status projection', () => {
  it('has exactly this shape for a known state', () => {
    should(statusOf(knownFacts())).eql({
      cluster: { rooms: 3, subscriptions: 10 },
      denied: 6,
      dropped: 7,
      evictions: 2,
      health: { ok: true, reason: null },
      peers: [
        {
          counters: { duplicates: 2, gaps: 1, invalid: 0, lostNotifications: 0, replayed: 0, resyncs: 1 },
          id: 'p1',
          lastHeartbeatAge: 600,
          protocol: 1,
          pub: 'tcp://127.0.0.1:7001',
          ready: true,
          replay: { buffered: { bytes: 300, messages: 3 }, heldBack: 5 },
          rooms: 2,
          router: 'tcp://127.0.0.1:8001',
          seq: 17,
          subscriptions: 7,
        },
        {
          counters: { duplicates: 0, gaps: 0, invalid: 0, lostNotifications: 0, replayed: 0, resyncs: 0 },
          id: 'p2',
          lastHeartbeatAge: 0,
          protocol: 2,
          pub: 'tcp://127.0.0.1:7002',
          ready: false,
          replay: { buffered: { bytes: 0, messages: 0 }, heldBack: 0 },
          rooms: 0,
          router: 'tcp://127.0.0.1:8002',
          seq: 0,
          subscriptions: 0,
        },
      ],
      self: {
        counters: null,
        id: 'self',
        lastHeartbeatAge: 0,
        protocol: 2,
        pub: 'tcp://127.0.0.1:7000',
        ready: true,
        replay: null,
        rooms: 2,
        router: 'tcp://127.0.0.1:8000',
        seq: 42,
        subscriptions: 3,
      },
      sent: { envelopes: 100, messages: 40 },
      unattributed: { duplicates: 0, gaps: 0, invalid: 8, lostNotifications: 0, replayed: 0, resyncs: 0 },
    });
  });

  it('this node is ready exactly when its health is ok', () => {
    const facts = knownFacts();
    const draining = statusOf({ ...facts, health: { ok: false, reason: 'Redis unreachable' } });
    should(draining.self.ready).be.false();
    should(draining.health).eql({ ok: false, reason: 'Redis unreachable' });
    // a peer's readiness is its own (from its heartbeats), not this node's
    should(draining.peers.map(p => p.ready)).eql([true, false]);
  });

  it('an empty cluster: no peers, no rooms, zero subscriptions', () => {
    const status = statusOf({ ...knownFacts(), peers: [], registry: new RoomRegistry() });
    should(status.peers).eql([]);
    should(status.cluster).eql({ rooms: 0, subscriptions: 0 });
    should(status.self.rooms).equal(0);
    should(status.self.subscriptions).equal(0);
  });

  it('is a copy: the sent counters shown do not move with the transport afterwards', () => {
    const facts = knownFacts();
    const status = statusOf(facts);
    facts.transport.sent.envelopes++;
    should(status.sent).eql({ envelopes: 100, messages: 40 });
  });
});
