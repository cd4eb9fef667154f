/**
 * `npm pack` gives an installable Kuzzle plugin: the tarball holds the
 * compiled code, the Lua scripts it reads at run time and the metadata, no
 * tests and no TypeScript sources; once unpacked and given its production
 * dependencies, a real Kuzzle 2.10.4 node loads it and answers
 * /_plugin/cluster/health.
 *
 * `npm pack` rebuilds dist/ (the `prepare` script); the unpacked package
 * skips that build (no tsconfig.build.json in it) and installs as users
 * install it. The Kuzzle node loads the packed copy, not the
 * repository: a preload points Kuzzle's plugins/enabled directory to a
 * temporary one (the repository's own plugins/enabled/cluster link is left
 * alone for the other suites).
 *
 *   npx mocha -r ts-node/register/transpile-only test/packaging/pack.test.ts
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import should from 'should';

import { EsStandin, startEsStandin } from '../support/es-standin';
import { freePorts } from '../support/ports';
import { killAll, track } from '../support/processes';
import { RedisServer } from '../support/redisServer';
import { ROOT, httpRequest, installPackedPlugin, packPlugin, waitFor } from './support';

const KUZZLE_BIN = path.join(ROOT, 'node_modules', 'kuzzle', 'bin', 'start-kuzzle-server');
const PRELOAD = path.join(__dirname, 'kuzzle-plugins-dir.ts');
const BOOT_TIMEOUT_MS = 90000;

interface KuzzleAnswer<T> {
  status: number;
  result: T;
}

interface ClusterStatusView {
  count: number;
  current: { pub: string; router: string; ready: boolean };
  pool: unknown[];
}

interface ServerInfoView {
  serverInfo: { kuzzle: { plugins: Record<string, { manifest: { name: string; path: string } }> } };
}

describe('packaging: npm pack', function () {
  this.timeout(60000);

  let work = '';
  let tarball = '';
  let packed: string[] = [];

  before(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
      throw new Error('the plugin is not built: run "npm run build" first');
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-packaging-pack-'));
    ({ tarball, files: packed } = await packPlugin(work));
    should(fs.existsSync(tarball)).be.true(`${tarball} not written`);
  });

  after(async () => {
    await killAll();
    if (work) {
      fs.rmSync(work, { force: true, recursive: true });
    }
  });

  it('ships the compiled plugin, the Lua scripts and the metadata', () => {
    const luaScripts = fs.readdirSync(path.join(ROOT, 'lib', 'cluster', 'lua'))
      .filter(file => file.endsWith('.lua'))
      .map(file => `lib/cluster/lua/${file}`);
    should(luaScripts).containEql('lib/cluster/lua/room.lua');
    for (const file of [
      'dist/index.js', 'dist/index.d.ts', 'manifest.json', 'package.json', 'README.md', 'CHANGELOG.md', 'LICENSE',
      ...luaScripts,
    ]) {
      should(packed).containEql(file);
    }
  });

  it('ships no tests, no TypeScript sources and nothing outside dist/, lib/cluster/lua/ and the metadata', () => {
    should(packed.filter(file => file.startsWith('test/') || file.includes('/test/'))).eql([]);
    should(packed.filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts'))).eql([]);
    const allowed = /^(dist\/.+\.(js|d\.ts)|lib\/cluster\/lua\/[^/]+\.lua|manifest\.json|package\.json|README\.md|CHANGELOG\.md|LICENSE)$/;
    should(packed.filter(file => !allowed.test(file))).eql([]);
  });

  describe('unpacked and loaded by a Kuzzle 2.10.4 node', () => {
    let redis: RedisServer | null = null;
    let es: EsStandin | null = null;
    let pluginLink = '';
    let kuzzlePort = 0;
    let pubPort = 0;
    let routerPort = 0;
    const output: string[] = [];

    before(async function () {
      this.timeout(240000);
      const pluginDir = await installPackedPlugin(tarball, path.join(work, 'extract'));

      const enabledDir = path.join(work, 'plugins-enabled');
      fs.mkdirSync(enabledDir);
      pluginLink = path.join(enabledDir, 'cluster');
      fs.symlinkSync(pluginDir, pluginLink, 'dir');

      redis = await RedisServer.start();
      es = await startEsStandin({ host: '127.0.0.1', port: 0 });
      [kuzzlePort, pubPort, routerPort] = await freePorts(3);
      const kuzzleWorkDir = path.join(work, 'kuzzle');
      fs.mkdirSync(kuzzleWorkDir);

      // cwd is a scratch directory so that rc picks up no .kuzzlerc
      const child = track(spawn(process.execPath, [
        '-r', require.resolve('ts-node/register/transpile-only'), '-r', PRELOAD, KUZZLE_BIN,
      ], {
        cwd: kuzzleWorkDir,
        env: {
          ...process.env,
          KUZZLE_PLUGINS_ENABLED_DIR: enabledDir,
          NODE_ENV: 'production',
          // for the preload; found from cwd otherwise, where there is none
          TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
          kuzzle_plugins__cluster__bindings__pub: `tcp://[127.0.0.1:ipv4]:${pubPort}`,
          kuzzle_plugins__cluster__bindings__router: `tcp://[127.0.0.1:ipv4]:${routerPort}`,
          kuzzle_plugins__cluster__privileged: 'true',
          // Kuzzle listens on every interface unless told otherwise
          kuzzle_server__host: '127.0.0.1',
          kuzzle_server__port: String(kuzzlePort),
          kuzzle_services__internalCache__node__host: '127.0.0.1',
          kuzzle_services__internalCache__node__port: String(redis.port),
          kuzzle_services__memoryStorage__node__host: '127.0.0.1',
          kuzzle_services__memoryStorage__node__port: String(redis.port),
          kuzzle_services__storageEngine__client__node: es.url,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }));
      const onData = (data: Buffer): void => {
        output.push(...data.toString().split('\n').filter(Boolean));
        output.splice(0, Math.max(0, output.length - 200));
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);

      await waitFor(
        `Kuzzle (port ${kuzzlePort}) to answer /_plugin/cluster/health`,
        async () => (await httpRequest(kuzzlePort, '/_plugin/cluster/health')).status === 200,
        BOOT_TIMEOUT_MS,
        () => (child.exitCode !== null || child.signalCode !== null
          ? `exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)})`
          : null),
      ).catch((error: Error) => {
        throw new Error(`${error.message}\nlast Kuzzle output:\n${output.slice(-30).join('\n')}`);
      });
    });

    after(async () => {
      await killAll();
      if (es) {
        await es.close();
      }
      if (redis) {
        await redis.stop();
      }
    });

    it('GET /_plugin/cluster/health answers 200', async () => {
      const answer = await httpRequest(kuzzlePort, '/_plugin/cluster/health');
      should(answer.status).equal(200, answer.body);
      should((JSON.parse(answer.body) as KuzzleAnswer<string>).result).equal('ok');
    });

    it('GET /_plugin/cluster/status counts 1 node, bound where configured', async () => {
      const answer = await httpRequest(kuzzlePort, '/_plugin/cluster/status');
      should(answer.status).equal(200, answer.body);
      const status = (JSON.parse(answer.body) as KuzzleAnswer<ClusterStatusView>).result;
      should(status.count).equal(1);
      should(status.pool).eql([]);
      should(status.current).have.properties({
        pub: `tcp://127.0.0.1:${pubPort}`,
        ready: true,
        router: `tcp://127.0.0.1:${routerPort}`,
      });
    });

    it('is the packed copy that Kuzzle loaded', async () => {
      const answer = await httpRequest(kuzzlePort, '/_serverInfo');
      should(answer.status).equal(200, answer.body);
      const info = (JSON.parse(answer.body) as KuzzleAnswer<ServerInfoView>).result;
      const cluster = info.serverInfo.kuzzle.plugins.cluster;
      should(cluster).be.an.Object();
      should(cluster.manifest.name).equal('cluster');
      should([pluginLink, fs.realpathSync(pluginLink)]).containEql(cluster.manifest.path);
    });

    // last: it sets up security on this node
    it('lets the anonymous user poll health once security is set up, with docs/anonymous-role.json', async () => {
      const credentials = { password: 'packaging-test-password', username: 'admin' };
      const created = await httpRequest(kuzzlePort, '/_createFirstAdmin?reset=true', {
        body: { content: {}, credentials: { local: credentials } },
        method: 'POST',
      });
      should(created.status).equal(200, created.body);
      // the reset anonymous role has no right on the cluster controller
      const denied = await httpRequest(kuzzlePort, '/_plugin/cluster/health');
      should([401, 403]).containEql(denied.status);

      const login = await httpRequest(kuzzlePort, '/_login/local', { body: credentials, method: 'POST' });
      should(login.status).equal(200, login.body);
      const token = (JSON.parse(login.body) as KuzzleAnswer<{ jwt: string }>).result.jwt;
      const role = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'anonymous-role.json'), 'utf8')) as unknown;
      const updated = await httpRequest(kuzzlePort, '/roles/anonymous/_update', { body: role, method: 'PUT', token });
      should(updated.status).equal(200, updated.body);

      const health = await httpRequest(kuzzlePort, '/_plugin/cluster/health');
      should(health.status).equal(200, health.body);
      // the role still lets users log in
      should((await httpRequest(kuzzlePort, '/_login/local', { body: credentials, method: 'POST' })).status).equal(200);
    });
  });
});
