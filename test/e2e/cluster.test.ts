import should from 'should';
import { Kuzzle, Http } from 'kuzzle-sdk';

import * as path from 'path';

import { KuzzleStack, connectSdk, tearDown, httpGet, httpQuery } from '../support/kuzzleStack';
import { freePorts } from '../support/ports';
import { eventually } from '../support/coreNode';

type Notification = { type: string; action?: string; scope?: string; user?: string; result: Record<string, unknown>; volatile?: Record<string, unknown> };

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('end-to-end: 3 real Kuzzle 2.10.4 nodes with the plugin, nginx in front', function () {
  this.timeout(180000);

  let stack: KuzzleStack;
  let clients: Kuzzle[] = [];
  let nginxPort: number;

  before(async () => {
    [nginxPort] = await freePorts(1);
    stack = await KuzzleStack.start({
      nginxPort,
      nodes: 3,
      plugins: [path.resolve(__dirname, '..', 'support', 'plugins', 'cluster-test-plugin')],
    });
    clients = await Promise.all(stack.nodes.map(node => connectSdk(node.port)));
  });

  after(async () => {
    await tearDown(stack, clients);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && stack) {
      stack.printLastOutput();
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

  it('the previous plugin\'s controller name, cluster/cluster, answers the same actions over WebSocket and HTTP', async () => {
    const [a, b] = clients;
    for (const controller of ['cluster', 'cluster/cluster']) {
      should((await a.query({ action: 'health', controller })).result).equal('ok');
      const status = (await b.query({ action: 'status', controller })).result;
      should(status.count).equal(3);
      should(status.current.ready).be.true();

      const overHttp = await httpQuery(nginxPort, { action: 'status', controller });
      should(overHttp.status).equal(200);
      should(JSON.parse(overHttp.body).result.count).equal(3);
    }
    should(JSON.parse((await httpQuery(nginxPort, { action: 'health', controller: 'cluster/cluster' })).body).result).equal('ok');
    await should(a.query({ action: 'nope', controller: 'cluster/cluster' })).be.rejectedWith({ id: 'api.process.action_not_found' });
    // no second set of routes: the HTTP routes stay under /_plugin/cluster/
    should((await httpGet(nginxPort, '/_plugin/cluster/cluster/health')).status).equal(404);

    // a role written for the previous plugin is valid (Kuzzle refuses unknown controllers)
    await a.security.createRole('e2e-legacy-monitor', { controllers: { 'cluster/cluster': { actions: { health: true, status: true } } } });
    await a.security.deleteRole('e2e-legacy-monitor');
  });

  it('an index and a collection created on one node are usable on the others at once', async () => {
    const [a, b, c] = clients;
    await a.index.create('e2e');
    await a.collection.create('e2e', 'docs', { mappings: { properties: { kind: { type: 'keyword' }, n: { type: 'integer' } } } });
    await b.document.create('e2e', 'docs', { kind: 'x', n: 1 }, 'from-b', { refresh: 'wait_for' });
    should((await c.document.get('e2e', 'docs', 'from-b'))._source).match({ kind: 'x', n: 1 });
    should(await c.collection.exists('e2e', 'docs')).be.true();

    await a.index.create('e2e-doomed');
    await a.collection.create('e2e-doomed', 'gone', {});
    await c.document.create('e2e-doomed', 'gone', { a: 1 });
    await b.collection.delete('e2e-doomed', 'gone');
    await should(c.document.create('e2e-doomed', 'gone', { a: 2 })).be.rejectedWith({ id: 'services.storage.unknown_collection' });
    await a.index.delete('e2e-doomed');
    await should(b.document.create('e2e-doomed', 'gone', { a: 3 })).be.rejectedWith({ id: 'services.storage.unknown_index' });
    should(await c.index.exists('e2e-doomed')).be.false();
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
    await b.document.replace('e2e', 'docs', 'doc-c', { kind: 'watched', n: 5 });
    await c.document.delete('e2e', 'docs', 'doc-c');

    await eventually('5 notifications', () => received.length >= 5);
    await sleep(500);
    should(received.map(n => `${n.action}:${n.scope}`)).eql(['publish:in', 'create:in', 'update:in', 'replace:in', 'delete:out']);
    should(received[0].result._source).match({ kind: 'watched', msg: 'hello' });
    should(received[1].result).match({ _id: 'doc-c', _source: { kind: 'watched', n: 2 } });
    await a.realtime.unsubscribe(roomId);
  });

  it('a write on another node right after the subscription is acknowledged notifies it', async () => {
    const [a, b] = clients;
    const received: string[] = [];
    const rooms: string[] = [];
    for (let i = 0; i < 20; i++) {
      rooms.push(await a.realtime.subscribe('e2e', 'docs', { equals: { tag: `right-away-${i}` } }, n => {
        received.push(String((n as unknown as Notification).result._source && ((n as unknown as Notification).result._source as { tag: string }).tag));
      }));
      // no waiting for replication: the acknowledgement means every node has the room
      await b.realtime.publish('e2e', 'docs', { tag: `right-away-${i}` });
    }
    await eventually('20 notifications', () => received.length === 20);
    should(received).eql(Array.from({ length: 20 }, (_, i) => `right-away-${i}`));
    for (const room of rooms) {
      await a.realtime.unsubscribe(room);
    }
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

    // a subscriber that disconnects (no unsubscribe) is counted out too
    const leaving = await connectSdk(stack.nodes[2].port);
    await leaving.realtime.subscribe('e2e', 'docs', filters, () => undefined);
    await eventually('count 2 with the new subscriber', async () => (await a.realtime.count(roomA)) === 2);
    leaving.disconnect();
    await eventually('count back to 1 after the disconnection', async () =>
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
  it('scope and users options behave as on a single node', async () => {
    const [a, b] = clients;
    const inOnly: Notification[] = [];
    const outOnly: Notification[] = [];
    const usersIn: Notification[] = [];
    const filters = { equals: { kind: 'scoped' } };
    const room = await a.realtime.subscribe('e2e', 'docs', filters, n => { inOnly.push(n as unknown as Notification); }, { scope: 'in' as never });
    await a.realtime.subscribe('e2e', 'docs', filters, n => { outOnly.push(n as unknown as Notification); }, { scope: 'out' as never });
    await a.realtime.subscribe('e2e', 'docs', filters, n => { usersIn.push(n as unknown as Notification); }, { scope: 'none' as never, users: 'in' as never });
    // one connection, three channels: the room counts one subscriber
    await eventually('room replicated', async () => (await b.realtime.count(room)) === 1);

    await b.document.create('e2e', 'docs', { kind: 'scoped' }, 'scoped-1', { refresh: 'wait_for' });
    await b.document.update('e2e', 'docs', 'scoped-1', { kind: 'elsewhere' }, { refresh: 'wait_for' });
    const watcher = await b.realtime.subscribe('e2e', 'docs', filters, () => undefined);
    await b.realtime.unsubscribe(watcher);

    await eventually('notifications', () => inOnly.length === 1 && outOnly.length === 1 && usersIn.length === 1);
    await sleep(300);
    should(inOnly.map(n => `${n.action}:${n.scope}`)).eql(['create:in']);
    should(outOnly.map(n => `${n.action}:${n.scope}`)).eql(['update:out']);
    should(usersIn.map(n => `${n.type}:${n.user}`)).eql(['user:in']);
    await a.realtime.unsubscribe(room);
  });

  it('plugin subscriptions with propagate: false only get their own node\'s notifications', async () => {
    const [a, b] = clients;
    const filters = { equals: { kind: 'local-only' } };
    await a.query({ action: 'subscribeLocal', body: { collection: 'docs', filters, index: 'e2e' }, controller: 'clustertest' });
    const remoteWatcher: Notification[] = [];
    const room = await b.realtime.subscribe('e2e', 'docs', filters, n => { remoteWatcher.push(n as unknown as Notification); });
    await eventually('b\'s subscription reached a', async () => (await a.realtime.count(room)) >= 1);

    await b.realtime.publish('e2e', 'docs', { from: 'b', kind: 'local-only' });
    await a.realtime.publish('e2e', 'docs', { from: 'a', kind: 'local-only' });

    await eventually('b\'s subscriber got both', () => remoteWatcher.length === 2);
    await sleep(500);
    const local = (await a.query({ action: 'localNotifications', controller: 'clustertest' })).result as Array<{ from: string }>;
    should(local.map(n => n.from)).eql(['a']);
    await b.realtime.unsubscribe(room);
  });

  it('mCreate and bulk:mWrite (notify) on another node notify each matching document once', async () => {
    const [a, b, c] = clients;
    const received: Notification[] = [];
    const room = await a.realtime.subscribe('e2e', 'docs', { equals: { kind: 'batch' } }, n => { received.push(n as unknown as Notification); });
    await eventually('room replicated', async () => (await b.realtime.count(room)) === 1 && (await c.realtime.count(room)) === 1);

    await b.document.mCreate('e2e', 'docs', [
      { _id: 'm1', body: { kind: 'batch' } }, { _id: 'm2', body: { kind: 'batch' } }, { _id: 'm3', body: { kind: 'nope' } },
    ], { refresh: 'wait_for' });
    // bulk:import never notifies, even on a single node; bulk:mWrite does when asked to
    await c.bulk.mWrite('e2e', 'docs', [{ _id: 'b1', body: { kind: 'batch' } }, { _id: 'b2', body: { kind: 'other' } }] as never, { notify: true });

    await eventually('3 notifications', () => received.length >= 3).catch(error => {
      throw new Error(`${error.message}; received: ${JSON.stringify(received.map(n => [n.action, n.result._id]))}`);
    });
    await sleep(500);
    should(received.map(n => n.result._id).sort()).eql(['b1', 'm1', 'm2']);
    await a.realtime.unsubscribe(room);
  });

  it('a role or profile updated on one node is enforced on the others', async () => {
    const [a, b] = clients;
    const role = (actions: Record<string, boolean>) => ({ controllers: { auth: { actions: { '*': true } }, document: { actions } } });
    await a.security.createRole('e2e-writer', role({ create: true, get: true }), { refresh: 'wait_for' });
    await a.security.createProfile('e2e-writer', { policies: [{ roleId: 'e2e-writer' }] } as never, { refresh: 'wait_for' });
    await a.security.createUser('e2e-user', {
      content: { profileIds: ['e2e-writer'] },
      credentials: { local: { password: 'e2e-password', username: 'e2e-user' } },
    }, { refresh: 'wait_for' });

    const user = await connectSdk(stack.nodes[1].port);
    try {
      await user.auth.login('local', { password: 'e2e-password', username: 'e2e-user' });
      await user.document.create('e2e', 'docs', { kind: 'acl' });

      await a.security.updateRole('e2e-writer', role({ get: true }), { refresh: 'wait_for' });
      await eventually('creation refused on node B', async () => {
        try {
          await user.document.create('e2e', 'docs', { kind: 'acl' });
          return false;
        }
        catch (error) {
          return (error as { status?: number }).status === 403;
        }
      });
      should((await b.security.getRole('e2e-writer')).controllers.document.actions).eql({ get: true });

      // a profile change too: pointing the profile to a role without document:get
      await a.security.createRole('e2e-nothing', { controllers: { auth: { actions: { '*': true } } } }, { refresh: 'wait_for' });
      await user.document.get('e2e', 'docs', 'from-b');
      await a.security.updateProfile('e2e-writer', { policies: [{ roleId: 'e2e-nothing' }] } as never, { refresh: 'wait_for' });
      await eventually('read refused on node B', async () => {
        try {
          await user.document.get('e2e', 'docs', 'from-b');
          return false;
        }
        catch (error) {
          return (error as { status?: number }).status === 403;
        }
      });
    }
    finally {
      user.disconnect();
    }
  });

  it('validation specifications updated on one node apply on every node', async () => {
    const [a, b, c] = clients;
    await a.collection.create('e2e', 'strict', {});
    await b.document.create('e2e', 'strict', { n: 'not a number' });
    await a.collection.updateSpecifications('e2e', 'strict', { fields: { n: { mandatory: true, type: 'integer' } }, strict: false });
    for (const client of [b, c]) {
      await eventually('specification enforced', async () => {
        try {
          await client.document.create('e2e', 'strict', { n: 'still not a number' });
          return false;
        }
        catch (error) {
          return (error as { status?: number }).status === 400;
        }
      });
      await client.document.create('e2e', 'strict', { n: 12 });
    }
  });

  it('an authentication strategy registered at runtime on one node is usable on all', async () => {
    const [a] = clients;
    const login = async (port: number): Promise<string> => {
      const client = await connectSdk(port);
      try {
        return await client.auth.login('token', { token: 'open-sesame:e2e-user' });
      }
      finally {
        client.disconnect();
      }
    };

    await should(login(stack.nodes[2].port)).be.rejected();
    await a.query({ action: 'addStrategy', controller: 'clustertest' });
    for (const node of stack.nodes) {
      await eventually(`token login on node ${node.index + 1}`, async () => typeof await login(node.port) === 'string');
    }
    await a.query({ action: 'removeStrategy', controller: 'clustertest' });
    await eventually('strategy removed on node 3', async () => {
      try {
        await login(stack.nodes[2].port);
        return false;
      }
      catch {
        return true;
      }
    });
  });

  it('app-level cluster events broadcast on one node reach the listeners of the others', async () => {
    const [a, b, c] = clients;
    await a.query({ action: 'broadcast', body: { hello: 'cluster' }, controller: 'clustertest' });
    for (const client of [b, c]) {
      await eventually('event received', async () =>
        JSON.stringify((await client.query({ action: 'events', controller: 'clustertest' })).result) === JSON.stringify([{ hello: 'cluster' }]));
    }
    should((await a.query({ action: 'events', controller: 'clustertest' })).result).eql([]);
  });

  it('POST /_plugin/cluster/reset keeps subscriptions working', async () => {
    const [a, b] = clients;
    const received: Notification[] = [];
    const room = await a.realtime.subscribe('e2e', 'docs', { equals: { kind: 'after-reset' } }, n => { received.push(n as unknown as Notification); });
    await eventually('room replicated', async () => (await b.realtime.count(room)) === 1);

    const reset = await httpGet(nginxPort, '/_plugin/cluster/reset', 'POST');
    should(reset.status).equal(200);

    for (const node of stack.nodes) {
      await eventually('healthy after reset', async () => (await httpGet(node.port, '/_plugin/cluster/health')).status === 200);
    }
    await eventually('count restored', async () => (await b.realtime.count(room)) === 1);
    await b.realtime.publish('e2e', 'docs', { kind: 'after-reset' });
    await eventually('notified after reset', () => received.length === 1);
    await a.realtime.unsubscribe(room);
  });

  it('a node killed with SIGKILL: nginx routes around it, counts drop, and it rejoins when restarted', async () => {
    const [a, b] = clients;
    const filters = { equals: { kind: 'failover' } };
    const room = await a.realtime.subscribe('e2e', 'docs', filters, () => undefined);
    await clients[2].realtime.subscribe('e2e', 'docs', filters, () => undefined);
    await eventually('count 2', async () => (await b.realtime.count(room)) === 2);

    clients[2].disconnect();
    stack.killNode(2, 'SIGKILL');

    await eventually('survivors drop the dead node\'s subscription', async () =>
      (await a.realtime.count(room)) === 1 && (await b.realtime.count(room)) === 1, 15000);
    await eventually('status shows 2 nodes', async () =>
      JSON.parse((await httpGet(stack.nodes[0].port, '/_plugin/cluster/status')).body).result.count === 2, 15000);

    for (let i = 0; i < 6; i++) {
      should((await httpGet(nginxPort, '/_plugin/cluster/health')).status).equal(200);
    }

    await stack.startNode(2);
    clients[2] = await connectSdk(stack.nodes[2].port);
    const received: Notification[] = [];
    await clients[2].realtime.subscribe('e2e', 'docs', filters, n => { received.push(n as unknown as Notification); });
    await eventually('count 2 again', async () => (await a.realtime.count(room)) === 2);
    await a.realtime.publish('e2e', 'docs', { kind: 'failover' });
    await eventually('restarted node notified', () => received.length === 1);
  });
  it('SIGTERM: the node leaves at once, its peers do not wait for a timeout', async () => {
    const [a] = clients;
    const filters = { equals: { kind: 'sigterm' } };
    const room = await a.realtime.subscribe('e2e', 'docs', filters, () => undefined);
    await clients[2].realtime.subscribe('e2e', 'docs', filters, () => undefined);
    await eventually('count 2', async () => (await a.realtime.count(room)) === 2);
    const leaving = JSON.parse((await httpGet(stack.nodes[2].port, '/_plugin/cluster/status')).body).result.current.id;

    clients[2].disconnect();
    await stack.stopNode(2, 'SIGTERM');

    await eventually('survivors count 1 and 2 nodes', async () =>
      (await a.realtime.count(room)) === 1 &&
      JSON.parse((await httpGet(stack.nodes[0].port, '/_plugin/cluster/status')).body).result.count === 2);
    should(stack.nodes[0].output.some(l => l.includes(`node ${leaving}`) && l.includes('left the cluster'))).be.true();
    should(stack.nodes[0].output.some(l => l.includes(`node ${leaving}`) && l.includes('no heartbeat'))).be.false();
    await a.realtime.unsubscribe(room);
  });

  it('admin:shutdown on one node shuts the whole cluster down, each node leaving cleanly', async () => {
    const survivors = stack.nodes.filter(node => node.process !== null);
    should(survivors).have.length(2);
    await clients[1].query({ action: 'shutdown', controller: 'admin' });
    await eventually('every Kuzzle process exited', () => survivors.every(node => node.process?.exitCode !== null), 30000);
    for (const node of survivors) {
      should(node.process?.exitCode).equal(0);
    }
  });
});
