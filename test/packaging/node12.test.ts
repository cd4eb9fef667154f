/**
 * Where Kuzzle 2.10.4 users run the plugin: the official image runs Kuzzle on
 * Node 12.18.1. The `npm pack` tarball, installed with `npm install
 * --omit=dev` for Node 12.18.1, is loaded by 2 real Kuzzle 2.10.4 nodes
 * running on Node 12.18.1 (Kuzzle installed from its own lockfile, as in the
 * image; cached between runs, see kuzzleOnNode12.ts): both healthy, a
 * subscriber on one node is notified of a document created on the other, and
 * realtime:count is cluster-wide.
 *
 *   npx mocha -r ts-node/register/transpile-only test/packaging/node12.test.ts
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DocumentNotification, Kuzzle } from 'kuzzle-sdk';
import should from 'should';

import { eventually } from '../support/coreNode';
import { KuzzleStack, connectSdk, tearDown, httpGet } from '../support/kuzzleStack';
import { NODE_12_VERSION, kuzzleOnNode12, node12BuildEnv } from './kuzzleOnNode12';
import { describeRun, installPackedPlugin, packPlugin, run } from './support';

const FIRST_INSTALL_TIMEOUT_MS = 45 * 60 * 1000;
/**
 * The image's system libraries (node:12.18.1-stretch-slim, copied into
 * minideb:stretch): glibc 2.24 and GCC 6's libstdc++.
 */
const IMAGE_GLIBC = '2.24';
const IMAGE_GLIBCXX = '3.4.22';
const LIST_NATIVE_ADDONS = 'require("."); console.log(JSON.stringify(Object.keys(require.cache).filter(f => f.endsWith(".node"))))';

/** the highest `prefix` symbol version (GLIBC_, GLIBCXX_) that a shared object needs */
function highestVersionNeeded (dynamicSymbols: string, prefix: string): string | null {
  const versions = Array.from(dynamicSymbols.matchAll(new RegExp(`\\(${prefix}_([0-9.]+)\\)`, 'g')), m => m[1]);
  return versions.sort(compareVersions).pop() || null;
}

function compareVersions (a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const diff = (x[i] || 0) - (y[i] || 0);
    if (diff !== 0) {
      return diff;
    }
  }
  return 0;
}

interface ServerInfoView {
  serverInfo: { kuzzle: { nodeVersion: string; version: string; plugins: Record<string, { manifest: { path: string } }> } };
}

describe(`packaging: the packed plugin on Node ${NODE_12_VERSION} (the kuzzleio/kuzzle:2.10.4 image's Node)`, function () {
  this.timeout(180000);

  let work = '';
  let pluginDir = '';
  let stack: KuzzleStack | null = null;
  let clients: Kuzzle[] = [];
  /** the native addons that loading the plugin on Node 12 loaded */
  let addons: string[] = [];

  before(async function () {
    this.timeout(FIRST_INSTALL_TIMEOUT_MS);
    const log = (line: string): void => console.log(`      [node ${NODE_12_VERSION}] ${line}`);
    const node12 = await kuzzleOnNode12(log);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-packaging-node12-'));
    const { tarball } = await packPlugin(work);
    pluginDir = await installPackedPlugin(tarball, path.join(work, 'extract'), node12BuildEnv(node12.nodeDir));

    // the plugin's dependencies load on Node 12.18.1 (zeromq's loader among them), before any Kuzzle boots
    const load = await run(node12.nodeBinary, ['-e', LIST_NATIVE_ADDONS], { cwd: pluginDir, timeout: 30000 });
    should(load.code).equal(0, describeRun(`node ${NODE_12_VERSION} -e 'require("kuzzle-plugin-cluster")'`, load));
    addons = JSON.parse(load.stdout) as string[];

    stack = await KuzzleStack.start({
      kuzzleDir: node12.kuzzleDir,
      nodeBinary: node12.nodeBinary,
      nodes: 2,
      pluginDir,
      workDir: path.join(work, 'stack'),
    });
    clients = await Promise.all(stack.nodes.map(node => connectSdk(node.port)));
  });

  after(async () => {
    await tearDown(stack, clients);
    if (work) {
      fs.rmSync(work, { force: true, recursive: true });
    }
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && stack) {
      stack.printLastOutput();
    }
  });

  it(`the native addon it loads needs no newer glibc than ${IMAGE_GLIBC} nor libstdc++ than GLIBCXX_${IMAGE_GLIBCXX} (the image's Debian stretch)`, async () => {
    should(addons.length).be.above(0, 'no native addon loaded: is zeromq still a dependency?');
    for (const addon of addons) {
      const symbols = await run('objdump', ['-T', addon], { timeout: 30000 });
      should(symbols.code).equal(0, describeRun(`objdump -T ${addon}`, symbols));
      const glibc = highestVersionNeeded(symbols.stdout, 'GLIBC');
      const glibcxx = highestVersionNeeded(symbols.stdout, 'GLIBCXX');
      should(glibc === null || compareVersions(glibc, IMAGE_GLIBC) <= 0).be.true(`${addon} needs GLIBC_${String(glibc)}`);
      should(glibcxx === null || compareVersions(glibcxx, IMAGE_GLIBCXX) <= 0).be.true(`${addon} needs GLIBCXX_${String(glibcxx)}`);
    }
  });

  it(`both nodes run Kuzzle 2.10.4 on Node ${NODE_12_VERSION} with the packed plugin, and are healthy in a cluster of 2`, async () => {
    for (const node of stack!.nodes) {
      const info = JSON.parse((await httpGet(node.port, '/_serverInfo')).body).result as ServerInfoView;
      should(info.serverInfo.kuzzle.nodeVersion).equal(`v${NODE_12_VERSION}`);
      should(info.serverInfo.kuzzle.version).equal('2.10.4');
      should([pluginDir, fs.realpathSync(pluginDir)]).containEql(fs.realpathSync(info.serverInfo.kuzzle.plugins.cluster.manifest.path));

      const health = await httpGet(node.port, '/_plugin/cluster/health');
      should(health.status).equal(200, health.body);
      await eventually('2 nodes in status', async () => {
        const status = JSON.parse((await httpGet(node.port, '/_plugin/cluster/status')).body).result;
        return status.count === 2 && status.pool.length === 1;
      });
    }
  });

  it('a subscriber on node 1 is notified of a document created on node 2', async () => {
    const [a, b] = clients;
    await b.index.create('node12');
    await b.collection.create('node12', 'docs', {});
    const received: Array<DocumentNotification['result']> = [];
    await a.realtime.subscribe('node12', 'docs', { equals: { kind: 'wanted' } }, notification => {
      if (notification.type === 'document') {
        received.push(notification.result);
      }
    });
    await b.document.create('node12', 'docs', { kind: 'other' }, 'other');
    await b.document.create('node12', 'docs', { kind: 'wanted' }, 'wanted');
    await eventually('the notification on node 1', async () => received.length > 0);
    should(received.map(doc => doc._id)).eql(['wanted']);
    should(received[0]._source).have.properties({ kind: 'wanted' });
  });

  it('realtime:count is cluster-wide', async () => {
    const [a, b] = clients;
    const filter = { equals: { kind: 'counted' } };
    const roomId = await a.realtime.subscribe('node12', 'docs', filter, () => undefined);
    await b.realtime.subscribe('node12', 'docs', filter, () => undefined);
    for (const client of clients) {
      await eventually('count 2 on every node', async () => (await client.realtime.count(roomId)) === 2);
    }
  });
});
