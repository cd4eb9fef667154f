import should from 'should';

import type { ClusterNode } from '../../../lib/cluster/node';
import { RealtimeSync } from '../../../lib/kuzzle/realtime';
import { NotificationRelay, compactRequest } from '../../../lib/kuzzle/notifications';
import type { PluginContext } from '../../../lib/kuzzle/types';
import { FakeRequest, contextOf, fakeKuzzle, fakeNode, filterOf } from '../../support/fakeKuzzle';
import type { FakeKuzzle, FakeNode } from '../../support/fakeKuzzle';

/** a request as Kuzzle serializes it for core:notify:* */
const serialized = {
  data: { _id: 'd1', action: 'create', body: { big: 'x'.repeat(100) }, collection: 'c', controller: 'document', index: 'i', jwt: 'secret', requestId: 'q1', timestamp: 42, volatile: { v: 1 } },
  options: { connection: { id: 'conn', protocol: 'websocket' }, result: { huge: true }, user: { _id: 'u' } },
};

describe('compactRequest', () => {
  it('sends only what a notification needs from the request', () => {
    should(compactRequest(serialized)).eql({
      data: { _id: 'd1', action: 'create', collection: 'c', controller: 'document', index: 'i', requestId: 'q1', timestamp: 42, volatile: { v: 1 } },
      options: { connection: { id: 'conn', protocol: 'websocket' } },
    });
  });
});

describe('NotificationRelay', () => {
  let sizes: Map<string, number>;
  let kuzzle: FakeKuzzle;
  let context: PluginContext;
  let node: FakeNode;
  let realtime: RealtimeSync;
  let relay: NotificationRelay;

  beforeEach(() => {
    sizes = new Map();
    kuzzle = fakeKuzzle(sizes);
    context = contextOf(kuzzle);
    node = fakeNode();
    realtime = new RealtimeSync(context, node as unknown as ClusterNode, 0);
    realtime.overrideAsks();
    relay = new NotificationRelay(context, node as unknown as ClusterNode, realtime);
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
