import should from 'should';

import { checkKuzzleVersion } from '../../../lib/kuzzle/version';

describe('checkKuzzleVersion', () => {
  it('accepts 2.10.x only, saying why and what to do otherwise', () => {
    should(checkKuzzleVersion('2.10.4')).be.null();
    should(checkKuzzleVersion('2.10.0')).be.null();
    should(checkKuzzleVersion('2.11.0')).match(/native cluster.*Remove it/);
    should(checkKuzzleVersion('3.0.0')).match(/native cluster/);
    should(checkKuzzleVersion('2.9.3')).match(/too old.*Upgrade/);
    should(checkKuzzleVersion(undefined)).match(/cannot tell/);
  });
});
