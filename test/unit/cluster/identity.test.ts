import should from 'should';

import { resolveBinding } from '../../../lib/config';
import { Identity } from '../../../lib/cluster/identity';
import { READS_PROTOCOL } from '../../../lib/cluster/messages';

const VERSION = (require('../../../package.json') as { version: string }).version;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function identity (): Identity {
  return new Identity({
    pub: resolveBinding('tcp://127.0.0.1:7511', 'bindings.pub'),
    router: resolveBinding('tcp://[::1]:7510', 'bindings.router'),
  });
}

describe('identity', () => {
  it('is a random v4 uuid, different for each node', () => {
    const a = identity();
    const b = identity();
    should(a.id).match(UUID);
    should(b.id).match(UUID);
    should(a.id).not.equal(b.id);
  });

  it('info: id, the advertised addresses (IPv6 in brackets), start time, package version and newest protocol read', () => {
    const self = identity();
    const info = self.info;
    should(info).eql({
      id: self.id,
      protocol: READS_PROTOCOL,
      pub: 'tcp://127.0.0.1:7511',
      router: 'tcp://[::1]:7510',
      startedAt: info.startedAt,
      version: VERSION,
    });
    should(info.startedAt).be.a.Number();
  });

  it('renew(): a new id (a rejoin restarts every sequence), same addresses and start time', () => {
    const self = identity();
    const before = self.info;
    self.renew();
    should(self.id).match(UUID);
    should(self.id).not.equal(before.id);
    should(self.info).eql({ ...before, id: self.id });
  });

  it('info is a snapshot: reading it again after renew() shows the new id, the old object keeps the old one', () => {
    const self = identity();
    const before = self.info;
    const oldId = self.id;
    self.renew();
    should(before.id).equal(oldId);
    should(self.info.id).equal(self.id);
  });
});
