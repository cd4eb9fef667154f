import should from 'should';
import sinon from 'sinon';

import type { ClusterNode } from '../../../lib/cluster/node';
import { StrategySync } from '../../../lib/kuzzle/strategies';
import type { PluginContext } from '../../../lib/kuzzle/types';
import { contextOf, fakeKuzzle, fakeNode } from '../../support/fakeKuzzle';
import type { FakeKuzzle, FakeNode } from '../../support/fakeKuzzle';

describe('StrategySync', () => {
  let kuzzle: FakeKuzzle;
  let context: PluginContext;
  let node: FakeNode;

  beforeEach(() => {
    kuzzle = fakeKuzzle(new Map());
    context = contextOf(kuzzle);
    node = fakeNode();
  });

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
