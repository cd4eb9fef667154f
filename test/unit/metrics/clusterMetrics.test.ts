import should from 'should';

import { healthVerdict } from '../../../lib/cluster/health';
import type { HealthFacts } from '../../../lib/cluster/health';
import type { NodeMetrics } from '../../../lib/cluster/node';
import { noCounters } from '../../../lib/cluster/peer';
import { RoomRegistry } from '../../../lib/cluster/roomRegistry';
import { statusOf } from '../../../lib/cluster/status';
import { HEALTH_REASONS, healthReason, renderClusterMetrics } from '../../../lib/metrics/clusterMetrics';
import { Histogram } from '../../../lib/metrics/histogram';
import { nodeInfo } from '../../support/coreFakes';

const filter = (collection: string) => ({ collection, filters: [[{ exists: 'a' }]], index: 'i' });

/** self holds r1 (2) and r2 (1); peer "p1" holds r1 (3) and r3 (4); peer "p\"2" (an id needing escapes) holds nothing */
function knownMetrics (): NodeMetrics {
  const registry = new RoomRegistry();
  registry.set('self', 'r1', 2, filter('c1'));
  registry.set('self', 'r2', 1, filter('c2'));
  registry.set('p1', 'r1', 3, null);
  registry.set('p1', 'r3', 4, filter('c3'));

  const status = statusOf({
    evictions: 2,
    health: { ok: false, reason: 'partitioned: this node hears 1 of 3 live nodes; the side of p1 stays ready' },
    now: 10_000,
    peers: [
      {
        buffered: { bytes: 0, messages: 0 }, counters: noCounters(), heldBack: 0,
        info: { ...nodeInfo('p"2\\x', 2) }, lastHeard: 10_000, ready: false, seq: 0,
      },
      {
        buffered: { bytes: 300, messages: 3 },
        counters: { duplicates: 2, gaps: 1, invalid: 3, lostNotifications: 4, replayed: 5, resyncs: 6 },
        heldBack: 5, info: { ...nodeInfo('p1', 1), protocol: 2 }, lastHeard: 9_400, ready: true, seq: 17,
      },
    ],
    registry,
    self: { ...nodeInfo('self', 0), protocol: 2 },
    seq: 42,
    transport: { denied: 6, dropped: 7, sent: { envelopes: 100, messages: 40 } },
    unattributed: { ...noCounters(), invalid: 8 },
  });
  const ackWaits = new Histogram([0.001, 0.01]);
  ackWaits.observe(0.0005);
  ackWaits.observe(0.002);
  const roundTrips = new Histogram([0.001]);
  roundTrips.observe(0.00025);
  return {
    ackWaits: ackWaits.snapshot(),
    activity: [
      { count: 1, event: 'joined', reason: '' },
      { count: 2, event: 'evicted', reason: 'timeout' },
    ],
    departed: { ...noCounters(), gaps: 7, lostNotifications: 10 },
    heard: 2,
    minimumNodes: 3,
    received: { envelopes: 90, messages: 30 },
    redis: { errors: 9, roundTrips: roundTrips.snapshot(), up: true },
    status,
  };
}

const EXPECTED = `# HELP kuzzle_cluster_node_info This node: its id (it changes when the node rejoins after an eviction) and addresses; always 1.
# TYPE kuzzle_cluster_node_info gauge
kuzzle_cluster_node_info{node="self",pub="tcp://127.0.0.1:7000",router="tcp://127.0.0.1:8000"} 1
# HELP kuzzle_cluster_protocol The newest wire protocol this node reads (2: compact notifications).
# TYPE kuzzle_cluster_protocol gauge
kuzzle_cluster_protocol 2
# HELP kuzzle_cluster_members Nodes this node knows as members (itself included).
# TYPE kuzzle_cluster_members gauge
kuzzle_cluster_members 3
# HELP kuzzle_cluster_members_heard Members this node heard recently (itself included); health needs minimumNodes of them.
# TYPE kuzzle_cluster_members_heard gauge
kuzzle_cluster_members_heard 2
# HELP kuzzle_cluster_minimum_nodes The minimumNodes setting: below it the node is not ready.
# TYPE kuzzle_cluster_minimum_nodes gauge
kuzzle_cluster_minimum_nodes 3
# HELP kuzzle_cluster_ready 1 when the node serves (health answers 200), 0 when it should be drained (503).
# TYPE kuzzle_cluster_ready gauge
kuzzle_cluster_ready 0
# HELP kuzzle_cluster_health_reason Why the node is (not) ready: 1 for the current reason, 0 for the others.
# TYPE kuzzle_cluster_health_reason gauge
kuzzle_cluster_health_reason{reason="ok"} 0
kuzzle_cluster_health_reason{reason="stopped"} 0
kuzzle_cluster_health_reason{reason="not_joined"} 0
kuzzle_cluster_health_reason{reason="redis_unreachable"} 0
kuzzle_cluster_health_reason{reason="liveness_stale"} 0
kuzzle_cluster_health_reason{reason="synchronizing"} 0
kuzzle_cluster_health_reason{reason="local_state_unwritten"} 0
kuzzle_cluster_health_reason{reason="partitioned"} 1
kuzzle_cluster_health_reason{reason="below_minimum_nodes"} 0
kuzzle_cluster_health_reason{reason="other"} 0
# HELP kuzzle_cluster_local_rooms Realtime rooms with subscribers on this node.
# TYPE kuzzle_cluster_local_rooms gauge
kuzzle_cluster_local_rooms 2
# HELP kuzzle_cluster_local_subscriptions Subscriptions held on this node.
# TYPE kuzzle_cluster_local_subscriptions gauge
kuzzle_cluster_local_subscriptions 3
# HELP kuzzle_cluster_rooms Realtime rooms of the whole cluster.
# TYPE kuzzle_cluster_rooms gauge
kuzzle_cluster_rooms 3
# HELP kuzzle_cluster_subscriptions Subscriptions of the whole cluster.
# TYPE kuzzle_cluster_subscriptions gauge
kuzzle_cluster_subscriptions 10
# HELP kuzzle_cluster_envelopes_sent_total Cluster messages (envelopes) published to the peers.
# TYPE kuzzle_cluster_envelopes_sent_total counter
kuzzle_cluster_envelopes_sent_total 100
# HELP kuzzle_cluster_messages_sent_total 0mq messages published; one carries up to 64 envelopes under load.
# TYPE kuzzle_cluster_messages_sent_total counter
kuzzle_cluster_messages_sent_total 40
# HELP kuzzle_cluster_envelopes_received_total Envelopes received from the peers.
# TYPE kuzzle_cluster_envelopes_received_total counter
kuzzle_cluster_envelopes_received_total 90
# HELP kuzzle_cluster_messages_received_total 0mq messages received from the peers.
# TYPE kuzzle_cluster_messages_received_total counter
kuzzle_cluster_messages_received_total 30
# HELP kuzzle_cluster_dropped_total Outbound envelopes dropped because a queue reached highWaterMark (the peers resync).
# TYPE kuzzle_cluster_dropped_total counter
kuzzle_cluster_dropped_total 7
# HELP kuzzle_cluster_denied_connections_total Connections refused for lacking the cluster's CURVE key.
# TYPE kuzzle_cluster_denied_connections_total counter
kuzzle_cluster_denied_connections_total 6
# HELP kuzzle_cluster_invalid_requests_total Invalid frames on the router port, from an unknown sender.
# TYPE kuzzle_cluster_invalid_requests_total counter
kuzzle_cluster_invalid_requests_total 8
# HELP kuzzle_cluster_evictions_total Times this node was evicted by its peers (frozen or cut off) and rejoined.
# TYPE kuzzle_cluster_evictions_total counter
kuzzle_cluster_evictions_total 2
# HELP kuzzle_cluster_membership_events_total Membership events this node saw, by event (joined, left, evicted, resync, not_ready, recovered) and reason (none when the event has none).
# TYPE kuzzle_cluster_membership_events_total counter
kuzzle_cluster_membership_events_total{event="evicted",reason="timeout"} 2
kuzzle_cluster_membership_events_total{event="joined",reason="none"} 1
# HELP kuzzle_cluster_peer_ready 1 when the peer says it is ready.
# TYPE kuzzle_cluster_peer_ready gauge
kuzzle_cluster_peer_ready{peer="p\\"2\\\\x"} 0
kuzzle_cluster_peer_ready{peer="p1"} 1
# HELP kuzzle_cluster_peer_last_heartbeat_age_seconds Seconds since this node last heard from the peer.
# TYPE kuzzle_cluster_peer_last_heartbeat_age_seconds gauge
kuzzle_cluster_peer_last_heartbeat_age_seconds{peer="p\\"2\\\\x"} 0
kuzzle_cluster_peer_last_heartbeat_age_seconds{peer="p1"} 0.6
# HELP kuzzle_cluster_peer_rooms Rooms with subscribers on the peer.
# TYPE kuzzle_cluster_peer_rooms gauge
kuzzle_cluster_peer_rooms{peer="p\\"2\\\\x"} 0
kuzzle_cluster_peer_rooms{peer="p1"} 2
# HELP kuzzle_cluster_peer_subscriptions Subscriptions held on the peer.
# TYPE kuzzle_cluster_peer_subscriptions gauge
kuzzle_cluster_peer_subscriptions{peer="p\\"2\\\\x"} 0
kuzzle_cluster_peer_subscriptions{peer="p1"} 7
# HELP kuzzle_cluster_peer_protocol The newest wire protocol the peer reads: 1 for a release before compact notifications (a rolling upgrade under way).
# TYPE kuzzle_cluster_peer_protocol gauge
kuzzle_cluster_peer_protocol{peer="p\\"2\\\\x"} 1
kuzzle_cluster_peer_protocol{peer="p1"} 2
# HELP kuzzle_cluster_gaps_total Gaps in the peer's stream of state messages (each triggers a resync).
# TYPE kuzzle_cluster_gaps_total counter
kuzzle_cluster_gaps_total{peer="p\\"2\\\\x"} 0
kuzzle_cluster_gaps_total{peer="p1"} 1
# HELP kuzzle_cluster_resyncs_total Times the peer's state was re-read from Redis.
# TYPE kuzzle_cluster_resyncs_total counter
kuzzle_cluster_resyncs_total{peer="p\\"2\\\\x"} 0
kuzzle_cluster_resyncs_total{peer="p1"} 6
# HELP kuzzle_cluster_duplicates_total Messages from the peer received twice or out of order, dropped.
# TYPE kuzzle_cluster_duplicates_total counter
kuzzle_cluster_duplicates_total{peer="p\\"2\\\\x"} 0
kuzzle_cluster_duplicates_total{peer="p1"} 2
# HELP kuzzle_cluster_invalid_frames_total Frames from the peer that failed validation, dropped.
# TYPE kuzzle_cluster_invalid_frames_total counter
kuzzle_cluster_invalid_frames_total{peer="p\\"2\\\\x"} 0
kuzzle_cluster_invalid_frames_total{peer="p1"} 3
# HELP kuzzle_cluster_lost_notifications_total Notifications from the peer that never arrived nor could be replayed.
# TYPE kuzzle_cluster_lost_notifications_total counter
kuzzle_cluster_lost_notifications_total{peer="p\\"2\\\\x"} 0
kuzzle_cluster_lost_notifications_total{peer="p1"} 4
# HELP kuzzle_cluster_lost_notifications_all_peers_total Notifications lost, from every peer together, those gone included: unlike the per-peer series it keeps what a peer lost just before it was evicted.
# TYPE kuzzle_cluster_lost_notifications_all_peers_total counter
kuzzle_cluster_lost_notifications_all_peers_total 14
# HELP kuzzle_cluster_replayed_notifications_total Notifications a link lost that the peer sent again.
# TYPE kuzzle_cluster_replayed_notifications_total counter
kuzzle_cluster_replayed_notifications_total{peer="p\\"2\\\\x"} 0
kuzzle_cluster_replayed_notifications_total{peer="p1"} 5
# HELP kuzzle_cluster_replay_held_back Notifications from the peer held back now, waiting for a replay.
# TYPE kuzzle_cluster_replay_held_back gauge
kuzzle_cluster_replay_held_back{peer="p\\"2\\\\x"} 0
kuzzle_cluster_replay_held_back{peer="p1"} 5
# HELP kuzzle_cluster_replay_buffered_messages Notifications this node keeps for the peer, to replay them.
# TYPE kuzzle_cluster_replay_buffered_messages gauge
kuzzle_cluster_replay_buffered_messages{peer="p\\"2\\\\x"} 0
kuzzle_cluster_replay_buffered_messages{peer="p1"} 3
# HELP kuzzle_cluster_replay_buffered_bytes Bytes of notifications this node keeps for the peer.
# TYPE kuzzle_cluster_replay_buffered_bytes gauge
kuzzle_cluster_replay_buffered_bytes{peer="p\\"2\\\\x"} 0
kuzzle_cluster_replay_buffered_bytes{peer="p1"} 300
# HELP kuzzle_cluster_ack_wait_seconds How long a change (subscription, index, role...) waited for the peers' acknowledgements (bounded by timers.ackTimeout).
# TYPE kuzzle_cluster_ack_wait_seconds histogram
kuzzle_cluster_ack_wait_seconds_bucket{le="0.001"} 1
kuzzle_cluster_ack_wait_seconds_bucket{le="0.01"} 2
kuzzle_cluster_ack_wait_seconds_bucket{le="+Inf"} 2
kuzzle_cluster_ack_wait_seconds_sum 0.0025
kuzzle_cluster_ack_wait_seconds_count 2
# HELP kuzzle_cluster_redis_up 1 when Redis is reachable.
# TYPE kuzzle_cluster_redis_up gauge
kuzzle_cluster_redis_up 1
# HELP kuzzle_cluster_redis_round_trip_seconds Duration of the successful Redis commands and scripts, auto-pipelining queue included.
# TYPE kuzzle_cluster_redis_round_trip_seconds histogram
kuzzle_cluster_redis_round_trip_seconds_bucket{le="0.001"} 1
kuzzle_cluster_redis_round_trip_seconds_bucket{le="+Inf"} 1
kuzzle_cluster_redis_round_trip_seconds_sum 0.00025
kuzzle_cluster_redis_round_trip_seconds_count 1
# HELP kuzzle_cluster_redis_errors_total Redis commands and scripts that failed.
# TYPE kuzzle_cluster_redis_errors_total counter
kuzzle_cluster_redis_errors_total 9
`;

describe('metrics/clusterMetrics', () => {
  it('renders exactly this exposition for a known state (names, types, HELP, labels, escaping, peers sorted)', () => {
    should(renderClusterMetrics(knownMetrics())).equal(EXPECTED);
  });

  it('maps every health verdict to its reason label', () => {
    const healthy: HealthFacts = {
      dirty: false, joined: true, livenessAge: 0, minimumNodes: 1, nodeTimeout: 2500, nodes: 3,
      partition: null, redisUp: true, stopped: false, syncing: [],
    };
    const cases: Array<[Partial<HealthFacts>, string]> = [
      [{}, 'ok'],
      [{ stopped: true }, 'stopped'],
      [{ joined: false }, 'not_joined'],
      [{ redisUp: false }, 'redis_unreachable'],
      [{ livenessAge: 3000 }, 'liveness_stale'],
      [{ syncing: ['p1'] }, 'synchronizing'],
      [{ dirty: true }, 'local_state_unwritten'],
      [{ partition: { heard: 1, members: 3, winner: 'p1' } }, 'partitioned'],
      [{ minimumNodes: 4 }, 'below_minimum_nodes'],
    ];
    for (const [facts, reason] of cases) {
      should(healthReason(healthVerdict({ ...healthy, ...facts }))).equal(reason);
    }
    should(healthReason({ ok: false, reason: 'something new' })).equal('other');
    should(new Set(cases.map(([, reason]) => reason).concat('other'))).eql(new Set(HEALTH_REASONS));
  });
});
