import should from 'should';

import { RoomRegistry } from '../../../lib/cluster/roomRegistry';

const f = (collection: string) => ({ collection, filters: [[{ exists: 'a' }]], index: 'i' });

describe('RoomRegistry', () => {
  it('reports rooms appearing and vanishing cluster-wide, not per node', () => {
    const registry = new RoomRegistry();
    should(registry.set('n1', 'r', 2, f('c'))).eql({ appeared: [{ filter: f('c'), room: 'r' }], vanished: [] });
    should(registry.set('n2', 'r', 1, f('c'))).eql({ appeared: [], vanished: [] });
    should(registry.total('r')).equal(3);
    should(registry.total('r', 'n1')).equal(1);
    should(registry.set('n1', 'r', 0, null)).eql({ appeared: [], vanished: [] });
    should(registry.set('n2', 'r', 0, null)).eql({ appeared: [], vanished: [{ filter: f('c'), room: 'r' }] });
    should(registry.has('r')).be.false();
    should(registry.size).equal(0);
  });

  it('keeps every node\'s count of a room shared by several, whichever leaves first', () => {
    for (const leaving of [['n1', 'n2', 'n3'], ['n2', 'n1', 'n3'], ['n3', 'n2', 'n1'], ['n1', 'n3', 'n2']]) {
      const registry = new RoomRegistry();
      registry.set('n1', 'r', 1, f('c'));
      registry.set('n2', 'r', 2, f('c'));
      registry.set('n3', 'r', 4, f('c'));
      registry.set('n2', 'r', 5, f('c'));
      const counts: Record<string, number> = { n1: 1, n2: 5, n3: 4 };
      for (const node of leaving) {
        should(registry.total('r')).equal(Object.values(counts).reduce((a, b) => a + b, 0));
        should(Array.from(registry.nodesFor(['r'], 'none').keys()).sort()).eql(Object.keys(counts).sort());
        for (const [other, count] of Object.entries(counts)) {
          should(registry.count('r', other)).equal(count);
          should(registry.usedElsewhere('r', other)).equal(Object.keys(counts).length > 1);
        }
        registry.set(node, 'r', 0, null);
        delete counts[node];
        should(registry.count('r', node)).equal(0);
      }
      should(registry.has('r')).be.false();
      should(registry.subscriptions).equal(0);
    }
  });

  it('ignores a count for an unknown room without a filter, and a removal of what is not there', () => {
    const registry = new RoomRegistry();
    should(registry.set('n1', 'r', 3, null)).eql({ appeared: [], vanished: [] });
    should(registry.has('r')).be.false();
    should(registry.set('n1', 'x', 0, null)).eql({ appeared: [], vanished: [] });
  });

  it('knows which other nodes have subscribers in which rooms', () => {
    const registry = new RoomRegistry();
    registry.set('self', 'r1', 1, f('a'));
    registry.set('n2', 'r1', 1, f('a'));
    registry.set('n2', 'r2', 4, f('b'));
    registry.set('n3', 'r3', 1, f('c'));
    should(Object.fromEntries(registry.nodesFor(['r1', 'r2', 'unknown'], 'self'))).eql({ n2: ['r1', 'r2'] });
    should(registry.usedElsewhere('r1', 'self')).be.true();
    should(registry.usedElsewhere('r3', 'n3')).be.false();
    should(registry.roomsOf('n2').sort()).eql(['r1', 'r2']);
    should(registry.subscriptionsOf('n2')).equal(5);
  });

  it('replaces a node\'s rooms from a snapshot, reporting only real changes', () => {
    const registry = new RoomRegistry();
    registry.set('n1', 'kept', 1, f('a'));
    registry.set('n1', 'gone', 1, f('b'));
    registry.set('n2', 'shared', 1, f('c'));
    const changes = registry.replaceNode('n1', [
      { count: 5, filter: f('a'), room: 'kept' },
      { count: 1, filter: f('c'), room: 'shared' },
      { count: 1, filter: f('d'), room: 'new' },
    ]);
    should(changes).eql({ appeared: [{ filter: f('d'), room: 'new' }], vanished: [{ filter: f('b'), room: 'gone' }] });
    should(registry.count('kept', 'n1')).equal(5);
    should(registry.total('shared')).equal(2);

    should(registry.dropNode('n1').vanished.map(c => c.room).sort()).eql(['kept', 'new']);
    should(registry.total('shared')).equal(1);
    should(registry.nodes()).eql(['n2']);
  });
});
