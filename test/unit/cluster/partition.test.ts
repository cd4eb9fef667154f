import should from 'should';

import { partitionWinner } from '../../../lib/cluster/partition';

/** full knowledge: who hears whom */
function verdicts (hears: Record<string, string[]>): Record<string, boolean> {
  const members = new Map(Object.entries(hears));
  const result: Record<string, boolean> = {};
  for (const [id, heard] of members) {
    result[id] = partitionWinner(id, new Set(heard), members) === null;
  }
  return result;
}

describe('partition rule', () => {
  it('a fully connected cluster is ready everywhere', () => {
    should(verdicts({ a: ['b', 'c'], b: ['a', 'c'], c: ['a', 'b'] })).eql({ a: true, b: true, c: true });
  });

  it('the majority side stays ready', () => {
    should(verdicts({ a: ['b'], b: ['a'], c: [] })).eql({ a: true, b: true, c: false });
    should(verdicts({ a: ['b', 'c'], b: ['a', 'c'], c: ['a', 'b'], d: ['e'], e: ['d'] }))
      .eql({ a: true, b: true, c: true, d: false, e: false });
  });

  it('an even split keeps the side holding the smallest id, whatever the other ids', () => {
    should(verdicts({ a: ['z'], b: ['c'], c: ['b'], z: ['a'] })).eql({ a: true, b: false, c: false, z: true });
    should(verdicts({ b: ['c'], c: ['b'], d: ['y'], y: ['d'] })).eql({ b: true, c: true, d: false, y: false });
  });

  it('a single broken link: exactly one of its ends steps back', () => {
    should(verdicts({ a: ['b', 'c'], b: ['a'], c: ['a'] })).eql({ a: true, b: true, c: false });
  });

  it('every node alone: one stays ready', () => {
    should(verdicts({ a: [], b: [], c: [] })).eql({ a: true, b: false, c: false });
  });

  it('ignores heard ids that are not live members', () => {
    should(partitionWinner('a', new Set(['b', 'ghost']), new Map([['a', ['b']], ['b', ['a']], ['c', ['ghost', 'x', 'y']]]))).be.null();
  });
});
