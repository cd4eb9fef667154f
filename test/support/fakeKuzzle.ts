/**
 * Fakes for the unit tests of lib/kuzzle and lib/index.ts: a cluster node
 * with stubbed methods over a real RoomRegistry, Kuzzle's Request, a Kuzzle
 * instance whose realtime answerers read the local room sizes of a Map, and
 * the plugin context built on it.
 */
import sinon from 'sinon';

import { RoomRegistry } from '../../lib/cluster/roomRegistry';
import type { RoomFilter } from '../../lib/cluster/messages';
import type { AskAnswerer, KuzzleInstance, PluginContext } from '../../lib/kuzzle/types';

/** a filter on collection `collection` of index `i` */
export const filterOf = (collection: string): RoomFilter => ({ collection, filters: [[{ equals: { a: 1 } }]], index: 'i' });

/** what the adapters use of a ClusterNode, as stubs (node id: `self`) */
export function fakeNode (registry = new RoomRegistry()) {
  return {
    broadcast: sinon.stub(),
    id: 'self',
    notify: sinon.stub().returns(1),
    registry,
    remoteCount: (room: string): number => registry.total(room, 'self'),
    rooms: registry,
    setLocalRoom: sinon.stub().resolves(),
    stop: sinon.stub().resolves(),
    strategies: {
      removeStrategy: sinon.stub().resolves(),
      saveStrategy: sinon.stub().resolves(),
      strategies: sinon.stub().resolves(new Map()),
    },
  };
}

export type FakeNode = ReturnType<typeof fakeNode>;

/** Kuzzle's Request, keeping what it was built from */
export class FakeRequest {
  input: { args: Record<string, unknown>; body: Record<string, unknown> | null; resource: Record<string, unknown> };
  context = { connection: { id: null }, user: null };
  constructor (readonly data: Record<string, unknown>, readonly options: Record<string, unknown> = {}) {
    this.input = { args: {}, body: (data.body as Record<string, unknown>) || null, resource: { collection: data.collection, index: data.index } };
  }
}

/**
 * A Kuzzle instance: `core:realtime:room:size:get` answers from
 * `localSizes` (Kuzzle's not-found error for a room not in it),
 * `core:realtime:list` with one local room; everything else is stubbed.
 */
export function fakeKuzzle (localSizes: Map<string, number>) {
  const answerers = new Map<string, AskAnswerer>();
  answerers.set('core:realtime:room:size:get', (roomId: unknown) => {
    const size = localSizes.get(roomId as string);
    if (size === undefined) {
      throw Object.assign(new Error(`The room "${roomId}" doesn't exist`), { id: 'core.realtime.room_not_found', status: 404 });
    }
    return size;
  });
  answerers.set('core:realtime:list', () => ({ local: { coll: { localRoom: 7 } } }));
  return {
    ask: sinon.stub().resolves(),
    config: { services: { internalCache: { node: { host: '127.0.0.1', port: 6379 } } } },
    coreAnswerers: answerers,
    dump: sinon.stub().resolves(),
    id: 'knode',
    koncorde: { hasFilter: sinon.stub().returns(false), remove: sinon.stub(), store: sinon.stub() },
    onAsk: sinon.stub(),
    pluginsManager: {
      controllers: new Map(),
      listStrategies: sinon.stub().returns([]),
      registerStrategy: sinon.stub(),
      strategies: {} as Record<string, { owner: string; strategy: Record<string, unknown> }>,
      unregisterStrategy: sinon.stub(),
    },
    shutdown: sinon.stub().resolves(),
    validation: { curateSpecification: sinon.stub().resolves() },
    version: '2.10.4',
  };
}

export type FakeKuzzle = ReturnType<typeof fakeKuzzle>;

/** the privileged plugin context over `kuzzle`, with stubbed log methods */
export function contextOf (kuzzle: FakeKuzzle): PluginContext {
  return {
    accessors: { kuzzle: kuzzle as unknown as KuzzleInstance },
    constructors: { Request: FakeRequest as never },
    errors: { ServiceUnavailableError: class extends Error {} },
    log: { debug: sinon.stub(), error: sinon.stub(), info: sinon.stub(), warn: sinon.stub() },
  };
}
