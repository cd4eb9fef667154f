/**
 * Fakes for the unit tests of lib/cluster: a transport that records what
 * the core sends and lets the test deliver frames and requests, a logger
 * that keeps its lines, and a StateStore that never connects (its methods
 * are stubbed by each test).
 */
import sinon from 'sinon';

import { loadConfig } from '../../lib/config';
import type { ClusterConfig } from '../../lib/config';
import { StateStore } from '../../lib/cluster/state';
import type { NodeInfo } from '../../lib/cluster/state';
import type { Logger } from '../../lib/cluster/logger';
import type {
  ClusterTransport, FrameHandler, RequestHandler, TransportFactory, TransportOptions,
} from '../../lib/cluster/transport';

export interface Published {
  topic: string;
  /** the envelope, parsed */
  message: Record<string, unknown>;
}

export interface SentRequest {
  routerUrl: string;
  message: Record<string, unknown>;
  timeout: number;
}

/** how the fake answers a request: frames, or an error */
export type RequestAnswer = (request: SentRequest) => Promise<Buffer[]>;

/** A transport without sockets: everything sent is recorded, nothing leaves */
export class FakeTransport implements ClusterTransport {
  readonly published: Published[] = [];
  readonly requests: SentRequest[] = [];
  readonly connected = new Map<string, string>();
  readonly disconnected: string[] = [];
  readonly topicsSet: string[][] = [];
  dropped = 0;
  denied = 0;
  readonly sent = { envelopes: 0, messages: 0 };
  bound = false;
  closed = false;
  drained = 0;
  /** what bind() does (tests make it fail) */
  bindResult: () => Promise<void> = async () => undefined;
  answer: RequestAnswer = async () => [];

  constructor (
    readonly options: TransportOptions | null = null,
    readonly onFrames: FrameHandler = () => undefined,
    readonly onRequest: RequestHandler = async () => null,
  ) {}

  async bind (): Promise<void> {
    await this.bindResult();
    this.bound = true;
  }

  publish (topic: string, body: string): void {
    this.sent.envelopes++;
    this.sent.messages++;
    this.published.push({ message: JSON.parse(body) as Record<string, unknown>, topic });
  }

  setTopics (topics: string[]): void {
    this.topicsSet.push([...topics]);
  }

  connectPeer (peer: string, pubUrl: string): void {
    this.connected.set(peer, pubUrl);
  }

  disconnectPeer (peer: string): void {
    this.connected.delete(peer);
    this.disconnected.push(peer);
  }

  request (routerUrl: string, body: string, timeout: number): Promise<Buffer[]> {
    const request = { message: JSON.parse(body) as Record<string, unknown>, routerUrl, timeout };
    this.requests.push(request);
    return this.answer(request);
  }

  async drain (): Promise<void> {
    this.drained++;
  }

  close (): void {
    this.closed = true;
  }

  /** the messages published so far of type `t` */
  ofType (t: string): Published[] {
    return this.published.filter(p => p.message.t === t);
  }

  /** a 0mq message from `peer`'s PUB socket: a topic, then envelopes */
  deliver (peer: string, topic: string, ...envelopes: string[]): void {
    this.onFrames(peer, [Buffer.from(topic), ...envelopes.map(e => Buffer.from(e))]);
  }
}

/** a factory handing over each transport it makes */
export function fakeTransportFactory (made: (transport: FakeTransport) => void): TransportFactory {
  return (options, onFrames, onRequest) => {
    const transport = new FakeTransport(options, onFrames, onRequest);
    made(transport);
    return transport;
  };
}

/** a logger keeping its lines, by level */
export class RecordingLog implements Logger {
  readonly lines: Array<{ level: 'info' | 'warn' | 'error'; message: string }> = [];

  info (message: string): void {
    this.lines.push({ level: 'info', message });
  }

  warn (message: string): void {
    this.lines.push({ level: 'warn', message });
  }

  error (message: string): void {
    this.lines.push({ level: 'error', message });
  }

  at (level: 'info' | 'warn' | 'error'): string[] {
    return this.lines.filter(l => l.level === level).map(l => l.message);
  }
}

/**
 * A StateStore that never connects (lazy ioredis client, no offline queue):
 * stub the methods a test needs; any other call fails at once.
 */
export function offlineStore (): StateStore {
  return new StateStore({ mode: 'standalone', options: { host: '127.0.0.1', port: 1 } }, 'unit-test');
}

/** releases the (never connected) client of an offline store */
export function dropStore (store: StateStore): void {
  store.client.disconnect();
}

export function nodeInfo (id: string, port = 1): NodeInfo {
  return { id, pub: `tcp://127.0.0.1:${7000 + port}`, router: `tcp://127.0.0.1:${8000 + port}`, startedAt: 1, version: 'test' };
}

/** a valid configuration bound to loopback, with `overrides` merged in (raw plugin configuration) */
export function unitConfig (overrides: Record<string, unknown> = {}): ClusterConfig {
  return loadConfig({
    bindings: { pub: 'tcp://127.0.0.1:17511', router: 'tcp://127.0.0.1:17510' },
    redis: { host: '127.0.0.1', port: 1 },
    ...overrides,
  });
}

/** a stub typed as the method it replaces */
export type StubOf<F extends (...args: never[]) => unknown> = sinon.SinonStub<Parameters<F>, ReturnType<F>>;
