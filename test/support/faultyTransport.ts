/**
 * Fault injection for the integration tests: a transport decorator that
 * loses outbound messages on demand and ignores everything from "cut" peers,
 * installed by the core node harness through ClusterNodeOptions.transport.
 */
import {
  ClusterTransport, FrameHandler, RequestHandler, Transport, TransportFactory, TransportOptions,
} from '../../lib/cluster/transport';

/** returns true for each outbound message to lose, given its type and topic */
export type LossRule = (type: string, topic: string) => boolean;

export class FaultyTransport implements ClusterTransport {
  private readonly inner: Transport;
  private readonly cutFrom = new Set<string>();
  private loss: LossRule | null = null;
  private deaf = false;

  constructor (options: TransportOptions, onFrames: FrameHandler, onRequest: RequestHandler) {
    this.inner = new Transport(options, (peer, frames) => {
      if (!this.cutFrom.has(peer)) {
        onFrames(peer, frames);
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
    if (this.loss && this.loss(typeOf(body), topic)) {
      return;
    }
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
    this.inner.setTopics(topics);
  }

  connectPeer (peer: string, pubUrl: string): void {
    this.inner.connectPeer(peer, pubUrl);
  }

  disconnectPeer (peer: string): void {
    this.inner.disconnectPeer(peer);
  }

  request (routerUrl: string, body: string, timeout: number): Promise<Buffer[]> {
    return this.inner.request(routerUrl, body, timeout);
  }

  drain (timeout: number): Promise<void> {
    return this.inner.drain(timeout);
  }

  close (): void {
    this.inner.close();
  }
}

/** the message type of an encoded envelope */
function typeOf (body: string): string {
  const parsed: unknown = JSON.parse(body);
  return typeof parsed === 'object' && parsed !== null && 't' in parsed && typeof parsed.t === 'string' ? parsed.t : '';
}

/** a factory that also hands over the transport it made, to drive its faults */
export function faultyTransportFactory (made: (transport: FaultyTransport) => void): TransportFactory {
  return (options, onFrames, onRequest) => {
    const transport = new FaultyTransport(options, onFrames, onRequest);
    made(transport);
    return transport;
  };
}
