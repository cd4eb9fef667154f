import should from 'should';
import sinon from 'sinon';

import { ClusterController } from '../../../lib/api/controller';
import { ClusterNode } from '../../../lib/cluster/node';
import type { ActivityEntry } from '../../../lib/cluster/node';
import { noCounters } from '../../../lib/cluster/peer';
import type { ClusterNodeStatus, NodeStatus } from '../../../lib/cluster/status';
import { FakeClock } from '../../support/fakeClock';
import { RecordingLog, fakeTransportFactory, unitConfig } from '../../support/coreFakes';

/** Kuzzle's ServiceUnavailableError (status 503), as the plugin context hands it over */
class ServiceUnavailableError extends Error {
  readonly status = 503;
}

function nodeStatus (id: string, overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    counters: null, id, lastHeartbeatAge: 0, protocol: 2, pub: `tcp://10.0.0.1:7511/${id}`, ready: true, replay: null,
    rooms: 1, router: `tcp://10.0.0.1:7510/${id}`, seq: 3, subscriptions: 2, ...overrides,
  };
}

function knownStatus (): ClusterNodeStatus {
  return {
    cluster: { rooms: 4, subscriptions: 9 },
    denied: 2,
    dropped: 5,
    evictions: 1,
    health: { ok: true, reason: null },
    peers: [
      nodeStatus('p1', { counters: { ...noCounters(), gaps: 1 }, lastHeartbeatAge: 120, replay: { buffered: { bytes: 10, messages: 1 }, heldBack: 0 } }),
      nodeStatus('p2', { counters: noCounters(), ready: false, replay: { buffered: { bytes: 0, messages: 0 }, heldBack: 2 } }),
    ],
    self: nodeStatus('self'),
    sent: { envelopes: 30, messages: 12 },
    unattributed: { ...noCounters(), invalid: 7 },
  };
}

const activity: ActivityEntry[] = [
  { date: '2024-01-01T00:00:00.000Z', event: 'joined', id: 'p1', timestamp: 1704067200000 },
];

describe('cluster API controller', () => {
  const sandbox = sinon.createSandbox();
  let node: ClusterNode;
  let controller: ClusterController;

  beforeEach(() => {
    // a real node, never started: its methods are stubbed
    node = new ClusterNode(unitConfig(), new RecordingLog(), { clock: new FakeClock(), transport: fakeTransportFactory(() => undefined) });
    controller = new ClusterController(node, ServiceUnavailableError);
  });

  afterEach(() => sandbox.restore());

  describe('health', () => {
    it('answers "ok" (HTTP 200) when the node is ready', () => {
      sandbox.stub(node, 'health').returns({ ok: true, reason: null });
      should(controller.health()).equal('ok');
    });

    it('throws Kuzzle\'s ServiceUnavailableError (HTTP 503) naming the reason otherwise', () => {
      sandbox.stub(node, 'health').returns({ ok: false, reason: 'Redis unreachable' });
      should(() => controller.health()).throw(ServiceUnavailableError, {
        message: 'cluster node not ready: Redis unreachable', status: 503,
      });
    });

    it('asks the node every time (no caching between load balancer polls)', () => {
      const health = sandbox.stub(node, 'health');
      health.onCall(0).returns({ ok: true, reason: null });
      health.onCall(1).returns({ ok: false, reason: 'node stopped' });
      should(controller.health()).equal('ok');
      should(() => controller.health()).throw('cluster node not ready: node stopped');
    });

    it('a node never started is not ready: not joined yet', () => {
      should(() => controller.health()).throw(ServiceUnavailableError, { message: 'cluster node not ready: not joined yet' });
    });
  });

  describe('status', () => {
    it('has the {count, current, pool} shape users script against, plus the node\'s counters', () => {
      sandbox.stub(node, 'status').returns(knownStatus());
      sandbox.stub(node, 'activity').returns(activity);
      sandbox.stub(node, 'received').get(() => ({ envelopes: 40, messages: 20 }));
      const expected = knownStatus();

      should(controller.status()).eql({
        activity,
        cluster: { rooms: 4, subscriptions: 9 },
        count: 3,
        current: expected.self,
        deniedConnections: 2,
        dropped: 5,
        evictions: 1,
        health: { ok: true, reason: null },
        invalidRequests: 7,
        pool: expected.peers,
        received: { envelopes: 40, messages: 20 },
        sent: { envelopes: 30, messages: 12 },
      });
    });

    it('a single node: count 1, an empty pool', () => {
      sandbox.stub(node, 'status').returns({ ...knownStatus(), peers: [] });
      const status = controller.status();
      should(status.count).equal(1);
      should(status.pool).eql([]);
    });

    it('current and pool are copies: changing the answer does not change the node\'s status', () => {
      const known = knownStatus();
      sandbox.stub(node, 'status').returns(known);
      const status = controller.status();
      status.current.id = 'changed';
      status.pool[0].id = 'changed';
      should(known.self.id).equal('self');
      should(known.peers[0].id).equal('p1');
    });

    it('an unstarted real node answers a complete status (no stub)', () => {
      const status = controller.status();
      should(status.count).equal(1);
      should(status.current.id).equal(node.id);
      should(status.health).eql({ ok: false, reason: 'not joined yet' });
      should(status.invalidRequests).equal(0);
    });
  });

  describe('metrics', () => {
    it('renders the node\'s own metrics as Prometheus text: this node, not ready, and why', () => {
      const lines = controller.metrics().split('\n');
      should(lines).containEql(`kuzzle_cluster_node_info{node="${node.id}",pub="tcp://127.0.0.1:17511",router="tcp://127.0.0.1:17510"} 1`);
      should(lines).containEql('kuzzle_cluster_ready 0');
      should(lines).containEql('kuzzle_cluster_health_reason{reason="not_joined"} 1');
    });

    it('follows the node\'s health', () => {
      sandbox.stub(node, 'health').returns({ ok: true, reason: null });
      const lines = controller.metrics().split('\n');
      should(lines).containEql('kuzzle_cluster_ready 1');
      should(lines).containEql('kuzzle_cluster_health_reason{reason="ok"} 1');
    });
  });

  describe('reset', () => {
    it('resolves {acknowledged: true} once the node reset the cluster state', async () => {
      let done = false;
      sandbox.stub(node, 'reset').callsFake(async () => {
        await new Promise(resolve => setImmediate(resolve));
        done = true;
      });
      should(await controller.reset()).eql({ acknowledged: true });
      should(done).be.true();
    });

    it('a failed reset is an error, not an acknowledgement', async () => {
      sandbox.stub(node, 'reset').rejects(new Error('Connection is closed.'));
      await should(controller.reset()).be.rejectedWith('Connection is closed.');
    });
  });
});
