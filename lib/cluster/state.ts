import { readFileSync } from 'fs';
import * as path from 'path';
import { EventEmitter } from 'events';

import Redis, { Cluster, RedisOptions, ClusterOptions } from 'ioredis';
import createDebug from 'debug';

import type { RedisConfig } from '../config';
import { Histogram } from '../metrics/histogram';
import { Clock, preciseNow, secondsSince, systemClock } from './clock';
import type { RoomFilter } from './messages';

const debug = createDebug('kuzzle:cluster:state');

/** every key shares one hash tag: one Redis Cluster slot, so scripts stay atomic */
const TAG = '{cluster}';
export const KEYS = Object.freeze({
  filters: `${TAG}:filters`,
  nodes: `${TAG}:nodes`,
  refs: `${TAG}:refs`,
  seqs: `${TAG}:seqs`,
  strategies: `${TAG}:strategies`,
  alive: (id: string) => `${TAG}:alive:${id}`,
  alivePrefix: `${TAG}:alive:`,
  rooms: (id: string) => `${TAG}:rooms:${id}`,
  roomsPrefix: `${TAG}:rooms:`,
  /** ids of removed nodes whose room references are still to release */
  removed: `${TAG}:removed`,
  removedRooms: (id: string) => `${TAG}:removed-rooms:${id}`,
  removedRoomsPrefix: `${TAG}:removed-rooms:`,
});

/** rooms released per script run: keeps each run to a few ms of Redis time */
const RELEASE_SLICE = 1000;

// Lua sources live beside the TypeScript sources; the compiled code in dist/
// reads them from lib/ too, so there is no copy step to forget.
const LUA_DIR = path.resolve(__dirname, '..', '..', 'lib', 'cluster', 'lua');

type ScriptName = 'register' | 'heartbeat' | 'room' | 'remove_node' | 'release_rooms' | 'snapshot' | 'reset';

const SCRIPT_KEYS: Record<ScriptName, number> = {
  heartbeat: 2,
  register: 2,
  release_rooms: 4,
  remove_node: 6,
  reset: 4,
  room: 5,
  snapshot: 4,
};

export interface NodeInfo {
  id: string;
  pub: string;
  router: string;
  startedAt: number;
  version: string;
  /** the newest protocol the node reads (absent before protocol 2: see readsProtocol) */
  protocol?: number;
}

export interface Liveness {
  ready: boolean;
  /** peers this node hears from */
  hears: string[];
}

export interface Member {
  info: NodeInfo;
  /** null when the liveness key expired */
  alive: Liveness | null;
}

export interface RoomState {
  room: string;
  count: number;
  /** null when the filter was lost (e.g. concurrent reset) */
  filter: RoomFilter | null;
}

export interface NodeSnapshot {
  registered: boolean;
  seq: number;
  rooms: RoomState[];
}

export interface StoredStrategy {
  pluginName: string;
  strategy: Record<string, unknown>;
}

type RedisClient = Redis | Cluster;
type ScriptCall = (...args: Array<string | number>) => Promise<unknown>;

function parseJson<T> (raw: string, what: string): T | null {
  try {
    return JSON.parse(raw) as T;
  }
  catch {
    debug('ignoring malformed %s in Redis: %s', what, raw);
    return null;
  }
}

/**
 * Redis state store. Emits 'up' when Redis becomes reachable, 'down' when
 * it is lost. Commands fail fast while Redis is down (no offline queue).
 */
export class StateStore extends EventEmitter {
  readonly client: RedisClient;
  private readonly scripts = new Map<ScriptName, ScriptCall>();
  private up = false;
  /** seconds each successful command took, queueing in the auto-pipeline included */
  readonly roundTrips = new Histogram();
  /** commands that failed (Redis down, timeouts, script errors) */
  errors = 0;

  constructor (config: RedisConfig, clientName: string, private readonly clock: Clock = systemClock) {
    super();

    // auto-pipelining: the commands of one event-loop turn (a burst of
    // subscriptions) leave in one write
    const common = { enableAutoPipelining: true, enableOfflineQueue: false, lazyConnect: true };

    if (config.mode === 'cluster') {
      const options: ClusterOptions = {
        ...common,
        redisOptions: { ...(config.options as RedisOptions), connectionName: clientName },
      };
      this.client = new Cluster(config.nodes as Array<{ host: string; port: number }>, options);
    }
    else {
      this.client = new Redis({
        ...(config.options as RedisOptions),
        ...common,
        connectionName: clientName,
        maxRetriesPerRequest: 1,
        retryStrategy: times => Math.min(times * 100, 1000),
      });
    }

    for (const name of Object.keys(SCRIPT_KEYS) as ScriptName[]) {
      const command = `cluster_${name}`;
      this.client.defineCommand(command, {
        lua: readFileSync(path.join(LUA_DIR, `${name}.lua`), 'utf8'),
        numberOfKeys: SCRIPT_KEYS[name],
      });
      const fn = (this.client as unknown as Record<string, ScriptCall>)[command];
      this.scripts.set(name, fn.bind(this.client));
    }

    this.client.on('ready', () => {
      if (!this.up) {
        this.up = true;
        debug('redis up');
        this.emit('up');
      }
    });
    const onDown = (): void => {
      if (this.up) {
        this.up = false;
        debug('redis down');
        this.emit('down');
      }
    };
    this.client.on('close', onDown);
    this.client.on('end', onDown);
    // ioredis emits 'error' on every failed reconnection: the node reports
    // the outage once through 'down', not once per attempt.
    this.client.on('error', (error: Error) => debug('redis error: %s', error.message));
  }

  get isUp (): boolean {
    return this.up;
  }

  async connect (): Promise<void> {
    await this.client.connect();
  }

  async close (): Promise<void> {
    this.client.removeAllListeners('close');
    this.client.removeAllListeners('end');
    try {
      await this.client.quit();
    }
    catch {
      this.client.disconnect();
    }
  }

  /** one clock read before and one after: cheap enough for every call */
  private async timed<T> (call: () => Promise<T>): Promise<T> {
    const start = preciseNow(this.clock);
    let result: T;
    try {
      result = await call();
    }
    catch (error) {
      this.errors++;
      throw error;
    }
    this.roundTrips.observe(secondsSince(this.clock, start));
    return result;
  }

  private run (name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    return this.timed(() => (this.scripts.get(name) as ScriptCall)(...args));
  }

  async register (info: NodeInfo, liveness: Liveness, ttl: number): Promise<void> {
    await this.run('register', KEYS.nodes, KEYS.alive(info.id), info.id,
      JSON.stringify(info), JSON.stringify(liveness), ttl);
  }

  /**
   * Refreshes the node's liveness and returns the membership.
   * `registered` is false when the node was evicted meanwhile.
   */
  async heartbeat (id: string, liveness: Liveness, ttl: number): Promise<{ registered: boolean; members: Member[] }> {
    const [registered, flat] = await this.run(
      'heartbeat', KEYS.nodes, KEYS.alive(id), id, JSON.stringify(liveness), ttl,
      KEYS.alivePrefix) as [number, string[]];
    const members: Member[] = [];

    for (let i = 0; i < flat.length; i += 3) {
      const info = parseJson<NodeInfo>(flat[i + 1], 'node info');
      if (info && info.id === flat[i]) {
        members.push({
          alive: flat[i + 2] === '' ? null : parseJson<Liveness>(flat[i + 2], 'liveness'),
          info,
        });
      }
    }

    return { members, registered: registered === 1 };
  }

  /**
   * @returns false when the node is not a member any more (nothing written)
   */
  async setRoom (id: string, room: string, count: number, filter: RoomFilter | null, seq: number): Promise<boolean> {
    const result = await this.run('room', KEYS.nodes, KEYS.rooms(id), KEYS.refs, KEYS.filters,
      KEYS.seqs, id, room, count, filter ? JSON.stringify(filter) : '', seq);
    return result === 1;
  }

  /**
   * Removes a node from the cluster, in constant time: its rooms are set
   * aside for releaseRemovedRooms. Unless `force`, refuses while the node's
   * liveness key exists.
   * @returns 'alive' | 'gone' (someone else did it) | number of rooms it held
   */
  async removeNode (id: string, force: boolean): Promise<'alive' | 'gone' | number> {
    const result = await this.run('remove_node', KEYS.nodes, KEYS.alive(id), KEYS.rooms(id),
      KEYS.seqs, KEYS.removedRooms(id), KEYS.removed, id, force ? '1' : '0') as number;

    if (result === -1) {
      return 'alive';
    }
    return result === 0 ? 'gone' : result - 1;
  }

  /**
   * Takes back the room references of every removed node, a slice per
   * script run so that Redis keeps answering the others in between; safe
   * to run on several nodes at once.
   * @returns the number of references released
   */
  async releaseRemovedRooms (): Promise<number> {
    let released = 0;
    for (const id of await this.timed(() => this.client.smembers(KEYS.removed))) {
      const key = KEYS.removedRooms(id);
      let cursor = '0';
      do {
        const [next, flat] = await this.timed(() => this.client.hscan(key, cursor, 'COUNT', RELEASE_SLICE));
        const rooms = flat.filter((_, i) => i % 2 === 0);
        released += await this.run('release_rooms', key, KEYS.refs, KEYS.filters, KEYS.removed, id, ...rooms) as number;
        cursor = next;
      } while (cursor !== '0');
    }
    return released;
  }

  async snapshot (id: string): Promise<NodeSnapshot> {
    const [registered, seq, flat] = await this.run(
      'snapshot', KEYS.nodes, KEYS.rooms(id), KEYS.filters, KEYS.seqs, id) as [number, string, string[]];
    const rooms: RoomState[] = [];

    for (let i = 0; i < flat.length; i += 3) {
      rooms.push({
        count: Number(flat[i + 1]),
        filter: flat[i + 2] === '' ? null : parseJson<RoomFilter>(flat[i + 2], 'room filter'),
        room: flat[i],
      });
    }

    return { registered: registered === 1, rooms, seq: Number(seq) };
  }

  async reset (): Promise<number> {
    return await this.run('reset', KEYS.nodes, KEYS.refs, KEYS.filters, KEYS.removed, KEYS.roomsPrefix, KEYS.removedRoomsPrefix) as number;
  }

  async saveStrategy (name: string, strategy: StoredStrategy): Promise<void> {
    await this.timed(() => this.client.hset(KEYS.strategies, name, JSON.stringify(strategy)));
  }

  async removeStrategy (name: string): Promise<void> {
    await this.timed(() => this.client.hdel(KEYS.strategies, name));
  }

  async strategies (): Promise<Map<string, StoredStrategy>> {
    const raw = await this.timed(() => this.client.hgetall(KEYS.strategies));
    const result = new Map<string, StoredStrategy>();

    for (const [name, json] of Object.entries(raw)) {
      const parsed = parseJson<StoredStrategy>(json, 'strategy');
      if (parsed) {
        result.set(name, parsed);
      }
    }

    return result;
  }
}
