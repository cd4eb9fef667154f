import should from 'should';
import sinon from 'sinon';

import { RoomRegistry } from '../../lib/cluster/roomRegistry';
import type { ClusterNode } from '../../lib/cluster/node';
import { RealtimeSync } from '../../lib/kuzzle/realtime';
import { NotificationRelay, compactRequest } from '../../lib/kuzzle/notifications';
import { StorageCacheSync } from '../../lib/kuzzle/storageCache';
import { SecuritySync } from '../../lib/kuzzle/security';
import { StrategySync } from '../../lib/kuzzle/strategies';
import { AppEvents } from '../../lib/kuzzle/appEvents';
import { Lifecycle } from '../../lib/kuzzle/lifecycle';
import { checkKuzzleVersion } from '../../lib/kuzzle/version';
import type { AskAnswerer, KuzzleInstance, PluginContext } from '../../lib/kuzzle/types';
import ClusterPlugin = require('../../lib/index');
import { waitFor } from '../support/wait';

const filterOf = (collection: string) => ({ collection, filters: [[{ equals: { a: 1 } }]], index: 'i' });

function fakeNode (registry = new RoomRegistry()) {
  return {
    broadcast: sinon.stub(),
    id: 'self',
    notify: sinon.stub().returns(1),
    registry,
    remoteCount: (room: string) => registry.total(room, 'self'),
    rooms: registry,
    setLocalRoom: sinon.stub().resolves(),
    stop: sinon.stub().resolves(),
    strategies: {
      removeStrategy: sinon.stub().resolves(),
      saveStrategy: sinon.stub().resolves(),
      strategies: sinon.stub().resolves(new Map()),
    },
  };
}

class FakeRequest {
  input: { args: Record<string, unknown>; body: Record<string, unknown> | null; resource: Record<string, unknown> };
  context = { connection: { id: null }, user: null };
  constructor (readonly data: Record<string, unknown>, readonly options: Record<string, unknown> = {}) {
    this.input = { args: {}, body: (data.body as Record<string, unknown>) || null, resource: { collection: data.collection, index: data.index } };
  }
}

function fakeKuzzle (localSizes: Map<string, number>) {
  const answerers = new Map<string, AskAnswerer>();
  answerers.set('core:realtime:room:size:get', (roomId: unknown) => {
    const size = localSizes.get(roomId as string);
    if (size === undefined) {
      throw Object.assign(new Error(`The room "${roomId}" doesn't exist`), { id: 'core.realtime.room_not_found', status: 404 });
    }
    return size;
  });
  answerers.set('core:realtime:list', () => ({ local: { coll: { localRoom: 7 } } }));
  return {
    ask: sinon.stub().resolves(),
    config: { services: { internalCache: { node: { host: '127.0.0.1', port: 6379 } } } },
    coreAnswerers: answerers,
    dump: sinon.stub().resolves(),
    id: 'knode',
    koncorde: { hasFilter: sinon.stub().returns(false), remove: sinon.stub(), store: sinon.stub() },
    onAsk: sinon.stub(),
    pluginsManager: {
      controllers: new Map(),
      listStrategies: sinon.stub().returns([]),
      registerStrategy: sinon.stub(),
      strategies: {} as Record<string, { owner: string; strategy: Record<string, unknown> }>,
      unregisterStrategy: sinon.stub(),
    },
    shutdown: sinon.stub().resolves(),
    validation: { curateSpecification: sinon.stub().resolves() },
    version: '2.10.4',
  };
}

function contextOf (kuzzle: ReturnType<typeof fakeKuzzle>): PluginContext {
  return {
    accessors: { kuzzle: kuzzle as unknown as KuzzleInstance },
    constructors: { Request: FakeRequest as never },
    errors: { ServiceUnavailableError: class extends Error {} },
    log: { debug: sinon.stub(), error: sinon.stub(), info: sinon.stub(), warn: sinon.stub() },
  };
}

describe('Kuzzle adapters', () => {
  let sizes: Map<string, number>;
  let kuzzle: ReturnType<typeof fakeKuzzle>;
  let context: PluginContext;
  let node: ReturnType<typeof fakeNode>;

  beforeEach(() => {
    sizes = new Map();
    kuzzle = fakeKuzzle(sizes);
    context = contextOf(kuzzle);
    node = fakeNode();
  });

  describe('RealtimeSync', () => {
    let realtime: RealtimeSync;

    beforeEach(() => {
      realtime = new RealtimeSync(context, node as unknown as ClusterNode, 100);
      realtime.overrideAsks();
    });

    it('publishes the local count of a new subscription with its filter (subscribe:after, join:after)', async () => {
      sizes.set('r1', 2);
      const diff = { collection: 'c', connectionId: 'x', filters: filterOf('c').filters, index: 'i', roomId: 'r1' };
      should(await realtime.onSubscribe(diff)).equal(diff);
      should(node.setLocalRoom.calledOnceWith('r1', 2, filterOf('c'))).be.true();

      // join: no filter in the diff, it comes from the cluster's registry
      node.registry.set('other', 'r2', 1, filterOf('d'));
      sizes.set('r2', 1);
      await realtime.onSubscribe({ collection: 'd', connectionId: 'y', index: 'i', roomId: 'r2' });
      should(node.setLocalRoom.secondCall.args).eql(['r2', 1, filterOf('d')]);
    });

    it('publishes 0 when the last local subscriber leaves, nothing for a room never published', async () => {
      sizes.set('r1', 1);
      await realtime.onSubscribe({ collection: 'c', connectionId: 'x', filters: filterOf('c').filters, index: 'i', roomId: 'r1' });
      sizes.delete('r1');
      const payload = { requestContext: {}, room: { collection: 'c', id: 'r1', index: 'i' } };
      should(await realtime.onUnsubscribe(payload)).equal(payload);
      should(node.setLocalRoom.lastCall.args).eql(['r1', 0, filterOf('c')]);

      // propagate: false subscriptions never reach subscribe:after, but do reach unsubscribe:after
      node.setLocalRoom.resetHistory();
      await realtime.onUnsubscribe({ requestContext: {}, room: { collection: 'c', id: 'local-only', index: 'i' } });
      should(node.setLocalRoom.called).be.false();
    });

    it('refuses to remove a room from Koncorde while another node uses it', async () => {
      node.registry.set('other', 'r1', 1, filterOf('c'));
      await should(realtime.onRoomRemove('r1')).be.rejectedWith(/still used by other cluster nodes/);
      node.registry.set('self', 'r2', 1, filterOf('c'));
      should(await realtime.onRoomRemove('r2')).equal('r2');
      should(await realtime.onRoomRemove('unknown')).equal('unknown');
    });

    it('beforeJoin creates a room known only from another node, once, and returns the request', async () => {
      node.registry.set('other', 'remote', 1, filterOf('c'));
      const request = { context: {}, input: { args: {}, body: { roomId: 'remote' }, resource: {} } };
      should(await realtime.beforeJoin(request as never)).equal(request);
      should(kuzzle.ask.calledOnceWith('core:realtime:room:create', 'i', 'c', 'remote')).be.true();

      sizes.set('local', 1);
      await realtime.beforeJoin({ context: {}, input: { args: {}, body: { roomId: 'local' }, resource: {} } } as never);
      should(kuzzle.ask.calledOnce).be.true();
    });

    it('realtime:count adds the local size to the other nodes\' counts', async () => {
      node.registry.set('other', 'r1', 3, filterOf('c'));
      node.registry.set('self', 'r1', 1, filterOf('c'));
      sizes.set('r1', 2);
      should(await kuzzle.coreAnswerers.get('core:realtime:room:size:get')?.('r1')).equal(5);
      sizes.delete('r1');
      should(await kuzzle.coreAnswerers.get('core:realtime:room:size:get')?.('r1')).equal(3);
    });

    it('realtime:count of an unknown room waits, then gives Kuzzle\'s own not-found error', async () => {
      await should(kuzzle.coreAnswerers.get('core:realtime:room:size:get')?.('nope') as Promise<number>)
        .be.rejectedWith({ id: 'core.realtime.room_not_found' });
    });

    it('realtime:list is cluster-wide and checks rights per collection', async () => {
      node.registry.set('other', 'r1', 3, filterOf('allowed'));
      node.registry.set('other', 'r2', 1, filterOf('forbidden'));
      const user = { isActionAllowed: sinon.stub().callsFake(async (request: FakeRequest) => request.data.collection === 'allowed') };
      const list = await kuzzle.coreAnswerers.get('core:realtime:list')?.(user);
      should(list).eql({ i: { allowed: { r1: 3 } }, local: { coll: { localRoom: 7 } } });
      should(user.isActionAllowed.firstCall.args[0].data).match({ action: 'subscribe', controller: 'realtime' });
    });

    it('adds remote rooms to Koncorde and removes them, unless the hotel clerk holds them', () => {
      realtime.roomsChanged({ appeared: [{ filter: filterOf('c'), room: 'r1' }], vanished: [] });
      should(kuzzle.koncorde.store.calledOnceWith({ collection: 'c', id: 'r1', index: 'i', normalized: filterOf('c').filters })).be.true();

      kuzzle.koncorde.hasFilter.returns(true);
      sizes.set('held', 0);
      realtime.roomsChanged({ appeared: [], vanished: [{ filter: filterOf('c'), room: 'r1' }, { filter: filterOf('c'), room: 'held' }] });
      should(kuzzle.koncorde.remove.calledOnceWith('r1')).be.true();
    });

    it('removes thousands of vanished rooms a slice per event-loop turn, sparing those back meanwhile', async () => {
      kuzzle.koncorde.hasFilter.returns(true);
      const vanished = Array.from({ length: 1000 }, (_, i) => ({ filter: filterOf('c'), room: `v${i}` }));
      realtime.roomsChanged({ appeared: [], vanished });
      const firstTurn = kuzzle.koncorde.remove.callCount;
      should(firstTurn).be.within(1, 999);

      // v999 comes back (another node subscribed) before its turn
      node.registry.set('other', 'v999', 1, filterOf('c'));
      realtime.roomsChanged({ appeared: [{ filter: filterOf('c'), room: 'v999' }], vanished: [] });

      await waitFor('every other room removed', async () => kuzzle.koncorde.remove.callCount === 999, 2000, undefined, 5);
      should(kuzzle.koncorde.remove.calledWith('v999')).be.false();
      should(kuzzle.koncorde.remove.calledWith('v998')).be.true();
    });

    it('restores Kuzzle\'s answerers', () => {
      realtime.restoreAsks();
      should(() => kuzzle.coreAnswerers.get('core:realtime:room:size:get')?.('nope')).throw(/doesn't exist/);
    });
  });

  describe('NotificationRelay', () => {
    let realtime: RealtimeSync;
    let relay: NotificationRelay;
    const serialized = {
      data: { _id: 'd1', action: 'create', body: { big: 'x'.repeat(100) }, collection: 'c', controller: 'document', index: 'i', jwt: 'secret', requestId: 'q1', timestamp: 42, volatile: { v: 1 } },
      options: { connection: { id: 'conn', protocol: 'websocket' }, result: { huge: true }, user: { _id: 'u' } },
    };

    beforeEach(() => {
      realtime = new RealtimeSync(context, node as unknown as ClusterNode, 0);
      realtime.overrideAsks();
      relay = new NotificationRelay(context, node as unknown as ClusterNode, realtime);
    });

    it('sends only what a notification needs from the request', () => {
      should(compactRequest(serialized)).eql({
        data: { _id: 'd1', action: 'create', collection: 'c', controller: 'document', index: 'i', requestId: 'q1', timestamp: 42, volatile: { v: 1 } },
        options: { connection: { id: 'conn', protocol: 'websocket' } },
      });
    });

    it('core:notify:document goes to the nodes having subscribers, with their rooms', () => {
      relay.onDocument({ action: 'create', content: { _id: 'd1' }, request: serialized, rooms: ['r1', 'r2'], scope: 'in' });
      const [rooms, build] = node.notify.firstCall.args;
      should(rooms).eql(['r1', 'r2']);
      should(build(['r2'])).match({ action: 'create', content: { _id: 'd1' }, rooms: ['r2'], scope: 'in', t: 'document' });
    });

    it('core:notify:user gets the cluster-wide count, locally and for the peers', () => {
      node.registry.set('other', 'r1', 4, filterOf('c'));
      sizes.set('r1', 2);
      const event = { content: { count: 2 }, request: serialized, room: 'r1', scope: 'in' };
      relay.onUser(event);
      should(event.content.count).equal(6);
      should(node.notify.firstCall.args[1](['r1'])).match({ content: { count: 6 }, room: 'r1', t: 'user' });
    });

    it('dispatches notifications from peers through Kuzzle\'s low-level asks', async () => {
      await relay.dispatch({ action: 'create', content: { a: 1 }, request: compactRequest(serialized), rooms: ['r1'], scope: 'in', t: 'document' });
      should(kuzzle.ask.firstCall.args[0]).equal('core:realtime:document:dispatch');
      should(kuzzle.ask.firstCall.args[2]).be.instanceOf(FakeRequest);
      should(kuzzle.ask.firstCall.args.slice(3)).eql(['in', 'create', { a: 1 }]);

      await relay.dispatch({ content: { count: 1 }, request: compactRequest(serialized), room: 'r1', scope: 'out', t: 'user' });
      should(kuzzle.ask.secondCall.args[0]).equal('core:realtime:user:sendMessage');
      should(kuzzle.ask.secondCall.args.slice(3)).eql(['out', { count: 1 }]);
    });
  });

  describe('StorageCacheSync, SecuritySync', () => {
    it('broadcasts index cache changes and applies the peers\'', async () => {
      const storage = new StorageCacheSync(kuzzle as unknown as KuzzleInstance, node as unknown as ClusterNode);
      storage.onAdded({ collection: 'c', index: 'i', scope: 'public' });
      storage.onRemoved({ index: 'i', scope: 'private' });
      should(node.broadcast.firstCall.args).eql([{ collection: 'c', index: 'i', op: 'add', scope: 'public', t: 'storage' }, true]);
      should(node.broadcast.secondCall.args[0]).eql({ index: 'i', op: 'remove', scope: 'private', t: 'storage' });
      await storage.apply({ collection: 'c', index: 'i', op: 'add', scope: 'public', t: 'storage' });
      should(kuzzle.ask.calledOnceWith('core:storage:public:cache:add', 'i', 'c')).be.true();
    });

    it('broadcasts role/profile/validator changes and invalidates the peers\' caches', async () => {
      const security = new SecuritySync(kuzzle as unknown as KuzzleInstance, node as unknown as ClusterNode);
      security.onRoleChanged({ _id: 'admin' });
      security.onProfileChanged({ _id: 'p' });
      const request = { input: {} };
      should(await security.onSecurityReset(request)).equal(request);
      should(await security.onSpecificationsChanged(request)).equal(request);
      // every one of them waits for the peers' acknowledgements
      should(node.broadcast.args).eql([
        [{ id: 'admin', kind: 'role', t: 'security' }, true],
        [{ id: 'p', kind: 'profile', t: 'security' }, true],
        [{ kind: 'all', t: 'security' }, true],
        [{ t: 'validators' }, true],
      ]);
      await security.apply({ id: 'admin', kind: 'role', t: 'security' });
      await security.apply({ kind: 'all', t: 'security' });
      await security.reloadValidators();
      should(kuzzle.ask.args).eql([
        ['core:security:role:invalidate', 'admin'],
        ['core:security:profile:invalidate'],
        ['core:security:role:invalidate'],
      ]);
      should(kuzzle.validation.curateSpecification.calledOnce).be.true();
    });
  });

  describe('StrategySync', () => {
    const strategy = { config: { authenticator: 'Local' }, methods: { verify: 'verify' } };

    it('stores and broadcasts strategies added or removed at runtime (pipe payload returned)', async () => {
      const sync = new StrategySync(context, node as unknown as ClusterNode);
      const event = { name: 's', pluginName: 'p', strategy };
      should(await sync.onAdded(event)).equal(event);
      should(node.strategies.saveStrategy.calledOnceWith('s', { pluginName: 'p', strategy })).be.true();
      should(node.broadcast.firstCall.args[0]).eql({ name: 's', op: 'add', pluginName: 'p', strategy, t: 'strategy' });
      await sync.onRemoved({ name: 's', pluginName: 'p' });
      should(node.strategies.removeStrategy.calledOnceWith('s')).be.true();
    });

    it('registers the peers\' strategies, skipping identical ones, and logs failures', () => {
      const sync = new StrategySync(context, node as unknown as ClusterNode);
      sync.apply({ name: 's', op: 'add', pluginName: 'p', strategy, t: 'strategy' });
      should(kuzzle.pluginsManager.registerStrategy.calledOnceWith('p', 's', strategy)).be.true();

      kuzzle.pluginsManager.strategies.s = { owner: 'p', strategy };
      sync.apply({ name: 's', op: 'add', pluginName: 'p', strategy, t: 'strategy' });
      should(kuzzle.pluginsManager.registerStrategy.calledOnce).be.true();

      kuzzle.pluginsManager.registerStrategy.throws(new Error('unknown plugin'));
      sync.apply({ name: 't', op: 'add', pluginName: 'missing', strategy, t: 'strategy' });
      should((context.log.error as sinon.SinonStub).calledOnce).be.true();

      sync.apply({ name: 's', op: 'remove', pluginName: 'p', t: 'strategy' });
      should(kuzzle.pluginsManager.unregisterStrategy.calledOnceWith('p', 's')).be.true();
    });
  });

  describe('AppEvents', () => {
    it('answers the cluster:event asks and delivers the peers\' events', () => {
      const events = new AppEvents(node as unknown as ClusterNode);
      events.register(kuzzle as unknown as KuzzleInstance);
      const asks = new Map(kuzzle.onAsk.args.map(([name, fn]) => [name as string, fn as AskAnswerer]));
      should(Array.from(asks.keys()).sort()).eql([
        'cluster:event:broadcast', 'cluster:event:off', 'cluster:event:on', 'cluster:event:once', 'cluster:event:removeAllListeners',
      ]);

      asks.get('cluster:event:broadcast')?.('my:event', { a: 1 });
      should(node.broadcast.firstCall.args[0]).eql({ event: 'my:event', payload: { a: 1 }, t: 'app' });

      const on = sinon.stub();
      const once = sinon.stub();
      asks.get('cluster:event:on')?.('my:event', on);
      asks.get('cluster:event:once')?.('my:event', once);
      events.apply({ event: 'my:event', payload: 1, t: 'app' });
      events.apply({ event: 'my:event', payload: 2, t: 'app' });
      should(on.args).eql([[1], [2]]);
      should(once.args).eql([[1]]);
      asks.get('cluster:event:off')?.('my:event', on);
      events.apply({ event: 'my:event', payload: 3, t: 'app' });
      should(on.callCount).equal(2);
      should(() => asks.get('cluster:event:broadcast')?.('', {})).throw(/non-empty/);
    });
  });

  describe('Lifecycle', () => {
    it('propagates dumps and runs the peers\' dumps', async () => {
      const lifecycle = new Lifecycle(context, node as unknown as ClusterNode);
      lifecycle.onDump({ input: { args: { suffix: 'manual' } } });
      should(node.broadcast.firstCall.args[0]).eql({ suffix: 'manual', t: 'dump' });
      await lifecycle.applyDump('manual');
      should(kuzzle.dump.calledOnceWith('manual')).be.true();
    });

    it('admin:shutdown tells the peers, then leaves once', async () => {
      const lifecycle = new Lifecycle(context, node as unknown as ClusterNode);
      await lifecycle.onShutdown();
      await lifecycle.leave();
      should(node.broadcast.firstCall.args[0]).eql({ t: 'shutdown' });
      should(node.stop.calledOnce).be.true();
    });
  });

  describe('version check', () => {
    it('accepts 2.10.x only, saying why and what to do otherwise', () => {
      should(checkKuzzleVersion('2.10.4')).be.null();
      should(checkKuzzleVersion('2.10.0')).be.null();
      should(checkKuzzleVersion('2.11.0')).match(/native cluster.*Remove it/);
      should(checkKuzzleVersion('3.0.0')).match(/native cluster/);
      should(checkKuzzleVersion('2.9.3')).match(/too old.*Upgrade/);
      should(checkKuzzleVersion(undefined)).match(/cannot tell/);
    });
  });

  describe('plugin init', () => {
    it('refuses to start without the privileged context', async () => {
      const plugin = new ClusterPlugin();
      await should(plugin.init({}, { ...context, accessors: {} } as never)).be.rejectedWith(/privileged: true/);
    });

    it('refuses Kuzzle 2.11+', async () => {
      kuzzle.version = '2.11.0';
      await should(new ClusterPlugin().init({}, context)).be.rejectedWith(/native cluster/);
    });

    it('refuses an invalid configuration, naming the key', async () => {
      await should(new ClusterPlugin().init({ minimumNodes: 0 }, context)).be.rejectedWith(/"minimumNodes"/);
    });
  });
});
