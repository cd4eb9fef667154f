/**
 * Preload (`node -r`) for the Kuzzle 2.33.1 nodes of the bench's native
 * columns: keeps every socket of the node on 127.0.0.0/8. The bench
 * transpiles it to plain JavaScript in its work directory (bench/stack.ts)
 * and starts a node as `node -r <that file> <kuzzle 2.33.1>/bin/start-kuzzle-server`.
 *
 * Kuzzle 2.33's native cluster picks its own address among
 * os.networkInterfaces(), skipping loopback and 127.x addresses whatever its
 * configuration (`cluster.ip` private/public, `cluster.interface`,
 * `cluster.ipv6` only choose among the others), and binds its 0mq sockets
 * (`tcp://*:<sync port>`, `tcp://*:<command port>`) and its HTTP/WebSocket
 * server (uWebSockets.js, `listen(port)`) on every interface. Every node
 * connects to the others' command port with its own configured port number,
 * so two nodes on one host need two addresses. Three changes, nothing else:
 *
 * - BENCH_NATIVE_CLUSTER_IP (127.0.0.x): the address the node announces in
 *   its id card and that the others connect to. The `ip` Kuzzle's ClusterNode
 *   computes in its constructor is replaced by this one (an accessor on the
 *   prototype: the constructor's assignment is ignored).
 * - zeromq: a `bind("tcp://*:<port>")` binds `tcp://<BENCH_NATIVE_CLUSTER_IP>:<port>`
 *   instead; any other address is bound as given.
 * - BENCH_NATIVE_HTTP_HOST (127.0.0.1): uWebSockets.js `app.listen(port, cb)`
 *   becomes `app.listen(host, port, cb)`.
 *
 * It also refuses to start when uWebSockets.js would fall back to its
 * pure-JavaScript implementation (its binary not loading on this Node):
 * that would measure another HTTP/WebSocket server.
 *
 * BENCH_NATIVE_KUZZLE_DIR: Kuzzle 2.33.1's package directory.
 */
import Module from 'module';
import path from 'path';

type Listen = (...args: unknown[]) => unknown;
interface UwsApp {
  listen: Listen;
}
interface Uws {
  App: (...args: unknown[]) => UwsApp;
}
type Bind = (this: unknown, address: string) => Promise<void>;
interface ZmqSocketClass {
  prototype: { bind: Bind };
}
interface Zmq {
  Publisher: ZmqSocketClass;
  Reply: ZmqSocketClass;
}
interface ClusterNodeClass {
  prototype: object;
}

const kuzzleDir = process.env.BENCH_NATIVE_KUZZLE_DIR;
const clusterIp = process.env.BENCH_NATIVE_CLUSTER_IP;
const httpHost = process.env.BENCH_NATIVE_HTTP_HOST || '127.0.0.1';
if (!kuzzleDir || !clusterIp) {
  throw new Error('bench native preload: BENCH_NATIVE_KUZZLE_DIR and BENCH_NATIVE_CLUSTER_IP must be set');
}
if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(clusterIp) || !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(httpHost)) {
  throw new Error(`bench native preload: addresses must be in 127.0.0.0/8 (cluster ${clusterIp}, http ${httpHost})`);
}

/**
 * Kuzzle 2.33 forks helper processes (lib/cluster/workers/IDCardRenewer.js,
 * which only talks to Redis) and they inherit `-r <this preload>`: they are
 * left as they are, so that the wrapper adds no work to them.
 */
function patchKuzzle (kuzzleDir: string, clusterIp: string, httpHost: string): void {
  // the modules exactly as Kuzzle's files resolve them
  const requireFromCluster = Module.createRequire(path.join(kuzzleDir, 'lib', 'cluster', 'node.js'));
  const requireFromProtocols = Module.createRequire(path.join(kuzzleDir, 'lib', 'core', 'network', 'protocols', 'httpwsProtocol.js'));

  // uWebSockets.js: HTTP and WebSocket on httpHost only
  const uws = requireFromProtocols('uWebSockets.js') as Uws;
  const uwsBinary = Object.keys(require.cache).find(f => f.includes(`${path.sep}uWebSockets.js${path.sep}`) && f.endsWith('.node'));
  if (!uwsBinary) {
    throw new Error('bench native preload: uWebSockets.js did not load its binary (it fell back to its JavaScript implementation)');
  }
  const App = uws.App;
  uws.App = (...args: unknown[]): UwsApp => {
    const app = App(...args);
    const listen = app.listen;
    app.listen = (...listenArgs: unknown[]): unknown => {
      if (typeof listenArgs[0] === 'number') {
        return listen.call(app, httpHost, ...listenArgs);
      }
      return listen.apply(app, listenArgs);
    };
    return app;
  };

  // zeromq: "tcp://*:<port>" binds on the cluster address only. Kuzzle binds a
  // Publisher (sync) and a Reply (command); `bind` is a read-only, non-configurable
  // method of their native base class, so each gets its own.
  const zmq = requireFromCluster('zeromq') as Zmq;
  for (const socketClass of [zmq.Publisher, zmq.Reply]) {
    const bind = socketClass.prototype.bind;
    Object.defineProperty(socketClass.prototype, 'bind', {
      configurable: true,
      value: function (this: unknown, address: string): Promise<void> {
        const wildcard = /^tcp:\/\/\*:(\d+)$/.exec(address);
        return bind.call(this, wildcard ? `tcp://${clusterIp}:${wildcard[1]}` : address);
      },
      writable: true,
    });
  }

  // Kuzzle in its natural order first (requiring one of its files alone can hit a require cycle)
  require(kuzzleDir);
  const ClusterNode = requireFromCluster('./node.js') as ClusterNodeClass;
  Object.defineProperty(ClusterNode.prototype, 'ip', {
    configurable: true,
    get: (): string => clusterIp,
    // the address Kuzzle found (or null) is not used
    set: (): void => undefined,
  });
}

if (path.basename(process.argv[1] || '') === 'start-kuzzle-server') {
  patchKuzzle(kuzzleDir, clusterIp, httpHost);
}
