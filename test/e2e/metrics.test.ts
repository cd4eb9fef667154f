import should from 'should';
import { Http, Kuzzle, WebSocket } from 'kuzzle-sdk';

import * as http from 'http';
import * as path from 'path';

import { CONTENT_TYPE } from '../../lib/metrics/exposition';
import { eventually } from '../support/coreNode';
import { KuzzleStack, ROOT, httpGet } from '../support/kuzzleStack';
import { killAll } from '../support/processes';
import { PrometheusServer, VectorSample, prometheusBinaries, promtool } from '../support/prometheus';

const RULES = path.join(ROOT, 'docs', 'prometheus', 'cluster-rules.yml');

function get (port: number, urlPath: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', path: urlPath, port, timeout: 5000 }, res => {
      const chunks: Buffer[] = [];
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => resolve({
        body: Buffer.concat(chunks).toString(), contentType: String(res.headers['content-type']), status: res.statusCode || 0,
      }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** the value of an unlabelled sample in an exposition text */
function sample (text: string, name: string): number | null {
  const line = text.split('\n').find(l => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

interface ActivityEntry { event: string; id: string; reason?: string; detail?: string; date: string; timestamp: number }

async function statusOf (port: number): Promise<{ current: { id: string }; activity: ActivityEntry[] }> {
  return JSON.parse((await httpGet(port, '/_plugin/cluster/status')).body).result;
}

const byInstance = (samples: VectorSample[]) => new Map(samples.map(s => [s.metric.instance, Number(s.value[1])]));

describe('end-to-end: Prometheus scrapes 3 real Kuzzle 2.10.4 nodes through /_plugin/cluster/metrics', function () {
  this.timeout(240000);

  let stack: KuzzleStack;
  let prometheus: PrometheusServer;
  let instances: string[] = [];

  before(async () => {
    // fails here, saying what to install, when prometheus/promtool are missing and cannot be installed
    prometheusBinaries();
    stack = await KuzzleStack.start({ nodes: 3 });
    instances = stack.nodes.map(node => `127.0.0.1:${node.port}`);
    prometheus = await PrometheusServer.start({ ruleFiles: [RULES], scrapeInterval: '1s', targets: instances });
  });

  after(async () => {
    if (prometheus) {
      await prometheus.stop();
    }
    if (stack) {
      await stack.stop();
    }
    await killAll();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      if (prometheus) {
        console.log(`--- last output of prometheus\n${prometheus.output.slice(-15).join('\n')}`);
      }
      stack?.printLastOutput(20);
    }
  });

  it('GET /_plugin/cluster/metrics answers the text exposition format, which promtool check metrics accepts', async () => {
    for (const node of stack.nodes) {
      await eventually('3 members heard', async () => sample((await get(node.port, '/_plugin/cluster/metrics')).body, 'kuzzle_cluster_members_heard') === 3);
      const reply = await get(node.port, '/_plugin/cluster/metrics');
      should(reply.status).equal(200);
      should(reply.contentType).equal(CONTENT_TYPE);
      should(reply.body).startWith('# HELP kuzzle_cluster_node_info ');
      should(sample(reply.body, 'kuzzle_cluster_members')).equal(3);
      should(sample(reply.body, 'kuzzle_cluster_ready')).equal(1);
      should(reply.body).match(/^kuzzle_cluster_health_reason\{reason="ok"\} 1$/m);
      should(reply.body).match(/^kuzzle_cluster_redis_round_trip_seconds_count [1-9]\d*$/m);

      const verdict = promtool(['check', 'metrics'], reply.body);
      should(verdict.status).equal(0, `promtool check metrics failed:\n${verdict.output}`);
      should(verdict.output.trim()).equal('', `promtool check metrics complained:\n${verdict.output}`);
    }
  });

  it('?format=json, the SDK (WebSocket and Http) and the legacy controller name get the same text inside Kuzzle\'s JSON response', async () => {
    const asJson = await get(stack.nodes[0].port, '/_plugin/cluster/metrics?format=json');
    should(asJson.status).equal(200);
    should(asJson.contentType).startWith('application/json');
    should(JSON.parse(asJson.body).result).startWith('# HELP kuzzle_cluster_node_info ');

    // the SDK's Http protocol needs HTTP routes, which the legacy name has none of (as for its other actions)
    const cases: Array<[WebSocket | Http, string[]]> = [
      [new WebSocket('127.0.0.1', { port: stack.nodes[1].port }), ['cluster', 'cluster/cluster']],
      [new Http('127.0.0.1', { port: stack.nodes[2].port }), ['cluster']],
    ];
    for (const [protocol, controllers] of cases) {
      const sdk = new Kuzzle(protocol, { autoResubscribe: false });
      sdk.on('networkError', () => undefined);
      await sdk.connect();
      try {
        for (const controller of controllers) {
          const { result } = await sdk.query({ action: 'metrics', controller });
          should(typeof result).equal('string');
          should(sample(String(result), 'kuzzle_cluster_members')).equal(3);
        }
      }
      finally {
        sdk.disconnect();
      }
    }
  });

  it('promtool check rules accepts the repository\'s rules file', () => {
    const verdict = promtool(['check', 'rules', RULES]);
    should(verdict.status).equal(0, verdict.output);
    should(verdict.output).match(/SUCCESS: \d+ rules found/);
  });

  it('Prometheus reports every target up, 3 members on each, and evaluates every rule without error', async () => {
    await eventually('every target up', async () => {
      const targets = await prometheus.targets();
      return targets.length === 3 && targets.every(t => t.health === 'up');
    }, 30000);
    await eventually('kuzzle_cluster_members 3 on each node', async () => {
      const members = byInstance(await prometheus.query('kuzzle_cluster_members'));
      return instances.every(instance => members.get(instance) === 3);
    }, 30000);
    await eventually('every rule evaluated', async () => {
      const groups = await prometheus.ruleGroups();
      const rules = groups.flatMap(g => g.rules);
      return rules.length > 0 && rules.every(rule => rule.health === 'ok');
    }, 30000);
  });

  it('after a SIGKILL of one node, the survivors\' membership metric drops and the eviction is in their activity with its reason', async () => {
    const victim = stack.nodes[2];
    const victimId = (await statusOf(victim.port)).current.id;
    const survivors = instances.slice(0, 2);
    stack.killNode(2);

    await eventually('Prometheus sees 2 members on both survivors, and the victim down', async () => {
      const members = byInstance(await prometheus.query('kuzzle_cluster_members'));
      const up = byInstance(await prometheus.query('up'));
      return survivors.every(instance => members.get(instance) === 2) && up.get(instances[2]) === 0;
    }, 30000);
    await eventually('the eviction counted in Prometheus', async () => {
      const evicted = await prometheus.query('sum(kuzzle_cluster_membership_events_total{event="evicted"})');
      return evicted.length === 1 && Number(evicted[0].value[1]) >= 2;
    }, 30000);
    await eventually('KuzzleClusterMembershipDropped firing', async () => {
      const alerts = await prometheus.alerts();
      return survivors.every(instance => alerts.some(a => a.labels.alertname === 'KuzzleClusterMembershipDropped'
        && a.labels.instance === instance && a.state === 'firing'));
    }, 30000);

    const reasons: string[] = [];
    for (const node of stack.nodes.slice(0, 2)) {
      const { activity } = await statusOf(node.port);
      const eviction = activity.find(entry => entry.event === 'evicted' && entry.id === victimId);
      should(eviction).not.be.undefined();
      const { date, reason, timestamp } = eviction as ActivityEntry;
      reasons.push(String(reason));
      should(new Date(date).getTime()).equal(timestamp);
      should(activity.some(entry => entry.event === 'joined' && entry.id === victimId)).be.true();
    }
    // the survivor that noticed first removes it (timeout); the other noticed too, or was told
    // (evicted_by_peer), or saw it gone from Redis before the message came (not_a_member)
    should(reasons).containEql('timeout');
    for (const reason of reasons) {
      should(['timeout', 'evicted_by_peer', 'not_a_member']).containEql(reason);
    }
  });

  it('Redis lost then back: redis_up and readiness drop, errors are counted, and the survivors\' activity says so', async () => {
    const survivors = stack.nodes.slice(0, 2);
    const errorsBefore = new Map<number, number>();
    for (const node of survivors) {
      errorsBefore.set(node.port, sample((await get(node.port, '/_plugin/cluster/metrics')).body, 'kuzzle_cluster_redis_errors_total') || 0);
    }
    await stack.redis.stop();
    try {
      await eventually('redis_up 0 and not ready on both survivors', async () => {
        for (const node of survivors) {
          const text = (await get(node.port, '/_plugin/cluster/metrics')).body;
          if (sample(text, 'kuzzle_cluster_redis_up') !== 0 || !/^kuzzle_cluster_health_reason\{reason="redis_unreachable"\} 1$/m.test(text)) {
            return false;
          }
        }
        return true;
      }, 20000);
      // a few heartbeats meet the outage: their Redis calls fail and are counted
      await new Promise(resolve => setTimeout(resolve, 2500));
    }
    finally {
      await stack.redis.restart();
    }
    await eventually('both survivors ready again', async () => {
      for (const node of survivors) {
        if (sample((await get(node.port, '/_plugin/cluster/metrics')).body, 'kuzzle_cluster_ready') !== 1) {
          return false;
        }
      }
      return true;
    }, 30000);

    for (const node of survivors) {
      const text = (await get(node.port, '/_plugin/cluster/metrics')).body;
      should(sample(text, 'kuzzle_cluster_redis_errors_total')).be.above(errorsBefore.get(node.port) as number);
      // an empty Redis may make the node rejoin under a new id: the events carry the id it had then
      const { activity } = await statusOf(node.port);
      const lost = activity.findIndex(e => e.event === 'not_ready' && e.reason === 'redis_lost');
      const back = activity.findIndex(e => e.event === 'recovered' && e.reason === 'redis_lost');
      should(lost).be.aboveOrEqual(0);
      should(back).be.above(lost);
    }
  });
});
