/**
 * Fault injection for the integration tests: a transport decorator that
 * loses outbound messages on demand and ignores everything from "cut" peers,
 * installed by the core node harness through ClusterNodeOptions.transport.
 */
import {
  ClusterTransport, FrameHandler, RequestHandler, Transport, TransportFactory, TransportOptions,
} from '../../lib/cluster/transport';
import { decode } from '../../lib/cluster/messages';
import { earlierFrames, earlierHello, earlierTopics } from './earlierRelease';

/** returns true for each outbound message to lose, given its type and topic */
export type LossRule = (type: string, topic: string) => boolean;

export class FaultyTransport implements ClusterTransport {
  private readonly inner: Transport;
  private readonly cutFrom = new Set<string>();
  private loss: LossRule | null = null;
  private deaf = false;
  /** envelopes published, by message type (":compact" appended for compact notifications) */
  readonly publishedTypes: Record<string, number> = {};

  /** @param earlierRelease speak as a release reading protocol 1 only (see earlierRelease.ts) */
  constructor (options: TransportOptions, onFrames: FrameHandler, onRequest: RequestHandler, private readonly earlierRelease = false) {
    this.inner = new Transport(options, (peer, frames) => {
      if (!this.cutFrom.has(peer)) {
        onFrames(peer, earlierRelease ? earlierFrames(frames) : frames);
      }
    }, async frames => (this.deaf ? null : onRequest(frames)));
  }

  /** requests on the ROUTER go unanswered, as from a hung or dead process */
  deafen (deaf: boolean): void {
    this.deaf = deaf;
  }

  /** ignores every frame from these peers from now on, as if the link were cut (replaces the previous cut) */
  cut (peers: string[]): void {
    this.cutFrom.clear();
    for (const peer of peers) {
      this.cutFrom.add(peer);
    }
  }

  lose (rule: LossRule | null): void {
    this.loss = rule;
  }

  publish (topic: string, body: string): void {
    const { compact, type } = typeOf(body);
    if (this.loss && this.loss(type, topic)) {
      return;
    }
    const key = compact ? `${type}:compact` : type;
    this.publishedTypes[key] = (this.publishedTypes[key] || 0) + 1;
    this.inner.publish(topic, body);
  }

  get dropped (): number {
    return this.inner.dropped;
  }

  get sent (): { envelopes: number; messages: number } {
    return this.inner.sent;
  }

  get denied (): number {
    return this.inner.denied;
  }

  bind (): Promise<void> {
    return this.inner.bind();
  }

  setTopics (topics: string[]): void {
    this.inner.setTopics(this.earlierRelease ? earlierTopics(topics) : topics);
  }

  connectPeer (peer: string, pubUrl: string): void {
    this.inner.connectPeer(peer, pubUrl);
  }

  disconnectPeer (peer: string): void {
    this.inner.disconnectPeer(peer);
  }

  request (routerUrl: string, body: string, timeout: number): Promise<Buffer[]> {
    if (!this.earlierRelease) {
      return this.inner.request(routerUrl, body, timeout);
    }
    return this.inner.request(routerUrl, earlierHello(body), timeout).then(earlierFrames);
  }

  drain (timeout: number): Promise<void> {
    return this.inner.drain(timeout);
  }

  close (): void {
    this.inner.close();
  }
}

/** the message type of an envelope this node sent (read by the real codec), and whether it is a compact notification */
function typeOf (body: string): { type: string; compact: boolean } {
  return { compact: body.startsWith('['), type: decode(Buffer.from(body), Number.MAX_SAFE_INTEGER, 'this node').t };
}

/** a factory that also hands over the transport it made, to drive its faults */
export function faultyTransportFactory (made: (transport: FaultyTransport) => void, earlierRelease = false): TransportFactory {
  return (options, onFrames, onRequest) => {
    const transport = new FaultyTransport(options, onFrames, onRequest, earlierRelease);
    made(transport);
    return transport;
  };
}
