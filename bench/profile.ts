/**
 * Summarizes the V8 CPU profiles written by `npm run bench -- --cpu-prof=ours`
 * (one .cpuprofile per Kuzzle node, in <work dir>/<variant>/profiles):
 *
 *   node -r ts-node/register/transpile-only bench/profile.ts <profiles dir> [function filter]
 *
 * Per node: where the CPU went by component (this plugin, Kuzzle, Koncorde,
 * zeromq, ioredis, WebSocket, Node internals, GC), the plugin's functions by
 * inclusive time, and the longest uninterrupted stretch spent under each of
 * them (what blocks the event loop).
 */
import * as fs from 'fs';
import * as path from 'path';

import { median } from './metrics';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = path.resolve(__dirname, '..');

function component (frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') {
      return 'GC';
    }
    if (functionName === '(idle)') {
      return 'idle';
    }
    return functionName.startsWith('(') ? functionName : 'native';
  }
  if (url.includes(`${ROOT}/dist/`) || url.includes(`${ROOT}/lib/`)) {
    return 'this plugin';
  }
  if (url.includes('kuzzle-plugin-cluster')) {
    return 'bundled plugin';
  }
  for (const [pattern, name] of [
    ['node_modules/zeromq', 'zeromq'], ['node_modules/ioredis', 'ioredis'], ['koncorde', 'koncorde'],
    ['uWebSockets', 'websocket'], ['node_modules/ws/', 'websocket'], ['node_modules/kuzzle/', 'kuzzle'],
    ['node:', 'node internals'],
  ] as const) {
    if (url.includes(pattern)) {
      return name;
    }
  }
  return 'other';
}

const ms = (us: number): string => (us / 1000).toFixed(1);

function summarize (file: string, filter: RegExp | null): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children || []) {
      parent.set(child, node.id);
    }
  }
  const pluginFrames = (id: number): string[] => {
    const names: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = (byId.get(cur) as ProfileNode).callFrame;
      if (component(frame) === 'this plugin' || component(frame) === 'bundled plugin') {
        names.push(`${frame.functionName || '(anonymous)'} ${path.basename(frame.url)}:${frame.lineNumber + 1}`);
      }
    }
    return names;
  };

  const self = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const longest = new Map<string, number>();
  const current = new Map<string, number>();
  let total = 0;
  let underPlugin = 0;
  let idle = 0;
  // A sample stands for at most one sampling interval of CPU: a longer gap
  // is time the thread was not running (preempted on a crowded machine),
  // which the raw deltas would credit to whatever ran when it lost the CPU
  // (typically right after a syscall waking another thread, e.g. a 0mq send).
  const interval = median(profile.timeDeltas.filter(d => d > 0)) ?? 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const wall = profile.timeDeltas[i] || 0;
    const dt = Math.min(wall, interval);
    const node = byId.get(profile.samples[i]) as ProfileNode;
    const comp = component(node.callFrame);
    total += dt;
    if (comp === 'idle' || comp === '(program)') {
      idle += comp === 'idle' ? dt : 0;
    }
    self.set(comp, (self.get(comp) || 0) + dt);
    if (comp !== 'idle') {
      const f = node.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ''} [${comp}]`;
      selfByFunction.set(key, (selfByFunction.get(key) || 0) + dt);
    }
    const frames = new Set(pluginFrames(node.id));
    if (frames.size) {
      underPlugin += dt;
    }
    for (const name of frames) {
      inclusive.set(name, (inclusive.get(name) || 0) + dt);
      current.set(name, (current.get(name) || 0) + wall);
      longest.set(name, Math.max(longest.get(name) || 0, current.get(name) as number));
    }
    for (const name of Array.from(current.keys())) {
      if (!frames.has(name)) {
        current.delete(name);
      }
    }
  }
  const busy = total - idle;
  console.log(`\n== ${file}`);
  console.log(`CPU time (samples x ${interval} us interval): ${ms(total)} ms, busy ${ms(busy)} ms; under plugin frames ${ms(underPlugin)} ms (${((100 * underPlugin) / Math.max(1, busy)).toFixed(1)}% of busy)`);
  console.log('self time by component (ms, % of busy):');
  for (const [comp, us] of Array.from(self.entries()).sort((a, b) => b[1] - a[1])) {
    if (comp !== 'idle') {
      console.log(`  ${comp.padEnd(16)} ${ms(us).padStart(9)}  ${((100 * us) / Math.max(1, busy)).toFixed(1)}%`);
    }
  }
  console.log('top functions by self time (ms):');
  for (const [name, us] of Array.from(selfByFunction.entries()).sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`  ${ms(us).padStart(9)}  ${name}`);
  }
  console.log('plugin functions by inclusive time (ms; longest uninterrupted stretch ms):');
  const rows = Array.from(inclusive.entries())
    .filter(([name]) => !filter || filter.test(name))
    .sort((a, b) => b[1] - a[1]).slice(0, 25);
  for (const [name, us] of rows) {
    console.log(`  ${ms(us).padStart(9)}  ${ms(longest.get(name) || 0).padStart(8)}  ${name}`);
  }
}

function main (): void {
  const [dir, pattern] = process.argv.slice(2);
  if (!dir) {
    throw new Error('usage: bench/profile.ts <profiles dir> [function filter regexp]');
  }
  const files = fs.readdirSync(dir).filter(f => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) {
    throw new Error(`no .cpuprofile in ${dir}`);
  }
  for (const file of files) {
    summarize(path.join(dir, file), pattern ? new RegExp(pattern) : null);
  }
}

main();
