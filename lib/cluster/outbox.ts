import type { Acks } from './acks';
import { COMPACT_VERSION, encodeCompactNotification } from './compact';
import type { Identity } from './identity';
import type { ReplayBuffer } from './replayBuffer';
import {
  AckMessage, BROADCAST_TOPIC, DirectPayload, HeartbeatPayload, SyncPayload,
  compactTopic, encode, encodeNotification, nodeTopic,
} from './messages';
import type { ClusterTransport } from './transport';

/**
 * Everything this node sends on its PUB socket: the sequenced broadcast
 * stream (one numbering for all peers), notifications (one numbering per
 * destination node, kept for replay), heartbeats announcing both, and
 * acknowledgements.
 */
export class Outbox {
  private seq = 0;
  /** highest broadcast number handed to the transport */
  private sentSeq = 0;
  private readonly notificationSeq = new Map<string, number>();
  private readonly compactTopics = new Map<string, string>();

  /**
   * @param ackingPeers the peers expected to acknowledge a message sent now
   * @param protocolOf the newest protocol a peer reads
   */
  constructor (
    private readonly identity: Identity,
    private readonly transport: ClusterTransport,
    private readonly acks: Acks,
    private readonly ackingPeers: () => string[],
    private readonly replay: ReplayBuffer,
    private readonly protocolOf: (peer: string) => number,
  ) {}

  private compactTo (peer: string): boolean {
    return this.protocolOf(peer) >= COMPACT_VERSION;
  }

  /** a peer's own topic, in the protocol it reads */
  private topicOf (peer: string, compact = this.compactTo(peer)): string {
    if (!compact) {
      return nodeTopic(peer);
    }
    // a digest: computed once per peer
    let topic = this.compactTopics.get(peer);
    if (topic === undefined) {
      topic = compactTopic(peer);
      this.compactTopics.set(peer, topic);
    }
    return topic;
  }

  /** reserves the next broadcast number (a room write takes it before reaching Redis) */
  nextSeq (): number {
    return ++this.seq;
  }

  get lastSeq (): number {
    return this.seq;
  }

  /**
   * Broadcasts message number `seq`. With `ack`, resolves once every peer
   * heard recently applied it, or after timers.ackTimeout.
   */
  sequenced (message: SyncPayload, seq: number, ack: boolean): Promise<void> {
    // heartbeats announce what was sent, not numbers still waiting on Redis
    this.sentSeq = Math.max(this.sentSeq, seq);
    const waiting = ack && this.acks.enabled ? this.ackingPeers() : [];
    this.transport.publish(BROADCAST_TOPIC, encode(this.identity.id, message, seq, waiting.length > 0));
    return this.acks.expect(seq, waiting);
  }

  broadcast (message: SyncPayload, ack = false): Promise<void> {
    return this.sequenced(message, this.nextSeq(), ack);
  }

  /**
   * One notification per destination node, with that node's rooms. Its
   * content, the same for all of them, is encoded once.
   */
  notify (destinations: Map<string, string[]>, build: (rooms: string[]) => DirectPayload): void {
    let encoded: { content: unknown; json: string | undefined } | null = null;
    for (const [node, rooms] of destinations) {
      const payload = build(rooms);
      if (!encoded || encoded.content !== payload.content) {
        encoded = { content: payload.content, json: JSON.stringify(payload.content) };
      }
      const seq = (this.notificationSeq.get(node) || 0) + 1;
      this.notificationSeq.set(node, seq);
      const compact = this.compactTo(node);
      const body = compact
        ? encodeCompactNotification(payload, seq, encoded.json)
        : encodeNotification(this.identity.id, payload, seq, encoded.json);
      this.replay.keep(node, seq, body);
      this.transport.publish(this.topicOf(node, compact), body);
    }
  }

  heartbeat (ready: boolean): void {
    const direct: Record<string, number> = {};
    for (const [node, seq] of this.notificationSeq) {
      direct[node] = seq;
    }
    const heartbeat: HeartbeatPayload = { direct, ready, seq: this.sentSeq, t: 'heartbeat' };
    this.transport.publish(BROADCAST_TOPIC, encode(this.identity.id, heartbeat));
  }

  ack (peer: string, of: number[]): void {
    const ack: AckMessage = { of, t: 'ack' };
    this.transport.publish(this.topicOf(peer), encode(this.identity.id, ack));
  }

  /** a peer is gone: its notification numbering with it */
  forget (peer: string): void {
    this.notificationSeq.delete(peer);
    this.compactTopics.delete(peer);
    this.replay.forget(peer);
  }

  /** a new incarnation (after an eviction) numbers everything from 1 again */
  restart (): void {
    this.seq = 0;
    this.sentSeq = 0;
    this.notificationSeq.clear();
    this.compactTopics.clear();
    this.replay.clear();
  }
}
