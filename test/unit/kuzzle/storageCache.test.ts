import should from 'should';

import type { ClusterNode } from '../../../lib/cluster/node';
import { StorageCacheSync } from '../../../lib/kuzzle/storageCache';
import type { KuzzleInstance } from '../../../lib/kuzzle/types';
import { fakeKuzzle, fakeNode } from '../../support/fakeKuzzle';
import type { FakeKuzzle, FakeNode } from '../../support/fakeKuzzle';

describe('StorageCacheSync', () => {
  let kuzzle: FakeKuzzle;
  let node: FakeNode;

  beforeEach(() => {
    kuzzle = fakeKuzzle(new Map());
    node = fakeNode();
  });

  it('broadcasts index cache changes and applies the peers\'', async () => {
    const storage = new StorageCacheSync(kuzzle as unknown as KuzzleInstance, node as unknown as ClusterNode);
    storage.onAdded({ collection: 'c', index: 'i', scope: 'public' });
    storage.onRemoved({ index: 'i', scope: 'private' });
    should(node.broadcast.firstCall.args).eql([{ collection: 'c', index: 'i', op: 'add', scope: 'public', t: 'storage' }, true]);
    should(node.broadcast.secondCall.args[0]).eql({ index: 'i', op: 'remove', scope: 'private', t: 'storage' });
    await storage.apply({ collection: 'c', index: 'i', op: 'add', scope: 'public', t: 'storage' });
    should(kuzzle.ask.calledOnceWith('core:storage:public:cache:add', 'i', 'c')).be.true();
  });
});
