import type { Envelope, SyncPayload } from './messages';
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
  /** notifications addressed to this node that never arrived */
  lostNotifications: number;
}

export type SequenceVerdict = 'apply' | 'duplicate' | 'gap';

/**
 * Where a sequenced message stands against the last one applied.
 */
export function checkSequence (last: number, seq: number): SequenceVerdict {
  if (seq === last + 1) {
    return 'apply';
  }
  return seq <= last ? 'duplicate' : 'gap';
}

/** A remote node, as seen from this one */
export class Peer {
  /** last broadcast sequence number applied */
  seq = 0;
  /** last targeted (notification) sequence number received */
  directSeq = 0;
  lastSeen = Date.now();
  /** the peer's own view of its readiness (from its heartbeats) */
  ready = false;
  /** true until the first heartbeat tells the peer's sequence numbers */
  handshaking = true;
  /** sequenced messages are buffered while the peer's state is re-read */
  syncing = true;
  resyncAgain = false;
  buffer: Array<Envelope<SyncPayload>> = [];
  readonly counters: PeerCounters = {
    duplicates: 0, gaps: 0, invalid: 0, lostNotifications: 0, resyncs: 0,
  };
  /** resolves once the peer's state was first read */
  readonly synced: Promise<void>;
  markSynced!: () => void;
  /** resolves when the first heartbeat arrives */
  readonly greeted: Promise<void>;
  markGreeted!: () => void;

  constructor (readonly info: NodeInfo) {
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
}
