/**
 * Checks the bench's native column before measuring it: boots Kuzzle 2.33.1's
 * native cluster the way `npm run bench` does (BenchStack 'native': a
 * throw-away redis-server, the Elasticsearch stand-in, 3 nodes through
 * bench/native-preload.ts), then checks that
 *
 * - `cluster:status` on every node lists the 3 nodes, at 127.0.0.2-4;
 * - every socket the nodes listen on is on 127.0.0.0/8 (HTTP on 127.0.0.1,
 *   0mq on the node's own 127.0.0.x), none on a wildcard address;
 * - a notification published on node 2 and one published on node 3 reach a
 *   subscriber on node 1, once each.
 *
 *   node -r ts-node/register/transpile-only bench/native-check.ts [--keep]
 *
 * Installs Kuzzle 2.33.1 into the cache on first use (bench/native.ts).
 * Every process it starts is killed by pid at the end, on failure and on
 * SIGINT/SIGTERM.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Client, connect, disconnectAll } from './clients';
import { nativeClusterIp } from './native';
import { BenchStack, runMain, sleep } from './stack';

interface StatusNode {
  address: string;
  id: string;
}

function statusNodes (result: unknown): StatusNode[] {
  const nodes = result && typeof result === 'object' && 'nodes' in result ? result.nodes : undefined;
  if (!Array.isArray(nodes)) {
    throw new Error(`cluster:status without nodes: ${JSON.stringify(result)}`);
  }
  return nodes.map((n: unknown) => {
    if (n && typeof n === 'object' && 'address' in n && 'id' in n && typeof n.address === 'string' && typeof n.id === 'string') {
      return { address: n.address, id: n.id };
    }
    throw new Error(`unexpected node in cluster:status: ${JSON.stringify(n)}`);
  });
}

/** `ss -ltnpH` lines of the listening TCP sockets owned by these pids */
function listeningSockets (pids: number[]): Array<{ pid: number; local: string }> {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  const sockets: Array<{ pid: number; local: string }> = [];
  for (const line of out.split('\n')) {
    const fields = line.trim().split(/\s+/);
    for (const match of line.matchAll(/pid=(\d+)/g)) {
      const pid = Number(match[1]);
      if (pids.includes(pid)) {
        sockets.push({ local: fields[3], pid });
      }
    }
  }
  return sockets;
}

function check (condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`check failed: ${what}`);
  }
  console.log(`ok: ${what}`);
}

async function main (): Promise<void> {
  const keep = process.argv.includes('--keep');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-native-check-'));
  const stack = new BenchStack({ log: line => console.log(line), nodes: 3, variant: 'native', workDir });
  const clients: Client[] = [];
  try {
    const started = Date.now();
    await stack.start();
    console.log(`3 native nodes healthy in ${Date.now() - started} ms (boot ${stack.nodes.map(n => Math.round(n.bootMs)).join(', ')} ms); `
      + `0mq ports sync ${stack.nodes[0].pubPort}, command ${stack.nodes[0].routerPort}`);

    for (const node of stack.nodes) {
      clients.push(await connect(node.index, node.port));
    }
    const expected = [0, 1, 2].map(nativeClusterIp);
    for (const client of clients) {
      const nodes = statusNodes(await client.kuzzle.query({ action: 'status', controller: 'cluster' }).then(r => r.result));
      const addresses = nodes.map(n => n.address).sort();
      check(JSON.stringify(addresses) === JSON.stringify(expected),
        `cluster:status on node ${client.node + 1} lists ${nodes.length} nodes at ${addresses.join(', ')}`);
    }

    const pids = Array.from(stack.pids().keys());
    const sockets = listeningSockets(pids);
    for (const node of stack.nodes) {
      const pid = node.process?.pid;
      const own = sockets.filter(s => s.pid === pid).map(s => s.local).sort();
      const wanted = [`127.0.0.1:${node.port}`, `${nativeClusterIp(node.index)}:${node.pubPort}`, `${nativeClusterIp(node.index)}:${node.routerPort}`].sort();
      check(JSON.stringify(own) === JSON.stringify(wanted), `node ${node.index + 1} listens on ${own.join(', ')} only`);
    }
    check(sockets.every(s => s.local.startsWith('127.')), 'no socket of any node outside 127.0.0.0/8');

    // a subscriber on node 1, a publication from node 2 and one from node 3
    const received: string[] = [];
    const run = `check-${Date.now()}`;
    await clients[0].kuzzle.realtime.subscribe('bench', 'rt', { equals: { run } }, notification => {
      if (notification.type === 'document') {
        received.push(String(notification.result._source.from));
      }
    });
    // the room reaches the other nodes asynchronously: probe until both deliver (bounded)
    const deadline = Date.now() + 10000;
    let sent = 0;
    while (!(received.includes('node 2') && received.includes('node 3')) && Date.now() < deadline) {
      await clients[1].kuzzle.realtime.publish('bench', 'rt', { from: 'node 2', run });
      await clients[2].kuzzle.realtime.publish('bench', 'rt', { from: 'node 3', run });
      sent += 2;
      await sleep(50);
    }
    check(received.includes('node 2') && received.includes('node 3'),
      `a subscriber on node 1 got publications from nodes 2 and 3 (${received.length} received for ${sent} probes)`);
    // now that every node knows the room: 20 more from each, each delivered once
    const before = received.length;
    for (let i = 0; i < 20; i++) {
      await clients[1].kuzzle.realtime.publish('bench', 'rt', { from: 'node 2', run });
      await clients[2].kuzzle.realtime.publish('bench', 'rt', { from: 'node 3', run });
    }
    const settle = Date.now() + 5000;
    while (received.length - before < 40 && Date.now() < settle) {
      await sleep(20);
    }
    await sleep(300);
    check(received.length - before === 40, `40 more publications from nodes 2 and 3, ${received.length - before} delivered on node 1`);
  }
  finally {
    disconnectAll(clients);
    await stack.stop();
    if (keep) {
      console.log(`work directory kept: ${workDir}`);
    }
    else {
      fs.rmSync(workDir, { force: true, recursive: true });
    }
  }
}

runMain(main);
