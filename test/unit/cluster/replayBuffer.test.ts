import should from 'should';

import { ReplayBuffer } from '../../../lib/cluster/replayBuffer';
import { FakeClock } from '../../support/fakeClock';

const LARGE = { maxAge: 60000, maxBytes: 1 << 30, maxMessages: 1 << 20 };

/** a 6-character body naming its number */
const body = (seq: number): string => `#${String(seq).padStart(5, '0')}`;
const bodies = (first: number, last: number): string[] => {
  const all: string[] = [];
  for (let seq = first; seq <= last; seq++) {
    all.push(body(seq));
  }
  return all;
};

function keepRange (buffer: ReplayBuffer, node: string, first: number, last: number): void {
  for (let seq = first; seq <= last; seq++) {
    buffer.keep(node, seq, body(seq));
  }
}

describe('ReplayBuffer', () => {
  let clock: FakeClock;

  beforeEach(() => {
    clock = new FakeClock();
  });

  it('hands back a range of what was kept, in order, per destination node', () => {
    const buffer = new ReplayBuffer(clock, LARGE);
    keepRange(buffer, 'a', 1, 5);
    buffer.keep('b', 1, 'to b');
    should(buffer.range('a', 2, 4)).eql(bodies(2, 4));
    should(buffer.range('a', 4, 9)).eql(bodies(4, 5));
    should(buffer.range('a', 1, 1)).eql([body(1)]);
    should(buffer.range('a', 6, 9)).eql([]);
    should(buffer.range('b', 1, 5)).eql(['to b']);
    should(buffer.range('unknown', 1, 5)).eql([]);
    should(buffer.size('a')).eql({ bytes: 30, messages: 5 });
    should(buffer.size('b')).eql({ bytes: 4, messages: 1 });
    should(buffer.size('unknown')).eql({ bytes: 0, messages: 0 });
  });

  it('is bounded in count, per node: the oldest go first', () => {
    const buffer = new ReplayBuffer(clock, { ...LARGE, maxMessages: 3 });
    keepRange(buffer, 'a', 1, 5);
    keepRange(buffer, 'b', 1, 2);
    should(buffer.size('a')).eql({ bytes: 18, messages: 3 });
    should(buffer.range('a', 1, 5)).eql(bodies(3, 5));
    // a range partly evicted gives what is left (the receiver counts the rest as lost)
    should(buffer.range('a', 2, 3)).eql([body(3)]);
    should(buffer.range('b', 1, 5)).eql(bodies(1, 2));
  });

  it('is bounded in bytes: the oldest go first, until the rest fits', () => {
    const buffer = new ReplayBuffer(clock, { ...LARGE, maxBytes: 10 });
    buffer.keep('a', 1, 'xxxx');
    buffer.keep('a', 2, 'yyyy');
    should(buffer.size('a')).eql({ bytes: 8, messages: 2 });
    buffer.keep('a', 3, 'zz');
    should(buffer.size('a')).eql({ bytes: 10, messages: 3 });
    buffer.keep('a', 4, 'wwwww');
    should(buffer.range('a', 1, 4)).eql(['zz', 'wwwww']);
    should(buffer.size('a')).eql({ bytes: 7, messages: 2 });
  });

  it('keeps nothing of a single body larger than its byte bound', () => {
    const buffer = new ReplayBuffer(clock, { ...LARGE, maxBytes: 10 });
    buffer.keep('a', 1, 'x');
    buffer.keep('a', 2, 'y'.repeat(11));
    should(buffer.range('a', 1, 2)).eql([]);
    should(buffer.size('a')).eql({ bytes: 0, messages: 0 });
    buffer.keep('a', 3, 'z');
    should(buffer.range('a', 1, 3)).eql(['z']);
  });

  it('is bounded in age, even when nothing new is kept', () => {
    const buffer = new ReplayBuffer(clock, { ...LARGE, maxAge: 100 });
    buffer.keep('a', 1, body(1));
    clock.tick(60);
    buffer.keep('a', 2, body(2));
    clock.tick(40);
    // exactly maxAge old: still there
    should(buffer.range('a', 1, 2)).eql(bodies(1, 2));
    clock.tick(1);
    should(buffer.range('a', 1, 2)).eql([body(2)]);
    should(buffer.size('a')).eql({ bytes: 6, messages: 1 });
    clock.tick(60);
    should(buffer.size('a')).eql({ bytes: 0, messages: 0 });
    should(buffer.range('a', 1, 2)).eql([]);
  });

  it('keeps nothing with maxMessages 0', () => {
    const buffer = new ReplayBuffer(clock, { ...LARGE, maxMessages: 0 });
    keepRange(buffer, 'a', 1, 3);
    should(buffer.range('a', 1, 3)).eql([]);
    should(buffer.size('a')).eql({ bytes: 0, messages: 0 });
  });

  it('stays exact over many evictions (its storage is compacted on the way)', () => {
    const buffer = new ReplayBuffer(clock, { ...LARGE, maxMessages: 10 });
    keepRange(buffer, 'a', 1, 9000);
    should(buffer.size('a')).eql({ bytes: 60, messages: 10 });
    should(buffer.range('a', 1, 9000)).eql(bodies(8991, 9000));
    should(buffer.range('a', 8995, 8996)).eql(bodies(8995, 8996));
    keepRange(buffer, 'a', 9001, 9003);
    should(buffer.range('a', 1, 9003)).eql(bodies(8994, 9003));
  });

  it('forgets a node, or everything', () => {
    const buffer = new ReplayBuffer(clock, LARGE);
    keepRange(buffer, 'a', 1, 2);
    keepRange(buffer, 'b', 1, 2);
    buffer.forget('a');
    should(buffer.range('a', 1, 2)).eql([]);
    should(buffer.range('b', 1, 2)).eql(bodies(1, 2));
    buffer.clear();
    should(buffer.range('b', 1, 2)).eql([]);
    should(buffer.size('b')).eql({ bytes: 0, messages: 0 });
    // numbering restarts after a node is forgotten
    buffer.keep('a', 1, 'again');
    should(buffer.range('a', 1, 1)).eql(['again']);
  });
});
