import should from 'should';
import sinon from 'sinon';

import type { DirectPayload, HostPayload } from '../../../lib/cluster/messages';
import { AppEvents } from '../../../lib/kuzzle/appEvents';
import { KuzzleHost } from '../../../lib/kuzzle/host';
import { Lifecycle } from '../../../lib/kuzzle/lifecycle';
import { NotificationRelay } from '../../../lib/kuzzle/notifications';
import { RealtimeSync } from '../../../lib/kuzzle/realtime';
import { SecuritySync } from '../../../lib/kuzzle/security';
import { StorageCacheSync } from '../../../lib/kuzzle/storageCache';
import { StrategySync } from '../../../lib/kuzzle/strategies';
import { filterOf } from '../../support/fakeKuzzle';

describe('KuzzleHost', () => {
  let adapters: {
    appEvents: sinon.SinonStubbedInstance<AppEvents>;
    lifecycle: sinon.SinonStubbedInstance<Lifecycle>;
    notifications: sinon.SinonStubbedInstance<NotificationRelay>;
    realtime: sinon.SinonStubbedInstance<RealtimeSync>;
    security: sinon.SinonStubbedInstance<SecuritySync>;
    storage: sinon.SinonStubbedInstance<StorageCacheSync>;
    strategies: sinon.SinonStubbedInstance<StrategySync>;
  };
  let host: KuzzleHost;

  /** every adapter method called, in call order, as `adapter.method` */
  function called (): string[] {
    const stubs: Array<[string, sinon.SinonSpy]> = [
      ['appEvents.apply', adapters.appEvents.apply],
      ['lifecycle.applyDump', adapters.lifecycle.applyDump],
      ['lifecycle.applyShutdown', adapters.lifecycle.applyShutdown],
      ['notifications.dispatch', adapters.notifications.dispatch],
      ['realtime.localRooms', adapters.realtime.localRooms],
      ['realtime.roomsChanged', adapters.realtime.roomsChanged],
      ['security.apply', adapters.security.apply],
      ['security.invalidateAll', adapters.security.invalidateAll],
      ['security.reloadValidators', adapters.security.reloadValidators],
      ['storage.apply', adapters.storage.apply],
      ['strategies.apply', adapters.strategies.apply],
      ['strategies.exchange', adapters.strategies.exchange],
      ['strategies.reload', adapters.strategies.reload],
    ];
    return stubs
      .flatMap(([name, stub]) => stub.getCalls().map(call => ({ call, name })))
      .sort((a, b) => (a.call.calledBefore(b.call) ? -1 : 1))
      .map(c => c.name);
  }

  beforeEach(() => {
    adapters = {
      appEvents: sinon.createStubInstance(AppEvents),
      lifecycle: sinon.createStubInstance(Lifecycle),
      notifications: sinon.createStubInstance(NotificationRelay),
      realtime: sinon.createStubInstance(RealtimeSync),
      security: sinon.createStubInstance(SecuritySync),
      storage: sinon.createStubInstance(StorageCacheSync),
      strategies: sinon.createStubInstance(StrategySync),
    };
    adapters.notifications.dispatch.resolves();
    adapters.security.apply.resolves();
    adapters.security.invalidateAll.resolves();
    adapters.security.reloadValidators.resolves();
    adapters.storage.apply.resolves();
    adapters.strategies.exchange.resolves();
    adapters.strategies.reload.resolves();
    host = new KuzzleHost(adapters);
  });

  describe('onSync: each kind of HostPayload to its adapter, and to it only', () => {
    it('storage: the index cache', async () => {
      const message: HostPayload = { collection: 'c', index: 'i', op: 'add', scope: 'public', t: 'storage' };
      await host.onSync('peer', message);
      should(called()).eql(['storage.apply']);
      should(adapters.storage.apply.firstCall.args).eql([message]);
    });

    it('security: the role and profile caches', async () => {
      const message: HostPayload = { id: 'admin', kind: 'role', t: 'security' };
      await host.onSync('peer', message);
      should(called()).eql(['security.apply']);
      should(adapters.security.apply.firstCall.args).eql([message]);
    });

    it('validators: reloaded', async () => {
      await host.onSync('peer', { t: 'validators' });
      should(called()).eql(['security.reloadValidators']);
    });

    it('strategy: added or removed', async () => {
      const message: HostPayload = { name: 's', op: 'remove', pluginName: 'p', t: 'strategy' };
      await host.onSync('peer', message);
      should(called()).eql(['strategies.apply']);
      should(adapters.strategies.apply.firstCall.args).eql([message]);
    });

    it('app: an application event', async () => {
      const message: HostPayload = { event: 'my:event', payload: { a: 1 }, t: 'app' };
      await host.onSync('peer', message);
      should(called()).eql(['appEvents.apply']);
      should(adapters.appEvents.apply.firstCall.args).eql([message]);
    });

    it('dump: with its suffix', async () => {
      await host.onSync('peer', { suffix: 'manual', t: 'dump' });
      should(called()).eql(['lifecycle.applyDump']);
      should(adapters.lifecycle.applyDump.firstCall.args).eql(['manual']);
    });

    it('shutdown', async () => {
      await host.onSync('peer', { t: 'shutdown' });
      should(called()).eql(['lifecycle.applyShutdown']);
    });

    it('waits for the adapter and passes its failure on', async () => {
      adapters.storage.apply.rejects(new Error('cache unavailable'));
      await should(host.onSync('peer', { index: 'i', op: 'remove', scope: 'private', t: 'storage' })).be.rejectedWith('cache unavailable');
    });

    it('an unknown kind (a newer peer\'s, or a core message) is an error, not a silent drop', async () => {
      // as it comes off the wire: decoded JSON, unchecked
      const message: HostPayload = JSON.parse('{"t":"room","room":"r1","count":1}');
      await should(host.onSync('peer', message)).be.rejectedWith(/no adapter for cluster message \{"t":"room","room":"r1","count":1\}/);
      should(called()).eql([]);
    });
  });

  it('onNotification: the peers\' notifications to the relay', async () => {
    const message: DirectPayload = { content: { count: 1 }, request: { data: {}, options: {} }, room: 'r1', scope: 'in', t: 'user' };
    await host.onNotification('peer', message);
    should(called()).eql(['notifications.dispatch']);
    should(adapters.notifications.dispatch.firstCall.args).eql([message]);
  });

  it('roomsChanged and localRooms: the realtime adapter', () => {
    const changes = { appeared: [{ filter: filterOf('c'), room: 'r1' }], vanished: [] };
    host.roomsChanged(changes);
    should(adapters.realtime.roomsChanged.firstCall.args).eql([changes]);

    const rooms = [{ count: 2, filter: filterOf('c'), room: 'r1' }];
    adapters.realtime.localRooms.returns(rooms);
    should(host.localRooms()).equal(rooms);
  });

  it('refresh re-reads the security caches, then the validators, then the strategies', async () => {
    await host.refresh();
    should(called()).eql(['security.invalidateAll', 'security.reloadValidators', 'strategies.reload']);
  });

  it('refresh stops at the first failure, passing it on', async () => {
    adapters.security.reloadValidators.rejects(new Error('no validators'));
    await should(host.refresh()).be.rejectedWith('no validators');
    should(called()).eql(['security.invalidateAll', 'security.reloadValidators']);
  });

  it('onJoined exchanges the strategies', async () => {
    await host.onJoined();
    should(called()).eql(['strategies.exchange']);
  });
});
