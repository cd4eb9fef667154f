/**
 * Which side of a partition stays ready.
 *
 * Every node publishes in Redis the peers it hears. When a node does not
 * hear some live members, it compares itself with each of them: the node
 * hearing more nodes wins; on a tie, the side whose smallest node id is the
 * smallest wins; then the smallest id. Every node applies the same rule to
 * the same data, so exactly one side stays ready, whether the cut is clean
 * (two groups) or a single broken link (one of its two ends steps back).
 */

interface SideKey {
  size: number;
  min: string;
  id: string;
}

function keyOf (id: string, heard: Iterable<string>): SideKey {
  const side = new Set(heard);
  side.add(id);
  let min = id;
  for (const node of side) {
    if (node < min) {
      min = node;
    }
  }
  return { id, min, size: side.size };
}

function wins (a: SideKey, b: SideKey): boolean {
  if (a.size !== b.size) {
    return a.size > b.size;
  }
  if (a.min !== b.min) {
    return a.min < b.min;
  }
  return a.id < b.id;
}

/**
 * @param self this node's id
 * @param heard the live peers this node hears
 * @param members every live member (self included) with the peers it says it hears
 * @returns null when this node may stay ready, else the member whose side stays ready
 */
export function partitionWinner (
  self: string,
  heard: Set<string>,
  members: Map<string, string[]>,
): string | null {
  const mine = keyOf(self, Array.from(heard).filter(id => members.has(id)));

  for (const [id, theirHears] of members) {
    if (id === self || heard.has(id)) {
      continue;
    }
    const theirs = keyOf(id, theirHears.filter(peer => members.has(peer)));
    if (!wins(mine, theirs)) {
      return id;
    }
  }
  return null;
}
