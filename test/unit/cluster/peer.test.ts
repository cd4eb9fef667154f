import should from 'should';

import {
  DirectPayload, HeartbeatPayload, PROTOCOL_VERSION, Sequenced, SyncPayload, Unsequenced,
} from '../../../lib/cluster/messages';
import { Peer, checkSequence } from '../../../lib/cluster/peer';
import type { NodeInfo } from '../../../lib/cluster/state';
import { settled } from '../../support/fakeClock';

const SELF = 'self';
const info: NodeInfo = { id: 'p', pub: 'tcp://10.0.0.2:7511', router: 'tcp://10.0.0.2:7510', startedAt: 1, version: 'test' };
const filter = { collection: 'c', filters: [], index: 'i' };

function heartbeat (seq: number, toSelf?: number, ready = true): Unsequenced<HeartbeatPayload> {
  const direct: Record<string, number> = toSelf === undefined ? {} : { [SELF]: toSelf };
  return { direct: { other: 99, ...direct }, from: 'p', ready, seq, t: 'heartbeat', v: PROTOCOL_VERSION };
}

function note (seq: number): Sequenced<DirectPayload> {
  return { content: { n: seq }, from: 'p', request: { data: {}, options: {} }, room: 'r', scope: 'in', seq, t: 'user', v: PROTOCOL_VERSION };
}

function validators (seq: number): Sequenced<SyncPayload> {
  return { from: 'p', seq, t: 'validators', v: PROTOCOL_VERSION };
}

function room (seq: number): Sequenced<SyncPayload> {
  return { count: 1, filter, from: 'p', room: `r${seq}`, seq, t: 'room', v: PROTOCOL_VERSION };
}

const seqs = (messages: Array<{ seq: number }>): number[] => messages.map(m => m.seq);

/** greeted, its state read: messages apply as they come */
function sanePeer (seq = 0, notifications = 0): Peer {
  const peer = new Peer(info, 0);
  peer.onHeartbeat(heartbeat(seq, notifications), SELF);
  peer.beginResync(true);
  peer.nextRound(true, 1);
  peer.drain(seq, 0);
  peer.endResync();
  return peer;
}

describe('checkSequence', () => {
  it('applies the next number, flags gaps and duplicates', () => {
    should(checkSequence(4, 5)).equal('apply');
    should(checkSequence(4, 7)).equal('gap');
    should(checkSequence(4, 4)).equal('duplicate');
    should(checkSequence(4, 2)).equal('duplicate');
    should(checkSequence(0, 1)).equal('apply');
  });
});

describe('Peer', () => {
  describe('state machine', () => {
    it('ignores both streams until its first heartbeat, which starts numbering from its watermarks', async () => {
      const peer = new Peer(info, 0);
      should(peer.greeting).be.true();
      should(peer.onBroadcast(validators(1))).eql({ kind: 'ignore' });
      should(peer.onNotification(note(1))).eql({ kind: 'ignore' });
      should(await settled(peer.greeted)).be.false();

      should(peer.onHeartbeat(heartbeat(7, 3), SELF)).eql({ kind: 'first' });
      should(peer.greeting).be.false();
      should(peer.syncing).be.true();
      should(peer.appliedSeq).equal(7);
      should(await settled(peer.greeted)).be.true();
      should(await settled(peer.synced)).be.false();

      // numbers up to the watermarks were sent before this node listened
      should(peer.onNotification(note(3))).eql({ kind: 'duplicate' });
      should(peer.onNotification(note(4))).eql({ kind: 'deliver' });
    });

    it('a first heartbeat without a number for this node means none was sent to it', () => {
      const peer = new Peer(info, 0);
      peer.onHeartbeat(heartbeat(0), SELF);
      should(peer.onNotification(note(1))).eql({ kind: 'deliver' });
    });

    it('is sane, and synced, once its state was read', async () => {
      const peer = sanePeer(5);
      should(peer.syncing).be.false();
      should(peer.greeting).be.false();
      should(await settled(peer.synced)).be.true();
      should(peer.onBroadcast(validators(6))).eql({ kind: 'apply' });
    });

    it('forget() releases whoever waits for it to be greeted or synced', async () => {
      const peer = new Peer(info, 0);
      peer.forget();
      should(await settled(peer.greeted)).be.true();
      should(await settled(peer.synced)).be.true();
    });

    it('knows how long it has been silent', () => {
      const peer = new Peer(info, 100);
      should(peer.silentFor(350)).equal(250);
      peer.heard(300);
      should(peer.silentFor(350)).equal(50);
      should(peer.view().lastHeard).equal(300);
    });

    it('takes its readiness from its heartbeats', () => {
      const peer = new Peer(info, 0);
      should(peer.view().ready).be.false();
      peer.onHeartbeat(heartbeat(0, 0, true), SELF);
      should(peer.view().ready).be.true();
      peer.onHeartbeat(heartbeat(0, 0, false), SELF);
      should(peer.view().ready).be.false();
    });
  });

  describe('broadcast stream', () => {
    it('applies consecutive messages, drops and counts duplicates', () => {
      const peer = sanePeer(2);
      should(peer.onBroadcast(validators(3))).eql({ kind: 'apply' });
      should(peer.onBroadcast(validators(4))).eql({ kind: 'apply' });
      should(peer.appliedSeq).equal(4);
      should(peer.onBroadcast(validators(4))).eql({ kind: 'duplicate' });
      should(peer.onBroadcast(validators(1))).eql({ kind: 'duplicate' });
      should(peer.view().counters).match({ duplicates: 2, gaps: 0 });
      should(peer.appliedSeq).equal(4);
    });

    it('reports a gap with the missing range, counts it and keeps the message for after the resync', () => {
      const peer = sanePeer(2);
      should(peer.onBroadcast(validators(6))).eql({ from: 3, kind: 'gap', to: 5 });
      should(peer.view().counters.gaps).equal(1);
      should(peer.appliedSeq).equal(2);

      should(peer.beginResync(false)).be.true();
      should(peer.onBroadcast(validators(7))).eql({ kind: 'buffered' });
      const drained = peer.drain(2, 5);
      should(drained.map(d => [d.message.seq, d.apply])).eql([[6, true], [7, true]]);
      should(peer.appliedSeq).equal(7);
      should(peer.wantsAnotherRound).be.false();
    });

    it('keeps everything while syncing, then hands it back in order, marking what the state read covers', () => {
      const peer = new Peer(info, 0);
      peer.onHeartbeat(heartbeat(3), SELF);
      should(peer.beginResync(true)).be.true();
      peer.nextRound(true, 1);
      const before = peer.appliedSeq;
      for (const message of [room(6), validators(3), room(5), validators(4)]) {
        should(peer.onBroadcast(message)).eql({ kind: 'buffered' });
      }
      // the state read covers the room writes up to 5
      const drained = peer.drain(before, 5);
      should(drained.map(d => [d.message.seq, d.apply])).eql([[3, false], [4, true], [5, false], [6, true]]);
      // 3 was already applied before the read: a duplicate
      should(peer.view().counters).match({ duplicates: 1, gaps: 0 });
      should(peer.appliedSeq).equal(6);
      should(peer.wantsAnotherRound).be.false();
      peer.endResync();
      should(peer.onBroadcast(validators(7))).eql({ kind: 'apply' });
    });

    it('a gap among the kept messages asks for another round', () => {
      const peer = new Peer(info, 0);
      peer.onHeartbeat(heartbeat(0), SELF);
      peer.beginResync(true);
      peer.nextRound(true, 1);
      peer.onBroadcast(validators(1));
      peer.onBroadcast(validators(4));
      const drained = peer.drain(0, 0);
      should(drained.map(d => [d.message.seq, d.apply])).eql([[1, true], [4, true]]);
      should(peer.view().counters.gaps).equal(1);
      should(peer.wantsAnotherRound).be.true();
      peer.nextRound(true, 2);
      should(peer.wantsAnotherRound).be.false();
    });

    it('a resync asked for while one runs is folded into one more round', () => {
      const peer = new Peer(info, 0);
      peer.onHeartbeat(heartbeat(0), SELF);
      should(peer.beginResync(true)).be.true();
      peer.nextRound(true, 1);
      should(peer.beginResync(false)).be.false();
      should(peer.beginResync(false)).be.false();
      should(peer.wantsAnotherRound).be.true();
      peer.nextRound(true, 2);
      should(peer.wantsAnotherRound).be.false();
    });

    it('counts every read of its state but the first one after its first heartbeat', () => {
      const peer = new Peer(info, 0);
      peer.onHeartbeat(heartbeat(0), SELF);
      peer.beginResync(true);
      peer.nextRound(true, 1);
      should(peer.view().counters.resyncs).equal(0);
      peer.nextRound(true, 2);
      should(peer.view().counters.resyncs).equal(1);
      peer.drain(0, 0);
      peer.endResync();
      peer.beginResync(false);
      peer.nextRound(false, 1);
      should(peer.view().counters.resyncs).equal(2);
    });

    it('a failed read gives up what it kept and goes on after it', () => {
      const peer = sanePeer(2);
      peer.onBroadcast(validators(5));
      peer.beginResync(false);
      peer.nextRound(false, 1);
      peer.onBroadcast(validators(6));
      peer.abandonResync();
      should(peer.wantsAnotherRound).be.false();
      peer.endResync();
      should(peer.appliedSeq).equal(6);
      // nothing kept is handed back by a later read
      peer.beginResync(false);
      should(peer.drain(6, 0)).eql([]);
      peer.endResync();
      should(peer.onBroadcast(validators(7))).eql({ kind: 'apply' });
    });
  });

  describe('heartbeat watermarks', () => {
    it('reports broadcast messages announced but never received, only once sane', () => {
      const peer = new Peer(info, 0);
      peer.onHeartbeat(heartbeat(2), SELF);
      // syncing: the resync will read them
      should(peer.onHeartbeat(heartbeat(5), SELF)).eql({ kind: 'watermarks', missedBroadcasts: 0, missingNotifications: null });
      peer.beginResync(true);
      peer.nextRound(true, 1);
      peer.drain(2, 0);
      peer.endResync();

      should(peer.onHeartbeat(heartbeat(2), SELF)).eql({ kind: 'watermarks', missedBroadcasts: 0, missingNotifications: null });
      should(peer.onHeartbeat(heartbeat(5), SELF)).eql({ kind: 'watermarks', missedBroadcasts: 3, missingNotifications: null });
      should(peer.view().counters.gaps).equal(1);
    });

    it('asks for the notifications announced for this node but never received (tail loss), once', () => {
      const peer = sanePeer(0, 2);
      should(peer.onNotification(note(3))).eql({ kind: 'deliver' });
      // other nodes' numbers are not this node's business
      should(peer.onHeartbeat(heartbeat(0, 3), SELF)).eql({ kind: 'watermarks', missedBroadcasts: 0, missingNotifications: null });
      should(peer.onHeartbeat(heartbeat(0, 6), SELF)).eql({
        kind: 'watermarks', missedBroadcasts: 0, missingNotifications: { first: 4, last: 6 },
      });
      // already asked for: not asked again
      should(peer.onHeartbeat(heartbeat(0, 7), SELF)).eql({ kind: 'watermarks', missedBroadcasts: 0, missingNotifications: null });
      // what arrives meanwhile is held back
      should(peer.onNotification(note(7))).eql({ kind: 'held' });
    });
  });

  describe('notifications (direct stream)', () => {
    it('delivers consecutive ones, drops and counts duplicates', () => {
      const peer = sanePeer();
      should(peer.onNotification(note(1))).eql({ kind: 'deliver' });
      should(peer.onNotification(note(2))).eql({ kind: 'deliver' });
      should(peer.onNotification(note(2))).eql({ kind: 'duplicate' });
      should(peer.onNotification(note(1))).eql({ kind: 'duplicate' });
      should(peer.view().counters).match({ duplicates: 2, lostNotifications: 0 });
    });

    it('are delivered while its broadcast state is still being read', () => {
      const peer = new Peer(info, 0);
      peer.onHeartbeat(heartbeat(4, 0), SELF);
      should(peer.syncing).be.true();
      should(peer.onNotification(note(1))).eql({ kind: 'deliver' });
    });

    it('a gap asks for exactly the missing range and holds back what comes after it', () => {
      const peer = sanePeer(0, 1);
      should(peer.onNotification(note(5))).eql({ kind: 'recover', missing: { first: 2, last: 4 } });
      should(peer.onNotification(note(6))).eql({ kind: 'held' });
      should(peer.onNotification(note(3))).eql({ kind: 'held' });
      should(peer.onNotification(note(6))).eql({ kind: 'duplicate' });
      should(peer.view().heldBack).equal(3);
      should(peer.view().counters.duplicates).equal(1);
    });

    it('releases what was held back and replayed, in order, and counts what never came as lost', () => {
      const peer = sanePeer(0, 1);
      peer.onNotification(note(5));
      peer.onNotification(note(6));
      peer.onNotification(note(3));
      const recovered = peer.endRecovery([note(4), note(2)]);
      should(seqs(recovered.deliver)).eql([2, 3, 4, 5, 6]);
      should(recovered.lost).equal(0);
      should(recovered.again).be.null();
      should(peer.view()).match({ counters: { lostNotifications: 0, replayed: 2 }, heldBack: 0 });
      should(peer.onNotification(note(7))).eql({ kind: 'deliver' });
    });

    it('a replay that brings nothing releases the held-back ones and counts the missing ones lost', () => {
      const peer = sanePeer(0, 1);
      peer.onNotification(note(5));
      peer.onNotification(note(6));
      const recovered = peer.endRecovery([]);
      should(seqs(recovered.deliver)).eql([5, 6]);
      should(recovered.lost).equal(3);
      should(recovered.again).be.null();
      should(peer.view()).match({ counters: { lostNotifications: 3, replayed: 0 }, heldBack: 0 });
      should(peer.onNotification(note(6))).eql({ kind: 'duplicate' });
      should(peer.onNotification(note(7))).eql({ kind: 'deliver' });
    });

    it('counts a replayed notification once, even if it also arrived', () => {
      const peer = sanePeer(0, 1);
      peer.onNotification(note(4));
      peer.onNotification(note(3));
      const recovered = peer.endRecovery([note(2), note(3), note(1)]);
      should(seqs(recovered.deliver)).eql([2, 3, 4]);
      should(peer.view().counters.replayed).equal(1);
    });

    it('a tail loss asked for by a heartbeat is released the same way', () => {
      const peer = sanePeer(0, 0);
      peer.onHeartbeat(heartbeat(0, 3), SELF);
      peer.onNotification(note(4));
      const recovered = peer.endRecovery([note(2)]);
      should(seqs(recovered.deliver)).eql([2, 4]);
      should(recovered.lost).equal(2);
      should(peer.view().counters).match({ lostNotifications: 2, replayed: 1 });
    });

    it('asks again for a gap among the held-back ones, up to the next held-back one', () => {
      const peer = sanePeer(0, 0);
      should(peer.onNotification(note(3))).eql({ kind: 'recover', missing: { first: 1, last: 2 } });
      peer.onNotification(note(4));
      peer.onNotification(note(7));
      peer.onNotification(note(9));
      const first = peer.endRecovery([note(1), note(2)]);
      should(seqs(first.deliver)).eql([1, 2, 3, 4]);
      should(first.lost).equal(0);
      should(first.again).eql({ first: 5, last: 6 });
      should(peer.view().heldBack).equal(2);
      // still recovering: later ones are held back
      should(peer.onNotification(note(10))).eql({ kind: 'held' });

      const second = peer.endRecovery([note(6)]);
      should(seqs(second.deliver)).eql([6, 7]);
      should(second.lost).equal(1);
      should(second.again).eql({ first: 8, last: 8 });

      const third = peer.endRecovery([]);
      should(seqs(third.deliver)).eql([9, 10]);
      should(third.lost).equal(1);
      should(third.again).be.null();
      should(peer.view()).match({ counters: { lostNotifications: 2, replayed: 3 }, heldBack: 0 });
      should(peer.onNotification(note(11))).eql({ kind: 'deliver' });
    });
  });

  describe('counters and view', () => {
    it('counts invalid frames and hands out copies of its counters', () => {
      const peer = sanePeer();
      peer.countInvalid();
      peer.countInvalid();
      const view = peer.view();
      should(view.counters).eql({ duplicates: 0, gaps: 0, invalid: 2, lostNotifications: 0, replayed: 0, resyncs: 0 });
      view.counters.invalid = 100;
      should(peer.view().counters.invalid).equal(2);
      should(view).match({ info, seq: 0 });
    });
  });
});
