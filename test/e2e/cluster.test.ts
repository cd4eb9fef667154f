import should from 'should';
import { Kuzzle, WebSocket, Http } from 'kuzzle-sdk';

import { KuzzleStack, httpGet } from '../support/kuzzleStack';
import { killAll } from '../support/processes';
import { freePorts } from '../support/ports';
import { eventually } from '../support/coreNode';

type Notification = { type: string; action?: string; scope?: string; user?: string; result: Record<string, unknown>; volatile?: Record<string, unknown> };

async function connect (port: number): Promise<Kuzzle> {
  const kuzzle = new Kuzzle(new WebSocket('127.0.0.1', { port }), { autoResubscribe: false });
  kuzzle.on('networkError', () => undefined);
  await kuzzle.connect();
  return kuzzle;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('end-to-end: 3 real Kuzzle 2.10.4 nodes with the plugin, nginx in front', function () {
  this.timeout(180000);

  let stack: KuzzleStack;
  let clients: Kuzzle[] = [];
  let nginxPort: number;

  before(async () => {
    [nginxPort] = await freePorts(1);
    stack = await KuzzleStack.start({ nginxPort, nodes: 3 });
    clients = await Promise.all(stack.nodes.map(node => connect(node.port)));
  });

  after(async () => {
    for (const client of clients) {
      client.disconnect();
    }
    if (stack) {
      await stack.stop();
    }
    await killAll();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && stack) {
      for (const node of stack.nodes) {
        console.log(`--- last output of kuzzle-${node.index + 1} (${node.logFile})\n${node.output.slice(-25).join('\n')}`);
      }
    }
  });

  it('every node reports a healthy cluster of 3, directly and through nginx', async () => {
    for (const node of stack.nodes) {
      const health = await httpGet(node.port, '/_plugin/cluster/health');
      should(health.status).equal(200);
      should(JSON.parse(health.body).result).equal('ok');
      await eventually('3 nodes in status', async () => {
        const status = JSON.parse((await httpGet(node.port, '/_plugin/cluster/status')).body).result;
        return status.count === 3 && status.pool.length === 2;
      });
    }
    should((await httpGet(nginxPort, '/_plugin/cluster/health')).status).equal(200);
  });

  it('an index and a collection created on one node are usable on the others at once', async () => {
    const [a, b, c] = clients;
    await a.index.create('e2e');
    await a.collection.create('e2e', 'docs', { mappings: { properties: { kind: { type: 'keyword' }, n: { type: 'integer' } } } });
    await b.document.create('e2e', 'docs', { kind: 'x', n: 1 }, 'from-b', { refresh: 'wait_for' });
    should((await c.document.get('e2e', 'docs', 'from-b'))._source).match({ kind: 'x', n: 1 });
    should(await c.collection.exists('e2e', 'docs')).be.true();
  });

  it('a subscriber on node A is notified exactly once of writes and messages on B and C', async () => {
    const [a, b, c] = clients;
    const received: Notification[] = [];
    const roomId = await a.realtime.subscribe('e2e', 'docs', { equals: { kind: 'watched' } },
      n => { received.push(n as unknown as Notification); });

    await eventually('the room reaches B and C', async () => (await c.realtime.count(roomId)) === 1);

    await b.realtime.publish('e2e', 'docs', { kind: 'watched', msg: 'hello' });
    await c.document.create('e2e', 'docs', { kind: 'watched', n: 2 }, 'doc-c', { refresh: 'wait_for' });
    await b.document.create('e2e', 'docs', { kind: 'other', n: 3 }, 'doc-ignored', { refresh: 'wait_for' });
    await b.document.update('e2e', 'docs', 'doc-c', { n: 4 });
    await c.document.delete('e2e', 'docs', 'doc-c');

    await eventually('4 notifications', () => received.length >= 4);
    await sleep(500);
    should(received.map(n => `${n.action}:${n.scope}`)).eql(['publish:in', 'create:in', 'update:in', 'delete:out']);
    should(received[0].result._source).match({ kind: 'watched', msg: 'hello' });
    should(received[1].result).match({ _id: 'doc-c', _source: { kind: 'watched', n: 2 } });
    await a.realtime.unsubscribe(roomId);
  });

  it('realtime:count and realtime:list are cluster-wide and follow unsubscriptions', async () => {
    const [a, b, c] = clients;
    const filters = { range: { n: { gte: 10 } } };
    const roomA = await a.realtime.subscribe('e2e', 'docs', filters, () => undefined);
    const roomB = await b.realtime.subscribe('e2e', 'docs', filters, () => undefined);
    should(roomB).equal(roomA);

    await eventually('count 2 on every node', async () =>
      (await Promise.all(clients.map(k => k.realtime.count(roomA)))).every(n => n === 2));

    const list = await c.query({ action: 'list', controller: 'realtime' });
    should(list.result.e2e.docs[roomA]).equal(2);

    await b.realtime.unsubscribe(roomB);
    await eventually('count 1 on every node', async () =>
      (await Promise.all(clients.map(k => k.realtime.count(roomA)))).every(n => n === 1));
    await a.realtime.unsubscribe(roomA);
    await eventually('room gone everywhere', async () => {
      for (const client of clients) {
        try {
          await client.realtime.count(roomA);
          return false;
        }
        catch (error) {
          if ((error as { status?: number }).status !== 404) {
            throw error;
          }
        }
      }
      return true;
    });
  });

  it('realtime:join of a room created on another node works, and its subscribers are notified', async () => {
    const [a, b, c] = clients;
    const fromA: Notification[] = [];
    const fromB: Notification[] = [];
    const roomId = await a.realtime.subscribe('e2e', 'docs', { equals: { kind: 'joined' } }, n => { fromA.push(n as unknown as Notification); });

    await eventually('B knows the room', async () => (await b.realtime.count(roomId)) === 1);
    const joined = await b.query({ action: 'join', body: { roomId }, controller: 'realtime' });
    should(joined.result.roomId).equal(roomId);
    b.protocol.on(joined.result.channel, (n: unknown) => { fromB.push(n as Notification); });

    await eventually('count 2', async () => (await c.realtime.count(roomId)) === 2);
    await c.realtime.publish('e2e', 'docs', { kind: 'joined' });
    await eventually('both notified', () => fromA.length === 1 && fromB.length === 1);
    await a.realtime.unsubscribe(roomId);
  });

  it('user notifications carry the cluster-wide subscriber count', async () => {
    const [a, b] = clients;
    const seen: Notification[] = [];
    const roomId = await a.realtime.subscribe('e2e', 'docs', { equals: { kind: 'users' } },
      n => { seen.push(n as unknown as Notification); }, { users: 'all' as never });
    await eventually('room replicated', async () => (await b.realtime.count(roomId)) === 1);

    const other = await b.realtime.subscribe('e2e', 'docs', { equals: { kind: 'users' } }, () => undefined);
    await eventually('in notification', () => seen.some(n => n.type === 'user' && n.user === 'in'));
    should(seen.find(n => n.user === 'in')?.result.count).equal(2);

    await b.realtime.unsubscribe(other);
    await eventually('out notification', () => seen.some(n => n.type === 'user' && n.user === 'out'));
    should(seen.find(n => n.user === 'out')?.result.count).equal(1);
    await a.realtime.unsubscribe(roomId);
  });

  it('HTTP through nginx reaches the cluster', async () => {
    const http = new Kuzzle(new Http('127.0.0.1', { port: nginxPort }));
    await http.connect();
    const received: Notification[] = [];
    const roomId = await clients[0].realtime.subscribe('e2e', 'docs', { equals: { kind: 'via-nginx' } }, n => { received.push(n as unknown as Notification); });
    // realtime:count has no HTTP route: ask the other nodes over WebSocket
    await eventually('room replicated', async () =>
      (await clients[1].realtime.count(roomId)) === 1 && (await clients[2].realtime.count(roomId)) === 1);
    for (let i = 0; i < 3; i++) {
      await http.document.create('e2e', 'docs', { kind: 'via-nginx', n: i }, undefined, { refresh: 'wait_for' });
    }
    await eventually('3 notifications', () => received.length === 3);
    http.disconnect();
    await clients[0].realtime.unsubscribe(roomId);
  });
});
