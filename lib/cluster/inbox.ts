import createDebug from 'debug';

import type { Clock } from './clock';
import type { Identity } from './identity';
import { InvalidMessageError } from './invalid';
import type { Logger } from './logger';
import {
  AckMessage, BROADCAST_TOPIC, DirectPayload, Envelope, HeartbeatPayload,
  RouterRequest, Sequenced, SyncPayload, Unsequenced, decode, targetedTopics,
} from './messages';
import { PeerCounters, noCounters } from './peer';
import type { Peer } from './peer';

const debugMessages = createDebug('kuzzle:cluster:messages');

/** what the inbox hands on, once a message is checked: one method per stream */
export interface InboundHandlers {
  heartbeat (peer: Peer, heartbeat: Unsequenced<HeartbeatPayload>): void;
  ack (peer: Peer, ack: Unsequenced<AckMessage>): void;
  notification (peer: Peer, notification: Sequenced<DirectPayload>): void;
  broadcast (peer: Peer, message: Sequenced<SyncPayload>): void;
}

/**
 * Checks everything that arrives before anything acts on it: frame shape,
 * size, protocol version, kind, claimed sender, topic. What fails is dropped,
 * counted (on the peer it came from, or as unattributed) and logged once per
 * source and kind.
 */
export class Inbox {
  private readonly logged = new Set<string>();
  /** frames dropped before a peer could be identified (router port) */
  private readonly unattributedCounters = noCounters();
  /** 0mq messages received from the peers' PUB sockets, and the envelopes they carried */
  readonly received = { envelopes: 0, messages: 0 };
  /** this node's topics, for the id they were computed for (a new incarnation has new ones) */
  private topics = { id: '', targeted: new Set<string>() };

  constructor (
    private readonly identity: Identity,
    private readonly peers: { peer (id: string): Peer | undefined },
    private readonly maxMessageSize: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly handlers: InboundHandlers,
  ) {}

  get unattributed (): PeerCounters {
    return { ...this.unattributedCounters };
  }

  /** one 0mq message from a peer's PUB: a topic, then one or more envelopes */
  onFrames (peerId: string, frames: Buffer[]): void {
    this.received.messages++;
    this.received.envelopes += Math.max(0, frames.length - 1);
    const peer = this.peers.peer(peerId);
    if (!peer) {
      return;
    }
    if (frames.length < 2) {
      this.invalid(peer, peerId, new InvalidMessageError('malformed', `expected a topic and envelopes, got ${frames.length} frame(s)`));
      return;
    }
    const topic = frames[0].toString();
    for (let i = 1; i < frames.length && this.peers.peer(peerId) === peer; i++) {
      this.onEnvelope(peer, topic, frames[i]);
    }
  }

  /** a request on the ROUTER: a single-frame hello or replay request, or null (counted) */
  request (frames: Buffer[]): Unsequenced<RouterRequest> | null {
    try {
      if (frames.length !== 1) {
        throw new InvalidMessageError('malformed', `expected 1 frame, got ${frames.length}`);
      }
      const request = decode(frames[0], this.maxMessageSize);
      if (request.t !== 'hello' && request.t !== 'replay') {
        throw new InvalidMessageError('type', `"${request.t}" is not a router request`);
      }
      return request;
    }
    catch (error) {
      this.invalid(undefined, 'router', error as Error);
      return null;
    }
  }

  private onEnvelope (peer: Peer, topic: string, frame: Buffer): void {
    let envelope: Envelope;
    try {
      envelope = decode(frame, this.maxMessageSize, peer.id);
    }
    catch (error) {
      this.invalid(peer, peer.id, error as Error);
      return;
    }
    if (envelope.from !== peer.id) {
      this.invalid(peer, peer.id, new InvalidMessageError('malformed', `sender claims to be ${envelope.from}`));
      return;
    }
    if (isTargeted(envelope) ? !this.isOwnTopic(topic) : topic !== BROADCAST_TOPIC) {
      this.invalid(peer, peer.id, new InvalidMessageError('malformed', `message "${envelope.t}" on topic ${topic}`));
      return;
    }

    peer.heard(this.clock.now());
    debugMessages('%s <- %s %s', this.identity.id, peer.id, envelope.t);

    switch (envelope.t) {
      case 'heartbeat':
        return this.handlers.heartbeat(peer, envelope);
      case 'ack':
        return this.handlers.ack(peer, envelope);
      case 'document':
      case 'user':
        return this.handlers.notification(peer, envelope);
      case 'hello':
      case 'welcome':
      case 'replay':
      case 'replayed':
        return this.invalid(peer, peer.id, new InvalidMessageError('type', `"${envelope.t}" is a router message`));
      default:
        return this.handlers.broadcast(peer, envelope);
    }
  }

  /** targeted messages come on either of this node's own topics: protocol 1's or 2's, as the sender reads */
  private isOwnTopic (topic: string): boolean {
    const id = this.identity.id;
    if (this.topics.id !== id) {
      this.topics = { id, targeted: new Set(targetedTopics(id)) };
    }
    return this.topics.targeted.has(topic);
  }

  /** counts and logs (once per source and kind) a message that failed its checks */
  invalid (peer: Peer | undefined, source: string, error: Error): void {
    if (peer) {
      peer.countInvalid();
    }
    else {
      this.unattributedCounters.invalid++;
    }
    const kind = error instanceof InvalidMessageError ? error.kind : 'malformed';
    const key = `${source}/${kind}`;
    if (!this.logged.has(key)) {
      this.logged.add(key);
      this.log.warn(`dropping invalid message from ${source}: ${error.message} (logged once per source and kind; see status counters)`);
    }
  }
}

/** notifications and acknowledgements go to one node, on its own topic */
function isTargeted (envelope: Envelope): boolean {
  return envelope.t === 'document' || envelope.t === 'user' || envelope.t === 'ack';
}
