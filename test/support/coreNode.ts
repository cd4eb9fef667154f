import { fork, spawn, ChildProcess } from 'child_process';
import * as path from 'path';

import type { Command, Event, HarnessOptions } from './coreNodeProcess';
import type { DirectPayload, HostPayload, RoomFilter } from '../../lib/cluster/messages';
import { freePorts } from './ports';
import { kill, track, waitExit } from './processes';

type CommandBody = Command extends infer C ? C extends { id: number } ? Omit<C, 'id'> : never : never;

export interface NodeStatusReply {
  id: string;
  health: { ok: boolean; reason: string | null };
  rooms: Array<{ room: string; total: number }>;
  status: {
    self: { id: string; seq: number; rooms: number; subscriptions: number };
    peers: Array<{
      id: string; ready: boolean; counters: Record<string, number>; rooms: number; subscriptions: number;
      replay: { heldBack: number; buffered: { messages: number; bytes: number } };
    }>;
    evictions: number;
    denied: number;
    sent: { envelopes: number; messages: number };
    unattributed: Record<string, number>;
  };
}

/** A core node process (see coreNodeProcess.ts) */
export class CoreNode {
  /** at: when it was delivered, in ms on CLOCK_MONOTONIC (process.hrtime.bigint() / 1e6) */
  readonly notifications: Array<{ from: string; message: DirectPayload; at: number }> = [];
  readonly syncs: Array<{ from: string; message: HostPayload }> = [];
  readonly logs: string[] = [];
  id = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor (readonly child: ChildProcess, readonly config: Record<string, unknown>) {
    child.on('message', (event: Event) => this.onEvent(event));
    child.stderr?.on('data', (data: Buffer) => this.logs.push(...data.toString().split('\n').filter(Boolean)));
    child.on('exit', () => {
      for (const { reject } of this.pending.values()) {
        reject(new Error('node process exited'));
      }
      this.pending.clear();
    });
  }

  static async start (redisPort: number, extra: Record<string, unknown> = {}, harness: HarnessOptions = {}): Promise<CoreNode> {
    const [pub, router] = await freePorts(2);
    const config = {
      bindings: { pub: `tcp://[127.0.0.1:ipv4]:${pub}`, router: `tcp://[127.0.0.1:ipv4]:${router}` },
      redis: { host: '127.0.0.1', port: redisPort },
      ...extra,
    };
    return CoreNode.spawn(config, [], harness);
  }

  /**
   * @param wrapper command prefix, e.g. ['ip', 'netns', 'exec', 'ns1'] to run the node in a network namespace
   */
  static async spawn (config: Record<string, unknown>, wrapper: string[] = [], harness: HarnessOptions = {}): Promise<CoreNode> {
    const script = path.join(__dirname, 'coreNodeProcess.ts');
    const execArgv = ['-r', 'ts-node/register/transpile-only'];
    const stdio: Array<'ignore' | 'inherit' | 'pipe' | 'ipc'> = ['ignore', 'inherit', 'pipe', 'ipc'];
    const args = [JSON.stringify(config), JSON.stringify(harness)];
    const child = track(wrapper.length === 0
      ? fork(script, args, { execArgv, stdio })
      : spawn(wrapper[0], [...wrapper.slice(1), process.execPath, ...execArgv, script, ...args], { stdio }));
    const node = new CoreNode(child, config);
    const started = await node.waitReply(0) as { id: string };
    node.id = started.id;
    return node;
  }

  private onEvent (event: Event): void {
    switch (event.event) {
      case 'reply': {
        const waiter = this.pending.get(event.id);
        if (waiter) {
          this.pending.delete(event.id);
          if (event.error) {
            waiter.reject(new Error(event.error));
          }
          else {
            waiter.resolve(event.result);
          }
        }
        return;
      }
      case 'notification':
        this.notifications.push({ at: event.at, from: event.from, message: event.message });
        return;
      case 'sync':
        this.syncs.push({ from: event.from, message: event.message });
        return;
      default:
    }
  }

  private waitReply (id: number): Promise<unknown> {
    return new Promise((resolve, reject) => this.pending.set(id, { reject, resolve }));
  }

  call (body: CommandBody): Promise<unknown> {
    const id = this.nextId++;
    const reply = this.waitReply(id);
    this.child.send({ ...body, id });
    return reply;
  }

  async join (): Promise<void> {
    const result = await this.call({ cmd: 'join' }) as { id: string };
    this.id = result.id;
  }

  subscribe (room: string, count: number, filter: RoomFilter): Promise<unknown> {
    return this.call({ cmd: 'subscribe', count, filter, room });
  }

  async status (): Promise<NodeStatusReply> {
    const status = await this.call({ cmd: 'status' }) as NodeStatusReply;
    this.id = status.id;
    return status;
  }

  async stop (): Promise<void> {
    await this.call({ cmd: 'stop' }).catch(() => undefined);
    await waitExit(this.child);
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    kill(this.child, signal);
  }
}

/** Polls `check` until it returns true; fails with `what` after `timeout` ms */
export async function eventually (what: string, check: () => Promise<boolean> | boolean, timeout = 10000): Promise<void> {
  const deadline = Date.now() + timeout;
  let lastError: unknown = null;
  for (;;) {
    try {
      if (await check()) {
        return;
      }
    }
    catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for: ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** a node's view of the cluster: cluster-wide subscriber count per room */
export async function totals (node: CoreNode): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const { room, total } of (await node.status()).rooms) {
    result[room] = total;
  }
  return result;
}

/** waits until every node sees exactly these rooms and counts */
export async function converged (nodes: CoreNode[], expected: Record<string, number>, timeout = 15000): Promise<void> {
  const want = JSON.stringify(Object.entries(expected).sort());
  await eventually(`every node sees ${want}`, async () => {
    for (const node of nodes) {
      if (JSON.stringify(Object.entries(await totals(node)).sort()) !== want) {
        return false;
      }
    }
    return true;
  }, timeout);
}

/** waits until every node is healthy and has exactly the others as peers */
export async function meshOf (nodes: CoreNode[], timeout = 15000): Promise<void> {
  let last: unknown[] = [];
  await eventually(`a healthy full mesh of ${nodes.length}`, async () => {
    // every status first: a node that rejoined has a new id
    const statuses = await Promise.all(nodes.map(node => node.status()));
    last = statuses.map(status => ({ health: status.health, id: status.id, peers: status.status.peers.map(p => p.id) }));
    for (const [i, node] of nodes.entries()) {
      const status = statuses[i];
      const others = nodes.filter(n => n !== node).map(n => n.id).sort();
      if (!status.health.ok || JSON.stringify(status.status.peers.map(p => p.id).sort()) !== JSON.stringify(others)) {
        return false;
      }
    }
    return true;
  }, timeout).catch(error => {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
  });
}

export function peerCounters (status: NodeStatusReply, peerId: string): Record<string, number> {
  return status.status.peers.find(p => p.id === peerId)?.counters || {};
}

/** for a failed test, the last lines each node logged */
export function printLogsIfFailed (test: Mocha.Test | undefined, nodes: CoreNode[], lines = 30): void {
  if (test?.state === 'failed') {
    for (const node of nodes) {
      console.log(`--- logs of ${node.id}\n${node.logs.slice(-lines).join('\n')}`);
    }
  }
}
