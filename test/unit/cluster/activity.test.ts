import should from 'should';

import { Activity } from '../../../lib/cluster/activity';
import { FakeClock } from '../../support/fakeClock';

const START = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

describe('Activity', () => {
  it('records events with the injected clock\'s time, oldest first, keeping only what was given', () => {
    const clock = new FakeClock(START);
    const activity = new Activity(clock, 5);
    activity.record({ address: 'tcp://10.0.0.2:7511', event: 'joined', id: 'b' });
    clock.tick(1500);
    activity.record({ address: 'tcp://10.0.0.2:7511', detail: 'no heartbeat for 2600 ms', event: 'evicted', id: 'b', reason: 'timeout' });

    should(activity.entries()).eql([
      { address: 'tcp://10.0.0.2:7511', date: '2024-01-02T03:04:05.678Z', event: 'joined', id: 'b', timestamp: START },
      {
        address: 'tcp://10.0.0.2:7511', date: '2024-01-02T03:04:07.178Z', detail: 'no heartbeat for 2600 ms',
        event: 'evicted', id: 'b', reason: 'timeout', timestamp: START + 1500,
      },
    ]);
  });

  it('is a bounded ring: beyond its capacity the oldest events go, in order', () => {
    const clock = new FakeClock(START);
    const activity = new Activity(clock, 3);
    for (let i = 1; i <= 7; i++) {
      activity.record({ event: 'resync', id: `n${i}`, reason: 'gap' });
    }
    should(activity.entries().map(e => e.id)).eql(['n5', 'n6', 'n7']);
    activity.record({ event: 'left', id: 'n8' });
    should(activity.entries().map(e => e.id)).eql(['n6', 'n7', 'n8']);
  });

  it('counts every event by event and reason, also those out of the ring, and with a capacity of 0', () => {
    const clock = new FakeClock(START);
    const none = new Activity(clock, 0);
    const two = new Activity(clock, 2);
    for (const activity of [none, two]) {
      activity.record({ event: 'evicted', id: 'a', reason: 'timeout' });
      activity.record({ event: 'evicted', id: 'b', reason: 'timeout' });
      activity.record({ event: 'evicted', id: 'c', reason: 'evicted_by_peer' });
      activity.record({ event: 'joined', id: 'd' });
    }
    should(none.entries()).eql([]);
    for (const activity of [none, two]) {
      should(activity.counts()).eql([
        { count: 2, event: 'evicted', reason: 'timeout' },
        { count: 1, event: 'evicted', reason: 'evicted_by_peer' },
        { count: 1, event: 'joined', reason: '' },
      ]);
    }
    should(two.entries().map(e => e.id)).eql(['c', 'd']);
  });

  it('hands out copies: changing them changes nothing recorded', () => {
    const activity = new Activity(new FakeClock(START), 2);
    activity.record({ event: 'joined', id: 'a' });
    activity.entries()[0].id = 'changed';
    activity.counts()[0].count = 99;
    should(activity.entries()[0].id).equal('a');
    should(activity.counts()[0].count).equal(1);
  });
});
