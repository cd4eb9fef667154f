import type { Acks } from './acks';
import type { HostLink } from './host';
import type { Identity } from './identity';
import type { InboundHandlers } from './inbox';
import type { Logger } from './logger';
import { LEFT } from './membership';
import type { Membership } from './membership';
import type { AckMessage, DirectPayload, HeartbeatPayload, Sequenced, SyncPayload, Unsequenced } from './messages';
import type { Peer } from './peer';
import type { Replay } from './replay';
import type { Resync } from './resync';
import type { RoomRegistry } from './roomRegistry';

/**
 * What a peer's checked messages do here: each is put to the peer's
 * ordering, and its verdict applied — delivered, applied, kept, held back
 * behind a replay, or sent to a resync.
 */
export class Delivery implements InboundHandlers {
  constructor (
    private readonly identity: Identity,
    private readonly membership: Membership,
    private readonly registry: RoomRegistry,
    private readonly host: HostLink,
    private readonly acks: Acks,
    private readonly resync: Resync,
    private readonly replay: Replay,
    private readonly log: Logger,
  ) {}

  heartbeat (peer: Peer, heartbeat: Unsequenced<HeartbeatPayload>): void {
    const verdict = peer.onHeartbeat(heartbeat, this.identity.id);
    if (verdict.kind === 'first') {
      void this.resync.peer(peer, 'join');
      return;
    }
    if (verdict.missingNotifications) {
      void this.replay.recover(peer, verdict.missingNotifications);
    }
    if (verdict.missedBroadcasts > 0) {
      this.log.warn(`lost the last ${verdict.missedBroadcasts} message(s) from ${peer.id}: resynchronizing`);
      void this.resync.peer(peer, 'gap');
    }
  }

  ack (peer: Peer, ack: Unsequenced<AckMessage>): void {
    this.acks.onAck(peer.id, ack.of);
  }

  notification (peer: Peer, notification: Sequenced<DirectPayload>): void {
    const verdict = peer.onNotification(notification);
    if (verdict.kind === 'deliver') {
      void this.host.onNotification(peer.id, notification);
    }
    else if (verdict.kind === 'recover') {
      void this.replay.recover(peer, verdict.missing);
    }
  }

  broadcast (peer: Peer, message: Sequenced<SyncPayload>): void {
    const verdict = peer.onBroadcast(message);
    if (verdict.kind === 'gap') {
      this.log.warn(`message(s) ${verdict.from}..${verdict.to} from ${peer.id} lost: resynchronizing`);
      void this.resync.peer(peer, 'gap');
    }
    else if (verdict.kind === 'apply') {
      this.apply(peer, message);
    }
  }

  /** applies a peer's state message, in its order */
  apply (peer: Peer, message: Sequenced<SyncPayload>): void {
    switch (message.t) {
      case 'room':
        this.host.roomsChanged(this.registry.set(peer.id, message.room, message.count, message.filter || null));
        this.acks.acknowledge(peer.id, message);
        return;
      case 'leave':
        this.membership.forget(peer, LEFT);
        return;
      case 'evicted': {
        const evicted = this.membership.peer(message.node);
        if (evicted) {
          this.membership.forget(evicted, { cause: 'evicted_by_peer', detail: `evicted by ${peer.id}` });
        }
        else if (message.node === this.identity.id) {
          // Redis tells whether it is true
          void this.membership.heartbeat();
        }
        return;
      }
      case 'reset':
        void this.resync.all();
        return;
      default:
        void this.host.onSync(peer.id, message).then(() => this.acks.acknowledge(peer.id, message));
    }
  }
}
