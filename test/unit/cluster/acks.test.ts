import should from 'should';
import sinon from 'sinon';

import { Acks } from '../../../lib/cluster/acks';
import { FakeClock, settled } from '../../support/fakeClock';

const TIMEOUT = 1000;

type Send = (peer: string, of: number[]) => void;

function setup (timeout = TIMEOUT) {
  const clock = new FakeClock();
  const send = sinon.stub<Parameters<Send>, ReturnType<Send>>();
  const acks = new Acks(clock, timeout, send);
  return { acks, clock, send };
}

describe('Acks', () => {
  describe('waiting for acknowledgements', () => {
    it('is enabled by a positive timeout only', () => {
      should(setup(1).acks.enabled).be.true();
      should(setup(0).acks.enabled).be.false();
    });

    it('does not wait when no peer is expected, nor when disabled (timeout 0)', async () => {
      const { acks, clock } = setup();
      should(await settled(acks.expect(1, []))).be.true();
      const disabled = setup(0);
      should(await settled(disabled.acks.expect(1, ['p1']))).be.true();
      should(clock.pendingTimers + disabled.clock.pendingTimers).equal(0);
    });

    it('settles once every expected peer acknowledged, not before', async () => {
      const { acks, clock } = setup();
      const waiting = acks.expect(7, ['p1', 'p2']);
      acks.onAck('p1', [7]);
      should(await settled(waiting)).be.false();
      acks.onAck('p2', [7]);
      should(await settled(waiting)).be.true();
      should(clock.pendingTimers).equal(0);
    });

    it('counts each peer once, and ignores peers it does not wait for and unknown numbers', async () => {
      const { acks } = setup();
      const waiting = acks.expect(7, ['p1', 'p2']);
      acks.onAck('p1', [7]);
      acks.onAck('p1', [7]);
      acks.onAck('stranger', [7]);
      acks.onAck('p2', [6, 8]);
      should(await settled(waiting)).be.false();
      acks.onAck('p2', [7]);
      should(await settled(waiting)).be.true();
    });

    it('one acknowledgement message settles every message it names', async () => {
      const { acks } = setup();
      const first = acks.expect(1, ['p1']);
      const second = acks.expect(2, ['p1']);
      const third = acks.expect(3, ['p1']);
      acks.onAck('p1', [1, 3]);
      should(await settled(first)).be.true();
      should(await settled(second)).be.false();
      should(await settled(third)).be.true();
    });

    it('a peer that leaves is not waited for any more', async () => {
      const { acks, clock } = setup();
      const onlyGone = acks.expect(1, ['gone']);
      const both = acks.expect(2, ['gone', 'p2']);
      acks.peerGone('gone');
      should(await settled(onlyGone)).be.true();
      should(await settled(both)).be.false();
      acks.onAck('p2', [2]);
      should(await settled(both)).be.true();
      should(clock.pendingTimers).equal(0);
    });

    it('a peer leaving that nothing waits for changes nothing', async () => {
      const { acks } = setup();
      const waiting = acks.expect(1, ['p1']);
      acks.peerGone('p2');
      should(await settled(waiting)).be.false();
    });

    it('settles after the timeout when a peer never answers, not before', async () => {
      const { acks, clock } = setup();
      const waiting = acks.expect(1, ['p1', 'silent']);
      acks.onAck('p1', [1]);
      clock.tick(TIMEOUT - 1);
      should(await settled(waiting)).be.false();
      clock.tick(1);
      should(await settled(waiting)).be.true();
      // forgotten: a late acknowledgement is harmless
      acks.onAck('silent', [1]);
      await acks.settled();
    });

    it('each message has its own timeout, from when it was sent', async () => {
      const { acks, clock } = setup();
      const first = acks.expect(1, ['silent']);
      clock.tick(TIMEOUT / 2);
      const second = acks.expect(2, ['silent']);
      clock.tick(TIMEOUT / 2);
      should(await settled(first)).be.true();
      should(await settled(second)).be.false();
      clock.tick(TIMEOUT / 2);
      should(await settled(second)).be.true();
    });

    it('settled() waits for every message still waiting, and no longer', async () => {
      const { acks, clock } = setup();
      should(await settled(acks.settled())).be.true();
      acks.expect(1, ['p1']);
      acks.expect(2, ['p2']);
      const all = acks.settled();
      acks.onAck('p1', [1]);
      should(await settled(all)).be.false();
      clock.tick(TIMEOUT);
      should(await settled(all)).be.true();
      should(await settled(acks.settled())).be.true();
    });
  });

  describe('acknowledgements owed', () => {
    it('owes nothing for a message sent without asking for one', () => {
      const { acks, clock, send } = setup();
      acks.acknowledge('p1', { seq: 1 });
      acks.acknowledge('p1', { ack: false, seq: 2 });
      should(clock.pendingSoon).equal(0);
      clock.runSoon();
      should(send.called).be.false();
    });

    it('sends them at the end of the turn, one message per peer with every number, in order', () => {
      const { acks, clock, send } = setup();
      acks.acknowledge('p1', { ack: true, seq: 4 });
      acks.acknowledge('p2', { ack: true, seq: 10 });
      acks.acknowledge('p1', { ack: true, seq: 5 });
      acks.acknowledge('p1', { seq: 6 });
      should(send.called).be.false();
      should(clock.pendingSoon).equal(1);
      clock.runSoon();
      should(send.args).eql([['p1', [4, 5]], ['p2', [10]]]);
    });

    it('a later turn sends a new message, never the old numbers again', () => {
      const { acks, clock, send } = setup();
      acks.acknowledge('p1', { ack: true, seq: 1 });
      clock.runSoon();
      acks.acknowledge('p1', { ack: true, seq: 2 });
      should(clock.pendingSoon).equal(1);
      clock.runSoon();
      should(send.args).eql([['p1', [1]], ['p1', [2]]]);
    });

    it('owes acknowledgements even when this node does not wait for any (timeout 0)', () => {
      const { acks, clock, send } = setup(0);
      acks.acknowledge('p1', { ack: true, seq: 3 });
      clock.runSoon();
      should(send.args).eql([['p1', [3]]]);
    });
  });
});
