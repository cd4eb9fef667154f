import type { ActivityEntry, ClusterNode } from '../cluster/node';
import { renderClusterMetrics } from '../metrics/clusterMetrics';

type ErrorConstructor = new (message: string) => Error;

export interface ClusterStatus {
  /** number of nodes in the cluster, this one included */
  count: number;
  current: Record<string, unknown>;
  pool: Array<Record<string, unknown>>;
  health: { ok: boolean; reason: string | null };
  cluster: { rooms: number; subscriptions: number };
  /** outbound messages dropped because the queue was full */
  dropped: number;
  /** connections refused for lacking the cluster's CURVE key */
  deniedConnections: number;
  /** times this node was evicted by its peers and rejoined */
  evictions: number;
  /** invalid frames that could not be attributed to a peer (router port) */
  invalidRequests: number;
  /** envelopes published to peers, and the 0mq messages that carried them (batched under load) */
  sent: { envelopes: number; messages: number };
  /** envelopes and 0mq messages received from the peers */
  received: { envelopes: number; messages: number };
  /** the last membership events this node saw (activity.maxEvents), oldest first */
  activity: ActivityEntry[];
}

/**
 * The `cluster` API controller: health (for load balancers), status, reset, metrics (for Prometheus).
 */
export class ClusterController {
  constructor (
    private readonly node: ClusterNode,
    private readonly ServiceUnavailableError: ErrorConstructor,
  ) {}

  /** "ok", or a 503 error giving the reason */
  health (): string {
    const health = this.node.health();
    if (!health.ok) {
      throw new this.ServiceUnavailableError(`cluster node not ready: ${health.reason}`);
    }
    return 'ok';
  }

  status (): ClusterStatus {
    const { cluster, self, peers, evictions, dropped, denied, health, sent, unattributed } = this.node.status();
    return {
      activity: this.node.activity(),
      cluster,
      count: peers.length + 1,
      current: { ...self },
      deniedConnections: denied,
      dropped,
      evictions,
      health,
      invalidRequests: unattributed.invalid,
      pool: peers.map(peer => ({ ...peer })),
      received: this.node.received,
      sent,
    };
  }

  /** the Prometheus text exposition of this node's metrics */
  metrics (): string {
    return renderClusterMetrics(this.node.metrics());
  }

  async reset (): Promise<{ acknowledged: true }> {
    await this.node.reset();
    return { acknowledged: true };
  }
}
