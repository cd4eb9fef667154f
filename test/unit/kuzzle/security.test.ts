import should from 'should';

import type { ClusterNode } from '../../../lib/cluster/node';
import { SecuritySync } from '../../../lib/kuzzle/security';
import type { KuzzleInstance } from '../../../lib/kuzzle/types';
import { fakeKuzzle, fakeNode } from '../../support/fakeKuzzle';
import type { FakeKuzzle, FakeNode } from '../../support/fakeKuzzle';

describe('SecuritySync', () => {
  let kuzzle: FakeKuzzle;
  let node: FakeNode;

  beforeEach(() => {
    kuzzle = fakeKuzzle(new Map());
    node = fakeNode();
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
