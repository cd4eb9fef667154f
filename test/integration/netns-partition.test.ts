/**
 * Real network cuts: every node and Redis run in network namespaces this
 * test creates, linked by veth pairs to a bridge in a namespace of its own.
 * A cut is a blackhole route between two nodes: Redis stays reachable.
 */
import { spawn, spawnSync } from 'child_process';

import should from 'should';

import { CoreNode, eventually, printLogsIfFailed } from '../support/coreNode';
import { killAll, track } from '../support/processes';
import { redisServerBinary } from '../support/redisServer';

const PREFIX = `kzc${process.pid % 100000}`;
const SWITCH = `${PREFIX}-sw`;
const REDIS_NS = `${PREFIX}-redis`;
const NODE_NS = [1, 2, 3].map(i => `${PREFIX}-n${i}`);
const SUBNET = '10.231.77';
const REDIS_IP = `${SUBNET}.2`;
const NODE_IPS = [11, 12, 13].map(i => `${SUBNET}.${i}`);

function ip (...args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout || ''}${result.stderr || ''}${result.error ? result.error.message : ''}`.trim() };
}

function mustIp (...args: string[]): void {
  const result = ip(...args);
  if (!result.ok) {
    throw new Error(`ip ${args.join(' ')}: ${result.output}`);
  }
}

/** why namespaces cannot be used here, or null */
function namespacesUnavailable (): string | null {
  if (process.getuid && process.getuid() !== 0) {
    return 'network namespaces need root';
  }
  const probe = `${PREFIX}-probe`;
  const created = ip('netns', 'add', probe);
  if (!created.ok) {
    return `"ip netns add" failed: ${created.output}`;
  }
  ip('netns', 'del', probe);
  return null;
}

function createNetwork (): void {
  for (const ns of [SWITCH, REDIS_NS, ...NODE_NS]) {
    mustIp('netns', 'add', ns);
    mustIp('-n', ns, 'link', 'set', 'lo', 'up');
  }
  mustIp('-n', SWITCH, 'link', 'add', 'br0', 'type', 'bridge');
  mustIp('-n', SWITCH, 'link', 'set', 'br0', 'up');

  const hosts: Array<[string, string]> = [[REDIS_NS, REDIS_IP], ...NODE_NS.map((ns, i): [string, string] => [ns, NODE_IPS[i]])];
  hosts.forEach(([ns, address], i) => {
    const port = `p${i}`;
    mustIp('-n', SWITCH, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    mustIp('-n', SWITCH, 'link', 'set', port, 'master', 'br0');
    mustIp('-n', SWITCH, 'link', 'set', port, 'up');
    mustIp('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    mustIp('-n', ns, 'link', 'set', 'eth0', 'up');
  });
}

function deleteNetwork (): void {
  for (const ns of [SWITCH, REDIS_NS, ...NODE_NS]) {
    ip('netns', 'del', ns);
  }
}

/** cuts (or heals) the link between two nodes, both directions */
function setCut (a: number, b: number, cut: boolean): void {
  const verb = cut ? 'add' : 'del';
  mustIp('-n', NODE_NS[a], 'route', verb, 'blackhole', `${NODE_IPS[b]}/32`);
  mustIp('-n', NODE_NS[b], 'route', verb, 'blackhole', `${NODE_IPS[a]}/32`);
}

async function startRedis (): Promise<void> {
  track(spawn('ip', ['netns', 'exec', REDIS_NS, redisServerBinary(),
    '--bind', REDIS_IP, '--port', '6379', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' }));
  await eventually('redis-server in its namespace', () =>
    spawnSync('ip', ['netns', 'exec', REDIS_NS, 'redis-cli', '-h', REDIS_IP, 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG');
}

describe('partition with real network cuts (network namespaces)', function () {
  this.timeout(120000);

  let nodes: CoreNode[] = [];
  let created = false;

  before(async function () {
    const reason = namespacesUnavailable();
    if (reason) {
      console.log(`      SKIPPED: ${reason}; the process-level cuts of faults.test.ts cover the same logic`);
      this.skip();
    }
    created = true;
    createNetwork();
    await startRedis();
    nodes = await Promise.all(NODE_NS.map((ns, i) => CoreNode.spawn({
      bindings: { pub: `tcp://${NODE_IPS[i]}:7511`, router: `tcp://${NODE_IPS[i]}:7510` },
      redis: { host: REDIS_IP, port: 6379 },
    }, ['ip', 'netns', 'exec', ns])));
    await Promise.all(nodes.map(node => node.join()));
    await eventually('full mesh', async () =>
      (await Promise.all(nodes.map(n => n.status()))).every(s => s.health.ok && s.status.peers.length === 2), 20000);
  });

  after(async () => {
    await killAll();
    if (created) {
      deleteNetwork();
    }
  });

  afterEach(function () {
    printLogsIfFailed(this.currentTest, nodes, 20);
  });

  it('the cut-off node turns not-ready, the others stay ready; after healing it resyncs and comes back', async () => {
    const [a, b, c] = nodes;
    const filter = { collection: 'c', filters: [[{ exists: 'x' }]], index: 'i' };
    await c.subscribe('net', 1, filter);
    await eventually('replicated', async () => (await a.status()).rooms.some(r => r.room === 'net'));

    setCut(2, 0, true);
    setCut(2, 1, true);

    await eventually('c reports the partition', async () => /partitioned/.test((await c.status()).health.reason || ''), 30000);
    should((await a.status()).health.ok).be.true();
    should((await b.status()).health.ok).be.true();

    await a.subscribe('while-cut', 1, filter);

    setCut(2, 0, false);
    setCut(2, 1, false);

    await eventually('healthy full mesh again', async () =>
      (await Promise.all(nodes.map(n => n.status()))).every(s => s.health.ok && s.status.peers.length === 2), 30000);
    await eventually('c caught up', async () => (await c.status()).rooms.some(r => r.room === 'while-cut'));
    await a.call({ cmd: 'notify', content: { over: 'the network' }, rooms: ['net'] });
    await eventually('c notified', () => c.notifications.length === 1);
  });

  it('a link cut for 1 s, then healed: the peer stays a member, its notifications arrive each once, in order, none lost', async () => {
    const [a, b] = nodes;
    const filter = { collection: 'c', filters: [[{ exists: 'n' }]], index: 'i' };
    await b.subscribe('stream', 1, filter);
    await eventually('replicated', async () => (await a.status()).rooms.some(r => r.room === 'stream'));
    const peersBefore = (await b.status()).status.peers.map(p => p.id).sort();
    const received = (): number[] => b.notifications
      .filter(n => n.message.t === 'user' && n.message.room === 'stream')
      .map(n => (n.message.content as { n: number }).n);

    let sent = 0;
    const stream = async (ms: number): Promise<void> => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        await a.call({ cmd: 'notify', content: { n: ++sent }, rooms: ['stream'] });
        await new Promise(resolve => setTimeout(resolve, 5));
      }
    };

    await stream(200);
    const sentBeforeCut = sent;
    setCut(0, 1, true);
    await stream(1000);
    // nothing sent during the cut got through
    should(received().length).be.belowOrEqual(sentBeforeCut);
    setCut(0, 1, false);
    await stream(200);

    await eventually(`${sent} notifications delivered`, () => received().length >= sent, 30000);
    await new Promise(resolve => setTimeout(resolve, 300));
    should(received()).eql(Array.from({ length: sent }, (_, i) => i + 1));
    const status = await b.status();
    should(status.status.peers.map(p => p.id).sort()).eql(peersBefore);
    const counters = status.status.peers.find(p => p.id === a.id)?.counters;
    should(counters).match({ lostNotifications: 0 });
    console.log(`      ${sent} notifications, replayed ${counters?.replayed}, gaps ${counters?.gaps}, resyncs ${counters?.resyncs}`);
  });
});
