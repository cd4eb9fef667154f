/**
 * A cluster core node without Kuzzle, driven by its parent over IPC.
 * Used by the integration tests: every node is a real process with real
 * 0mq sockets and a real Redis.
 *
 * argv[2]: JSON plugin configuration
 * argv[3]: JSON harness options (optional): {earlierRelease: true} speaks as
 *   a release reading protocol 1 only (earlierRelease.ts)
 */

import { loadConfig } from '../../lib/config';
import { ClusterHost, ClusterNode, LocalRoom } from '../../lib/cluster/node';
import type { DirectPayload, HostPayload, RoomFilter } from '../../lib/cluster/messages';
import { forgetProtocols } from './earlierRelease';
import { collectGarbage } from './gc';
import { FaultyTransport, faultyTransportFactory } from './faultyTransport';

export interface HarnessOptions {
  earlierRelease?: boolean;
}

export type Command =
  | { id: number; cmd: 'join' }
  | { id: number; cmd: 'subscribe'; room: string; count: number; filter: RoomFilter }
  | { id: number; cmd: 'notify'; rooms: string[]; content: unknown }
  | { id: number; cmd: 'burst'; rooms: string[]; first: number; count: number; padding: number }
  | { id: number; cmd: 'broadcast'; message: HostPayload }
  | { id: number; cmd: 'status' }
  | { id: number; cmd: 'reset' }
  | { id: number; cmd: 'stop' }
  | { id: number; cmd: 'lose'; types: string[]; rate: number }
  | { id: number; cmd: 'cut'; peers: string[] }
  | { id: number; cmd: 'deafen'; deaf: boolean }
  | { id: number; cmd: 'block'; ms: number }
  | { id: number; cmd: 'flood'; prefix: string; count: number; filter: RoomFilter }
  /** `rate` notifications per second {n, padding} for `ms`, in 10 ms ticks; answers how many were sent */
  | { id: number; cmd: 'stream'; rooms: string[]; first: number; rate: number; ms: number; padding: number }
  /** one notification {n, t}: t = monotonicMs() when it is handed to the cluster */
  | { id: number; cmd: 'stamped'; rooms: string[]; n: number }
  /** process.memoryUsage() after a full garbage collection */
  | { id: number; cmd: 'memory' }
  /** envelopes published so far, by type */
  | { id: number; cmd: 'published' };

export type Event =
  | { event: 'reply'; id: number; result?: unknown; error?: string }
  /** at: monotonicMs() when it was delivered */
  | { event: 'notification'; from: string; message: DirectPayload; at: number }
  | { event: 'sync'; from: string; message: HostPayload }
  | { event: 'rooms'; appeared: string[]; vanished: string[] };

/** ms on CLOCK_MONOTONIC, the same clock in every process of the machine */
function monotonicMs (): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function emit (event: Event): void {
  if (process.send) {
    process.send(event);
  }
}

const config = loadConfig(JSON.parse(process.argv[2]));
const harness = JSON.parse(process.argv[3] || '{}') as HarnessOptions;
if (harness.earlierRelease) {
  forgetProtocols();
}
const local = new Map<string, LocalRoom>();
const transports: FaultyTransport[] = [];
const node = new ClusterNode(config, {
  error: msg => process.stderr.write(`ERROR [cluster] ${msg}\n`),
  info: msg => process.stderr.write(`INFO [cluster] ${msg}\n`),
  warn: msg => process.stderr.write(`WARN [cluster] ${msg}\n`),
}, { transport: faultyTransportFactory(made => transports.push(made), harness.earlierRelease) });
const transport = transports[0];

const host: ClusterHost = {
  localRooms: () => Array.from(local.values()),
  onJoined: async () => undefined,
  onNotification: (from, message) => emit({ at: monotonicMs(), event: 'notification', from, message }),
  onSync: (from, message) => emit({ event: 'sync', from, message }),
  refresh: async () => undefined,
  roomsChanged: changes => emit({
    appeared: changes.appeared.map(c => c.room),
    event: 'rooms',
    vanished: changes.vanished.map(c => c.room),
  }),
};

function notify (rooms: string[], content: unknown): number {
  return node.notify(rooms, nodeRooms => ({
    content,
    request: { data: { action: 'create', controller: 'document' }, options: {} },
    room: nodeRooms[0],
    scope: 'in',
    t: 'user',
  }));
}

async function handle (command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'join':
      await node.join();
      return { id: node.id };
    case 'subscribe':
      if (command.count > 0) {
        local.set(command.room, { count: command.count, filter: command.filter, room: command.room });
      }
      else {
        local.delete(command.room);
      }
      await node.setLocalRoom(command.room, command.count, command.filter);
      return null;
    case 'notify':
      return notify(command.rooms, command.content);
    case 'burst': {
      // numbered notifications in one go, {n, padding}
      const padding = 'x'.repeat(command.padding);
      for (let n = command.first; n < command.first + command.count; n++) {
        notify(command.rooms, { n, padding });
      }
      return null;
    }
    case 'broadcast':
      node.broadcast(command.message);
      return null;
    case 'status':
      return {
        health: node.health(),
        id: node.id,
        rooms: Array.from(node.rooms.entries()).map(e => ({ room: e.room, total: e.total })),
        status: node.status(),
      };
    case 'reset':
      await node.reset();
      return null;
    case 'lose':
      transport.lose(command.rate > 0
        ? type => command.types.includes(type) && Math.random() < command.rate
        : null);
      return null;
    case 'cut':
      transport.cut(command.peers);
      return null;
    case 'deafen':
      transport.deafen(command.deaf);
      return null;
    case 'block': {
      // a busy event loop: a peer that cannot keep up
      const until = Date.now() + command.ms;
      while (Date.now() < until) {
        // spin
      }
      return null;
    }
    case 'flood':
      await Promise.all(Array.from({ length: command.count }, (_, i) => {
        const room = `${command.prefix}${i}`;
        local.set(room, { count: 1, filter: command.filter, room });
        return node.setLocalRoom(room, 1, command.filter);
      }));
      return null;
    case 'stream': {
      const padding = 'x'.repeat(command.padding);
      const ticks = Math.max(1, Math.round(command.ms / 10));
      let n = command.first;
      for (let tick = 1; tick <= ticks; tick++) {
        const due = Math.round(command.rate * tick / 100);
        while (n - command.first < due) {
          notify(command.rooms, { n: n++, padding });
        }
        await new Promise(resolve => setTimeout(resolve, 10));
      }
      return n - command.first;
    }
    case 'stamped':
      return notify(command.rooms, { n: command.n, t: monotonicMs() });
    case 'memory':
      collectGarbage();
      return process.memoryUsage();
    case 'published':
      return transport.publishedTypes;
    case 'stop':
      await node.stop();
      setTimeout(() => process.exit(0), 50);
      return null;
  }
}

// graceful stop, as Kuzzle does on SIGTERM with the plugin
process.on('SIGTERM', () => {
  void node.stop().finally(() => process.exit(0));
});

process.on('message', (command: Command) => {
  handle(command).then(
    result => emit({ event: 'reply', id: command.id, result }),
    error => emit({ error: (error as Error).message, event: 'reply', id: command.id }));
});

node.start(host).then(
  () => emit({ event: 'reply', id: 0, result: { id: node.id } }),
  error => {
    emit({ error: (error as Error).message, event: 'reply', id: 0 });
    process.exit(1);
  });
