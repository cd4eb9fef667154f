import { v4 as uuid } from 'uuid';
import createDebug from 'debug';

import type { HostLink } from './host';
import type { Identity } from './identity';
import type { Inbox } from './inbox';
import { InvalidMessageError } from './invalid';
import type { Logger } from './logger';
import type { Membership } from './membership';
import {
  DirectPayload, ReplayReply, ReplayRequest, Sequenced, Unsequenced, decode, encode,
} from './messages';
import type { Missing, Peer } from './peer';
import type { ReplayBuffer } from './replayBuffer';
import type { Resync } from './resync';
import type { ClusterTransport } from './transport';

const debug = createDebug('kuzzle:cluster:replay');

/**
 * Bytes of notifications in one replay reply (at least one notification):
 * a longer range comes in several replies, each well within the hold-back
 * bound even on a loaded host (12 MB in one reply took 0.5-0.75 s there).
 */
export const REPLY_BYTES = 1024 * 1024;

export interface ReplayOptions {
  identity: Identity;
  transport: ClusterTransport;
  membership: Membership;
  buffer: ReplayBuffer;
  inbox: Inbox;
  host: HostLink;
  resync: Resync;
  log: Logger;
  maxMessageSize: number;
  /** ms a receiver waits for a replay, holding back the peer's later notifications */
  holdBack: number;
}

/**
 * Lost notifications, sent again: a receiver that sees a gap in a peer's
 * notifications asks it (ROUTER/DEALER) for exactly the missing range,
 * holding back the later ones meanwhile, then delivers everything in order.
 * What the peer no longer keeps is counted as lost, as is what a replay
 * that fails or takes longer than the hold-back bound would have brought.
 */
export class Replay {
  constructor (private readonly options: ReplayOptions) {}

  /**
   * Asks `peer` for the missing notifications, then releases what it held
   * back. A reply carries at most REPLY_BYTES: one that stops short of the
   * range settles what it covers, and the rest is asked for at once (each
   * request waits at most `holdBack`).
   */
  async recover (peer: Peer, missing: Missing): Promise<void> {
    const { host, holdBack, identity, log, membership, resync, transport } = this.options;
    const request: ReplayRequest = { first: missing.first, id: uuid(), last: missing.last, t: 'replay' };
    let replayed: Array<Sequenced<DirectPayload>> = [];
    const asked = Date.now();
    // a peer gone meanwhile will not answer: what it sent is released without waiting
    if (membership.isCurrent(peer)) {
      try {
        const frames = await transport.request(peer.info.router, encode(identity.id, request), holdBack);
        replayed = this.replayedOf(peer, request, frames);
        debug('replay %d..%d from %s: %d in %d ms', missing.first, missing.last, peer.id, replayed.length, Date.now() - asked);
      }
      catch (error) {
        debug('replay %d..%d from %s: %s', missing.first, missing.last, peer.id, (error as Error).message);
      }
    }

    // the sender keeps the newest: a reply ending before the range does was cut by its size
    const partial = replayed.length > 0 && replayed[replayed.length - 1].seq < missing.last;
    const { again, deliver, lost } = peer.endRecovery(replayed, partial);
    for (const message of deliver) {
      void host.onNotification(peer.id, message);
    }
    if (lost > 0) {
      log.warn(`${lost} notification(s) from ${peer.id} were lost (slow or dropped link) and could not be replayed: resynchronizing`);
      void resync.peer(peer, 'gap');
    }
    if (again) {
      await this.recover(peer, again);
    }
  }

  /** the notifications of a reply, each checked like any other; invalid ones are counted and dropped */
  private replayedOf (peer: Peer, request: ReplayRequest, frames: Buffer[]): Array<Sequenced<DirectPayload>> {
    const { inbox, maxMessageSize } = this.options;
    const header = frames.length > 0 ? decode(frames[0], maxMessageSize) : null;
    if (!header || header.t !== 'replayed' || header.id !== request.id || header.from !== peer.id || header.count !== frames.length - 1) {
      throw new InvalidMessageError('malformed', 'replay reply does not match its request');
    }
    const replayed: Array<Sequenced<DirectPayload>> = [];
    for (const frame of frames.slice(1)) {
      try {
        const envelope = decode(frame, maxMessageSize, peer.id);
        if ((envelope.t !== 'document' && envelope.t !== 'user') || envelope.from !== peer.id
          || envelope.seq < request.first || envelope.seq > request.last) {
          throw new InvalidMessageError('malformed', `replayed "${envelope.t}" is not one of the notifications asked for`);
        }
        replayed.push(envelope);
      }
      catch (error) {
        inbox.invalid(peer, peer.id, error as Error);
      }
    }
    return replayed;
  }

  /** a replay request on this node's ROUTER: what is still kept for the asking peer */
  answer (request: Unsequenced<ReplayRequest>): string[] {
    const { buffer, identity, membership } = this.options;
    // only a peer gets its own stream
    const kept = membership.peer(request.from) ? buffer.range(request.from, request.first, request.last, REPLY_BYTES) : [];
    const reply: ReplayReply = { count: kept.length, id: request.id, t: 'replayed' };
    return [encode(identity.id, reply), ...kept];
  }
}
