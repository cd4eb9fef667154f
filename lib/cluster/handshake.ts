import { v4 as uuid } from 'uuid';
import createDebug from 'debug';

import type { Timers } from '../config';
import { Clock, sleep } from './clock';
import type { Identity } from './identity';
import type { Membership } from './membership';
import { HelloReply, HelloRequest, READS_PROTOCOL, Unsequenced, encode } from './messages';
import type { Outbox } from './outbox';
import type { Peer } from './peer';
import type { ClusterTransport } from './transport';

const debug = createDebug('kuzzle:cluster:handshake');

/** a hello is repeated this often (or every heartbeat if shorter) until the first heartbeat arrives */
const HELLO_RETRY_MS = 200;

export interface HandshakeOptions {
  identity: Identity;
  timers: Timers;
  transport: ClusterTransport;
  outbox: Outbox;
  membership: Membership;
  clock: Clock;
  isJoined: () => boolean;
  isReady: () => boolean;
}

/**
 * hello / welcome over ROUTER / DEALER: a hello makes a peer connect back
 * (if it did not know this node yet) and send a heartbeat at once, which
 * gives the baseline of its sequence numbers.
 */
export class Handshake {
  constructor (private readonly options: HandshakeOptions) {}

  /** says hello until the peer's first heartbeat, for at most timers.discoverTimeout */
  async greet (peer: Peer): Promise<void> {
    const { clock, identity, membership, timers, transport } = this.options;
    const { pub, router } = identity.info;
    const hello: HelloRequest = { id: uuid(), protocol: READS_PROTOCOL, pub, router, t: 'hello' };
    const deadline = clock.now() + timers.discoverTimeout;

    while (peer.greeting && membership.isCurrent(peer) && clock.now() < deadline) {
      try {
        await transport.request(peer.info.router, encode(identity.id, hello), timers.discoverTimeout);
      }
      catch (error) {
        debug('hello to %s: %s', peer.id, (error as Error).message);
      }
      await Promise.race([peer.greeted, sleep(clock, Math.min(HELLO_RETRY_MS, timers.heartbeat))]);
    }
    if (peer.greeting) {
      // its first heartbeat starts the resync, or it gets evicted if its Redis key expires too
      debug('no heartbeat yet from %s', peer.id);
    }
  }

  /** a hello on this node's ROUTER: the reply */
  answer (hello: Unsequenced<HelloRequest>): string[] {
    const { identity, isJoined, isReady, membership, outbox } = this.options;
    if (hello.from !== identity.id && !membership.peer(hello.from) && isJoined()) {
      // unknown yet: only a registered member becomes a peer (checked by its snapshot)
      membership.add({
        id: hello.from, protocol: hello.protocol, pub: hello.pub, router: hello.router, startedAt: 0, version: '',
      });
    }
    outbox.heartbeat(isReady());
    const reply: HelloReply = { id: hello.id, t: 'welcome' };
    return [encode(identity.id, reply)];
  }
}
