import { isIP } from 'net';
import * as os from 'os';

/**
 * Plugin configuration (`plugins.cluster` in .kuzzlerc, or
 * `kuzzle_plugins__cluster__*` environment variables).
 */
export interface Binding {
  /** what the user wrote */
  spec: string;
  host: string;
  port: number;
  family: 'ipv4' | 'ipv6';
  /** tcp:// address used both to bind and to be reached by peers */
  url: string;
}

export interface Timers {
  /** interval between two heartbeats, ms */
  heartbeat: number;
  /** a peer silent for that long, whose Redis key expired, is evicted, ms */
  nodeTimeout: number;
  /** delay between two join attempts, ms */
  joinAttemptInterval: number;
  /** how long a request to a peer (DEALER -> ROUTER) may take, ms */
  discoverTimeout: number;
  /** how long realtime:count/join wait for a room not yet replicated, ms */
  waitForMissingRooms: number;
  /**
   * how long a change (subscription, index, role...) waits for the peers to
   * acknowledge it before Kuzzle answers, ms; 0: do not wait
   */
  ackTimeout: number;
}

/** what each node keeps of the notifications it sent, to replay what a link lost */
export interface ReplayConfig {
  /** notifications kept per destination node (0: none, nothing is replayed) */
  maxMessages: number;
  /** bytes kept per destination node */
  maxBytes: number;
  /** ms a notification stays replayable */
  maxAge: number;
  /** ms a receiver holds back a peer's later notifications while it asks for the missing ones */
  holdBack: number;
}

/** the membership history `status` shows */
export interface ActivityConfig {
  /** events kept, newest last (0: none kept; the metrics still count them) */
  maxEvents: number;
}

export type RedisConfig =
  | { mode: 'standalone'; options: Record<string, unknown> }
  | { mode: 'cluster'; nodes: Array<Record<string, unknown>>; options: Record<string, unknown> };

export interface CurveConfig {
  publicKey: string;
  secretKey: string;
}

export interface ClusterConfig {
  bindings: { pub: Binding; router: Binding };
  minimumNodes: number;
  retryJoin: number;
  timers: Timers;
  redis: RedisConfig;
  /** 0mq high-water mark, messages per peer */
  highWaterMark: number;
  /** largest accepted inbound frame, bytes */
  maxMessageSize: number;
  /** optional CURVE authentication/encryption of inter-node traffic */
  curve: CurveConfig | null;
  replay: ReplayConfig;
  activity: ActivityConfig;
}

export class ConfigurationError extends Error {
  constructor (key: string, message: string) {
    super(`[cluster] invalid configuration "${key}": ${message}`);
    this.name = 'ConfigurationError';
  }
}

export const DEFAULT_TIMERS: Timers = Object.freeze({
  ackTimeout: 1000,
  discoverTimeout: 3000,
  heartbeat: 1000,
  joinAttemptInterval: 1000,
  nodeTimeout: 2500,
  waitForMissingRooms: 500,
});

/**
 * A few seconds of heavy traffic: 3,000 notifications/s of about 1 KB to one
 * node is 3 MB/s; 5 s of it fits both the count and the byte bounds.
 */
export const DEFAULT_REPLAY: ReplayConfig = Object.freeze({
  holdBack: 250,
  maxAge: 5000,
  maxBytes: 16 * 1024 * 1024,
  maxMessages: 20000,
});

export const DEFAULT_ACTIVITY: ActivityConfig = Object.freeze({
  maxEvents: 50,
});

const DEFAULTS = Object.freeze({
  bindings: { pub: 'tcp://[_site_:ipv4]:7511', router: 'tcp://[_site_:ipv4]:7510' },
  highWaterMark: 50000,
  maxMessageSize: 16 * 1024 * 1024,
  minimumNodes: 1,
  retryJoin: 30,
});

/** keys Kuzzle itself reads in a plugin's configuration */
const KUZZLE_PLUGIN_KEYS = ['privileged', 'pipeWarnTime', 'pipeTimeout', 'initTimeout'];
const TOP_LEVEL_KEYS = [
  ...KUZZLE_PLUGIN_KEYS,
  'bindings', 'minimumNodes', 'retryJoin', 'timers', 'redis', 'highWaterMark',
  'maxMessageSize', 'curve', 'replay', 'activity',
];

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function assertKnownKeys (obj: Record<string, unknown>, allowed: string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new ConfigurationError(
        `${prefix}${key}`,
        `unknown key (allowed: ${allowed.join(', ')})`);
    }
  }
}

/**
 * Numbers may come as strings from environment variables.
 */
function toInteger (value: unknown, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;

  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigurationError(
      key,
      `expected an integer between ${min} and ${max}, got ${JSON.stringify(value)}`);
  }

  return n;
}

function pickInteger (
  obj: Record<string, unknown>, key: string, fallback: number, min: number, max?: number, prefix = '',
): number {
  return obj[key] === undefined ? fallback : toInteger(obj[key], `${prefix}${key}`, min, max);
}

export type InterfaceTable = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

function familyOf (info: os.NetworkInterfaceInfo): 'ipv4' | 'ipv6' {
  // Node 18.0-18.3 reports numbers
  const family: unknown = info.family;
  return family === 'IPv4' || family === 4 ? 'ipv4' : 'ipv6';
}

/**
 * Resolves `tcp://[<iface|ip|_site_>:<ipv4|ipv6>]:<port>`, `tcp://[<ipv6>]:<port>`
 * or `tcp://<ipv4>:<port>` into the address peers will use.
 */
export function resolveBinding (
  spec: unknown, key: string, interfaces: InterfaceTable = os.networkInterfaces(),
): Binding {
  if (typeof spec !== 'string') {
    throw new ConfigurationError(key, `expected a string like "tcp://[_site_:ipv4]:7511", got ${JSON.stringify(spec)}`);
  }

  const match = /^tcp:\/\/(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(spec.trim());

  if (!match) {
    throw new ConfigurationError(
      key,
      `"${spec}" is not of the form tcp://[<interface|ip|_site_>:<ipv4|ipv6>]:<port>`);
  }

  const port = toInteger(match[3], key, 1, 65535);
  let host: string;
  let family: 'ipv4' | 'ipv6';

  if (match[2] !== undefined) {
    host = match[2];
    if (isIP(host) !== 4) {
      throw new ConfigurationError(key, `"${host}" is not an IPv4 address (host names cannot be bound; use an interface name inside brackets)`);
    }
    family = 'ipv4';
  }
  else if (isIP(match[1]) === 6) {
    host = match[1];
    family = 'ipv6';
  }
  else {
    const sep = match[1].lastIndexOf(':');
    const target = sep === -1 ? match[1] : match[1].slice(0, sep);
    const fam = sep === -1 ? 'ipv4' : match[1].slice(sep + 1).toLowerCase();

    if (fam !== 'ipv4' && fam !== 'ipv6') {
      throw new ConfigurationError(key, `unknown address family "${fam}" (allowed: ipv4, ipv6)`);
    }
    family = fam;
    host = resolveHost(target, family, key, interfaces);
  }

  if (host === '0.0.0.0' || host === '::') {
    throw new ConfigurationError(
      key,
      `"${host}" cannot be advertised to peers; use "_site_", an interface name or a reachable IP`);
  }

  const url = family === 'ipv6' ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;

  return { family, host, port, spec, url };
}

function resolveHost (
  target: string, family: 'ipv4' | 'ipv6', key: string, interfaces: InterfaceTable,
): string {
  const ipVersion = isIP(target);

  if (ipVersion !== 0) {
    if ((ipVersion === 4) !== (family === 'ipv4')) {
      throw new ConfigurationError(key, `address "${target}" is not an ${family} address`);
    }
    return target;
  }

  const candidates: os.NetworkInterfaceInfo[] = [];

  if (target === '_site_') {
    for (const list of Object.values(interfaces)) {
      for (const info of list || []) {
        if (!info.internal && familyOf(info) === family && !isLinkLocal(info.address)) {
          candidates.push(info);
        }
      }
    }

    if (candidates.length === 0) {
      throw new ConfigurationError(
        key,
        `"_site_" found no non-loopback ${family} address on this host; name an interface or an IP instead (interfaces: ${Object.keys(interfaces).join(', ')})`);
    }
  }
  else {
    const list = interfaces[target];

    if (!list) {
      throw new ConfigurationError(
        key,
        `unknown network interface "${target}" (interfaces: ${Object.keys(interfaces).join(', ')})`);
    }

    for (const info of list) {
      if (familyOf(info) === family && !isLinkLocal(info.address)) {
        candidates.push(info);
      }
    }

    if (candidates.length === 0) {
      throw new ConfigurationError(key, `interface "${target}" has no ${family} address`);
    }
  }

  return candidates[0].address;
}

function isLinkLocal (address: string): boolean {
  return /^fe80:/i.test(address) || /^169\.254\./.test(address);
}

export interface KuzzleCacheConfig {
  node?: unknown;
  nodes?: unknown;
  database?: unknown;
  options?: unknown;
}

function parseRedis (value: unknown, cacheConfig: KuzzleCacheConfig | undefined): RedisConfig {
  if (value === undefined) {
    if (!cacheConfig) {
      throw new ConfigurationError('redis', 'not set, and Kuzzle has no services.internalCache configuration to default to');
    }

    const options = isPlainObject(cacheConfig.options) ? { ...cacheConfig.options } : {};

    if (Array.isArray(cacheConfig.nodes) && cacheConfig.nodes.length > 0) {
      return parseRedis(cacheConfig.nodes, undefined);
    }

    if (!isPlainObject(cacheConfig.node)) {
      throw new ConfigurationError('redis', 'Kuzzle\'s services.internalCache has neither "node" nor "nodes"');
    }

    if (cacheConfig.database !== undefined) {
      options.db = toInteger(cacheConfig.database, 'services.internalCache.database', 0, 15);
    }

    return parseRedis({ ...cacheConfig.node, ...options }, undefined);
  }

  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new ConfigurationError('redis', 'a Redis Cluster needs at least one node');
    }
    const nodes = value.map((node, i) => {
      if (!isPlainObject(node)) {
        throw new ConfigurationError(`redis[${i}]`, 'expected an object {host, port}');
      }
      return checkRedisNode(node, `redis[${i}]`);
    });
    return { mode: 'cluster', nodes, options: {} };
  }

  if (isPlainObject(value)) {
    if (value.nodes !== undefined) {
      if (!Array.isArray(value.nodes)) {
        throw new ConfigurationError('redis.nodes', 'expected an array of {host, port}');
      }
      const cluster = parseRedis(value.nodes, undefined);
      if (cluster.mode !== 'cluster') {
        throw new ConfigurationError('redis.nodes', 'expected an array of {host, port}');
      }
      const options = value.options === undefined ? {} : value.options;
      if (!isPlainObject(options)) {
        throw new ConfigurationError('redis.options', 'expected an object (ioredis cluster options)');
      }
      return { mode: 'cluster', nodes: cluster.nodes, options };
    }
    if (!Array.isArray(value.sentinels)) {
      checkRedisNode(value, 'redis');
    }
    return { mode: 'standalone', options: { ...value } };
  }

  throw new ConfigurationError('redis', 'expected an object {host, port, ...ioredis options} or an array of Redis Cluster nodes');
}

function checkRedisNode (node: Record<string, unknown>, key: string): Record<string, unknown> {
  if (node.host !== undefined && (typeof node.host !== 'string' || node.host === '')) {
    throw new ConfigurationError(`${key}.host`, `expected a non-empty string, got ${JSON.stringify(node.host)}`);
  }
  const result = { ...node };
  if (node.port !== undefined) {
    result.port = toInteger(node.port, `${key}.port`, 1, 65535);
  }
  return result;
}

const CURVE_KEY = /^[0-9a-zA-Z.:+=^!/*?&<>()[\]{}@%$#-]{40}$/;

function parseCurve (value: unknown): CurveConfig | null {
  if (value === undefined || value === null || value === false) {
    return null;
  }
  if (!isPlainObject(value)) {
    throw new ConfigurationError('curve', 'expected {publicKey, secretKey} (Z85-encoded 40-character CURVE keys)');
  }
  assertKnownKeys(value, ['publicKey', 'secretKey'], 'curve.');
  for (const key of ['publicKey', 'secretKey']) {
    if (typeof value[key] !== 'string' || !CURVE_KEY.test(value[key] as string)) {
      throw new ConfigurationError(`curve.${key}`, 'expected a Z85-encoded 40-character CURVE key; generate the cluster\'s pair with: node -e "console.log(require(\'zeromq\').curveKeyPair())"');
    }
  }
  return { publicKey: value.publicKey as string, secretKey: value.secretKey as string };
}

function parseReplay (value: unknown): ReplayConfig {
  const replay = value === undefined ? {} : value;
  if (!isPlainObject(replay)) {
    throw new ConfigurationError('replay', `expected an object with keys ${Object.keys(DEFAULT_REPLAY).join(', ')}`);
  }
  assertKnownKeys(replay, Object.keys(DEFAULT_REPLAY), 'replay.');
  const r = (name: keyof ReplayConfig, min: number, max: number): number =>
    pickInteger(replay, name, DEFAULT_REPLAY[name], min, max, 'replay.');
  return {
    holdBack: r('holdBack', 10, 60000),
    maxAge: r('maxAge', 0, 3600000),
    maxBytes: r('maxBytes', 0, 1024 * 1024 * 1024),
    maxMessages: r('maxMessages', 0, 10000000),
  };
}

function parseActivity (value: unknown): ActivityConfig {
  const activity = value === undefined ? {} : value;
  if (!isPlainObject(activity)) {
    throw new ConfigurationError('activity', `expected an object with keys ${Object.keys(DEFAULT_ACTIVITY).join(', ')}`);
  }
  assertKnownKeys(activity, Object.keys(DEFAULT_ACTIVITY), 'activity.');
  return { maxEvents: pickInteger(activity, 'maxEvents', DEFAULT_ACTIVITY.maxEvents, 0, 100000, 'activity.') };
}

/**
 * Deep-merges the user's configuration with the defaults and validates every
 * value. Throws a ConfigurationError naming the faulty key.
 */
export function loadConfig (
  raw: unknown,
  kuzzleCache?: KuzzleCacheConfig,
  interfaces: InterfaceTable = os.networkInterfaces(),
): ClusterConfig {
  const user = raw === undefined || raw === null ? {} : raw;

  if (!isPlainObject(user)) {
    throw new ConfigurationError('plugins.cluster', 'expected an object');
  }

  assertKnownKeys(user, TOP_LEVEL_KEYS, '');

  const bindings = user.bindings === undefined ? {} : user.bindings;
  if (!isPlainObject(bindings)) {
    throw new ConfigurationError('bindings', 'expected an object {pub, router}');
  }
  assertKnownKeys(bindings, ['pub', 'router'], 'bindings.');

  const timers = user.timers === undefined ? {} : user.timers;
  if (!isPlainObject(timers)) {
    throw new ConfigurationError('timers', `expected an object with keys ${Object.keys(DEFAULT_TIMERS).join(', ')}`);
  }
  assertKnownKeys(timers, Object.keys(DEFAULT_TIMERS), 'timers.');

  const t = (name: keyof Timers, min: number): number =>
    pickInteger(timers, name, DEFAULT_TIMERS[name], min, 3600000, 'timers.');

  const parsedTimers: Timers = {
    ackTimeout: t('ackTimeout', 0),
    discoverTimeout: t('discoverTimeout', 10),
    heartbeat: t('heartbeat', 10),
    joinAttemptInterval: t('joinAttemptInterval', 10),
    nodeTimeout: t('nodeTimeout', 10),
    waitForMissingRooms: t('waitForMissingRooms', 0),
  };

  if (parsedTimers.nodeTimeout <= parsedTimers.heartbeat) {
    throw new ConfigurationError(
      'timers.nodeTimeout',
      `must be greater than timers.heartbeat (${parsedTimers.heartbeat} ms), got ${parsedTimers.nodeTimeout} ms`);
  }

  const pub = resolveBinding(bindings.pub ?? DEFAULTS.bindings.pub, 'bindings.pub', interfaces);
  const router = resolveBinding(bindings.router ?? DEFAULTS.bindings.router, 'bindings.router', interfaces);

  if (pub.url === router.url) {
    throw new ConfigurationError('bindings', `pub and router cannot share the same address (${pub.url})`);
  }

  return {
    activity: parseActivity(user.activity),
    bindings: { pub, router },
    curve: parseCurve(user.curve),
    replay: parseReplay(user.replay),
    highWaterMark: pickInteger(user, 'highWaterMark', DEFAULTS.highWaterMark, 1),
    maxMessageSize: pickInteger(user, 'maxMessageSize', DEFAULTS.maxMessageSize, 1024),
    minimumNodes: pickInteger(user, 'minimumNodes', DEFAULTS.minimumNodes, 1, 1000),
    redis: parseRedis(user.redis, kuzzleCache),
    retryJoin: pickInteger(user, 'retryJoin', DEFAULTS.retryJoin, 1),
    timers: parsedTimers,
  };
}
