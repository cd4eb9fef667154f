export interface Health {
  ok: boolean;
  reason: string | null;
}

/** A side of a partition that this node is not on */
export interface PartitionVerdict {
  /** the node whose side stays ready */
  winner: string;
  /** nodes this node hears, itself included */
  heard: number;
  /** live members in Redis */
  members: number;
}

/** What the health verdict is made of, read at one instant */
export interface HealthFacts {
  stopped: boolean;
  joined: boolean;
  redisUp: boolean;
  /** ms since this node last refreshed its Redis liveness key */
  livenessAge: number;
  nodeTimeout: number;
  /** greeted peers whose state is being re-read after a loss */
  syncing: string[];
  /** this node's state is not all written to Redis */
  dirty: boolean;
  /** set once this node has been on the losing side long enough */
  partition: PartitionVerdict | null;
  /** nodes this node hears, itself included */
  nodes: number;
  minimumNodes: number;
}

/** Serve or drain, and why: a pure function of the facts. */
export function healthVerdict (facts: HealthFacts): Health {
  if (facts.stopped) {
    return notOk('node stopped');
  }
  if (!facts.joined) {
    return notOk('not joined yet');
  }
  if (!facts.redisUp) {
    return notOk('Redis unreachable');
  }
  if (facts.livenessAge > facts.nodeTimeout) {
    // frozen, or cut from Redis: the peers may have evicted this node already
    return notOk(`liveness not refreshed for ${facts.livenessAge} ms: possibly evicted, checking`);
  }
  // a peer still greeting is not waited for (a node joining must not make the
  // others flap); a peer being re-read after a loss is
  if (facts.syncing.length > 0) {
    return notOk(`synchronizing with ${facts.syncing.join(', ')}`);
  }
  if (facts.dirty) {
    return notOk('local state not yet written to Redis');
  }
  if (facts.partition) {
    const { heard, members, winner } = facts.partition;
    return notOk(`partitioned: this node hears ${heard} of ${members} live nodes; the side of ${winner} stays ready`);
  }
  if (facts.nodes < facts.minimumNodes) {
    return notOk(`${facts.nodes} node(s) in the cluster, minimumNodes is ${facts.minimumNodes}`);
  }
  return { ok: true, reason: null };
}

function notOk (reason: string): Health {
  return { ok: false, reason };
}

/**
 * Partition hysteresis: what the others say they hear comes from their
 * last heartbeat, so a verdict against this node must hold for `holdMs`
 * before it steps back.
 */
export class PartitionWatch {
  /** when the current verdict was first observed (null: none; 0 is a valid time) */
  private since: number | null = null;
  private verdict: PartitionVerdict | null = null;

  constructor (private readonly holdMs: number) {}

  /** records the verdict of now (null: this node is on the side that stays ready) */
  observe (verdict: PartitionVerdict | null, now: number): void {
    if (!verdict) {
      this.since = null;
    }
    else if (this.since === null) {
      this.since = now;
    }
    this.verdict = verdict;
  }

  /** the verdict, once it held long enough */
  steppedBack (now: number): PartitionVerdict | null {
    return this.verdict && this.since !== null && now - this.since >= this.holdMs ? this.verdict : null;
  }
}
