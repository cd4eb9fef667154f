import should from 'should';
import Redis from 'ioredis';

import { KEYS, StateStore } from '../../../lib/cluster/state';
import { RedisServer } from '../../support/redisServer';
import { killAll } from '../../support/processes';

const filter = { collection: 'c', filters: [[{ exists: 'a' }]], index: 'i' };
const info = (id: string) => ({ id, pub: `tcp://127.0.0.1:1${id}`, router: `tcp://127.0.0.1:2${id}`, startedAt: 1, version: 'test' });
const live = { hears: [], ready: true };

describe('Redis state store (Lua scripts, real redis-server)', function () {
  this.timeout(20000);

  let server: RedisServer;
  let store: StateStore;
  let redis: Redis;

  before(async () => {
    server = await RedisServer.start();
    store = new StateStore({ mode: 'standalone', options: { host: '127.0.0.1', port: server.port } }, 'test');
    await store.connect();
    redis = new Redis({ host: '127.0.0.1', port: server.port });
    redis.on('error', () => undefined);
  });

  beforeEach(() => redis.flushall());

  after(async () => {
    await store.close();
    redis.disconnect();
    await killAll();
  });

  it('registers nodes and lists them with their liveness', async () => {
    await store.register(info('1'), live, 10000);
    await store.register(info('2'), { hears: ['1'], ready: false }, 10000);
    const { registered, members } = await store.heartbeat('1', live, 10000);
    should(registered).be.true();
    should(members.map(m => m.info.id).sort()).eql(['1', '2']);
    should(members.find(m => m.info.id === '2')?.alive).eql({ hears: ['1'], ready: false });
  });

  it('heartbeat refuses to revive a node that was removed (evicted while frozen)', async () => {
    await store.register(info('1'), live, 10000);
    should(await store.removeNode('1', true)).equal(0);
    const { registered } = await store.heartbeat('1', live, 10000);
    should(registered).be.false();
    should(await redis.exists(KEYS.alive('1'))).equal(0);
  });

  it('expired liveness shows as dead', async () => {
    await store.register(info('1'), live, 10000);
    await store.register(info('2'), live, 50);
    await new Promise(resolve => setTimeout(resolve, 120));
    const { members } = await store.heartbeat('1', live, 10000);
    should(members.find(m => m.info.id === '2')?.alive).be.null();
    should(members.find(m => m.info.id === '1')?.alive).not.be.null();
  });

  it('sets room counts, shares filters and refcounts them across nodes', async () => {
    await store.register(info('1'), live, 10000);
    await store.register(info('2'), live, 10000);
    should(await store.setRoom('1', 'r', 3, filter, 1)).be.true();
    should(await store.setRoom('2', 'r', 1, filter, 1)).be.true();
    should(await store.setRoom('1', 'r', 2, filter, 2)).be.true();
    should(await redis.hget(KEYS.refs, 'r')).equal('2');

    should(await store.snapshot('1')).eql({ registered: true, rooms: [{ count: 2, filter, room: 'r' }], seq: 2 });

    await store.setRoom('1', 'r', 0, null, 3);
    should(await redis.hget(KEYS.refs, 'r')).equal('1');
    should(await redis.hexists(KEYS.filters, 'r')).equal(1);
    await store.setRoom('2', 'r', 0, null, 2);
    should(await redis.hexists(KEYS.refs, 'r')).equal(0);
    should(await redis.hexists(KEYS.filters, 'r')).equal(0);
    should(await store.snapshot('1')).eql({ registered: true, rooms: [], seq: 3 });
  });

  it('setting a room to 0 twice does not corrupt the refcount', async () => {
    await store.register(info('1'), live, 10000);
    await store.register(info('2'), live, 10000);
    await store.setRoom('1', 'r', 1, filter, 1);
    await store.setRoom('2', 'r', 1, filter, 1);
    await store.setRoom('1', 'r', 0, null, 2);
    await store.setRoom('1', 'r', 0, null, 3);
    should(await redis.hget(KEYS.refs, 'r')).equal('1');
  });

  it('refuses writes from a node that is not a member', async () => {
    should(await store.setRoom('ghost', 'r', 1, filter, 1)).be.false();
    should(await redis.exists(KEYS.rooms('ghost'))).equal(0);
    should(await redis.hexists(KEYS.filters, 'r')).equal(0);
  });

  it('cost of a room change does not depend on the rooms already there', async () => {
    await store.register(info('1'), live, 10000);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 5000; i++) {
      pipeline.hset(KEYS.rooms('1'), `r${i}`, 1);
    }
    await pipeline.exec();
    await redis.config('RESETSTAT');
    await store.setRoom('1', 'new', 1, filter, 1);
    const stats = await redis.info('commandstats');
    // the script touches a fixed number of keys: no HGETALL/HKEYS/SMEMBERS of the collection
    should(stats).not.match(/cmdstat_(hgetall|hkeys|hvals|smembers|scan|keys):/);
  });

  it('removes a dead node exactly once, and never a live one', async () => {
    await store.register(info('1'), live, 10000);
    await store.register(info('2'), live, 50);
    await store.setRoom('2', 'only2', 1, filter, 1);
    await store.setRoom('2', 'shared', 1, filter, 2);
    await store.setRoom('1', 'shared', 1, filter, 1);

    should(await store.removeNode('1', false)).equal('alive');
    await new Promise(resolve => setTimeout(resolve, 120));

    const results = await Promise.all([store.removeNode('2', false), store.removeNode('2', false), store.removeNode('2', false)]);
    should(results.filter(r => typeof r === 'number')).eql([2]);
    should(results.filter(r => r === 'gone')).have.length(2);

    should(await redis.hexists(KEYS.nodes, '2')).equal(0);
    should(await redis.hexists(KEYS.seqs, '2')).equal(0);
    should(await redis.exists(KEYS.rooms('2'))).equal(0);
    should(await store.snapshot('2')).eql({ registered: false, rooms: [], seq: 0 });
    // its references are set aside until released
    should(await redis.smembers(KEYS.removed)).eql(['2']);
    should(await redis.hget(KEYS.refs, 'shared')).equal('2');

    should(await store.releaseRemovedRooms()).equal(2);
    should(await redis.hexists(KEYS.filters, 'only2')).equal(0);
    should(await redis.hexists(KEYS.refs, 'only2')).equal(0);
    should(await redis.hget(KEYS.refs, 'shared')).equal('1');
    should(await redis.exists(KEYS.removed, KEYS.removedRooms('2'))).equal(0);
    should(await store.releaseRemovedRooms()).equal(0);
  });

  it('removing a node costs one constant-time script; its many rooms are released by slices, each once, by concurrent releasers', async () => {
    const rooms = 2500;
    await store.register(info('1'), live, 10000);
    await store.register(info('2'), live, 10000);
    for (let i = 0; i < rooms; i++) {
      void store.setRoom('2', `r${i}`, 1, filter, i + 1);
      if (i % 2 === 0) {
        void store.setRoom('1', `r${i}`, 1, filter, i + 1);
      }
    }
    await store.setRoom('1', 'mine', 1, filter, rooms + 1);
    const before = await store.client.info('commandstats');
    const calls = (text: string, command: string): number => Number((new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(text) || [])[1] || 0);

    should(await store.removeNode('2', true)).equal(rooms);
    const afterRemoval = await store.client.info('commandstats');
    // the script ran a fixed number of commands, not one per room
    should(calls(afterRemoval, 'hincrby') - calls(before, 'hincrby')).equal(0);
    should(calls(afterRemoval, 'rename') - calls(before, 'rename')).equal(1);

    const released = await Promise.all([store.releaseRemovedRooms(), store.releaseRemovedRooms(), store.releaseRemovedRooms()]);
    should(released.reduce((a, b) => a + b, 0)).equal(rooms);
    should(calls(await store.client.info('commandstats'), 'evalsha') - calls(afterRemoval, 'evalsha')).be.above(3);
    should(await redis.hlen(KEYS.refs)).equal(rooms / 2 + 1);
    should(await redis.hlen(KEYS.filters)).equal(rooms / 2 + 1);
    should(await redis.hget(KEYS.refs, 'r0')).equal('1');
    should(await redis.hexists(KEYS.refs, 'r1')).equal(0);
    should(await redis.exists(KEYS.removed, KEYS.removedRooms('2'))).equal(0);
  });

  it('removing a node without rooms leaves nothing to release', async () => {
    await store.register(info('1'), live, 10000);
    should(await store.removeNode('1', true)).equal(0);
    should(await redis.exists(KEYS.removed)).equal(0);
    should(await store.releaseRemovedRooms()).equal(0);
  });

  it('reset wipes rooms but keeps members, sequence numbers and strategies', async () => {
    await store.register(info('1'), live, 10000);
    await store.setRoom('1', 'r', 1, filter, 5);
    await store.register(info('gone'), live, 10000);
    await store.setRoom('gone', 'r2', 1, filter, 1);
    await store.removeNode('gone', true);
    await store.saveStrategy('s', { pluginName: 'p', strategy: { config: { authenticator: 'a' } } });
    should(await store.reset()).equal(1);
    should(await store.snapshot('1')).eql({ registered: true, rooms: [], seq: 5 });
    should(await redis.exists(KEYS.filters, KEYS.refs, KEYS.removed, KEYS.removedRooms('gone'))).equal(0);
    should(Array.from((await store.strategies()).keys())).eql(['s']);
  });

  it('every key shares one hash tag (one Redis Cluster slot)', () => {
    for (const key of [KEYS.filters, KEYS.nodes, KEYS.refs, KEYS.seqs, KEYS.strategies, KEYS.alive('x'), KEYS.rooms('x'), KEYS.removed,
      KEYS.removedRooms('x')]) {
      should(key).startWith('{cluster}:');
    }
  });

  it('reports Redis going down and coming back', async () => {
    const events: string[] = [];
    const watched = new StateStore({ mode: 'standalone', options: { host: '127.0.0.1', port: server.port } }, 'watch');
    watched.on('up', () => events.push('up'));
    watched.on('down', () => events.push('down'));
    await watched.connect();
    await server.stop();
    await new Promise(resolve => setTimeout(resolve, 300));
    should(watched.isUp).be.false();
    await should(watched.snapshot('x')).be.rejected();
    await server.restart();
    const deadline = Date.now() + 5000;
    while (!watched.isUp && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    should(events).eql(['up', 'down', 'up']);
    await watched.close();
    await store.close();
    store = new StateStore({ mode: 'standalone', options: { host: '127.0.0.1', port: server.port } }, 'test');
    await store.connect();
    redis.disconnect();
    redis = new Redis({ host: '127.0.0.1', port: server.port });
    redis.on('error', () => undefined);
  });
});
