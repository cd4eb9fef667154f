import should from 'should';

import type { PluginContext } from '../../lib/kuzzle/types';
import ClusterPlugin = require('../../lib/index');
import { contextOf, fakeKuzzle } from '../support/fakeKuzzle';
import type { FakeKuzzle } from '../support/fakeKuzzle';

describe('ClusterPlugin.init', () => {
  let kuzzle: FakeKuzzle;
  let context: PluginContext;

  beforeEach(() => {
    kuzzle = fakeKuzzle(new Map());
    context = contextOf(kuzzle);
  });

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
