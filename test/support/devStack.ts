/**
 * ./dev.sh: a local cluster of real Kuzzle nodes behind nginx, until Ctrl-C.
 */
import * as path from 'path';

import { KuzzleStack, ROOT, StackOptions } from './kuzzleStack';
import { killAll } from './processes';
import { PrometheusServer } from './prometheus';

const USAGE = `usage: ./dev.sh [--nodes N] [--port P] [--node-port P] [--es URL] [--prometheus [--prometheus-port P]] [--verbose]
  --nodes N       Kuzzle nodes to start (default 3)
  --port P        nginx port, HTTP and WebSocket (default 7512)
  --node-port P   first Kuzzle node port; the others follow (default 7513)
  --es URL        use this Elasticsearch 7 instead of the built-in in-memory stand-in
  --prometheus    also start a Prometheus scraping every node (with docs/prometheus/cluster-rules.yml)
  --prometheus-port P  its port (default 9090)
  --verbose       print the Kuzzle nodes' output`;

type DevOptions = StackOptions & { nodePort: number; prometheusPort: number | null };

function parseArgs (argv: string[]): DevOptions {
  const options: DevOptions = { nginxPort: 7512, nodePort: 7513, nodes: 3, prometheusPort: null };
  let prometheusPort = 9090;
  const int = (flag: string, value: string | undefined, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`${flag} expects an integer between ${min} and ${max}, got "${value}"`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--nodes': options.nodes = int(flag, argv[++i], 1, 20); break;
      case '--port': options.nginxPort = int(flag, argv[++i], 1, 65535); break;
      case '--node-port': options.nodePort = int(flag, argv[++i], 1, 65535); break;
      case '--es': {
        const url = argv[++i];
        if (!url || !/^https?:\/\//.test(url)) {
          throw new Error(`--es expects an http(s) URL, got "${url}"`);
        }
        options.esUrl = url;
        break;
      }
      case '--prometheus': options.prometheusPort = prometheusPort; break;
      case '--prometheus-port': prometheusPort = int(flag, argv[++i], 1, 65535); break;
      case '--verbose': options.verbose = true; break;
      case '-h': case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option "${flag}"\n${USAGE}`);
    }
  }
  options.kuzzlePorts = Array.from({ length: options.nodes }, (_, i) => options.nodePort + i);
  if (options.prometheusPort !== null) {
    options.prometheusPort = prometheusPort;
  }
  return options;
}

async function main (): Promise<void> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
  }
  catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }

  console.log(`starting Redis, ${options.esUrl ? `Elasticsearch at ${options.esUrl}` : 'the in-memory Elasticsearch stand-in'}, ${options.nodes} Kuzzle nodes and nginx...`);
  let stack: KuzzleStack | null = null;
  let prometheus: PrometheusServer | null = null;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    console.log('\nstopping everything...');
    if (prometheus) {
      await prometheus.stop();
    }
    if (stack) {
      await stack.stop();
    }
    await killAll();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    stack = await KuzzleStack.start({ ...options, workDir: undefined });
    if (options.prometheusPort !== null) {
      prometheus = await PrometheusServer.start({
        ruleFiles: [path.join(ROOT, 'docs', 'prometheus', 'cluster-rules.yml')],
        scrapeInterval: '5s',
        targets: stack.nodes.map(node => `127.0.0.1:${node.port}`),
        workDir: path.join(stack.workDir, 'prometheus'),
      }, options.prometheusPort);
    }
  }
  catch (error) {
    console.error(`could not start the cluster: ${(error as Error).message}`);
    await stop(1);
    return;
  }

  console.log(`
Kuzzle cluster ready (every node healthy):
  load balancer (nginx): http://127.0.0.1:${options.nginxPort}  (HTTP and WebSocket)
${stack.nodes.map(n => `  kuzzle-${n.index + 1}:  http://127.0.0.1:${n.port}   cluster pub tcp://127.0.0.1:${n.pubPort}, router tcp://127.0.0.1:${n.routerPort}   log ${n.logFile}`).join('\n')}
  redis:        127.0.0.1:${stack.redis.port}
  elasticsearch: ${stack.esUrl}${options.esUrl ? '' : ' (in-memory stand-in: data is lost on exit)'}

  curl http://127.0.0.1:${options.nginxPort}/_plugin/cluster/status
  curl http://127.0.0.1:${options.nginxPort}/_plugin/cluster/health
  curl http://127.0.0.1:${options.nginxPort}/_plugin/cluster/metrics
${prometheus ? `\n  prometheus:   ${prometheus.url}  (scrapes every node's /_plugin/cluster/metrics every 5 s; alerts: ${prometheus.url}/alerts)\n` : ''}
Logs and generated configuration: ${stack.workDir}
Press Ctrl-C to stop everything.`);
}

void main();
