import should from 'should';
import sinon from 'sinon';

import type { ClusterNode } from '../../../lib/cluster/node';
import { RealtimeSync } from '../../../lib/kuzzle/realtime';
import type { PluginContext } from '../../../lib/kuzzle/types';
import { FakeRequest, contextOf, fakeKuzzle, fakeNode, filterOf } from '../../support/fakeKuzzle';
import type { FakeKuzzle, FakeNode } from '../../support/fakeKuzzle';
import { waitFor } from '../../support/wait';

describe('RealtimeSync', () => {
  let sizes: Map<string, number>;
  let kuzzle: FakeKuzzle;
  let context: PluginContext;
  let node: FakeNode;
  let realtime: RealtimeSync;

  beforeEach(() => {
    sizes = new Map();
    kuzzle = fakeKuzzle(sizes);
    context = contextOf(kuzzle);
    node = fakeNode();
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

  it('removes thousands of vanished rooms a slice at a time, sparing those back meanwhile', async () => {
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
