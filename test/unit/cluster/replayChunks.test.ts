/**
 * Replays of long ranges come in replies bounded in bytes: the sender cuts
 * a reply at REPLY_BYTES, and the receiver settles what a cut reply covers
 * and asks for the rest (instead of waiting for one reply too big to arrive
 * within the hold-back bound).
 */
import should from 'should';

import {
  DirectPayload, HeartbeatPayload, PROTOCOL_VERSION, Sequenced, Unsequenced,
} from '../../../lib/cluster/messages';
import { Peer } from '../../../lib/cluster/peer';
import { ReplayBuffer } from '../../../lib/cluster/replayBuffer';
import type { NodeInfo } from '../../../lib/cluster/state';
import { FakeClock } from '../../support/fakeClock';

const SELF = 'self';
const info: NodeInfo = { id: 'p', pub: 'tcp://10.0.0.2:7511', router: 'tcp://10.0.0.2:7510', startedAt: 1, version: 'test' };

function heartbeat (toSelf: number): Unsequenced<HeartbeatPayload> {
  return { direct: { [SELF]: toSelf }, from: 'p', ready: true, seq: 0, t: 'heartbeat', v: PROTOCOL_VERSION };
}

function note (seq: number): Sequenced<DirectPayload> {
  return { content: { n: seq }, from: 'p', request: { data: {}, options: {} }, room: 'r', scope: 'in', seq, t: 'user', v: PROTOCOL_VERSION };
}

const seqs = (messages: Array<{ seq: number }>): number[] => messages.map(m => m.seq);
const range = (first: number, last: number): number[] => Array.from({ length: last - first + 1 }, (_, i) => first + i);

/** greeted, its state read, nothing received yet */
function sanePeer (): Peer {
  const peer = new Peer(info, 0);
  peer.onHeartbeat(heartbeat(0), SELF);
  peer.beginResync(true);
  peer.nextRound(true, 1);
  peer.drain(0, 0);
  peer.endResync();
  return peer;
}

describe('replay in bounded replies', () => {
  describe('ReplayBuffer.range with a byte bound', () => {
    const body = (seq: number): string => `${seq}`.padStart(10, '0');

    it('returns the first envelopes of the range up to the bound, at least one', () => {
      const buffer = new ReplayBuffer(new FakeClock(), { maxAge: 5000, maxBytes: 1 << 20, maxMessages: 100 });
      for (let seq = 1; seq <= 10; seq++) {
        buffer.keep('a', seq, body(seq));
      }
      should(buffer.range('a', 3, 9, 35)).eql([body(3), body(4), body(5)]);
      should(buffer.range('a', 3, 9, 30)).eql([body(3), body(4), body(5)]);
      should(buffer.range('a', 3, 9, 5)).eql([body(3)]);
      should(buffer.range('a', 3, 4, 1000)).eql([body(3), body(4)]);
      should(buffer.range('a', 3, 9)).have.length(7);
    });
  });

  describe('Peer.endRecovery with a partial reply', () => {
    it('settles what the reply covers, asks for the rest, and delivers everything once, in order', () => {
      const peer = sanePeer();
      should(peer.onNotification(note(10))).eql({ kind: 'recover', missing: { first: 1, last: 9 } });
      peer.onNotification(note(11));
      // an original that arrived meanwhile, inside the range
      peer.onNotification(note(6));

      const first = peer.endRecovery([note(1), note(2), note(3)], true);
      should(seqs(first.deliver)).eql([1, 2, 3]);
      should(first.lost).equal(0);
      should(first.again).eql({ first: 4, last: 9 });
      // still recovering: later ones are held back
      should(peer.onNotification(note(12))).eql({ kind: 'held' });

      const second = peer.endRecovery([note(4), note(5), note(6), note(7)], true);
      should(seqs(second.deliver)).eql([4, 5, 6, 7]);
      should(second.again).eql({ first: 8, last: 9 });

      const third = peer.endRecovery([note(8), note(9)]);
      should(seqs(third.deliver)).eql([8, 9, 10, 11, 12]);
      should(third.again).be.null();
      should(peer.view()).match({ counters: { duplicates: 0, lostNotifications: 0, replayed: 8 }, heldBack: 0 });
      should(peer.onNotification(note(13))).eql({ kind: 'deliver' });
    });

    it('what the sender no longer keeps (the oldest) is counted once; a reply bringing nothing ends the recovery', () => {
      const peer = sanePeer();
      peer.onNotification(note(9));
      // 1..4 aged out of the sender's buffer: the reply starts at 5 and is cut after 6
      const first = peer.endRecovery([note(5), note(6)], true);
      should(seqs(first.deliver)).eql([5, 6]);
      should(first.lost).equal(4);
      should(first.again).eql({ first: 7, last: 8 });

      const second = peer.endRecovery([]);
      should(seqs(second.deliver)).eql([9]);
      should(second.lost).equal(2);
      should(second.again).be.null();
      should(peer.view().counters).match({ lostNotifications: 6, replayed: 2 });
    });

    it('a long range in many cut replies ends with everything delivered once, in order', () => {
      const peer = sanePeer();
      peer.onHeartbeat(heartbeat(1000), SELF);
      const delivered: number[] = [];
      let missing: { first: number; last: number } | null = { first: 1, last: 1000 };
      let replies = 0;
      while (missing) {
        const last = Math.min(missing.last, missing.first + 63);
        const { again, deliver } = peer.endRecovery(range(missing.first, last).map(note), last < missing.last);
        delivered.push(...seqs(deliver));
        missing = again;
        replies++;
      }
      should(replies).equal(16);
      should(delivered).eql(range(1, 1000));
      should(peer.view().counters).match({ lostNotifications: 0, replayed: 1000 });
    });
  });
});
