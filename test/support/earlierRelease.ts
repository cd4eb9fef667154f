/**
 * Makes a core node process behave, on the wire, like a release of this
 * plugin that reads protocol 1 only (before compact notifications): it
 * announces no protocol (hello, node info in Redis), knows nothing of its
 * peers' (so sends them protocol 1 only), subscribes to its protocol-1
 * topic only, and refuses compact frames as such a release does (not an
 * object envelope: malformed). Lets the integration tests run a mixed
 * cluster, as during a rolling upgrade.
 */
import { Identity } from '../../lib/cluster/identity';
import { Membership } from '../../lib/cluster/membership';
import type { NodeInfo } from '../../lib/cluster/state';
import { BROADCAST_TOPIC, nodeTopic } from '../../lib/cluster/messages';

function withoutProtocol (info: NodeInfo): NodeInfo {
  const { protocol, ...rest } = info;
  void protocol;
  return rest;
}

/**
 * Node info as an earlier release has it: none for itself (registered in
 * Redis), none for its peers (every peer is added through Membership.add,
 * from Redis or from its hello).
 */
export function forgetProtocols (): void {
  const info = Object.getOwnPropertyDescriptor(Identity.prototype, 'info')?.get;
  const add = Object.getOwnPropertyDescriptor(Membership.prototype, 'add')?.value as Membership['add'] | undefined;
  if (!info || !add) {
    throw new Error('Identity.prototype.info or Membership.prototype.add changed shape: update this test seam');
  }
  Object.defineProperty(Identity.prototype, 'info', {
    configurable: true,
    get (this: Identity): NodeInfo {
      return withoutProtocol(info.call(this) as NodeInfo);
    },
  });
  Object.defineProperty(Membership.prototype, 'add', {
    configurable: true,
    value (this: Membership, peer: NodeInfo) {
      return add.call(this, withoutProtocol(peer));
    },
    writable: true,
  });
}

/** the topics an earlier release subscribes to: the broadcast and `N<id>` */
export function earlierTopics (topics: string[]): string[] {
  return topics.filter(topic => topic === BROADCAST_TOPIC || topic.startsWith(nodeTopic('')));
}

/** a hello body without the `protocol` field */
export function earlierHello (body: string): string {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  if (parsed.t !== 'hello') {
    return body;
  }
  delete parsed.protocol;
  return JSON.stringify(parsed);
}

/**
 * An earlier release's decode takes only JSON objects: a compact (array)
 * frame, from a peer's PUB or in a replay reply, becomes one it refuses the
 * same way. (No topic starts with "[".)
 */
export function earlierFrames (frames: Buffer[]): Buffer[] {
  return frames.map(frame => (frame[0] === 0x5b /* [ */ ? Buffer.from('"compact frame"') : frame));
}
