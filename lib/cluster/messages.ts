import { createHash } from 'crypto';

import { COMPACT_VERSION, decodeCompact } from './compact';
import { InvalidMessageError, Obj, fail, isObj } from './invalid';

/**
 * Wire protocol between cluster nodes.
 *
 * Every frame body is a JSON envelope {v, t, from, ...}, but for compact
 * notifications (compact.ts). PUB/SUB messages are [topic, body, body…]; topic
 * "B" reaches every peer, a node topic only that node. Router requests are
 * single-part bodies.
 */

/** the version of object envelopes: every node reads them */
export const PROTOCOL_VERSION = 1;
/** the newest protocol this node reads */
export const READS_PROTOCOL = COMPACT_VERSION;

export const BROADCAST_TOPIC = 'B';

/** a node's topic for senders of protocol 1 */
export function nodeTopic (nodeId: string): string {
  return `N${nodeId}`;
}

/**
 * A node's topic for senders of protocol 2: 17 bytes instead of 37 on every
 * notification. 96 bits of a digest of the node id; topics of equal length
 * never match as prefixes of each other, and two nodes sharing one is as
 * unlikely as two random node ids colliding.
 */
export function compactTopic (nodeId: string): string {
  return `n${createHash('sha256').update(nodeId).digest('base64').slice(0, 16)}`;
}

/** the topics of messages to one node: senders use the one of the protocol the node reads */
export function targetedTopics (nodeId: string): string[] {
  return [nodeTopic(nodeId), compactTopic(nodeId)];
}

/** what a node subscribes to on every peer */
export function ownTopics (nodeId: string): string[] {
  return [BROADCAST_TOPIC, ...targetedTopics(nodeId)];
}

/** the newest protocol a peer reads, from its hello or node info: 1 when it does not say */
export function readsProtocol (announced: unknown): number {
  return typeof announced === 'number' && Number.isSafeInteger(announced) && announced >= 1 ? announced : PROTOCOL_VERSION;
}

export interface RoomFilter {
  index: string;
  collection: string;
  /** Koncorde normalized filters */
  filters: unknown[];
}

/** The few request fields a notification needs to be rebuilt on a peer */
export interface NotificationRequest {
  data: {
    requestId?: string;
    timestamp?: number;
    volatile?: Record<string, unknown> | null;
    index?: string;
    collection?: string;
    controller?: string;
    action?: string;
    _id?: string | null;
  };
  options: {
    connection?: { id?: string | null; protocol?: string | null };
  };
}

// ---------------------------------------------------------------------------
// broadcast stream (sequenced per sender)

export interface RoomMessage { t: 'room'; room: string; count: number; filter?: RoomFilter }
export interface StorageMessage {
  t: 'storage';
  op: 'add' | 'remove';
  scope: 'public' | 'private';
  index: string;
  collection?: string;
}
export interface SecurityMessage { t: 'security'; kind: 'profile' | 'role' | 'all'; id?: string }
export interface ValidatorsMessage { t: 'validators' }
export interface StrategyMessage {
  t: 'strategy';
  op: 'add' | 'remove';
  name: string;
  pluginName: string;
  strategy?: Record<string, unknown>;
}
export interface AppEventMessage { t: 'app'; event: string; payload: unknown }
export interface DumpMessage { t: 'dump'; suffix: string }
export interface ShutdownMessage { t: 'shutdown' }
export interface ResetMessage { t: 'reset' }
export interface LeaveMessage { t: 'leave' }
export interface EvictedMessage { t: 'evicted'; node: string }

/** the core's own state messages */
export type ControlPayload = RoomMessage | ResetMessage | LeaveMessage | EvictedMessage;

/** state messages the core relays to its host (Kuzzle) */
export type HostPayload =
  | StorageMessage | SecurityMessage | ValidatorsMessage | StrategyMessage
  | AppEventMessage | DumpMessage | ShutdownMessage;

export type SyncPayload = ControlPayload | HostPayload;

/** not sequenced: carries the sender's high-water marks */
export interface HeartbeatPayload {
  t: 'heartbeat';
  /** last broadcast sequence number sent */
  seq: number;
  /** last targeted sequence number sent to each node */
  direct: Record<string, number>;
  ready: boolean;
}

// ---------------------------------------------------------------------------
// targeted stream (sequenced per sender and destination)

export interface DocumentNotificationMessage {
  t: 'document';
  rooms: string[];
  request: NotificationRequest;
  scope: string;
  action: string;
  content: unknown;
}

export interface UserNotificationMessage {
  t: 'user';
  room: string;
  request: NotificationRequest;
  scope: string;
  content: unknown;
}

export type DirectPayload = DocumentNotificationMessage | UserNotificationMessage;

/** targeted, not sequenced: "I applied your broadcast messages numbered `of`" (coalesced per event-loop turn) */
export interface AckMessage { t: 'ack'; of: number[] }

// ---------------------------------------------------------------------------
// router requests / replies

export interface HelloRequest {
  t: 'hello';
  id: string;
  pub: string;
  router: string;
  /** the newest protocol the sender reads (absent before protocol 2) */
  protocol?: number;
}
export interface HelloReply { t: 'welcome'; id: string }
/** "send me again your notifications to me numbered first..last" */
export interface ReplayRequest { t: 'replay'; id: string; first: number; last: number }
/** followed by `count` frames: the envelopes still kept, as they were first sent, in order */
export interface ReplayReply { t: 'replayed'; id: string; count: number }

export type RouterRequest = HelloRequest | ReplayRequest;
export type RouterReply = HelloReply | ReplayReply;

export type Payload = SyncPayload | HeartbeatPayload | DirectPayload | AckMessage | RouterRequest | RouterReply;
export type MessageKind = Payload['t'];

/** `ack`: the sender waits for every peer to acknowledge this message */
export interface EnvelopeFields { v: number; from: string; ack?: boolean }
/** a message numbered in its sender's broadcast stream, or in its stream to one node */
export type Sequenced<P extends SyncPayload | DirectPayload> = EnvelopeFields & P & { seq: number };
export type Unsequenced<P extends HeartbeatPayload | AckMessage | RouterRequest | RouterReply> = EnvelopeFields & P;
/** what decode() returns: a valid envelope of a known kind */
export type Envelope =
  | Sequenced<SyncPayload> | Sequenced<DirectPayload>
  | Unsequenced<HeartbeatPayload> | Unsequenced<AckMessage>
  | Unsequenced<HelloRequest> | Unsequenced<HelloReply> | Unsequenced<ReplayRequest> | Unsequenced<ReplayReply>;

/**
 * A string, not a Buffer: zeromq.js copies a string once and frees it on its
 * I/O thread, while it keeps a reference to a Buffer over 128 bytes, to be
 * released later on the main thread (and Buffer.from would copy it first).
 */
export function encode (from: string, payload: Payload, seq?: number, ack = false): string {
  const envelope: Record<string, unknown> = { v: PROTOCOL_VERSION, from, ...payload };
  if (seq !== undefined) {
    envelope.seq = seq;
  }
  if (ack) {
    envelope.ack = true;
  }
  return JSON.stringify(envelope);
}

/**
 * A notification whose content was encoded once (`content` is that JSON) for
 * every node it goes to: only its rooms and sequence number differ.
 */
export function encodeNotification (from: string, payload: DirectPayload, seq: number, content: string | undefined): string {
  const head = JSON.stringify({ ...payload, content: undefined, from, seq, v: PROTOCOL_VERSION });
  return content === undefined ? head : `${head.slice(0, -1)},"content":${content}}`;
}

// ---------------------------------------------------------------------------
// validation

function str (o: Obj, key: string, optional = false): void {
  if (optional && o[key] === undefined) {
    return;
  }
  if (typeof o[key] !== 'string' || (o[key] as string).length === 0) {
    fail(`field "${key}" must be a non-empty string`);
  }
}

function nat (o: Obj, key: string): void {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(`field "${key}" must be a non-negative integer`);
  }
}

function oneOf (o: Obj, key: string, allowed: string[]): void {
  if (!allowed.includes(o[key] as string)) {
    fail(`field "${key}" must be one of ${allowed.join(', ')}`);
  }
}

function roomFilter (value: unknown): void {
  if (!isObj(value)) {
    fail('field "filter" must be an object');
  }
  str(value, 'index');
  str(value, 'collection');
  if (!Array.isArray(value.filters)) {
    fail('field "filter.filters" must be an array');
  }
}

function notificationRequest (value: unknown): void {
  if (!isObj(value) || !isObj(value.data) || !isObj(value.options)) {
    fail('field "request" must be {data, options}');
  }
}

/** one per message kind: a new kind without a validator does not compile */
const validators: { readonly [K in MessageKind]: (o: Obj) => void } = {
  ack: o => {
    if (!Array.isArray(o.of) || o.of.length === 0 || !o.of.every(n => Number.isSafeInteger(n) && n > 0)) {
      fail('field "of" must be a non-empty array of positive integers');
    }
  },
  app: o => str(o, 'event'),
  document: o => {
    if (!Array.isArray(o.rooms) || !o.rooms.every(r => typeof r === 'string')) {
      fail('field "rooms" must be an array of strings');
    }
    notificationRequest(o.request);
    str(o, 'scope');
    str(o, 'action');
  },
  dump: o => {
    if (typeof o.suffix !== 'string') {
      fail('field "suffix" must be a string');
    }
  },
  evicted: o => str(o, 'node'),
  heartbeat: o => {
    nat(o, 'seq');
    if (!isObj(o.direct) || !Object.values(o.direct).every(n => Number.isSafeInteger(n))) {
      fail('field "direct" must map node ids to integers');
    }
    if (typeof o.ready !== 'boolean') {
      fail('field "ready" must be a boolean');
    }
  },
  hello: o => {
    str(o, 'id');
    str(o, 'pub');
    str(o, 'router');
    if (o.protocol !== undefined && readsProtocol(o.protocol) !== o.protocol) {
      fail('field "protocol" must be a positive integer');
    }
  },
  leave: () => undefined,
  replay: o => {
    str(o, 'id');
    nat(o, 'first');
    nat(o, 'last');
    if ((o.first as number) < 1 || (o.last as number) < (o.first as number)) {
      fail('fields "first".."last" must be a range of positive integers');
    }
  },
  replayed: o => {
    str(o, 'id');
    nat(o, 'count');
  },
  reset: () => undefined,
  room: o => {
    str(o, 'room');
    nat(o, 'count');
    if (o.count !== 0 || o.filter !== undefined) {
      roomFilter(o.filter);
    }
  },
  security: o => {
    oneOf(o, 'kind', ['profile', 'role', 'all']);
    str(o, 'id', true);
  },
  shutdown: () => undefined,
  storage: o => {
    oneOf(o, 'op', ['add', 'remove']);
    oneOf(o, 'scope', ['public', 'private']);
    str(o, 'index');
    str(o, 'collection', true);
  },
  strategy: o => {
    oneOf(o, 'op', ['add', 'remove']);
    str(o, 'name');
    str(o, 'pluginName');
    if (o.op === 'add' && !isObj(o.strategy)) {
      fail('field "strategy" must be an object');
    }
  },
  user: o => {
    str(o, 'room');
    notificationRequest(o.request);
    str(o, 'scope');
  },
  validators: () => undefined,
  welcome: o => str(o, 'id'),
};

/** whether each kind carries a sequence number: broadcast state and notifications do */
const SEQUENCED: { readonly [K in MessageKind]: boolean } = {
  ack: false,
  app: true,
  document: true,
  dump: true,
  evicted: true,
  heartbeat: false,
  hello: false,
  leave: true,
  replay: false,
  replayed: false,
  reset: true,
  room: true,
  security: true,
  shutdown: true,
  storage: true,
  strategy: true,
  user: true,
  validators: true,
  welcome: false,
};

function isKind (type: unknown): type is MessageKind {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(validators, type);
}

/**
 * Parses and validates one frame body. Throws InvalidMessageError.
 * @param sender the peer whose PUB socket it came from: a compact
 *   notification does not name its sender, and is valid only from one
 */
export function decode (frame: Buffer, maxSize: number, sender?: string): Envelope {
  if (frame.length > maxSize) {
    throw new InvalidMessageError('oversized', `frame of ${frame.length} bytes exceeds maxMessageSize (${maxSize})`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.toString('utf8'));
  }
  catch {
    throw new InvalidMessageError('malformed', 'frame is not valid JSON');
  }

  if (Array.isArray(parsed) && sender !== undefined) {
    return decodeCompact(parsed, sender);
  }
  if (!isObj(parsed)) {
    return fail('envelope must be a JSON object');
  }
  if (parsed.v !== PROTOCOL_VERSION) {
    throw new InvalidMessageError('version', `unsupported protocol version ${JSON.stringify(parsed.v)} (this node speaks ${PROTOCOL_VERSION})`);
  }
  const kind = parsed.t;
  if (!isKind(kind)) {
    throw new InvalidMessageError('type', `unknown message type ${JSON.stringify(kind)}`);
  }
  str(parsed, 'from');
  if (SEQUENCED[kind]) {
    nat(parsed, 'seq');
  }
  if (parsed.ack !== undefined && typeof parsed.ack !== 'boolean') {
    fail('field "ack" must be a boolean');
  }
  validators[kind](parsed);

  // the checks above are what make it one
  return parsed as unknown as Envelope;
}
