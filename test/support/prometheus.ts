/**
 * A throw-away Prometheus server (Debian package `prometheus`) for the
 * tests, and promtool. When they are missing and the tests run as root
 * they are installed with apt-get (as ./dev-npm-install.sh does with
 * WITH_PROMETHEUS=1); otherwise the caller gets an error saying what to
 * install, so the test fails instead of passing silently.
 */
import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

import { freePort } from './ports';
import { kill, track, waitExit } from './processes';
import { waitFor } from './wait';

function which (binary: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return found.stdout.trim() || null;
}

let installed: { prometheus: string; promtool: string } | null = null;

/** the prometheus and promtool binaries, installed first when missing and allowed */
export function prometheusBinaries (): { prometheus: string; promtool: string } {
  if (installed) {
    return installed;
  }
  if ((!which('prometheus') || !which('promtool')) && process.getuid && process.getuid() === 0 && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'], { env, stdio: 'ignore' });
  }
  const prometheus = which('prometheus');
  const promtool = which('promtool');
  if (!prometheus || !promtool) {
    throw new Error('prometheus and promtool not found: install the Debian package "prometheus" (apt-get install -y prometheus), or run WITH_PROMETHEUS=1 ./dev-npm-install.sh as root');
  }
  installed = { prometheus, promtool };
  return installed;
}

/** promtool's verdict: exit status and what it printed */
export function promtool (args: string[], input?: string): { status: number; output: string } {
  const result = spawnSync(prometheusBinaries().promtool, args, { encoding: 'utf8', input, timeout: 30000 });
  return { output: `${result.stdout || ''}${result.stderr || ''}`, status: result.status === null ? -1 : result.status };
}

export function getJson<T> (port: number, urlPath: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', path: urlPath, port, timeout: 5000 }, res => {
      const chunks: Buffer[] = [];
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString()) as T);
        }
        catch (error) {
          reject(error);
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

export interface PrometheusTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusOptions {
  /** host:port of every Kuzzle node */
  targets: string[];
  scrapeInterval?: string;
  /** rule files to load (absolute paths) */
  ruleFiles?: string[];
  /** where its configuration and data go (a new temporary directory by default) */
  workDir?: string;
}

/** prometheus.yml scraping every Kuzzle node's metrics endpoint */
export function prometheusConfig (options: PrometheusOptions): string {
  const interval = options.scrapeInterval || '1s';
  const lines = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
  ];
  if (options.ruleFiles && options.ruleFiles.length > 0) {
    lines.push('rule_files:', ...options.ruleFiles.map(file => `  - ${JSON.stringify(file)}`));
  }
  lines.push(
    'scrape_configs:',
    '  - job_name: kuzzle-cluster',
    '    metrics_path: /_plugin/cluster/metrics',
    '    static_configs:',
    `      - targets: [${options.targets.map(t => JSON.stringify(t)).join(', ')}]`,
    '');
  return lines.join('\n');
}

export class PrometheusServer {
  private constructor (readonly port: number, readonly process: ChildProcess, readonly workDir: string, readonly output: string[]) {}

  get url (): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start (options: PrometheusOptions, port?: number): Promise<PrometheusServer> {
    const { prometheus } = prometheusBinaries();
    const workDir = options.workDir || fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-prometheus-'));
    fs.mkdirSync(workDir, { recursive: true });
    const configFile = path.join(workDir, 'prometheus.yml');
    fs.writeFileSync(configFile, prometheusConfig(options));
    const listen = port || await freePort();
    const child = track(spawn(prometheus, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${listen}`,
      '--web.enable-lifecycle',
    ], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const output: string[] = [];
    const onData = (data: Buffer): void => {
      output.push(...data.toString().split('\n').filter(Boolean));
      output.splice(0, Math.max(0, output.length - 200));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const server = new PrometheusServer(listen, child, workDir, output);
    try {
      await waitFor(`Prometheus on port ${listen} to be ready`, async () => {
        const ready = await new Promise<number>(resolve => {
          http.get({ host: '127.0.0.1', path: '/-/ready', port: listen, timeout: 1000 }, res => {
            res.resume();
            resolve(res.statusCode || 0);
          }).on('error', () => resolve(0));
        });
        return ready === 200;
      }, 30000, () => (child.exitCode !== null ? `exited with code ${child.exitCode}:\n${output.slice(-20).join('\n')}` : null));
    }
    catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  async targets (): Promise<PrometheusTarget[]> {
    const reply = await getJson<{ data: { activeTargets: PrometheusTarget[] } }>(this.port, '/api/v1/targets');
    return reply.data.activeTargets;
  }

  async query (expression: string): Promise<VectorSample[]> {
    const reply = await getJson<{ status: string; data: { result: VectorSample[] }; error?: string }>(
      this.port, `/api/v1/query?query=${encodeURIComponent(expression)}`);
    if (reply.status !== 'success') {
      throw new Error(`query ${expression}: ${reply.error}`);
    }
    return reply.data.result;
  }

  async alerts (): Promise<Array<{ labels: Record<string, string>; state: string }>> {
    const reply = await getJson<{ data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }>(this.port, '/api/v1/alerts');
    return reply.data.alerts;
  }

  async ruleGroups (): Promise<Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }>> {
    const reply = await getJson<{ data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> } }>(
      this.port, '/api/v1/rules');
    return reply.data.groups;
  }

  async stop (): Promise<void> {
    kill(this.process, 'SIGTERM');
    await waitExit(this.process, 10000).catch(async () => {
      kill(this.process);
      await waitExit(this.process).catch(() => undefined);
    });
    fs.rmSync(this.workDir, { force: true, recursive: true });
  }
}
