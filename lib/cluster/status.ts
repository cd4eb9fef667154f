import type { Health } from './health';
import { readsProtocol } from './messages';
import type { PeerCounters, PeerView } from './peer';
import type { BufferSize } from './replayBuffer';
import type { RoomRegistry } from './roomRegistry';
import type { NodeInfo } from './state';

export interface NodeStatus {
  id: string;
  /** the newest protocol the node reads */
  protocol: number;
  pub: string;
  router: string;
  ready: boolean;
  /** ms since the last message from that node (0 for the local node) */
  lastHeartbeatAge: number;
  /** last sequence number sent (local node) or applied (peer) */
  seq: number;
  counters: PeerCounters | null;
  /**
   * notifications from that peer held back now, waiting for a replay; and
   * what this node keeps of those it sent to it, to replay them (null for the local node)
   */
  replay: { heldBack: number; buffered: BufferSize } | null;
  rooms: number;
  subscriptions: number;
}

export interface ClusterNodeStatus {
  self: NodeStatus;
  peers: NodeStatus[];
  health: Health;
  /** rooms and subscriptions of the whole cluster */
  cluster: { rooms: number; subscriptions: number };
  evictions: number;
  dropped: number;
  denied: number;
  unattributed: PeerCounters;
  sent: { envelopes: number; messages: number };
}

export interface StatusFacts {
  self: NodeInfo;
  seq: number;
  health: Health;
  peers: Array<PeerView & { buffered: BufferSize }>;
  registry: RoomRegistry;
  now: number;
  evictions: number;
  transport: { dropped: number; denied: number; sent: { envelopes: number; messages: number } };
  unattributed: PeerCounters;
}

/** The status projection: what `cluster:status` shows of this node and its peers */
export function statusOf (facts: StatusFacts): ClusterNodeStatus {
  const { registry } = facts;
  const shape = (info: NodeInfo) => ({
    id: info.id,
    protocol: readsProtocol(info.protocol),
    pub: info.pub,
    rooms: registry.roomCountOf(info.id),
    router: info.router,
    subscriptions: registry.subscriptionsOf(info.id),
  });
  return {
    cluster: { rooms: registry.size, subscriptions: registry.subscriptions },
    denied: facts.transport.denied,
    dropped: facts.transport.dropped,
    evictions: facts.evictions,
    health: facts.health,
    peers: facts.peers.map(peer => ({
      ...shape(peer.info),
      counters: peer.counters,
      lastHeartbeatAge: facts.now - peer.lastHeard,
      ready: peer.ready,
      replay: { buffered: peer.buffered, heldBack: peer.heldBack },
      seq: peer.seq,
    })),
    self: { ...shape(facts.self), counters: null, lastHeartbeatAge: 0, ready: facts.health.ok, replay: null, seq: facts.seq },
    sent: { ...facts.transport.sent },
    unattributed: facts.unattributed,
  };
}
