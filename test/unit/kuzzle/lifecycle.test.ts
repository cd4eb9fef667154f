import should from 'should';

import type { ClusterNode } from '../../../lib/cluster/node';
import { Lifecycle } from '../../../lib/kuzzle/lifecycle';
import type { PluginContext } from '../../../lib/kuzzle/types';
import { contextOf, fakeKuzzle, fakeNode } from '../../support/fakeKuzzle';
import type { FakeKuzzle, FakeNode } from '../../support/fakeKuzzle';

describe('Lifecycle', () => {
  let kuzzle: FakeKuzzle;
  let context: PluginContext;
  let node: FakeNode;

  beforeEach(() => {
    kuzzle = fakeKuzzle(new Map());
    context = contextOf(kuzzle);
    node = fakeNode();
  });

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
