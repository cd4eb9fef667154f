import should from 'should';
import sinon from 'sinon';

import { LEGACY_CONTROLLER, registerLegacyController } from '../../../lib/kuzzle/legacyController';
import type { PluginController } from '../../../lib/kuzzle/types';

const kuzzleWith = (controllers: Map<string, PluginController>) => ({ pluginsManager: { controllers } });

describe('legacyController', () => {
  it('answers the same actions under "cluster/cluster", as the funnel calls them', async () => {
    const controllers = new Map<string, PluginController>();
    const status = sinon.stub().resolves({ count: 3 });
    registerLegacyController(kuzzleWith(controllers), { health: async () => 'ok', status });

    const legacy = controllers.get(LEGACY_CONTROLLER);
    should(legacy).not.be.undefined();
    const controller = legacy as PluginController;
    should(controller._isAction('status')).be.true();
    should(controller._isAction('health')).be.true();
    should(controller._isAction('reset')).be.false();
    should(controller._isAction('_isAction')).be.false();
    should(Array.from(controller._actions).sort()).eql(['health', 'status']);

    const action = controller.status as () => Promise<unknown>;
    should(await action()).eql({ count: 3 });
    should(status.calledOnce).be.true();
  });

  it('refuses to shadow a controller of that name (the previous plugin enabled as well)', () => {
    const taken: PluginController = { _actions: new Set(), _isAction: () => false };
    const controllers = new Map([[LEGACY_CONTROLLER, taken]]);
    should(() => registerLegacyController(kuzzleWith(controllers), {})).throw(/previous cluster plugin/);
    should(controllers.get(LEGACY_CONTROLLER)).equal(taken);
  });
});
