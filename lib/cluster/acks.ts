import createDebug from 'debug';

import { Histogram } from '../metrics/histogram';
import { Cancel, Clock, preciseNow, secondsSince } from './clock';

const debug = createDebug('kuzzle:cluster:acks');

/** a broadcast message waiting for the peers' acknowledgements */
interface PendingAck {
  waiting: Set<string>;
  settle: () => void;
  settled: Promise<void>;
}

/**
 * Cluster-wide acknowledgements, both ways: the messages this node waits
 * for its peers to apply (bounded by `timeout`), and the acknowledgements it
 * owes them, coalesced into one message per peer and event-loop turn.
 */
export class Acks {
  /** by sequence number */
  private readonly pending = new Map<number, PendingAck>();
  /** owed, per peer */
  private readonly owed = new Map<string, number[]>();
  /** seconds each message waited, until acknowledged by all, its peers gone, or the timeout */
  readonly waits = new Histogram();

  /**
   * @param timeout ms a message waits at most; 0: never wait
   * @param send sends one acknowledgement message to a peer
   */
  constructor (
    private readonly clock: Clock,
    private readonly timeout: number,
    private readonly send: (peer: string, of: number[]) => void,
  ) {}

  /** whether messages wait for acknowledgements at all */
  get enabled (): boolean {
    return this.timeout > 0;
  }

  /** resolves once every peer of `waiting` acknowledged message `seq` or left, or after the timeout */
  expect (seq: number, waiting: string[]): Promise<void> {
    if (waiting.length === 0 || !this.enabled) {
      return Promise.resolve();
    }
    let cancel: Cancel = () => undefined;
    let settle = (): void => undefined;
    const start = preciseNow(this.clock);
    const settled = new Promise<void>(resolve => {
      settle = (): void => {
        cancel();
        this.pending.delete(seq);
        this.waits.observe(secondsSince(this.clock, start));
        resolve();
      };
    });
    const pending: PendingAck = { settle, settled, waiting: new Set(waiting) };
    cancel = this.clock.after(this.timeout, () => {
      debug('message #%d: no ack from %o within %d ms', seq, Array.from(pending.waiting), this.timeout);
      settle();
    });
    this.pending.set(seq, pending);
    return settled;
  }

  /** resolves once every message sent so far with an acknowledgement is settled */
  async settled (): Promise<void> {
    await Promise.all(Array.from(this.pending.values()).map(pending => pending.settled));
  }

  onAck (peer: string, of: number[]): void {
    for (const seq of of) {
      this.noLongerWaiting(this.pending.get(seq), peer);
    }
  }

  /** a peer that is gone will not acknowledge anything */
  peerGone (peer: string): void {
    for (const pending of Array.from(this.pending.values())) {
      this.noLongerWaiting(pending, peer);
    }
  }

  /** a pending message settles when the last peer it waits for acknowledged it or left */
  private noLongerWaiting (pending: PendingAck | undefined, peer: string): void {
    if (pending && pending.waiting.delete(peer) && pending.waiting.size === 0) {
      pending.settle();
    }
  }

  /**
   * A message of `peer` was applied: if it was sent waiting for
   * acknowledgements, this node owes one, sent at the end of this turn.
   */
  acknowledge (peer: string, message: { seq: number; ack?: boolean }): void {
    if (!message.ack) {
      return;
    }
    const seqs = this.owed.get(peer);
    if (seqs) {
      seqs.push(message.seq);
      return;
    }
    this.owed.set(peer, [message.seq]);
    if (this.owed.size === 1) {
      this.clock.soon(() => this.flush());
    }
  }

  private flush (): void {
    for (const [peer, of] of this.owed) {
      this.send(peer, of);
    }
    this.owed.clear();
  }
}
