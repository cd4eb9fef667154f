/**
 * The deployment files users copy: docker-compose.yml and its Redis Cluster
 * variant, the kuzzlerc files they mount, the nginx and haproxy
 * configurations under nginx/.
 *
 * Without a Docker engine, the compose files are checked with
 * `docker-compose config` / `docker compose config` only (syntax, merge of
 * the override, interpolation), not run.
 *
 *   npx mocha -r ts-node/register/transpile-only test/packaging/config-files.test.ts
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import should from 'should';

import { InterfaceTable, KuzzleCacheConfig, loadConfig } from '../../lib/config';
import { nginxBinary, renderNginxConfig, startNginx } from '../support/nginx';
import { freePort } from '../support/ports';
import { killAll } from '../support/processes';
import {
  FakeBackend, ROOT, RunResult, describeRun, hasDockerComposeV2, httpRequest, run, startFakeBackend, upgradeAndEcho, which,
} from './support';

const NGINX_DIR = path.join(ROOT, 'nginx');
const COMPOSE_DIR = path.join(ROOT, 'docker-compose');

/** A container's interfaces: `_site_` resolves to eth0 */
const CONTAINER_INTERFACES: InterfaceTable = {
  eth0: [{
    address: '172.18.0.5', cidr: '172.18.0.5/16', family: 'IPv4', internal: false, mac: '02:42:ac:12:00:05', netmask: '255.255.0.0',
  }],
  lo: [{
    address: '127.0.0.1', cidr: '127.0.0.1/8', family: 'IPv4', internal: true, mac: '00:00:00:00:00:00', netmask: '255.0.0.0',
  }],
};

interface ComposeTool {
  name: string;
  command: string;
  args: string[];
}

function composeTools (): ComposeTool[] {
  const tools: ComposeTool[] = [];
  const v1 = which('docker-compose');
  if (v1) {
    tools.push({ args: [], command: v1, name: 'docker-compose' });
  }
  if (hasDockerComposeV2()) {
    tools.push({ args: ['compose'], command: 'docker', name: 'docker compose' });
  }
  return tools;
}

const VARIANTS: Array<{ name: string; files: string[]; kuzzlerc: string; services: string[] }> = [
  {
    files: ['docker-compose.yml'],
    kuzzlerc: 'kuzzlerc',
    name: 'docker-compose.yml',
    services: ['cluster-plugin', 'elasticsearch', 'kuzzle', 'nginx', 'redis'],
  },
  {
    files: ['docker-compose.yml', 'docker-compose/redis-cluster.yml'],
    kuzzlerc: 'kuzzlerc.redis-cluster',
    name: 'docker-compose.yml + docker-compose/redis-cluster.yml',
    services: ['cluster-plugin', 'elasticsearch', 'kuzzle', 'nginx', 'redis', 'redis-2', 'redis-3', 'redis-cluster-init'],
  },
];

/** Lines of one service in `config` output (services at 2 spaces, their keys at 4) */
function serviceBlock (config: string, service: string): string[] {
  const lines = config.split('\n');
  const start = lines.indexOf(`  ${service}:`);
  if (start === -1) {
    throw new Error(`no service "${service}" in:\n${config}`);
  }
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^ {3}/.test(line)) {
      break;
    }
    block.push(line);
  }
  return block;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject (value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merged key by key, anything else replaced: what rc (deep-extend) does with a kuzzlerc */
function deepMerge (base: Json, override: Json): Json {
  if (!isObject(base) || !isObject(override)) {
    return override;
  }
  const result: { [key: string]: Json } = { ...base };
  for (const [key, value] of Object.entries(override)) {
    result[key] = key in result ? deepMerge(result[key], value) : value;
  }
  return result;
}

function readKuzzlerc (name: string): { [key: string]: Json } {
  const parsed = JSON.parse(fs.readFileSync(path.join(COMPOSE_DIR, name), 'utf8')) as Json;
  if (!isObject(parsed)) {
    throw new Error(`${name}: not a JSON object`);
  }
  return parsed;
}

function section (root: Json | undefined, ...keys: string[]): { [key: string]: Json } {
  let current = root;
  for (const key of keys) {
    current = isObject(current) ? current[key] : undefined;
  }
  if (!isObject(current)) {
    throw new Error(`missing section ${keys.join('.')}`);
  }
  return current;
}

describe('packaging: configuration files', function () {
  this.timeout(60000);

  after(() => killAll());

  describe('docker-compose', () => {
    const tools = composeTools();

    if (tools.length === 0) {
      it('docker-compose config', function () {
        console.log('      skipped: neither docker-compose nor the docker compose plugin is installed');
        this.skip();
      });
    }

    for (const tool of tools) {
      for (const variant of VARIANTS) {
        describe(`${tool.name}: ${variant.name}`, () => {
          let config = '';
          let services: string[] = [];
          const fileArgs = variant.files.flatMap(file => ['-f', file]);

          before(async () => {
            // interpolated with the defaults, not with the caller's environment
            const env: NodeJS.ProcessEnv = { ...process.env };
            delete env.KUZZLE_LB_ADDRESS;
            const result = await run(tool.command, [...tool.args, ...fileArgs, 'config'], { env, timeout: 30000 });
            should(result.code).equal(0, describeRun(`${tool.name} config`, result));
            config = result.stdout;
            const listed = await run(tool.command, [...tool.args, ...fileArgs, 'config', '--services'], { env, timeout: 30000 });
            should(listed.code).equal(0, describeRun(`${tool.name} config --services`, listed));
            services = listed.stdout.split('\n').map(line => line.trim()).filter(Boolean);
          });

          it('is accepted and declares the expected services', () => {
            should([...services].sort()).eql([...variant.services].sort());
          });

          it('lets the kuzzle service scale: no container_name, no published port', () => {
            const block = serviceBlock(config, 'kuzzle');
            should(block.filter(line => /^ {4}(container_name|ports):/.test(line))).eql([]);
          });

          it(`mounts ${variant.kuzzlerc} as /etc/kuzzlerc and the plugin under plugins/available`, () => {
            const block = serviceBlock(config, 'kuzzle').join('\n');
            should(block).containEql(`${path.join(COMPOSE_DIR, variant.kuzzlerc)}:/etc/kuzzlerc:ro`);
            should(block).containEql('cluster-plugin:/var/app/plugins/available/cluster:ro');
            should(block).match(/KUZZLE_PLUGINS: cluster\n/);
          });

          it('publishes nginx on 127.0.0.1:7512 only by default', () => {
            const block = serviceBlock(config, 'nginx').join('\n');
            should(block).match(/127\.0\.0\.1:7512:7512/);
            should(block).containEql(`${path.join(NGINX_DIR, 'kuzzle-docker.conf')}:/etc/nginx/nginx.conf:ro`);
          });

          it(`names in ${variant.kuzzlerc} only hosts that are services of the stack`, () => {
            const rc = readKuzzlerc(variant.kuzzlerc);
            const hosts = new Set<string>();
            const collect = (value: Json | undefined): void => {
              if (Array.isArray(value)) {
                value.forEach(collect);
              }
              else if (isObject(value)) {
                if (typeof value.host === 'string') {
                  hosts.add(value.host);
                }
                Object.values(value).forEach(collect);
              }
            };
            collect(rc.services);
            collect(section(rc, 'plugins', 'cluster').redis);
            const es = section(rc, 'services', 'storageEngine', 'client').node;
            hosts.add(new URL(String(es)).hostname);
            should(hosts.size).be.above(1);
            for (const host of hosts) {
              should(services).containEql(host);
            }
          });
        });
      }
    }
  });

  describe('kuzzlerc files', () => {
    const kuzzleDefaults = require(path.join(ROOT, 'node_modules', 'kuzzle', 'lib', 'config', 'default.config.js')) as Json;

    for (const name of ['kuzzlerc', 'kuzzlerc.redis-cluster']) {
      describe(name, () => {
        it('is JSON with a privileged plugins.cluster section', () => {
          const rc = readKuzzlerc(name);
          should(section(rc, 'plugins', 'cluster').privileged).equal(true);
        });

        it('passes the plugin\'s validation, _site_ resolving to the container address', () => {
          const rc = readKuzzlerc(name);
          // the plugin receives Kuzzle's internalCache section once rc merged the file into the defaults
          const merged = deepMerge(kuzzleDefaults, rc);
          const cache = section(merged, 'services', 'internalCache') as KuzzleCacheConfig;
          const config = loadConfig(section(rc, 'plugins', 'cluster'), cache, CONTAINER_INTERFACES);
          should(config.bindings.pub.url).equal('tcp://172.18.0.5:7511');
          should(config.bindings.router.url).equal('tcp://172.18.0.5:7510');
          should(config.minimumNodes).be.aboveOrEqual(1);
          if (name === 'kuzzlerc') {
            should(config.redis).eql({ mode: 'standalone', options: { db: 0, host: 'redis', port: 6379 } });
          }
          else {
            should(config.redis.mode).equal('cluster');
            should(config.redis).have.property('nodes').with.length(3);
          }
        });
      });
    }

    it('kuzzlerc.redis-cluster: Kuzzle and the plugin use the same Redis Cluster nodes, database 0', () => {
      const rc = readKuzzlerc('kuzzlerc.redis-cluster');
      const nodes = section(rc, 'services', 'internalCache').nodes;
      should(nodes).be.an.Array().with.length(3);
      should(section(rc, 'services', 'memoryStorage').nodes).eql(nodes);
      should(section(rc, 'plugins', 'cluster', 'redis').nodes).eql(nodes);
      // Redis Cluster has no SELECT: Kuzzle's memoryStorage defaults to database 5
      should(section(rc, 'services', 'memoryStorage').database).equal(0);
      should(section(rc, 'services', 'internalCache').database).equal(0);
    });
  });

  describe('nginx configurations', () => {
    const confFiles = fs.readdirSync(NGINX_DIR).filter(file => file.endsWith('.conf')).sort();
    const tmpDirs: string[] = [];
    const backends: FakeBackend[] = [];

    const tmpDir = (): string => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-packaging-nginx-'));
      tmpDirs.push(dir);
      return dir;
    };

    /**
     * A runnable copy: foreground, pid, logs and temporary files in `dir`,
     * and the given replacements, each of which must match.
     */
    const runnableCopy = (file: string, dir: string, replacements: Array<[string, string]>): string => {
      let text = fs.readFileSync(path.join(NGINX_DIR, file), 'utf8');
      for (const [from, to] of replacements) {
        should(text.includes(from)).be.true(`"${from}" not found in nginx/${file}`);
        text = text.split(from).join(to);
      }
      const httpLevel = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map(kind => `  ${kind}_temp_path ${dir}/${kind};`)
        .concat(`  access_log ${dir}/access.log;`)
        .join('\n');
      text = `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\n${text.replace(/^http \{$/m, `http {\n${httpLevel}`)}`;
      const copy = path.join(dir, file);
      fs.writeFileSync(copy, text);
      return copy;
    };

    after(async () => {
      await killAll();
      await Promise.all(backends.map(backend => backend.close()));
      for (const dir of tmpDirs) {
        fs.rmSync(dir, { force: true, recursive: true });
      }
    });

    it('has the reference and the Docker configurations', () => {
      should(confFiles).containEql('kuzzle-lb.conf');
      should(confFiles).containEql('kuzzle-docker.conf');
    });

    const nginxTest = async (confFile: string): Promise<void> => {
      const result = await run(nginxBinary(), ['-t', '-c', confFile, '-p', tmpDir()], { timeout: 30000 });
      should(result.code).equal(0, describeRun(`nginx -t -c ${confFile}`, result));
    };

    // kuzzle-docker.conf can be checked as it is outside Docker: nginx -t binds
    // no port, and resolves no name given through a variable (its "kuzzle" is
    // resolved per request, through Docker's DNS). The runtime tests below
    // then run copies with 127.0.0.1 addresses.
    for (const file of confFiles) {
      it(`nginx -t accepts nginx/${file} as it is`, () => nginxTest(path.join(NGINX_DIR, file)));
    }

    it('nginx -t accepts nginx/kuzzle-cluster.conf.template rendered', () =>
      nginxTest(renderNginxConfig(tmpDir(), 7512, [7600, 7601])));

    it('kuzzle-docker.conf proxies HTTP and WebSocket upgrades', async () => {
      const backend = await startFakeBackend(200);
      backends.push(backend);
      const dir = tmpDir();
      const port = await freePort();
      // the name "kuzzle" only resolves in Docker: an address literal needs no resolver
      const copy = runnableCopy('kuzzle-docker.conf', dir, [
        ['listen 7512;', `listen 127.0.0.1:${port};`],
        ['set $kuzzle_upstream kuzzle;', 'set $kuzzle_upstream 127.0.0.1;'],
        ['proxy_pass http://$kuzzle_upstream:7512;', `proxy_pass http://$kuzzle_upstream:${backend.port};`],
      ]);
      await startNginx(dir, copy, port);

      const answer = await httpRequest(port, '/_plugin/cluster/health');
      should(answer).eql({ body: 'ok', status: 200 });
      should(backend.requests[0]).have.properties({ 'x-forwarded-for': '127.0.0.1' });
      should(backend.requests[0]).not.have.property('upgrade');

      const ws = await upgradeAndEcho(port, 'ping');
      should(ws.statusLine).match(/^HTTP\/1\.1 101 /);
      should(ws.echoed).equal('ping');
      should(backend.requests[1]).have.properties({ connection: 'upgrade', upgrade: 'websocket' });
    });

    it('kuzzle-lb.conf skips a node answering 503 (passive check, retries) and proxies WebSocket upgrades', async () => {
      const bad = await startFakeBackend(503);
      const good = await startFakeBackend(200);
      const good2 = await startFakeBackend(200);
      backends.push(bad, good, good2);
      const dir = tmpDir();
      const port = await freePort();
      const copy = runnableCopy('kuzzle-lb.conf', dir, [
        ['listen 7512;', `listen 127.0.0.1:${port};`],
        ['10.0.0.11:7512', `127.0.0.1:${bad.port}`],
        ['10.0.0.12:7512', `127.0.0.1:${good.port}`],
        ['10.0.0.13:7512', `127.0.0.1:${good2.port}`],
      ]);
      await startNginx(dir, copy, port);

      for (let i = 0; i < 9; i++) {
        should(await httpRequest(port, '/_plugin/cluster/status')).eql({ body: 'ok', status: 200 });
      }
      // max_fails=2: after 2 failures, the node is left out for fail_timeout (5 s)
      should(bad.requests.length).be.within(1, 2);
      should(good.requests.length + good2.requests.length).equal(9);

      const ws = await upgradeAndEcho(port, 'ping');
      should(ws.statusLine).match(/^HTTP\/1\.1 101 /);
      should(ws.echoed).equal('ping');
    });
  });

  describe('haproxy configuration', () => {
    let haproxy: string | null = null;
    const tmpDirs: string[] = [];

    before(async function () {
      this.timeout(400000);
      haproxy = which('haproxy');
      if (haproxy) {
        return;
      }
      const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
      if (!isRoot || !which('apt-get')) {
        console.log(`      skipped: haproxy is not installed and cannot be installed here (${isRoot ? 'no apt-get' : 'not running as root'})`);
        this.skip();
      }
      console.log('      installing haproxy (apt-get)...');
      const env: NodeJS.ProcessEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const install = (): Promise<RunResult> =>
        run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'haproxy'], { env, timeout: 180000 });
      let result = await install();
      if (result.code !== 0) {
        // no or stale package lists
        await run('apt-get', ['update', '-qq'], { env, timeout: 180000 });
        result = await install();
      }
      haproxy = which('haproxy');
      if (!haproxy) {
        console.log(`      skipped: haproxy could not be installed:\n${describeRun('apt-get install haproxy', result)}`);
        this.skip();
      }
    });

    after(() => {
      for (const dir of tmpDirs) {
        fs.rmSync(dir, { force: true, recursive: true });
      }
    });

    it('haproxy -c accepts nginx/haproxy.cfg', async () => {
      const result = await run(haproxy as string, ['-c', '-f', path.join(NGINX_DIR, 'haproxy.cfg')], { timeout: 30000 });
      should(result.code).equal(0, describeRun('haproxy -c', result));
      should(`${result.stdout}${result.stderr}`).not.match(/WARNING|ALERT/);
    });

    it('haproxy -c accepts its commented Docker DNS variant', async () => {
      const text = fs.readFileSync(path.join(NGINX_DIR, 'haproxy.cfg'), 'utf8');
      const lines = text.split('\n');
      const begin = lines.findIndex(line => line.startsWith('# BEGIN docker-dns variant'));
      const end = lines.findIndex(line => line.startsWith('# END docker-dns variant'));
      should(begin).be.above(-1);
      should(end).be.above(begin);
      const variant = lines.slice(begin + 1, end).map(line => line.replace(/^# ?/, ''));
      const backendStart = lines.indexOf('backend kuzzle_nodes');
      should(backendStart).be.above(-1);
      // the file's own backend runs from its header to the variant's comment block
      const backendEnd = lines.findIndex((line, i) => i > backendStart && line.startsWith('#'));
      const rewritten = [...lines.slice(0, backendStart), ...variant, ...lines.slice(backendEnd)].join('\n');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-packaging-haproxy-'));
      tmpDirs.push(dir);
      const file = path.join(dir, 'haproxy-docker.cfg');
      fs.writeFileSync(file, rewritten);
      const result = await run(haproxy as string, ['-c', '-f', file], { timeout: 30000 });
      should(result.code).equal(0, describeRun('haproxy -c (Docker DNS variant)', result));
      should(rewritten).containEql('server-template kuzzle 10 kuzzle:7512');
      should(`${result.stdout}${result.stderr}`).not.match(/WARNING|ALERT/);
    });
  });
});
