/**
 * What a node's status and counters look like to Prometheus: names follow
 * its conventions (the `kuzzle_cluster_` prefix, `_total` counters, seconds),
 * per-peer figures carry a `peer` label. Documented in docs/monitoring.md.
 */
import type { NodeMetrics } from '../cluster/node';
import { Exposition } from './exposition';

const P = 'kuzzle_cluster_';

/** why a node is not ready, as a closed set of label values (the health reason's text carries numbers) */
export const HEALTH_REASONS = [
  'ok', 'stopped', 'not_joined', 'redis_unreachable', 'liveness_stale', 'synchronizing',
  'local_state_unwritten', 'partitioned', 'below_minimum_nodes', 'other',
] as const;

export type HealthReason = typeof HEALTH_REASONS[number];

const REASON_PATTERNS: Array<[RegExp, HealthReason]> = [
  [/^node stopped/, 'stopped'],
  [/^not joined/, 'not_joined'],
  [/^Redis unreachable/, 'redis_unreachable'],
  [/^liveness not refreshed/, 'liveness_stale'],
  [/^synchronizing with/, 'synchronizing'],
  [/^local state not yet written/, 'local_state_unwritten'],
  [/^partitioned/, 'partitioned'],
  [/minimumNodes is/, 'below_minimum_nodes'],
];

/** the label value of a health verdict (healthVerdict's texts, see lib/cluster/health.ts) */
export function healthReason (health: { ok: boolean; reason: string | null }): HealthReason {
  if (health.ok) {
    return 'ok';
  }
  const reason = health.reason || '';
  for (const [pattern, code] of REASON_PATTERNS) {
    if (pattern.test(reason)) {
      return code;
    }
  }
  return 'other';
}

const bool = (value: boolean): number => (value ? 1 : 0);

/** The exposition text of one node: O(peers + event kinds), plus the status projection it reads. */
export function renderClusterMetrics (metrics: NodeMetrics): string {
  const { status } = metrics;
  const out = new Exposition();
  const peers = status.peers.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  out.gauge(`${P}node_info`, 'This node: its id (it changes when the node rejoins after an eviction) and addresses; always 1.')
    .set(1, { node: status.self.id, pub: status.self.pub, router: status.self.router });
  out.gauge(`${P}protocol`, 'The newest wire protocol this node reads (2: compact notifications).')
    .set(status.self.protocol);
  out.gauge(`${P}members`, 'Nodes this node knows as members (itself included).')
    .set(peers.length + 1);
  out.gauge(`${P}members_heard`, 'Members this node heard recently (itself included); health needs minimumNodes of them.')
    .set(metrics.heard);
  out.gauge(`${P}minimum_nodes`, 'The minimumNodes setting: below it the node is not ready.')
    .set(metrics.minimumNodes);
  out.gauge(`${P}ready`, '1 when the node serves (health answers 200), 0 when it should be drained (503).')
    .set(bool(status.health.ok));
  const reason = healthReason(status.health);
  const health = out.gauge(`${P}health_reason`, 'Why the node is (not) ready: 1 for the current reason, 0 for the others.');
  for (const candidate of HEALTH_REASONS) {
    health.set(bool(candidate === reason), { reason: candidate });
  }

  out.gauge(`${P}local_rooms`, 'Realtime rooms with subscribers on this node.').set(status.self.rooms);
  out.gauge(`${P}local_subscriptions`, 'Subscriptions held on this node.').set(status.self.subscriptions);
  out.gauge(`${P}rooms`, 'Realtime rooms of the whole cluster.').set(status.cluster.rooms);
  out.gauge(`${P}subscriptions`, 'Subscriptions of the whole cluster.').set(status.cluster.subscriptions);

  out.counter(`${P}envelopes_sent_total`, 'Cluster messages (envelopes) published to the peers.').set(status.sent.envelopes);
  out.counter(`${P}messages_sent_total`, '0mq messages published; one carries up to 64 envelopes under load.').set(status.sent.messages);
  out.counter(`${P}envelopes_received_total`, 'Envelopes received from the peers.').set(metrics.received.envelopes);
  out.counter(`${P}messages_received_total`, '0mq messages received from the peers.').set(metrics.received.messages);
  out.counter(`${P}dropped_total`, 'Outbound envelopes dropped because a queue reached highWaterMark (the peers resync).').set(status.dropped);
  out.counter(`${P}denied_connections_total`, 'Connections refused for lacking the cluster\'s CURVE key.').set(status.denied);
  out.counter(`${P}invalid_requests_total`, 'Invalid frames on the router port, from an unknown sender.').set(status.unattributed.invalid);
  out.counter(`${P}evictions_total`, 'Times this node was evicted by its peers (frozen or cut off) and rejoined.').set(status.evictions);
  const events = out.counter(`${P}membership_events_total`,
    'Membership events this node saw, by event (joined, left, evicted, resync, not_ready, recovered) and reason (none when the event has none).');
  const counts = metrics.activity.slice().sort((a, b) => `${a.event}/${a.reason}`.localeCompare(`${b.event}/${b.reason}`));
  for (const { count, event, reason: why } of counts) {
    events.set(count, { event, reason: why || 'none' });
  }

  const perPeer = (name: string, help: string, kind: 'counter' | 'gauge', value: (peer: typeof peers[number]) => number): void => {
    const family = kind === 'counter' ? out.counter(`${P}${name}`, help) : out.gauge(`${P}${name}`, help);
    for (const peer of peers) {
      family.set(value(peer), { peer: peer.id });
    }
  };
  const counter = (peer: typeof peers[number], name: 'gaps' | 'resyncs' | 'duplicates' | 'invalid' | 'lostNotifications' | 'replayed'): number =>
    (peer.counters ? peer.counters[name] : 0);

  perPeer('peer_ready', '1 when the peer says it is ready.', 'gauge', peer => bool(peer.ready));
  perPeer('peer_last_heartbeat_age_seconds', 'Seconds since this node last heard from the peer.', 'gauge',
    peer => peer.lastHeartbeatAge / 1000);
  perPeer('peer_rooms', 'Rooms with subscribers on the peer.', 'gauge', peer => peer.rooms);
  perPeer('peer_subscriptions', 'Subscriptions held on the peer.', 'gauge', peer => peer.subscriptions);
  perPeer('peer_protocol', 'The newest wire protocol the peer reads: 1 for a release before compact notifications (a rolling upgrade under way).',
    'gauge', peer => peer.protocol);
  perPeer('gaps_total', 'Gaps in the peer\'s stream of state messages (each triggers a resync).', 'counter', peer => counter(peer, 'gaps'));
  perPeer('resyncs_total', 'Times the peer\'s state was re-read from Redis.', 'counter', peer => counter(peer, 'resyncs'));
  perPeer('duplicates_total', 'Messages from the peer received twice or out of order, dropped.', 'counter', peer => counter(peer, 'duplicates'));
  perPeer('invalid_frames_total', 'Frames from the peer that failed validation, dropped.', 'counter', peer => counter(peer, 'invalid'));
  perPeer('lost_notifications_total', 'Notifications from the peer that never arrived nor could be replayed.', 'counter',
    peer => counter(peer, 'lostNotifications'));
  let lostByAll = metrics.departed.lostNotifications;
  for (const peer of peers) {
    lostByAll += counter(peer, 'lostNotifications');
  }
  out.counter(`${P}lost_notifications_all_peers_total`,
    'Notifications lost, from every peer together, those gone included: unlike the per-peer series it keeps what a peer lost just before it was evicted.')
    .set(lostByAll);
  perPeer('replayed_notifications_total', 'Notifications a link lost that the peer sent again.', 'counter', peer => counter(peer, 'replayed'));
  perPeer('replay_held_back', 'Notifications from the peer held back now, waiting for a replay.', 'gauge',
    peer => (peer.replay ? peer.replay.heldBack : 0));
  perPeer('replay_buffered_messages', 'Notifications this node keeps for the peer, to replay them.', 'gauge',
    peer => (peer.replay ? peer.replay.buffered.messages : 0));
  perPeer('replay_buffered_bytes', 'Bytes of notifications this node keeps for the peer.', 'gauge',
    peer => (peer.replay ? peer.replay.buffered.bytes : 0));

  out.histogram(`${P}ack_wait_seconds`,
    'How long a change (subscription, index, role...) waited for the peers\' acknowledgements (bounded by timers.ackTimeout).')
    .set(metrics.ackWaits);
  out.gauge(`${P}redis_up`, '1 when Redis is reachable.').set(bool(metrics.redis.up));
  out.histogram(`${P}redis_round_trip_seconds`, 'Duration of the successful Redis commands and scripts, auto-pipelining queue included.')
    .set(metrics.redis.roundTrips);
  out.counter(`${P}redis_errors_total`, 'Redis commands and scripts that failed.').set(metrics.redis.errors);

  return out.render();
}
