import should from 'should';

import { Histogram } from '../../../lib/metrics/histogram';

describe('metrics/histogram', () => {
  it('counts each observation in the first bucket whose bound it does not exceed (bounds inclusive), cumulatively', () => {
    const histogram = new Histogram([1, 2, 5]);
    for (const value of [0, 1, 1.5, 2, 4.9, 5, 5.1, 100]) {
      histogram.observe(value);
    }
    should(histogram.snapshot()).eql({ bounds: [1, 2, 5], count: 8, cumulative: [2, 4, 6, 8], sum: 119.5 });
  });

  it('refuses bounds that are not strictly ascending', () => {
    should(() => new Histogram([1, 1])).throw(/strictly ascending/);
    should(() => new Histogram([2, 1])).throw(/strictly ascending/);
  });

  it('its snapshot does not change with later observations', () => {
    const histogram = new Histogram([1]);
    const before = histogram.snapshot();
    histogram.observe(0.5);
    should(before).eql({ bounds: [1], count: 0, cumulative: [0, 0], sum: 0 });
  });
});
