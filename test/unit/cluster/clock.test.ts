import should from 'should';
import sinon from 'sinon';

import { sleep, systemClock, withTimeout } from '../../../lib/cluster/clock';
import { FakeClock, settled } from '../../support/fakeClock';

describe('clock', () => {
  describe('sleep', () => {
    it('resolves once the clock moved by ms, not before', async () => {
      const clock = new FakeClock();
      const slept = sleep(clock, 100);
      clock.tick(99);
      should(await settled(slept)).be.false();
      clock.tick(1);
      should(await settled(slept)).be.true();
    });

    it('sleep(0) still waits for the clock (never synchronous)', async () => {
      const clock = new FakeClock();
      const slept = sleep(clock, 0);
      should(await settled(slept)).be.false();
      clock.tick(0);
      should(await settled(slept)).be.true();
    });
  });

  describe('withTimeout', () => {
    it('resolves when the promise does, before the timeout', async () => {
      const clock = new FakeClock();
      let resolve = (): void => undefined;
      const inner = new Promise<void>(r => {
        resolve = r;
      });
      const bounded = withTimeout(clock, inner, 1000);
      clock.tick(500);
      should(await settled(bounded)).be.false();
      resolve();
      should(await settled(bounded)).be.true();
    });

    it('resolves after ms when the promise never settles', async () => {
      const clock = new FakeClock();
      const bounded = withTimeout(clock, new Promise<void>(() => undefined), 1000);
      clock.tick(999);
      should(await settled(bounded)).be.false();
      clock.tick(1);
      should(await settled(bounded)).be.true();
    });

    it('rejects if the promise rejects before the timeout', async () => {
      const clock = new FakeClock();
      const bounded = withTimeout(clock, Promise.reject(new Error('boom')), 1000);
      await should(bounded).be.rejectedWith('boom');
    });
  });

  describe('systemClock', () => {
    let fake: sinon.SinonFakeTimers;

    beforeEach(() => {
      fake = sinon.useFakeTimers({ now: 5000 });
    });

    afterEach(() => {
      // spies wrap the fake timers: unwrap them first, or the fakes stay installed
      sinon.restore();
      fake.restore();
    });

    it('now() is Date.now()', () => {
      should(systemClock.now()).equal(5000);
      fake.tick(250);
      should(systemClock.now()).equal(5250);
    });

    it('after() runs once after ms; cancel() before stops it, and again does nothing', () => {
      const fn = sinon.spy();
      systemClock.after(100, fn);
      fake.tick(99);
      should(fn.called).be.false();
      fake.tick(1);
      should(fn.calledOnce).be.true();
      fake.tick(1000);
      should(fn.calledOnce).be.true();

      const cancelled = sinon.spy();
      const cancel = systemClock.after(100, cancelled);
      fake.tick(50);
      cancel();
      cancel();
      fake.tick(1000);
      should(cancelled.called).be.false();
    });

    it('every() repeats every ms until cancelled', () => {
      const fn = sinon.spy();
      const cancel = systemClock.every(100, fn);
      fake.tick(350);
      should(fn.callCount).equal(3);
      cancel();
      fake.tick(1000);
      should(fn.callCount).equal(3);
    });

    it('its timers never keep the process alive (unref)', () => {
      const setTimeoutSpy = sinon.spy(globalThis, 'setTimeout');
      const setIntervalSpy = sinon.spy(globalThis, 'setInterval');
      const cancelAfter = systemClock.after(100, () => undefined);
      const cancelEvery = systemClock.every(100, () => undefined);
      should(setTimeoutSpy.returnValues[0].hasRef()).be.false();
      should(setIntervalSpy.returnValues[0].hasRef()).be.false();
      cancelAfter();
      cancelEvery();
    });

    it('soon() runs at the end of this turn, not synchronously, in order', () => {
      const order: string[] = [];
      systemClock.soon(() => order.push('first'));
      systemClock.soon(() => order.push('second'));
      order.push('sync');
      should(order).eql(['sync']);
      fake.tick(0);
      should(order).eql(['sync', 'first', 'second']);
    });
  });

  describe('FakeClock (test support)', () => {
    it('fires due timers in order, each at its own instant, and re-arms repeating ones', () => {
      const clock = new FakeClock(0);
      const seen: Array<[string, number]> = [];
      clock.every(100, () => seen.push(['every', clock.now()]));
      clock.after(150, () => seen.push(['after', clock.now()]));
      clock.after(100, () => seen.push(['after100', clock.now()]));
      clock.tick(250);
      should(seen).eql([['every', 100], ['after100', 100], ['after', 150], ['every', 200]]);
      should(clock.now()).equal(250);
      should(clock.pendingTimers).equal(1);
    });

    it('a timer armed by a callback fires within the same tick when due', () => {
      const clock = new FakeClock(0);
      const seen: number[] = [];
      clock.after(10, () => clock.after(10, () => seen.push(clock.now())));
      clock.tick(25);
      should(seen).eql([20]);
    });

    it('runSoon() runs what soon() queued, including what those queue', () => {
      const clock = new FakeClock();
      const seen: string[] = [];
      clock.soon(() => {
        seen.push('a');
        clock.soon(() => seen.push('c'));
      });
      clock.soon(() => seen.push('b'));
      should(clock.pendingSoon).equal(2);
      should(clock.runSoon()).equal(3);
      should(seen).eql(['a', 'b', 'c']);
      should(clock.pendingSoon).equal(0);
    });

    it('tickAsync() lets the promises a timer starts settle before the next timer', async () => {
      const clock = new FakeClock(0);
      const seen: string[] = [];
      clock.every(100, () => {
        void Promise.resolve().then(() => seen.push(`settled at ${clock.now()}`));
      });
      await clock.tickAsync(200);
      should(seen).eql(['settled at 100', 'settled at 200']);
    });
  });
});
