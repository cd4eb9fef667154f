/**
 * Replay of lost notifications between real Kuzzle 2.10.4 nodes: node B
 * loses half of the notifications it publishes to node A for a few seconds
 * (test/support/lossyLink.ts, preloaded in B's process, decorates the
 * plugin's transport; nothing in lib/ knows about it). A subscriber on A,
 * over the SDK's WebSocket, still gets every document notification of the
 * writes made on B, each once, in order; A's status counts them replayed,
 * none lost.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import should from 'should';
import * as ts from 'typescript';
import { Kuzzle } from 'kuzzle-sdk';

import { KuzzleStack, ROOT, connectSdk, tearDown, httpGet } from '../support/kuzzleStack';
import { eventually } from '../support/coreNode';

interface PeerStatus {
  id: string;
  counters: { lostNotifications: number; replayed: number } | null;
}
interface ClusterStatus {
  current: { id: string };
  pool: PeerStatus[];
}

async function clusterStatus (port: number): Promise<ClusterStatus> {
  const reply: { result: ClusterStatus } = JSON.parse((await httpGet(port, '/_plugin/cluster/status')).body);
  return reply.result;
}

/** the preload, transpiled to plain JavaScript in `dir` (Kuzzle then needs no ts-node); its node options */
function lossyLinkPreload (dir: string): string[] {
  const source = fs.readFileSync(path.join(ROOT, 'test', 'support', 'lossyLink.ts'), 'utf8');
  const output = ts.transpileModule(source, {
    compilerOptions: { esModuleInterop: true, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2019 },
  });
  const file = path.join(dir, 'lossy-link.js');
  fs.writeFileSync(file, output.outputText);
  return ['-r', file];
}

/** `lossy link: off, lost <n> of <m>` in a node's output: n, or null */
function lostByLossyLink (lines: string[]): number | null {
  for (const line of lines) {
    const match = /lossy link: off, lost (\d+) of \d+/.exec(line);
    if (match) {
      return Number(match[1]);
    }
  }
  return null;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('end-to-end: replay of the notifications a link lost, between real Kuzzle 2.10.4 nodes', function () {
  this.timeout(180000);

  let stack: KuzzleStack;
  let clients: Kuzzle[] = [];
  let preloadDir = '';

  before(async () => {
    preloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-lossy-'));
    stack = await KuzzleStack.start({
      env: { LOSSY_LINK_PLUGIN_DIR: ROOT, LOSSY_LINK_RATE: '0.5' },
      nodeArgs: lossyLinkPreload(preloadDir),
      nodes: 2,
    });
    clients = await Promise.all(stack.nodes.map(node => connectSdk(node.port)));
  });

  after(async () => {
    await tearDown(stack, clients);
    fs.rmSync(preloadDir, { force: true, recursive: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && stack) {
      stack.printLastOutput();
    }
  });

  it('half of B\'s notifications to A lost for 3 s: a subscriber on A gets every write on B once, in order; replayed, none lost', async () => {
    const [a, b] = clients;
    const [nodeA, nodeB] = stack.nodes;
    await a.index.create('replay');
    await a.collection.create('replay', 'docs', { mappings: { properties: { n: { type: 'integer' } } } });

    const received: number[] = [];
    const roomId = await a.realtime.subscribe('replay', 'docs', {}, notification => {
      if (notification.type === 'document') {
        const n: unknown = notification.result._source.n;
        received.push(typeof n === 'number' ? n : NaN);
      }
    });
    await eventually('the room known on B', async () => (await b.realtime.count(roomId)) === 1);

    let sent = 0;
    const write = async (ms: number): Promise<void> => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        await b.document.create('replay', 'docs', { n: ++sent });
      }
    };
    const lossyLink = (state: string): Promise<void> => {
      const pid = nodeB.process?.pid;
      if (pid === undefined) {
        throw new Error('node B is not running');
      }
      const before = nodeB.output.filter(line => line.includes(`lossy link: ${state}`)).length;
      process.kill(pid, 'SIGUSR2');
      return eventually(`lossy link ${state} on B`, () => nodeB.output.filter(line => line.includes(`lossy link: ${state}`)).length > before);
    };

    await write(500);
    await lossyLink('on');
    await write(3000);
    await lossyLink('off');
    await write(500);

    await eventually(`${sent} notifications on A`, () => received.length >= sent, 30000);
    // anything delivered twice would show up meanwhile
    await sleep(500);
    should(received).eql(Array.from({ length: sent }, (_, i) => i + 1));

    const lost = lostByLossyLink(nodeB.output);
    should(lost).be.above(0);
    const idOfB = (await clusterStatus(nodeB.port)).current.id;
    const peerB = (await clusterStatus(nodeA.port)).pool.find(peer => peer.id === idOfB);
    // each one the link lost was asked for and sent again, once
    should(peerB?.counters).match({ lostNotifications: 0, replayed: lost });
    console.log(`      ${sent} writes on B; the link lost ${lost}; A counts ${peerB?.counters?.replayed} replayed, 0 lost`);
  });
});
