import should from 'should';

import { ConfigurationError, DEFAULT_TIMERS, loadConfig, resolveBinding, InterfaceTable } from '../../lib/config';

const interfaces: InterfaceTable = {
  eth0: [
    { address: '10.1.2.3', cidr: '10.1.2.3/24', family: 'IPv4', internal: false, mac: '', netmask: '255.255.255.0' },
    { address: 'fe80::1', cidr: 'fe80::1/64', family: 'IPv6', internal: false, mac: '', netmask: 'ffff:ffff:ffff:ffff::', scopeid: 2 },
    { address: '2001:db8::5', cidr: '2001:db8::5/64', family: 'IPv6', internal: false, mac: '', netmask: 'ffff:ffff:ffff:ffff::', scopeid: 0 },
  ],
  lo: [
    { address: '127.0.0.1', cidr: '127.0.0.1/8', family: 'IPv4', internal: true, mac: '', netmask: '255.0.0.0' },
    { address: '::1', cidr: '::1/128', family: 'IPv6', internal: true, mac: '', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', scopeid: 0 },
  ],
};
const loopbackOnly: InterfaceTable = { lo: interfaces.lo };
const cache = { node: { host: 'redis', port: 6379 }, database: 0, options: {} };

function load (raw: unknown): ReturnType<typeof loadConfig> {
  return loadConfig(raw, cache, interfaces);
}

function rejects (raw: unknown, key: string, pattern: RegExp): void {
  const error = (() => {
    try {
      load(raw);
    }
    catch (e) {
      return e as Error;
    }
    return null;
  })();
  should(error).be.instanceOf(ConfigurationError);
  should((error as Error).message).startWith(`[cluster] invalid configuration "${key}"`);
  should((error as Error).message).match(pattern);
}

describe('config', () => {
  describe('defaults and deep merge', () => {
    it('fills every default from an empty configuration', () => {
      const config = load({ privileged: true });
      should(config.bindings.pub.url).equal('tcp://10.1.2.3:7511');
      should(config.bindings.router.url).equal('tcp://10.1.2.3:7510');
      should(config.minimumNodes).equal(1);
      should(config.retryJoin).equal(30);
      should(config.timers).eql(DEFAULT_TIMERS);
      should(config.curve).be.null();
      should(config.redis).eql({ mode: 'standalone', options: { db: 0, host: 'redis', port: 6379 } });
    });

    it('keeps the other timers when only one is set (deep merge)', () => {
      const config = load({ timers: { heartbeat: 500 } });
      should(config.timers).eql({ ...DEFAULT_TIMERS, heartbeat: 500 });
    });

    it('accepts numbers given as strings (environment variables)', () => {
      const config = load({ minimumNodes: '3', timers: { heartbeat: '200' } });
      should(config.minimumNodes).equal(3);
      should(config.timers.heartbeat).equal(200);
    });

    it('defaults Redis to Kuzzle\'s internalCache nodes (Redis Cluster)', () => {
      const config = loadConfig({}, { nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }] }, interfaces);
      should(config.redis).eql({ mode: 'cluster', nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }], options: {} });
    });

    it('takes an explicit Redis configuration, standalone, sentinel or cluster', () => {
      should(load({ redis: { host: 'x', port: 1 } }).redis).eql({ mode: 'standalone', options: { host: 'x', port: 1 } });
      should(load({ redis: { name: 'm', sentinels: [{ host: 's', port: 26379 }] } }).redis.mode).equal('standalone');
      should(load({ redis: [{ host: 'a', port: 1 }] }).redis).eql({ mode: 'cluster', nodes: [{ host: 'a', port: 1 }], options: {} });
      should(load({ redis: { nodes: [{ host: 'a', port: 1 }], options: { redisOptions: { password: 'p' } } } }).redis)
        .eql({ mode: 'cluster', nodes: [{ host: 'a', port: 1 }], options: { redisOptions: { password: 'p' } } });
    });
  });

  describe('rejects every invalid value, naming the key', () => {
    it('unknown keys', () => {
      rejects({ foo: 1 }, 'foo', /unknown key/);
      rejects({ timers: { heartbeet: 1 } }, 'timers.heartbeet', /allowed: /);
      rejects({ bindings: { sub: 'x' } }, 'bindings.sub', /unknown key/);
      rejects({ curve: { publicKey: 'a'.repeat(40), secretKey: 'b'.repeat(40), x: 1 } }, 'curve.x', /unknown key/);
    });

    it('non-object sections', () => {
      rejects('x', 'plugins.cluster', /object/);
      rejects({ timers: 3 }, 'timers', /object/);
      rejects({ bindings: [] }, 'bindings', /object/);
      rejects({ redis: 'redis://x' }, 'redis', /object/);
      rejects({ redis: [] }, 'redis', /at least one node/);
      rejects({ redis: ['x'] }, 'redis[0]', /object/);
      rejects({ redis: { nodes: 'x' } }, 'redis.nodes', /array/);
      rejects({ redis: { nodes: [{ host: 'a' }], options: 1 } }, 'redis.options', /object/);
      rejects({ curve: 'x' }, 'curve', /publicKey/);
    });

    it('numbers out of range or not integers', () => {
      rejects({ minimumNodes: 0 }, 'minimumNodes', /between 1 and 1000/);
      rejects({ minimumNodes: 1.5 }, 'minimumNodes', /integer/);
      rejects({ minimumNodes: 'three' }, 'minimumNodes', /"three"/);
      rejects({ retryJoin: -1 }, 'retryJoin', /integer/);
      rejects({ highWaterMark: 0 }, 'highWaterMark', /integer/);
      rejects({ maxMessageSize: 10 }, 'maxMessageSize', /1024/);
      rejects({ timers: { heartbeat: 0 } }, 'timers.heartbeat', /between 10/);
      rejects({ timers: { waitForMissingRooms: -5 } }, 'timers.waitForMissingRooms', /integer/);
      rejects({ timers: { heartbeat: 1000, nodeTimeout: 1000 } }, 'timers.nodeTimeout', /greater than timers.heartbeat/);
      rejects({ redis: { host: 'x', port: 70000 } }, 'redis.port', /65535/);
      rejects({ redis: { host: '' } }, 'redis.host', /non-empty/);
    });

    it('bad CURVE keys', () => {
      rejects({ curve: { publicKey: 'short', secretKey: 'b'.repeat(40) } }, 'curve.publicKey', /40-character/);
      rejects({ curve: { publicKey: 'a'.repeat(40) } }, 'curve.secretKey', /40-character/);
    });

    it('bad bindings', () => {
      rejects({ bindings: { pub: 7511 } }, 'bindings.pub', /expected a string/);
      rejects({ bindings: { pub: 'http://[eth0:ipv4]:7511' } }, 'bindings.pub', /not of the form/);
      rejects({ bindings: { pub: 'tcp://[eth0:ipv4]' } }, 'bindings.pub', /not of the form/);
      rejects({ bindings: { pub: 'tcp://[eth0:ipv5]:7511' } }, 'bindings.pub', /unknown address family "ipv5"/);
      rejects({ bindings: { pub: 'tcp://[wlan9:ipv4]:7511' } }, 'bindings.pub', /unknown network interface "wlan9" \(interfaces: eth0, lo\)/);
      rejects({ bindings: { pub: 'tcp://[eth0:ipv4]:0' } }, 'bindings.pub', /between 1 and 65535/);
      rejects({ bindings: { pub: 'tcp://[eth0:ipv4]:99999' } }, 'bindings.pub', /between 1 and 65535/);
      rejects({ bindings: { pub: 'tcp://kuzzle1:7511' } }, 'bindings.pub', /host names cannot be bound/);
      rejects({ bindings: { pub: 'tcp://0.0.0.0:7511' } }, 'bindings.pub', /cannot be advertised/);
      rejects({ bindings: { pub: 'tcp://[10.1.2.3:ipv6]:7511' } }, 'bindings.pub', /not an ipv6 address/);
      rejects({ bindings: { pub: 'tcp://[eth0:ipv4]:7510' } }, 'bindings', /cannot share/);
    });

    it('_site_ without a non-loopback address is an error, not a silent loopback', () => {
      should(() => loadConfig({}, cache, loopbackOnly)).throw(/"_site_" found no non-loopback ipv4 address/);
    });

    it('a missing Redis configuration', () => {
      should(() => loadConfig({}, undefined, interfaces)).throw(/redis.*not set/);
    });
  });

  describe('activity', () => {
    it('keeps the last 50 membership events by default; maxEvents sets how many (0: none), from env strings too', () => {
      should(load({}).activity).eql({ maxEvents: 50 });
      should(load({ activity: { maxEvents: 0 } }).activity).eql({ maxEvents: 0 });
      should(load({ activity: { maxEvents: '200' } }).activity).eql({ maxEvents: 200 });
    });

    it('rejects a bad activity section, naming the key', () => {
      rejects({ activity: 5 }, 'activity', /expected an object with keys maxEvents/);
      rejects({ activity: { max: 5 } }, 'activity.max', /unknown key/);
      rejects({ activity: { maxEvents: -1 } }, 'activity.maxEvents', /integer between 0 and 100000/);
      rejects({ activity: { maxEvents: 1.5 } }, 'activity.maxEvents', /integer between 0 and 100000/);
    });
  });

  describe('resolveBinding', () => {
    it('resolves interfaces, _site_, IPs and families', () => {
      should(resolveBinding('tcp://[eth0:ipv4]:1', 'k', interfaces).url).equal('tcp://10.1.2.3:1');
      should(resolveBinding('tcp://[eth0]:1', 'k', interfaces).url).equal('tcp://10.1.2.3:1');
      should(resolveBinding('tcp://[eth0:ipv6]:1', 'k', interfaces)).match({ family: 'ipv6', host: '2001:db8::5', url: 'tcp://[2001:db8::5]:1' });
      should(resolveBinding('tcp://[_site_:ipv6]:1', 'k', interfaces).host).equal('2001:db8::5');
      should(resolveBinding('tcp://[lo:ipv4]:1', 'k', interfaces).url).equal('tcp://127.0.0.1:1');
      should(resolveBinding('tcp://[lo:ipv6]:1', 'k', interfaces).url).equal('tcp://[::1]:1');
      should(resolveBinding('tcp://[::1]:1', 'k', interfaces).url).equal('tcp://[::1]:1');
      should(resolveBinding('tcp://[127.0.0.1:ipv4]:1', 'k', interfaces).url).equal('tcp://127.0.0.1:1');
      should(resolveBinding('tcp://192.168.1.1:1', 'k', interfaces).url).equal('tcp://192.168.1.1:1');
    });
  });
});
