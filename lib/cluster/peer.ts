import type { DirectPayload, HeartbeatPayload, Sequenced, SyncPayload, Unsequenced } from './messages';
import type { NodeInfo } from './state';

export interface PeerCounters {
  /** state re-read from Redis after a gap, a duplicate or a rejoin */
  resyncs: number;
  /** sequence gaps seen on the broadcast stream */
  gaps: number;
  /** messages received twice or out of order, dropped */
  duplicates: number;
  /** frames that failed validation, dropped */
  invalid: number;
  /** notifications addressed to this node that never arrived, nor could be replayed */
  lostNotifications: number;
  /** notifications a link lost that the peer sent again */
  replayed: number;
}

export function noCounters (): PeerCounters {
  return { duplicates: 0, gaps: 0, invalid: 0, lostNotifications: 0, replayed: 0, resyncs: 0 };
}

export type SequenceVerdict = 'apply' | 'duplicate' | 'gap';

/** Where a sequenced message stands against the last one applied. */
export function checkSequence (last: number, seq: number): SequenceVerdict {
  if (seq === last + 1) {
    return 'apply';
  }
  return seq <= last ? 'duplicate' : 'gap';
}

/**
 * greeting: no heartbeat heard yet, so its sequence numbers are unknown;
 * syncing: its state is being read from Redis, broadcast messages are buffered;
 * sane: messages apply as they come.
 */
export type PeerState = 'greeting' | 'syncing' | 'sane';

/** notifications first..last never arrived: ask the peer for them */
export interface Missing { first: number; last: number }

export type HeartbeatVerdict =
  /** the peer's numbers are known from now on: read its state */
  | { kind: 'first' }
  /** notifications announced but never received (null: none); broadcast messages missed (0 while syncing) */
  | { kind: 'watermarks'; missingNotifications: Missing | null; missedBroadcasts: number };

export type NotificationVerdict =
  | { kind: 'ignore' }
  | { kind: 'duplicate' }
  | { kind: 'deliver' }
  /** held back behind a replay already asked for */
  | { kind: 'held' }
  /** held back: ask for the missing ones */
  | { kind: 'recover'; missing: Missing };

/** once a replay answered (or did not): what to deliver, in order, and what is lost for good */
export interface Recovered {
  deliver: Array<Sequenced<DirectPayload>>;
  lost: number;
  /** more went missing among the held-back ones meanwhile: ask again */
  again: Missing | null;
}

export type BroadcastVerdict =
  | { kind: 'ignore' }
  /** kept for after the resync */
  | { kind: 'buffered' }
  | { kind: 'duplicate' }
  /** messages `from`..`to` are missing: kept, the peer needs a resync */
  | { kind: 'gap'; from: number; to: number }
  | { kind: 'apply' };

/** what to do with a message kept during a resync, in order */
export interface Drained {
  message: Sequenced<SyncPayload>;
  /** false: already applied or covered by the state read from Redis (acknowledge only) */
  apply: boolean;
}

export interface PeerView {
  info: NodeInfo;
  ready: boolean;
  lastHeard: number;
  seq: number;
  counters: PeerCounters;
  /** notifications held back now, waiting for a replay */
  heldBack: number;
}

/**
 * A remote node as seen from this one: its state machine and the ordering
 * of its two streams (broadcast, and notifications to this node). It returns
 * verdicts and keeps its own counters; acting on them is the caller's.
 */
export class Peer {
  private state: PeerState = 'greeting';
  /** last broadcast sequence number applied */
  private seq = 0;
  /** last notification number delivered (or given up for lost) */
  private notificationSeq = 0;
  /** notifications that arrived after a gap, by number, while a replay is asked for */
  private readonly held = new Map<number, Sequenced<DirectPayload>>();
  /** the range asked for, while a replay is under way */
  private recovering: Missing | null = null;
  private lastHeard: number;
  /** the peer's own view of its readiness (from its heartbeats) */
  private ready = false;
  private buffer: Array<Sequenced<SyncPayload>> = [];
  private resyncWanted = false;
  private readonly counters = noCounters();
  /** resolves once the peer's state was first read (or the peer is gone) */
  readonly synced: Promise<void>;
  private markSynced!: () => void;
  /** resolves when its first heartbeat arrives */
  readonly greeted: Promise<void>;
  private markGreeted!: () => void;

  constructor (readonly info: NodeInfo, now: number) {
    this.lastHeard = now;
    this.synced = new Promise(resolve => {
      this.markSynced = resolve;
    });
    this.greeted = new Promise(resolve => {
      this.markGreeted = resolve;
    });
  }

  get id (): string {
    return this.info.id;
  }

  get greeting (): boolean {
    return this.state === 'greeting';
  }

  /** its state is being re-read after it was greeted */
  get syncing (): boolean {
    return this.state === 'syncing';
  }

  heard (now: number): void {
    this.lastHeard = now;
  }

  silentFor (now: number): number {
    return now - this.lastHeard;
  }

  countInvalid (): void {
    this.counters.invalid++;
  }

  onHeartbeat (heartbeat: Unsequenced<HeartbeatPayload>, self: string): HeartbeatVerdict {
    this.ready = heartbeat.ready;
    const notificationsSent = heartbeat.direct[self] || 0;

    if (this.state === 'greeting') {
      // everything up to these numbers was sent before this node listened
      this.state = 'syncing';
      this.seq = heartbeat.seq;
      this.notificationSeq = notificationsSent;
      this.markGreeted();
      return { kind: 'first' };
    }

    // the last ones sent never arrived (a tail loss, or a link cut and healed)
    const missingNotifications = !this.recovering && notificationsSent > this.notificationSeq
      ? this.startRecovery(this.notificationSeq + 1, notificationsSent)
      : null;
    const missedBroadcasts = this.state === 'sane' ? Math.max(0, heartbeat.seq - this.seq) : 0;
    if (missedBroadcasts > 0) {
      this.counters.gaps++;
    }
    return { kind: 'watermarks', missedBroadcasts, missingNotifications };
  }

  onNotification (message: Sequenced<DirectPayload>): NotificationVerdict {
    if (this.state === 'greeting') {
      return { kind: 'ignore' };
    }
    if (message.seq <= this.notificationSeq || this.held.has(message.seq)) {
      this.counters.duplicates++;
      return { kind: 'duplicate' };
    }
    if (this.recovering) {
      this.held.set(message.seq, message);
      return { kind: 'held' };
    }
    if (checkSequence(this.notificationSeq, message.seq) === 'apply') {
      this.notificationSeq = message.seq;
      return { kind: 'deliver' };
    }
    this.held.set(message.seq, message);
    return { kind: 'recover', missing: this.startRecovery(this.notificationSeq + 1, message.seq - 1) };
  }

  private startRecovery (first: number, last: number): Missing {
    this.recovering = { first, last };
    return this.recovering;
  }

  /**
   * The replay answered with `replayed` (or nothing: it failed, timed out,
   * or the peer kept none of them). Everything held back is released, in
   * order; what neither arrived nor was replayed is lost for good.
   * `partial`: the answer stopped short of the range (its size is bounded):
   * it settles the range up to its last notification only, and the rest is
   * asked for again.
   */
  endRecovery (replayed: Array<Sequenced<DirectPayload>>, partial = false): Recovered {
    const asked = this.recovering;
    this.recovering = null;
    let replays = 0;
    let replayedEnd = 0;
    for (const message of replayed) {
      replayedEnd = Math.max(replayedEnd, message.seq);
      if (message.seq > this.notificationSeq && !this.held.has(message.seq)) {
        this.held.set(message.seq, message);
        replays++;
      }
    }
    this.counters.replayed += replays;

    const deliver: Array<Sequenced<DirectPayload>> = [];
    let next = this.notificationSeq + 1;
    const askedEnd = asked ? asked.last : this.notificationSeq;
    // up to the settled end: what comes after it and is missing is asked for again
    const settledEnd = partial ? Math.min(askedEnd, replayedEnd) : askedEnd;
    let lost = 0;
    for (; next <= settledEnd || this.held.has(next); next++) {
      const message = this.held.get(next);
      if (message) {
        this.held.delete(next);
        deliver.push(message);
      }
      else if (next <= settledEnd) {
        lost++;
      }
    }
    this.notificationSeq = next - 1;
    this.counters.lostNotifications += lost;

    let again: Missing | null = null;
    if (next <= askedEnd) {
      again = this.startRecovery(next, askedEnd);
    }
    else if (this.held.size > 0) {
      again = this.startRecovery(next, Math.min(...this.held.keys()) - 1);
    }
    return { again, deliver, lost };
  }

  onBroadcast (message: Sequenced<SyncPayload>): BroadcastVerdict {
    if (this.state === 'greeting') {
      return { kind: 'ignore' };
    }
    if (this.state === 'syncing') {
      this.buffer.push(message);
      return { kind: 'buffered' };
    }
    const verdict = checkSequence(this.seq, message.seq);
    if (verdict === 'duplicate') {
      this.counters.duplicates++;
      return { kind: 'duplicate' };
    }
    if (verdict === 'gap') {
      this.counters.gaps++;
      this.buffer.push(message);
      return { from: this.seq + 1, kind: 'gap', to: message.seq - 1 };
    }
    this.seq = message.seq;
    return { kind: 'apply' };
  }

  /**
   * Starts reading its state; false if a read is already under way (it then
   * runs once more). The first read, after its first heartbeat, always starts.
   */
  beginResync (first: boolean): boolean {
    if (this.state === 'syncing' && !first) {
      this.resyncWanted = true;
      return false;
    }
    this.state = 'syncing';
    return true;
  }

  /** one read of its state begins: false once no further read is wanted */
  nextRound (first: boolean, round: number): void {
    this.resyncWanted = false;
    if (!first || round > 1) {
      this.counters.resyncs++;
    }
  }

  get wantsAnotherRound (): boolean {
    return this.resyncWanted;
  }

  get appliedSeq (): number {
    return this.seq;
  }

  /** whether a 'leave' of it is among the messages kept during a resync */
  get announcedLeave (): boolean {
    return this.buffer.some(message => message.t === 'leave');
  }

  /**
   * Once its state was read (its room writes up to `snapshotSeq` included),
   * hands back the messages kept meanwhile, in order, each marked applied
   * or not. Synchronous with the caller's loop: nothing can be kept unseen.
   * `before`: the last number applied when the read began.
   */
  drain (before: number, snapshotSeq: number): Drained[] {
    const kept = this.buffer.sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    const drained: Drained[] = [];
    let last = Math.max(before, snapshotSeq);

    for (const message of kept) {
      if (message.seq <= before || (message.t === 'room' && message.seq <= snapshotSeq)) {
        if (message.seq <= before) {
          this.counters.duplicates++;
        }
        drained.push({ apply: false, message });
        continue;
      }
      if (message.seq > last + 1) {
        this.counters.gaps++;
        this.resyncWanted = true;
      }
      drained.push({ apply: true, message });
      last = Math.max(last, message.seq);
    }
    this.seq = last;
    return drained;
  }

  /** the read failed: what was kept is given up; retried at the next gap or heartbeat watermark */
  abandonResync (): void {
    this.resyncWanted = false;
    for (const message of this.buffer) {
      this.seq = Math.max(this.seq, message.seq);
    }
    this.buffer = [];
  }

  endResync (): void {
    this.state = 'sane';
    this.markSynced();
  }

  /** it left or was evicted: nobody waits for it any more */
  forget (): void {
    this.markSynced();
    this.markGreeted();
  }

  view (): PeerView {
    return {
      counters: { ...this.counters }, heldBack: this.held.size, info: this.info,
      lastHeard: this.lastHeard, ready: this.ready, seq: this.seq,
    };
  }
}
