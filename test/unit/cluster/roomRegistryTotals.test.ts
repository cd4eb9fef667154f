import should from 'should';

import { RoomRegistry } from '../../../lib/cluster/roomRegistry';

const filter = { collection: 'c', filters: [[{ exists: 'a' }]], index: 'i' };
const NODES = ['n1', 'n2', 'n3'];

/** what the totals must equal: recomputed from the rooms themselves */
function recomputed (registry: RoomRegistry): { all: number; byNode: Record<string, [number, number]> } {
  const byNode: Record<string, [number, number]> = {};
  let all = 0;
  for (const node of NODES) {
    const rooms = registry.roomsOf(node);
    const subscriptions = rooms.reduce((sum, room) => sum + registry.count(room, node), 0);
    byNode[node] = [rooms.length, subscriptions];
    all += subscriptions;
  }
  return { all, byNode };
}

function kept (registry: RoomRegistry): { all: number; byNode: Record<string, [number, number]> } {
  const byNode: Record<string, [number, number]> = {};
  for (const node of NODES) {
    byNode[node] = [registry.roomCountOf(node), registry.subscriptionsOf(node)];
  }
  return { all: registry.subscriptions, byNode };
}

describe('RoomRegistry totals (kept as counts change, read in O(1) by status and metrics)', () => {
  it('equal the recomputed totals after every change of a long random sequence', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const registry = new RoomRegistry();
    for (let step = 0; step < 5000; step++) {
      const node = NODES[random(3)];
      const op = random(100);
      if (op < 80) {
        // a count of 0 removes; some rooms come without a filter (ignored when unknown)
        registry.set(node, `r${random(50)}`, random(4), random(10) === 0 ? null : filter);
      }
      else if (op < 95) {
        registry.replaceNode(node, Array.from({ length: random(5) }, () => ({ count: 1 + random(3), filter, room: `r${random(50)}` })));
      }
      else if (op < 99) {
        registry.dropNode(node);
      }
      else {
        registry.clear();
      }
      should(kept(registry)).eql(recomputed(registry), `after step ${step}`);
    }
  });
});
