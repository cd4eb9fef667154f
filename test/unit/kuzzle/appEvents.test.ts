import should from 'should';
import sinon from 'sinon';

import type { ClusterNode } from '../../../lib/cluster/node';
import { AppEvents } from '../../../lib/kuzzle/appEvents';
import type { AskAnswerer, KuzzleInstance } from '../../../lib/kuzzle/types';
import { fakeKuzzle, fakeNode } from '../../support/fakeKuzzle';
import type { FakeKuzzle, FakeNode } from '../../support/fakeKuzzle';

describe('AppEvents', () => {
  let kuzzle: FakeKuzzle;
  let node: FakeNode;

  beforeEach(() => {
    kuzzle = fakeKuzzle(new Map());
    node = fakeNode();
  });

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
