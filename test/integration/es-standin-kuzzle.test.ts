/**
 * Smoke check of the Elasticsearch stand-in against a real Kuzzle 2.10.4:
 * starts redis-server, the stand-in (in-process) and one Kuzzle node on free
 * 127.0.0.1 ports, drives Kuzzle with kuzzle-sdk over WebSocket and HTTP, and
 * fails if Kuzzle sent anything the stand-in could not serve.
 *
 *   npx mocha -r ts-node/register/transpile-only test/integration/es-standin-kuzzle.test.ts
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';

import { Http, Kuzzle, WebSocket } from 'kuzzle-sdk';
import should from 'should';

import { EsStandin, RequestLogEntry, startEsStandin } from '../support/es-standin';

const ROOT = path.resolve(__dirname, '..', '..');
const KUZZLE_BIN = path.join(ROOT, 'node_modules', 'kuzzle', 'bin', 'start-kuzzle-server');
const NO_ENABLED_PLUGINS = path.join(ROOT, 'test', 'support', 'es-standin', 'kuzzle-without-enabled-plugins.ts');
const BOOT_TIMEOUT_MS = 90000;

interface Managed {
  name: string;
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function launch (name: string, command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Managed {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const managed: Managed = { name, child, stdout: [], stderr: [] };
  child.stdout?.on('data', (chunk: Buffer) => managed.stdout.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => managed.stderr.push(chunk.toString()));
  return managed;
}

function waitFor (what: string, managed: Managed, ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = async (): Promise<void> => {
      if (managed.child.exitCode !== null || managed.child.signalCode !== null) {
        reject(new Error(`${what} exited (code ${String(managed.child.exitCode)}, signal ${String(managed.child.signalCode)})`));
        return;
      }
      if (await ready()) {
        resolve();
        return;
      }
      if (Date.now() > deadline) {
        reject(new Error(`${what} not ready after ${timeoutMs} ms`));
        return;
      }
      setTimeout(() => { void tick(); }, 200);
    };
    void tick();
  });
}

function portOpen (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** SIGTERM by pid, SIGKILL after a grace period. */
async function stop (managed: Managed | undefined): Promise<void> {
  if (!managed || managed.child.pid === undefined || managed.child.exitCode !== null || managed.child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>(resolve => managed.child.once('exit', () => resolve()));
  process.kill(managed.child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (managed.child.pid !== undefined && managed.child.exitCode === null) {
      process.kill(managed.child.pid, 'SIGKILL');
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

function report (managed: Managed): string {
  return `--- ${managed.name} stdout ---\n${managed.stdout.join('').slice(-6000)}\n--- ${managed.name} stderr ---\n${managed.stderr.join('').slice(-6000)}`;
}

interface SdkError {
  id?: string;
  status?: number;
  message?: string;
}

interface MappingView {
  dynamic?: string;
  properties: Record<string, unknown>;
}

/** The SDK types mapping properties loosely; the tests only read plain JSON. */
async function mappingOf (sdk: Kuzzle, index: string, collection: string): Promise<MappingView> {
  const raw: unknown = await sdk.collection.getMapping(index, collection);
  const mapping = raw as { dynamic?: string; properties?: Record<string, unknown> };
  return { dynamic: mapping.dynamic, properties: mapping.properties ?? {} };
}

async function rejection (promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  }
  catch (error) {
    return error as SdkError;
  }
  throw new Error('expected a rejection');
}

describe('es-standin with a real Kuzzle 2.10.4', function () {
  this.timeout(BOOT_TIMEOUT_MS + 60000);

  const requests: RequestLogEntry[] = [];
  let workDir: string;
  let redis: Managed | undefined;
  let kuzzle: Managed | undefined;
  let es: EsStandin | undefined;
  let kuzzlePort = 0;
  let bootRequestCount = 0;

  before(async function () {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-standin-kuzzle-'));
    const [redisPort, kPort] = [await freePort(), await freePort()];
    kuzzlePort = kPort;

    redis = launch('redis', 'redis-server', [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    ], { cwd: workDir });
    await waitFor('redis-server', redis, () => portOpen(redisPort), 10000);

    es = await startEsStandin({ port: 0, host: '127.0.0.1', onRequest: entry => requests.push(entry) });

    // A vanilla Kuzzle: the preload hides plugins/enabled/ (where the plugin under
    // development may be symlinked); cwd is a scratch directory so that rc picks up no .kuzzlerc.
    kuzzle = launch('kuzzle', process.execPath, [
      '-r', require.resolve('ts-node/register/transpile-only'), '-r', NO_ENABLED_PLUGINS, KUZZLE_BIN,
    ], {
      cwd: workDir,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
        kuzzle_server__host: '127.0.0.1',
        kuzzle_server__port: String(kuzzlePort),
        kuzzle_limits__loginsPerSecond: '1000',
        kuzzle_services__storageEngine__client__node: es.url,
        kuzzle_services__internalCache__node__host: '127.0.0.1',
        kuzzle_services__internalCache__node__port: String(redisPort),
        kuzzle_services__memoryStorage__node__host: '127.0.0.1',
        kuzzle_services__memoryStorage__node__port: String(redisPort),
      },
    });
    const k = kuzzle;
    try {
      await waitFor('Kuzzle', k, () => /Kuzzle [\d.]+ is ready/.test(k.stdout.join('')), BOOT_TIMEOUT_MS);
    }
    catch (error) {
      process.stderr.write(`Kuzzle failed to boot: ${String(error)}\n${report(k)}\n`);
      throw error;
    }
    bootRequestCount = requests.length;
  });

  after(async function () {
    this.timeout(30000);
    await stop(kuzzle);
    await stop(redis);
    await es?.close();
    if (workDir) {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && kuzzle) {
      const recent = requests.slice(-25).map(r => `${r.status} ${r.method} ${r.url}${r.error ? ` ${r.error}: ${r.reason ?? ''}` : ''}${r.body ? `\n    ${r.body.slice(0, 300)}` : ''}`);
      process.stderr.write(`--- last stand-in requests ---\n${recent.join('\n')}\n`);
      process.stderr.write(`--- kuzzle stderr (tail) ---\n${kuzzle.stderr.join('').slice(-3000)}\n`);
    }
  });

  it('booted without any error answer from the stand-in except expected 404 lookups', () => {
    const boot = requests.slice(0, bootRequestCount);
    should(boot.length).be.above(10);
    const unexpected = boot.filter(r => r.status >= 400 && !(r.status === 404 && r.method === 'HEAD'));
    should(unexpected).eql([]);
  });

  for (const protocol of ['websocket', 'http'] as const) {
    describe(`through kuzzle-sdk (${protocol})`, () => {
      let sdk: Kuzzle;
      const index = `standin-${protocol}`;
      const collection = 'people';

      before(async () => {
        const transport = protocol === 'websocket'
          ? new WebSocket('127.0.0.1', { port: kuzzlePort })
          : new Http('127.0.0.1', { port: kuzzlePort });
        sdk = new Kuzzle(transport);
        await sdk.connect();
      });

      after(() => {
        sdk?.disconnect();
      });

      it('creates an index and a collection with mappings, and lists them', async () => {
        await sdk.index.create(index);
        await sdk.collection.create(index, collection, {
          mappings: {
            dynamic: 'false',
            properties: {
              name: { type: 'keyword' },
              age: { type: 'integer' },
              city: { type: 'keyword' },
              bio: { type: 'text' },
            },
          },
        });
        should(await sdk.index.list()).containEql(index);
        const list = await sdk.collection.list(index);
        should(list.collections.map((c: { name: string }) => c.name)).eql([collection]);
        const mapping = await mappingOf(sdk, index, collection);
        should(mapping.properties.age).eql({ type: 'integer' });
        should(mapping.dynamic).eql('false');
        should(await sdk.collection.exists(index, collection)).be.true();
      });

      it('creates, gets, updates, replaces and deletes a document', async () => {
        const created = await sdk.document.create(index, collection, { name: 'alice', age: 30, city: 'paris' }, 'alice');
        should(created._id).eql('alice');
        should(created._version).eql(1);
        const conflict = await rejection(sdk.document.create(index, collection, { name: 'alice' }, 'alice'));
        should(conflict.id).eql('services.storage.document_already_exists');

        const auto = await sdk.document.create(index, collection, { name: 'anonymous' });
        should(auto._id).be.a.String().and.have.length(20);

        const fetched = await sdk.document.get(index, collection, 'alice');
        should(fetched._source).containEql({ name: 'alice', age: 30 });
        should(fetched._source._kuzzle_info?.createdAt).be.a.Number();

        const updated = await sdk.document.update(index, collection, 'alice', { age: 31 });
        should(updated._version).eql(2);
        should((await sdk.document.get(index, collection, 'alice'))._source.age).eql(31);

        const replaced = await sdk.document.replace(index, collection, 'alice', { name: 'alice', age: 32 });
        should(replaced._version).eql(3);
        should((await sdk.document.get(index, collection, 'alice'))._source).not.have.property('city');

        const defaults: Record<string, unknown> = { name: 'carol' };
        const upserted = await sdk.document.upsert(index, collection, 'carol', { age: 50 }, { default: defaults });
        should(upserted._id).eql('carol');
        should((await sdk.document.get(index, collection, 'carol'))._source).containEql({ name: 'carol', age: 50 });

        should(await sdk.document.exists(index, collection, 'alice')).be.true();
        await sdk.document.delete(index, collection, auto._id);
        const missing = await rejection(sdk.document.get(index, collection, auto._id));
        should(missing.id).eql('services.storage.not_found');
        should(missing.status).eql(404);
        should(await sdk.document.exists(index, collection, auto._id)).be.false();
      });

      it('mCreate, mGet, mUpdate, mReplace and mDelete', async () => {
        const documents = ['bob', 'dave', 'erin', 'frank', 'grace'].map((name, i) => ({
          _id: name,
          body: { name, age: 20 + i * 10, city: i % 2 === 0 ? 'paris' : 'lyon', bio: `${name} likes search engines` },
        }));
        const created = await sdk.document.mCreate(index, collection, documents);
        should(created.errors).eql([]);
        should(created.successes).have.length(5);
        const again = await sdk.document.mCreate(index, collection, [documents[0]]);
        should(again.errors).have.length(1);

        const got = await sdk.document.mGet(index, collection, ['bob', 'dave', 'nobody']);
        should(got.successes.map((d: { _id: string }) => d._id)).eql(['bob', 'dave']);
        should(got.errors.map((e: { _id?: string } | string) => (typeof e === 'string' ? e : e._id))).eql(['nobody']);

        const mUpdated = await sdk.document.mUpdate(index, collection, [
          { _id: 'bob', body: { city: 'nice' } },
          { _id: 'nobody', body: { city: 'nice' } },
        ]);
        should(mUpdated.successes).have.length(1);
        should(mUpdated.successes[0]._source.city).eql('nice');
        should(mUpdated.errors).have.length(1);
        should(mUpdated.errors[0].status).eql(404);

        const mReplaced = await sdk.document.mReplace(index, collection, [
          { _id: 'grace', body: { name: 'grace', age: 61, city: 'lyon', bio: 'grace replaced' } },
        ]);
        should(mReplaced.successes).have.length(1);

        const mDeleted = await sdk.document.mDelete(index, collection, ['grace', 'nobody']);
        should(mDeleted.successes).eql(['grace']);
        should(mDeleted.errors).have.length(1);
      });

      it('searches with bool/range/term/match, sorts and scrolls', async () => {
        const query = {
          query: {
            bool: {
              filter: [{ range: { age: { gte: 25, lt: 60 } } }],
              must_not: [{ term: { city: 'nowhere' } }],
              should: [{ term: { city: 'paris' } }, { match: { bio: 'search' } }],
              minimum_should_match: 1,
            },
          },
          sort: [{ age: 'asc' }],
        };
        const page1 = await sdk.document.search(index, collection, query, { size: 2, scroll: '10s' });
        // alice and carol have neither city=paris nor a bio; bob (20) is out of range
        should(page1.total).eql(3);
        should(page1.hits.map((h: { _id: string }) => h._id)).eql(['dave', 'erin']);
        const ids = page1.hits.map((h: { _id: string }) => h._id);
        let page = await page1.next();
        while (page) {
          ids.push(...page.hits.map((h: { _id: string }) => h._id));
          page = await page.next();
        }
        should(ids).eql(['dave', 'erin', 'frank']);

        // without scroll, the SDK pages sorted searches with search_after
        const sorted = await sdk.document.search(index, collection, { ...query, sort: [{ age: 'asc' }, { name: 'asc' }] }, { size: 2 });
        const afterIds = sorted.hits.map((h: { _id: string }) => h._id);
        let after = await sorted.next();
        while (after) {
          afterIds.push(...after.hits.map((h: { _id: string }) => h._id));
          after = await after.next();
        }
        should(afterIds).eql(['dave', 'erin', 'frank']);

        const fromSize = await sdk.document.search(index, collection, query, { from: 1, size: 2 });
        should(fromSize.hits.map((h: { _id: string }) => h._id)).eql(['erin', 'frank']);

        const matched = await sdk.document.search(index, collection, { query: { match: { bio: 'engines' } } });
        should(matched.total).eql(4);

        should(await sdk.document.count(index, collection, { query: { term: { city: 'lyon' } } })).eql(2);
        should(await sdk.document.count(index, collection, {})).eql(6);

        const koncorde = await sdk.document.search(
          index, collection, { query: { and: [{ equals: { city: 'paris' } }, { range: { age: { gt: 30 } } }] } },
          { lang: 'koncorde' });
        should(koncorde.hits.map((h: { _id: string }) => h._id)).eql(['erin']);

        const unsupported = await rejection(sdk.document.search(index, collection, { query: { fuzzy: { name: 'alise' } } }));
        should(unsupported.message).match(/es-standin does not support query \[fuzzy\]/);
      });

      it('updateByQuery, deleteByQuery and bulk:import', async () => {
        const updated = await sdk.document.updateByQuery(index, collection, { term: { city: 'lyon' } }, { city: 'marseille' });
        should(updated.successes).have.length(2);
        should((await sdk.document.get(index, collection, 'dave'))._source.city).eql('marseille');

        const deleted = await sdk.document.deleteByQuery(index, collection, { query: { range: { age: { gte: 50 } } } });
        should(deleted.map((d: { _id: string } | string) => (typeof d === 'string' ? d : d._id)).sort()).eql(['carol', 'frank']);

        const imported = await sdk.bulk.import(index, collection, [
          { index: { _id: 'imp1' } }, { name: 'imp1', age: 1 },
          { create: { _id: 'imp2' } }, { name: 'imp2', age: 2 },
          { create: { _id: 'alice' } }, { name: 'dup' },
          { update: { _id: 'imp1' } }, { doc: { age: 11 } },
          { delete: { _id: 'imp2' } },
        ]);
        should(imported.successes).have.length(4);
        should(imported.errors).have.length(1);
        should(imported.errors[0].create.status).eql(409);
        should((await sdk.document.get(index, collection, 'imp1'))._source.age).eql(11);
      });

      it('updates mappings and specifications, truncates and deletes the collection', async () => {
        await sdk.collection.update(index, collection, { mappings: { properties: { nickname: { type: 'keyword' } } } });
        // Kuzzle 2.10.4 answers collection:update without awaiting the storage calls (clientAdapter
        // `collection:update` handler does not return the promise): wait for the put-mapping.
        let mapping = await mappingOf(sdk, index, collection);
        for (let i = 0; i < 50 && mapping.properties.nickname === undefined; i++) {
          await new Promise(resolve => setTimeout(resolve, 50));
          mapping = await mappingOf(sdk, index, collection);
        }
        should(mapping.properties.nickname).eql({ type: 'keyword' });
        should(mapping.properties.name).eql({ type: 'keyword' });

        const specs = await sdk.collection.updateSpecifications(index, collection, {
          strict: false,
          fields: { age: { type: 'integer', mandatory: true } },
        });
        should(specs.fields.age.mandatory).be.true();
        const invalid = await rejection(sdk.document.create(index, collection, { name: 'no age' }));
        should(invalid.id).eql('validation.check.failed_field');

        await sdk.collection.refresh(index, collection);
        await sdk.collection.truncate(index, collection);
        should(await sdk.document.count(index, collection)).eql(0);
        should((await mappingOf(sdk, index, collection)).properties.nickname).eql({ type: 'keyword' });

        await sdk.collection.delete(index, collection);
        should((await sdk.collection.list(index)).collections).eql([]);
      });

      it('reports storage info and stats', async () => {
        const info = await sdk.server.info({});
        should(info.serverInfo.services.internalStorage.version).eql('7.17.0');
        const health = await sdk.query({ controller: 'server', action: 'healthCheck' });
        should(health.result.services.storageEngine).eql('green');
        const stats = await sdk.query({ controller: 'index', action: 'stats' });
        should(stats.result.indexes).be.an.Array();
      });

      it('creates a role, a profile and a user, then logs in with the local strategy', async () => {
        const suffix = protocol;
        await sdk.security.createRole(`reader-${suffix}`, {
          controllers: { document: { actions: { get: true, search: true } }, auth: { actions: { '*': true } } },
        }, { refresh: 'wait_for' });
        await sdk.security.createProfile(`readers-${suffix}`, { policies: [{ roleId: `reader-${suffix}` }] }, { refresh: 'wait_for' });
        await sdk.security.createUser(`user-${suffix}`, {
          content: { profileIds: [`readers-${suffix}`], fullName: 'Test User' },
          credentials: { local: { username: `user-${suffix}`, password: 'secret-password' } },
        }, { refresh: 'wait_for' });

        const users = await sdk.security.searchUsers({ query: { terms: { profileIds: [`readers-${suffix}`] } } });
        should(users.total).eql(1);

        const jwt = await sdk.auth.login('local', { username: `user-${suffix}`, password: 'secret-password' });
        should(jwt).be.a.String();
        const me = await sdk.auth.getCurrentUser();
        should(me._id).eql(`user-${suffix}`);
        const bad = await rejection(sdk.auth.login('local', { username: `user-${suffix}`, password: 'wrong' }));
        should(bad.status).eql(401);
        await sdk.auth.logout();

        await sdk.index.delete(index);
        should(await sdk.index.list()).not.containEql(index);
      });
    });
  }

  // Mocha runs a suite's own tests before its child suites: these checks live in a last child suite.
  describe('after both protocols', () => {
  it('admin:resetSecurity recreates the default roles and profiles', async () => {
    const sdk = new Kuzzle(new Http('127.0.0.1', { port: kuzzlePort }));
    await sdk.connect();
    try {
      await sdk.query({ controller: 'admin', action: 'resetSecurity', refresh: 'wait_for' });
      const roles = await sdk.security.searchRoles({});
      should(roles.hits.map((r: { _id: string }) => r._id).sort()).eql(['admin', 'anonymous', 'default']);
      const users = await sdk.security.searchUsers({});
      should(users.total).eql(0);
    }
    finally {
      sdk.disconnect();
    }
  });

  it('never answered Kuzzle with an unsupported-feature or internal error (other than the deliberate fuzzy query)', () => {
    const bad = requests.filter(r => (r.status >= 500)
      || (r.reason?.includes('es-standin does not support') && !r.reason.includes('[fuzzy]')));
    should(bad).eql([]);
  });
  });
});
