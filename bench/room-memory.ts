/**
 * Heap per room, without Kuzzle around it: what a peer keeps for a remote
 * room (the filter as decoded from its room message, stored in Koncorde
 * and in the room registry), against what Koncorde keeps for a filter a
 * single node registers itself (Kuzzle 2.10.4's Koncorde 3.0.0, and 2.33.1's
 * Koncorde 4 when the native bench's cache holds it).
 *
 *   node -r ts-node/register/transpile-only bench/room-memory.ts [--rooms=50000]
 *
 * Filters as the scale bench makes them: { equals: { sub: "bulk-<n>" } }.
 */
import * as fs from 'fs';
import * as path from 'path';

import { decode, encode } from '../lib/cluster/messages';
import { RoomRegistry } from '../lib/cluster/roomRegistry';
import { collectGarbage } from '../test/support/gc';
import { nativeCacheDir } from './native';
import { parseOptions, positiveInteger } from './options';

interface Normalized { id: string; index: string; collection: string; normalized: unknown[] }
interface Koncorde3 {
  normalize (index: string, collection: string, filter: unknown): Promise<Normalized>;
  store (normalized: Normalized): unknown;
}
interface Koncorde4 {
  register (filter: unknown, index: string): string;
}

const WARM_UP = 1000;
const SENDER = '9b2f1c4e-0e1a-4c55-9d7a-2f9f0c1d2e3f';

/** heap bytes per call of `add` for calls WARM_UP..WARM_UP+count (the first ones warm the code up) */
async function heapPer (count: number, add: (n: number) => Promise<void> | void): Promise<number> {
  for (let n = 0; n < WARM_UP; n++) {
    await add(n);
  }
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  for (let n = WARM_UP; n < WARM_UP + count; n++) {
    await add(n);
  }
  collectGarbage();
  return Math.round((process.memoryUsage().heapUsed - before) / count);
}

const filterOf = (n: number): { equals: { sub: string } } => ({ equals: { sub: `bulk-${n}` } });

function koncorde3 (): Koncorde3 {
  const Koncorde = require('koncorde') as new () => Koncorde3;
  return new Koncorde();
}

/** room messages as a peer receives them, made by the subscribing node's Koncorde */
async function roomMessages (count: number): Promise<Buffer[]> {
  const source = koncorde3();
  const messages: Buffer[] = [];
  for (let n = 0; n < WARM_UP + count; n++) {
    const { id, normalized } = await source.normalize('bench', 'c', filterOf(n));
    messages.push(Buffer.from(encode(SENDER, {
      count: 1, filter: { collection: 'c', filters: normalized, index: 'bench' }, room: id, t: 'room',
    }, n + 1, true)));
  }
  return messages;
}

/** a peer applying room messages: into its registry, its Koncorde, or both (as lib/kuzzle/realtime.ts does) */
async function peer (count: number, into: { registry: boolean; koncorde: boolean }): Promise<number> {
  const messages = await roomMessages(count);
  const registry = new RoomRegistry();
  const koncorde = koncorde3();
  return heapPer(count, n => {
    const message = decode(messages[n], 1 << 20, SENDER);
    if (message.t !== 'room' || !message.filter) {
      throw new Error(`message ${n} is not a room with a filter`);
    }
    if (into.registry) {
      registry.set(SENDER, message.room, message.count, message.filter);
    }
    if (into.koncorde) {
      const { collection, filters, index } = message.filter;
      koncorde.store({ collection, id: message.room, index, normalized: filters });
    }
  });
}

function koncorde4 (): Koncorde4 | null {
  const dir = path.join(nativeCacheDir(), 'node_modules', 'koncorde');
  if (!fs.existsSync(dir)) {
    return null;
  }
  const loaded = require(dir) as { Koncorde: new () => Koncorde4 };
  return new loaded.Koncorde();
}

async function main (): Promise<void> {
  let rooms = 50000;
  parseOptions(process.argv.slice(2), { values: { '--rooms': (value, key) => { rooms = positiveInteger(key, value); } } });

  const single3 = koncorde3();
  const rows: Array<[string, string]> = [
    ['a single node registering the filter, Koncorde 3.0.0 (Kuzzle 2.10.4)',
      `${await heapPer(rooms, async n => { single3.store(await single3.normalize('bench', 'c', filterOf(n))); })} B`],
  ];
  const single4 = koncorde4();
  rows.push(['a single node registering the filter, Koncorde 4 (Kuzzle 2.33.1)', single4
    ? `${await heapPer(rooms, n => { single4.register(filterOf(n), 'bench/c'); })} B`
    : `not measured: no ${nativeCacheDir()} (npm run bench -- --only=native installs it)`]);
  rows.push(['a peer: the decoded filter in Koncorde only', `${await peer(rooms, { koncorde: true, registry: false })} B`]);
  rows.push(['a peer: in the room registry only', `${await peer(rooms, { koncorde: false, registry: true })} B`]);
  rows.push(['a peer: both, as the plugin does (they share the filter)', `${await peer(rooms, { koncorde: true, registry: true })} B`]);

  console.log(`Heap per room, ${rooms} rooms after ${WARM_UP} to warm up, Node ${process.version}:\n`);
  console.log('| what | heap per room |\n| --- | --- |');
  for (const [what, value] of rows) {
    console.log(`| ${what} | ${value} |`);
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
