import { Dealer, Publisher, Router, Subscriber, Socket } from 'zeromq';
import createDebug from 'debug';

import type { CurveConfig } from '../config';
import { ZapHandler } from './zap';

const debug = createDebug('kuzzle:cluster:transport');

export interface TransportOptions {
  pubUrl: string;
  routerUrl: string;
  highWaterMark: number;
  maxMessageSize: number;
  curve: CurveConfig | null;
}

/** one 0mq message received from a peer's PUB socket: [topic, envelope, envelope…] */
export type FrameHandler = (peer: string, frames: Buffer[]) => void;
/** answers a router request with the frames of its reply; null sends none */
export type RequestHandler = (frames: Buffer[]) => Promise<string[] | null>;

export class RequestTimeoutError extends Error {
  constructor (url: string, timeout: number) {
    super(`no answer from ${url} within ${timeout} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** What the core needs of its transport; tests decorate it to inject faults */
export interface ClusterTransport {
  readonly dropped: number;
  readonly sent: { envelopes: number; messages: number };
  readonly denied: number;
  bind (): Promise<void>;
  publish (topic: string, body: string): void;
  setTopics (topics: string[]): void;
  connectPeer (peer: string, pubUrl: string): void;
  disconnectPeer (peer: string): void;
  request (routerUrl: string, body: string, timeout: number): Promise<Buffer[]>;
  drain (timeout: number): Promise<void>;
  close (): void;
}

export type TransportFactory = (options: TransportOptions, onFrames: FrameHandler, onRequest: RequestHandler) => ClusterTransport;

interface Outbound {
  topic: string;
  body: string;
}

/** bounds of one batch: consecutive envelopes of one topic sent as one multipart 0mq message */
const BATCH_ENVELOPES = 64;
const BATCH_CHARS = 64 * 1024;

/**
 * 0mq sockets: one PUB (broadcast and per-node topics), one ROUTER (requests
 * from peers), one SUB per peer (so the sender of a frame is known from the
 * socket it came from), and short-lived DEALERs for requests.
 *
 * Envelopes are sent once per event-loop turn (setImmediate): consecutive
 * ones with the same topic leave as one multipart message
 * [topic, envelope, envelope…], which keeps their order and saves a 0mq
 * send, a wake-up of 0mq's I/O thread and a receive per envelope under
 * load. On a quiet node a turn holds one envelope, sent alone.
 */
export class Transport implements ClusterTransport {
  private readonly pub: Publisher;
  private readonly router: Router;
  private readonly subscribers = new Map<string, Subscriber>();
  /** outbound envelopes; those before `head` are sent */
  private queue: Outbound[] = [];
  private head = 0;
  private sending = false;
  private closed = false;
  /** topics subscribed to on every peer: broadcast + this node's own */
  private topics: string[] = [];
  /** envelopes dropped because the outbound queue was full */
  dropped = 0;
  /** envelopes and 0mq messages published (their ratio is the batching) */
  readonly sent = { envelopes: 0, messages: 0 };
  private zap: ZapHandler | null = null;

  constructor (
    private readonly options: TransportOptions,
    private readonly onFrames: FrameHandler,
    private readonly onRequest: RequestHandler,
  ) {
    // a short linger lets a leaving node's last messages reach its peers
    this.pub = new Publisher({ linger: 500, sendHighWaterMark: options.highWaterMark });
    this.router = new Router({
      linger: 0,
      maxMessageSize: options.maxMessageSize,
      receiveHighWaterMark: options.highWaterMark,
    });
    this.secureServer(this.pub);
    this.secureServer(this.router);
  }

  private secureServer (socket: Socket): void {
    if (this.options.curve) {
      socket.zapDomain = 'kuzzle-cluster';
      socket.curveServer = true;
      socket.curveSecretKey = this.options.curve.secretKey;
      socket.curvePublicKey = this.options.curve.publicKey;
    }
  }

  private secureClient (socket: Socket): void {
    if (this.options.curve) {
      socket.curveServerKey = this.options.curve.publicKey;
      socket.curvePublicKey = this.options.curve.publicKey;
      socket.curveSecretKey = this.options.curve.secretKey;
    }
  }

  async bind (): Promise<void> {
    if (this.options.curve && !this.zap) {
      this.zap = new ZapHandler(this.options.curve.publicKey);
      await this.zap.start();
    }
    await this.pub.bind(this.options.pubUrl);
    await this.router.bind(this.options.routerUrl);
    void this.serveRequests();
  }

  private async serveRequests (): Promise<void> {
    try {
      for await (const [identity, ...frames] of this.router) {
        this.onRequest(frames)
          .then(reply => {
            if (reply && !this.closed) {
              return this.router.send([identity, ...reply]);
            }
            return undefined;
          })
          .catch(error => debug('router reply failed: %s', (error as Error).message));
      }
    }
    catch (error) {
      if (!this.closed) {
        debug('router receive loop ended: %s', (error as Error).message);
      }
    }
  }

  /** Bounded outbound queue: beyond the high-water mark, envelopes are dropped and counted. */
  publish (topic: string, body: string): void {
    if (this.closed) {
      return;
    }
    if (this.queued >= this.options.highWaterMark) {
      this.dropped++;
      return;
    }
    this.queue.push({ body, topic });
    if (!this.sending) {
      this.sending = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush (): Promise<void> {
    try {
      while (this.head < this.queue.length && !this.closed) {
        const batch = this.nextBatch();
        this.sent.messages++;
        this.sent.envelopes += batch.length - 1;
        await this.pub.send(batch);
      }
    }
    catch (error) {
      debug('publish failed: %s', (error as Error).message);
    }
    finally {
      this.sending = false;
    }
  }

  private nextBatch (): string[] {
    const { topic } = this.queue[this.head];
    const frames = [topic];
    let chars = 0;

    while (this.head < this.queue.length && frames.length <= BATCH_ENVELOPES && chars < BATCH_CHARS) {
      const next = this.queue[this.head];
      if (next.topic !== topic) {
        break;
      }
      frames.push(next.body);
      chars += next.body.length;
      this.head++;
    }

    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    else if (this.head >= 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return frames;
  }

  /** applies to peers connected from now on */
  setTopics (topics: string[]): void {
    this.topics = topics;
  }

  connectPeer (peer: string, pubUrl: string): void {
    if (this.closed || this.subscribers.has(peer)) {
      return;
    }

    // no 0mq maxMessageSize here: on a connecting socket, an oversized frame is
    // a protocol error that ends the connection for good (libzmq does not
    // reconnect), deafening this node to a live member. The inbox drops and
    // counts oversized envelopes instead; the peer is a member from Redis.
    const sub = new Subscriber({
      linger: 0,
      receiveHighWaterMark: this.options.highWaterMark,
    });
    this.secureClient(sub);
    sub.connect(pubUrl);
    sub.subscribe(...this.topics);
    this.subscribers.set(peer, sub);
    debug('subscribed to %s (%s)', peer, pubUrl);

    void (async () => {
      try {
        for await (const frames of sub) {
          this.onFrames(peer, frames);
        }
      }
      catch (error) {
        if (!sub.closed) {
          debug('receive loop for %s ended: %s', peer, (error as Error).message);
        }
      }
    })();
  }

  disconnectPeer (peer: string): void {
    const sub = this.subscribers.get(peer);
    if (sub) {
      this.subscribers.delete(peer);
      sub.close();
      debug('unsubscribed from %s', peer);
    }
  }

  /** One request to a peer's ROUTER; resolves with the frames of its reply. */
  async request (routerUrl: string, body: string, timeout: number): Promise<Buffer[]> {
    const dealer = new Dealer({ linger: 0, receiveTimeout: timeout, sendTimeout: timeout });
    this.secureClient(dealer);
    dealer.connect(routerUrl);

    try {
      await dealer.send(body);
      return await dealer.receive();
    }
    catch (error) {
      if ((error as { code?: string }).code === 'EAGAIN') {
        throw new RequestTimeoutError(routerUrl, timeout);
      }
      throw error;
    }
    finally {
      dealer.close();
    }
  }

  close (): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    for (const peer of Array.from(this.subscribers.keys())) {
      this.disconnectPeer(peer);
    }
    this.pub.close();
    this.router.close();
    this.zap?.close();
  }

  /** connections refused for not presenting the cluster's CURVE key */
  get denied (): number {
    return this.zap ? this.zap.denied : 0;
  }

  /** Waits until queued messages are handed to 0mq (bounded), e.g. before leaving. */
  async drain (timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    while ((this.queued > 0 || this.sending) && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 5));
    }
  }

  get queued (): number {
    return this.queue.length - this.head;
  }
}
