/**
 * Results: the JSON written as is, a markdown report (summary table,
 * targets, details) and an SVG plot drawn by hand.
 */
import type { RateResult } from './clients';
import type { CpuUsage } from './cpu';
import type { FailureResult, FanoutResult, JoinResult, SubscriptionResult, ThroughputResult } from './scenarios';
import { VARIANT_LABEL, Variant, isCluster } from './stack';

/** the columns of the summary table, left to right */
const TABLE_ORDER: Variant[] = ['ours', 'native', 'bundled', 'single', 'native-single'];

export interface VariantResult {
  variant: Variant;
  label: string;
  nodes: number;
  bootMs: number[];
  fanout: FanoutResult | null;
  latency: RateResult[];
  throughput: ThroughputResult | null;
  subscriptions: SubscriptionResult | null;
  join: JoinResult | null;
  failure: FailureResult | null;
  errors: string[];
  /** CPU use during each measurement: the machine, the bench's processes, the others */
  cpu: Record<string, CpuUsage>;
  /** our plugin's status counters (gaps, resyncs, lost notifications...) during each measurement */
  counters: Record<string, Record<string, number>>;
  logs: string;
}

export interface BenchResults {
  startedAt: string;
  durationS: number;
  quick: boolean;
  command: string;
  machine: {
    cores: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    kernel: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  settings: {
    latencyRates: number[];
    latencyDurationMs: number;
    latencyRounds: number;
    throughputRates: number[];
    throughputStepMs: number;
    p99LimitMs: number;
    subscriptions: number;
    bundledSubscriptionCapMs: number;
    singles: number;
    fanoutNotifications: number;
    publisherConnections: number;
    payloadPaddingBytes: number;
  };
  variants: VariantResult[];
}

const fmt = (value: number | null | undefined, digits = 2): string =>
  (value === null || value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits));

const int = (value: number | null | undefined): string =>
  (value === null || value === undefined || Number.isNaN(value) ? 'n/a' : Math.round(value).toLocaleString('en-US'));

function byVariant (results: BenchResults, variant: Variant): VariantResult | undefined {
  return results.variants.find(v => v.variant === variant);
}

function latencyAt (v: VariantResult | undefined, rate: number): RateResult | undefined {
  return v?.latency.find(r => r.targetRate === rate);
}

function latencyCell (r: RateResult | undefined): string {
  if (!r) {
    return 'n/a';
  }
  const l = r.latencyMs;
  return `${fmt(l.p50)} / ${fmt(l.p95)} / ${fmt(l.p99)}`;
}

function rateCell (r: RateResult | undefined): string {
  if (!r) {
    return 'n/a';
  }
  return `${int(r.achievedRate)}/s sent, ${int(r.deliveredRate)}/s delivered, lost ${int(r.lost)}${r.errors ? `, errors ${int(r.errors)}` : ''}${r.throttled ? `, throttled ${int(r.throttled)}` : ''}`;
}

/** time for `target` subscriptions, extrapolated linearly when the run was capped (favours the capped one) */
export function subscriptionTime (s: SubscriptionResult | null | undefined): { ms: number | null; extrapolated: boolean } {
  if (!s) {
    return { extrapolated: false, ms: null };
  }
  const elapsed = s.bulk.convergedMs ?? null;
  if (elapsed === null) {
    return { extrapolated: false, ms: null };
  }
  if (s.reached >= s.target) {
    return { extrapolated: false, ms: elapsed };
  }
  const bulkDone = Math.max(1, s.bulk.count);
  return { extrapolated: true, ms: (elapsed * (s.target - s.first.length)) / bulkDone };
}

function bulkCell (s: SubscriptionResult | null | undefined): string {
  if (!s) {
    return 'n/a';
  }
  const converged = s.bulk.convergedMs === null ? `not converged (${s.bulk.convergenceError})` : `${fmt(s.bulk.convergedMs / 1000)} s converged`;
  const reached = s.reached >= s.target ? '' : ` — capped at ${fmt(s.capMs / 1000, 0)} s: reached ${int(s.reached)} of ${int(s.target)}`;
  return `${fmt(s.bulk.ackMs / 1000)} s acked, ${converged}${reached}`;
}

function redisBulkCell (s: SubscriptionResult | null | undefined): string {
  if (!s) {
    return 'n/a';
  }
  const per = s.bulk.count ? s.bulk.redis.calls / s.bulk.count : 0;
  return `${int(s.bulk.redis.calls)} (${fmt(per, 1)}/subscription, ${fmt(s.bulk.redis.usec / 1e6)} s of Redis time)`;
}

function singleCell (s: SubscriptionResult | null | undefined, which: 'first' | 'after'): string {
  if (!s) {
    return 'n/a';
  }
  const sum = s.summary;
  const list = s[which];
  const ack = which === 'first' ? sum.firstAckMs : sum.afterAckMs;
  const conv = which === 'first' ? sum.firstConvergedMs : sum.afterConvergedMs;
  const calls = which === 'first' ? sum.firstRedisCalls : sum.afterRedisCalls;
  const rooms = list.length ? list[0].roomsBefore : 0;
  return `${fmt(ack)} ms acked, ${fmt(conv)} ms converged, ${int(calls)} Redis commands (rooms before: ${int(rooms)})`;
}

function fanoutCell (f: FanoutResult | null | undefined, pair: string): string {
  if (!f) {
    return 'n/a';
  }
  return `${fmt(f.bytesPerNotification[pair] ?? 0, 1)} B`;
}

interface Verdict {
  target: string;
  value: string;
  pass: boolean | null;
}

export function verdicts (results: BenchResults): Verdict[] {
  const ours = byVariant(results, 'ours');
  const bundled = byVariant(results, 'bundled');
  const single = byVariant(results, 'single');
  const list: Verdict[] = [];

  {
    // pooled p99 is hit by any machine stall in any round: the verdict uses the median of the rounds' p99
    const roundsP99 = (v: VariantResult | undefined): number[] =>
      (latencyAt(v, 1000)?.rounds || []).map(r => r.p99).filter((x): x is number => x !== null);
    const medianOf = (list: number[]): number | null => {
      if (!list.length) {
        return null;
      }
      const sorted = [...list].sort((a, b) => a - b);
      return sorted[Math.floor((sorted.length - 1) / 2)];
    };
    const o = medianOf(roundsP99(ours));
    const s = medianOf(roundsP99(single));
    const diff = o === null || s === null ? null : o - s;
    list.push({
      pass: diff === null ? null : diff <= 2,
      target: 'cross-node p99 within 2 ms of single-node local delivery at 1,000 msg/s (median of the rounds\' p99)',
      value: `median round p99 ${fmt(o)} ms cross-node vs ${fmt(s)} ms single node (${diff === null ? 'n/a' : `${diff >= 0 ? '+' : ''}${fmt(diff)} ms`}); `
        + `rounds: ${roundsP99(ours).map(x => fmt(x)).join(', ')} vs ${roundsP99(single).map(x => fmt(x)).join(', ')}; `
        + `pooled p99 ${fmt(latencyAt(ours, 1000)?.latencyMs.p99)} vs ${fmt(latencyAt(single, 1000)?.latencyMs.p99)}; `
        + `p50 ${fmt(latencyAt(ours, 1000)?.latencyMs.p50)} vs ${fmt(latencyAt(single, 1000)?.latencyMs.p50)}`,
    });
  }
  {
    const o = ours?.throughput?.sustained ?? null;
    const b = bundled?.throughput?.sustained ?? null;
    const ceiling = single?.throughput?.sustained ?? null;
    // a Kuzzle node without any cluster plugin bounds what a plugin can reach on the same cores
    const unreachable = ceiling !== null && b ? ceiling < 2 * b : false;
    list.push({
      pass: o === null ? false : b === null ? true : o >= 2 * b,
      target: 'at least 2x the bundled plugin\'s sustained cross-node throughput',
      value: `${int(o)}/s vs ${int(b)}/s${o !== null && b ? ` (${fmt(o / b)}x)` : ''}; single-node ceiling ${int(ceiling)}/s`
        + (unreachable && b && ceiling !== null ? ` = ${fmt(ceiling / b)}x the bundled plugin: out of reach for any plugin on this machine` : ''),
    });
  }
  {
    const s = ours?.subscriptions;
    const first = s?.summary.firstConvergedMs ?? null;
    const after = s?.summary.afterConvergedMs ?? null;
    const firstAck = s?.summary.firstAckMs ?? null;
    const afterAck = s?.summary.afterAckMs ?? null;
    const tolerance = (x: number): number => Math.max(0.2 * x, 0.5);
    const flatTime = first !== null && after !== null && firstAck !== null && afterAck !== null
      && after <= first + tolerance(first) && afterAck <= firstAck + tolerance(firstAck);
    const flatRedis = s ? (s.summary.afterRedisCalls ?? Infinity) <= (s.summary.firstRedisCalls ?? 0) : false;
    list.push({
      pass: s ? flatTime && flatRedis : null,
      target: 'subscription cost flat: the 10,001st no slower than the 1st (time: median of 5, tolerance max(20%, 0.5 ms); Redis commands: no more)',
      value: s ? `1st: ${fmt(firstAck)} ms acked / ${fmt(first)} ms converged / ${int(s.summary.firstRedisCalls)} cmds; `
        + `${int(s.after[0]?.roomsBefore + 1)}th: ${fmt(afterAck)} ms / ${fmt(after)} ms / ${int(s.summary.afterRedisCalls)} cmds` : 'n/a',
    });
  }
  {
    const o = subscriptionTime(ours?.subscriptions);
    const b = subscriptionTime(bundled?.subscriptions);
    const ceiling = subscriptionTime(single?.subscriptions);
    const ratio = o.ms !== null && b.ms !== null ? b.ms / o.ms : null;
    const ceilingRatio = ceiling.ms !== null && b.ms !== null ? b.ms / ceiling.ms : null;
    list.push({
      pass: ratio === null ? (o.ms !== null && bundled?.subscriptions?.bulk.convergedMs === null ? true : null) : ratio >= 5,
      target: `${int(results.settings.subscriptions)} subscriptions over 3 nodes at least 5x faster than the bundled plugin (until every node has them)`,
      value: `${fmt((o.ms ?? NaN) / 1000)} s vs ${fmt((b.ms ?? NaN) / 1000)} s${b.extrapolated ? ' (bundled: extrapolated linearly from what it reached before the cap)' : ''}${ratio !== null ? ` = ${fmt(ratio, 1)}x` : ''}`
        + (ceilingRatio !== null ? `; single node without cluster ${fmt((ceiling.ms as number) / 1000)} s = ${fmt(ceilingRatio, 1)}x` : ''),
    });
  }
  {
    const j = ours?.join?.healthyMs ?? null;
    const boot = single?.bootMs[0] ?? null;
    const overhead = j !== null && boot !== null ? j - boot : null;
    list.push({
      pass: overhead === null ? null : overhead <= 2000,
      target: 'join <= 2 s (new node healthy in a cluster holding the subscriptions above; judged on the time beyond Kuzzle\'s own boot)',
      value: `spawn -> healthy ${int(j)} ms with ${int(ours?.join?.roomsInCluster)} rooms; Kuzzle without cluster boots in ${int(boot)} ms: join overhead ${int(overhead)} ms`,
    });
  }
  {
    const f = ours?.failure?.detectedMs ?? null;
    list.push({
      pass: f === null ? false : f <= 3000,
      target: 'failure detection <= 3 s (SIGKILL -> right realtime:count on every survivor)',
      value: `${int(f)} ms (bundled: ${int(bundled?.failure?.detectedMs)} ms)`,
    });
  }
  {
    const f = ours?.fanout;
    const toSubscriber = f?.bytesPerNotification['1->0'] ?? null;
    const toOther = f?.bytesPerNotification['1->2'] ?? null;
    list.push({
      pass: toSubscriber === null || toOther === null ? null : toOther <= Math.max(2, 0.02 * toSubscriber),
      target: 'notifications sent only to nodes that have matching subscribers',
      value: `per notification: ${fmt(toSubscriber, 1)} B to the subscriber's node, ${fmt(toOther, 1)} B to the node without subscribers `
        + `(bundled: ${fanoutCell(bundled?.fanout, '1->0')} / ${fanoutCell(bundled?.fanout, '1->2')})`,
    });
  }
  return list;
}

export function markdown (results: BenchResults): string {
  const m = results.machine;
  const s = results.settings;
  const lines: string[] = [];
  const row = (cells: string[]): void => {
    lines.push(`| ${cells.join(' | ')} |`);
  };

  lines.push('# Cluster benchmark results', '');
  lines.push(`Run ${results.startedAt}${results.quick ? ' (--quick)' : ''}, ${fmt(results.durationS / 60, 1)} min: \`${results.command}\`.`);
  lines.push(`Machine: ${m.cores} cores (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB memory, Node ${m.node}, Linux ${m.kernel}; `
    + `load average at start ${m.loadAverageAtStart.map(x => fmt(x)).join(' ')}, at end ${m.loadAverageAtEnd.map(x => fmt(x)).join(' ')}.`);
  lines.push('Everything (3-4 Kuzzle nodes, Redis, the bench\'s SDK clients) shares these cores: absolute numbers are those of a',
    'crowded 2-core box, the comparison between columns is the point. Latencies in ms, p50 / p95 / p99.');
  const foreign = results.variants.flatMap(v => [
    ...Object.entries(v.cpu).map(([what, u]) => ({ u, what: `${v.variant}/${what}` })),
    ...v.latency.filter(r => r.cpu).map(r => ({ u: r.cpu as CpuUsage, what: `${v.variant}/latency @${r.targetRate}/s` })),
    ...(v.throughput?.steps || []).filter(r => r.cpu).map(r => ({ u: r.cpu as CpuUsage, what: `${v.variant}/throughput @${r.targetRate}/s` })),
  ]).sort((a, b) => b.u.otherCores - a.u.otherCores);
  if (foreign.length) {
    const worst = foreign[0];
    lines.push(`CPU used by processes foreign to the bench: at most ${fmt(worst.u.otherCores)} core on average during one measurement (${worst.what})`
      + `${worst.u.otherCores > 0.25 ? ' — **the machine was not quiet: those numbers are skewed**' : ''}; per measurement in the details.`);
  }
  lines.push('');

  // columns: the three of every run, and the native ones when they ran
  const columns = TABLE_ORDER.filter(v => ['ours', 'bundled', 'single'].includes(v) || byVariant(results, v))
    .map(variant => ({ cluster: isCluster(variant), r: byVariant(results, variant), variant }));
  const cells = (f: (v: VariantResult | undefined, cluster: boolean) => string): string[] => columns.map(c => f(c.r, c.cluster));
  row(['measurement', ...columns.map(c => (c.cluster ? VARIANT_LABEL[c.variant] : `${VARIANT_LABEL[c.variant]} (ceiling)`))]);
  row(['---', ...columns.map(() => '---')]);
  for (const rate of s.latencyRates) {
    row([`latency @${rate} msg/s (cluster: sub on node 1, pub on node 2)`, ...cells(v => latencyCell(latencyAt(v, rate)))]);
    row([`&nbsp;&nbsp;rate, loss @${rate} msg/s`, ...cells(v => rateCell(latencyAt(v, rate)))]);
  }
  const sustained = (v: VariantResult | undefined): string =>
    (v?.throughput ? `${int(v.throughput.sustained)} msg/s (next step: ${v.throughput.stoppedBecause})` : 'n/a');
  row([`max sustained throughput, p99 <= ${s.p99LimitMs} ms`, ...cells(sustained)]);
  row([`${int(s.subscriptions)} subscriptions, distinct filters, one collection`, ...cells(v => bulkCell(v?.subscriptions))]);
  row(['&nbsp;&nbsp;Redis commands for them', ...cells(v => redisBulkCell(v?.subscriptions))]);
  row([`1st subscription (median of ${s.singles})`, ...cells(v => singleCell(v?.subscriptions, 'first'))]);
  row([`subscription after the bulk (median of ${s.singles})`, ...cells(v => singleCell(v?.subscriptions, 'after'))]);
  const joinCell = (v: VariantResult | undefined, cluster: boolean): string => {
    if (!cluster) {
      const what = v?.variant === 'native-single' ? 'Kuzzle 2.33.1 boot, cluster of one' : 'Kuzzle boot without cluster';
      return v ? `${what}: ${int(v.bootMs[0])} ms spawn -> /_healthCheck 200` : 'n/a';
    }
    return v?.join
      ? `${int(v.join.healthyMs)} ms spawn -> healthy (${int(v.join.roomsInCluster)} rooms; first delivery through it ${fmt(v.join.firstDeliveryAfterHealthyMs)} ms after healthy${v.join.roomsKnown !== null ? `; knows ${int(v.join.roomsKnown)} rooms at once` : ''})`
      : 'n/a';
  };
  row(['join: 4th node, spawn -> health 200', ...cells(joinCell)]);
  const failureCell = (v: VariantResult | undefined, cluster: boolean): string => (cluster && v?.failure
    ? (v.failure.detectedMs !== null ? `${int(v.failure.detectedMs)} ms` : `not detected: ${v.failure.error}`)
    : 'n/a');
  row(['failure detection: SIGKILL -> right count on every survivor', ...cells(failureCell)]);
  const cpuCell = (v: VariantResult | undefined, rate: number): string => {
    const per = latencyAt(v, rate)?.cpuPerMessageUs;
    if (!per) {
      return 'n/a';
    }
    const nodes = Object.entries(per).filter(([k]) => k.startsWith('kuzzle'));
    const total = nodes.reduce((a, [, us]) => a + us, 0);
    return `${int(total)} us in Kuzzle nodes (${nodes.map(([k, us]) => `${k.replace('kuzzle ', 'node ')} ${int(us)}`).join(', ')}); bench clients ${int(per['bench clients'])} us`;
  };
  row(['CPU per notification @1000 msg/s (node 1 subscriber, node 2 publisher)', ...cells(v => cpuCell(v, 1000))]);
  row(['fan-out: bytes/notification to the subscriber\'s node', ...cells((v, cluster) => (cluster ? fanoutCell(v?.fanout, '1->0') : 'n/a'))]);
  row(['fan-out: bytes/notification to the node without subscribers', ...cells((v, cluster) => (cluster ? fanoutCell(v?.fanout, '1->2') : 'n/a'))]);
  lines.push('');

  lines.push('## Targets (this plugin)', '');
  row(['target', 'measured', 'verdict']);
  row(['---', '---', '---']);
  for (const v of verdicts(results)) {
    row([v.target, v.value, v.pass === null ? 'n/a' : v.pass ? 'met' : '**missed**']);
  }
  lines.push('');

  lines.push('## Details', '');
  for (const v of results.variants) {
    lines.push(`### ${v.label}`, '');
    lines.push(`Nodes booted in ${v.bootMs.map(ms => `${int(ms)} ms`).join(', ')} (spawn -> health 200; node 1 alone, then the others together).`);
    const cpu = Object.entries(v.cpu);
    if (cpu.length) {
      lines.push(`CPU, average cores busy (machine / bench processes / others): ${cpu.map(([what, u]) => `${what} ${fmt(u.machineCores)} / ${fmt(u.benchCores)} / ${fmt(u.otherCores)}`).join('; ')}.`);
    }
    const counters = Object.entries(v.counters);
    if (counters.length) {
      lines.push(`Cluster status counters during each measurement (summed over the nodes' views of their peers): ${counters.map(([what, c]) => `${what} ${JSON.stringify(c)}`).join('; ')}.`);
    }
    if (v.errors.length) {
      lines.push('', 'Errors:', ...v.errors.map(e => `- ${e.replace(/\n/g, ' ')}`));
    }
    lines.push('');
    const steps = [...v.latency.map(r => ({ kind: `latency (${r.rounds ? r.rounds.length : 1} rounds)`, r })),
      ...(v.throughput?.steps || []).map(r => ({
        kind: `throughput ${r.pass ? 'pass' : 'FAIL'}${r.retryOf ? ` (2nd try; 1st: ${r.retryOf.why})` : ''}`, r,
      }))];
    if (steps.length) {
      row(['run', 'target/s', 'sent/s', 'delivered/s', 'sent', 'received', 'lost', 'errors', 'throttled', 'p50', 'p95', 'p99', 'max', 'p99 per round', 'CPU us per notification']);
      row(Array(15).fill('---'));
      for (const { kind, r } of steps) {
        const l = r.latencyMs;
        row([kind, int(r.targetRate), int(r.achievedRate), int(r.deliveredRate), int(r.sent), int(r.received),
          int(r.lost), int(r.errors), int(r.throttled), fmt(l.p50), fmt(l.p95), fmt(l.p99), fmt(l.max),
          r.rounds ? r.rounds.map(x => fmt(x.p99)).join(', ') : '',
          Object.entries(r.cpuPerMessageUs || {}).filter(([, us]) => us > 0).map(([k, us]) => `${k} ${us}`).join(', ')]);
      }
      lines.push('');
    }
    if (v.subscriptions) {
      const sub = v.subscriptions;
      const top = Object.entries(sub.bulk.redis.byCommand).sort((a, b) => b[1] - a[1]).slice(0, 8);
      lines.push(`Subscriptions: ${int(sub.bulk.count)} in the bulk, ${int(sub.bulk.errors)} errors${sub.bulk.firstError ? ` (${sub.bulk.firstError})` : ''}; `
        + `Redis commands by name: ${top.map(([c, n]) => `${c} ${int(n)}`).join(', ') || 'none'}; `
        + `health answers other than 200 while it ran: ${JSON.stringify(sub.bulk.health.notReady)} of ${int(sub.bulk.health.polls)} polls`
        + `${sub.bulk.health.firstReason ? ` (first: ${sub.bulk.health.firstReason.replace(/\|/g, '/')})` : ''}.`);
      lines.push(`Single subscriptions (ack / converged ms, Redis commands): first ${sub.first.map(x => `${fmt(x.ackMs)}/${fmt(x.convergedMs)}/${x.redis.calls}`).join(', ')}; `
        + `after the bulk ${sub.after.map(x => `${fmt(x.ackMs)}/${fmt(x.convergedMs)}/${x.redis.calls}`).join(', ')}.`, '');
    }
    if (v.fanout) {
      lines.push(`Fan-out: ${int(v.fanout.notifications)} notifications published on node 2 for a subscriber on node 1, ${int(v.fanout.windowMs)} ms window; `
        + `bytes received per sender->receiver (0-based) raw ${JSON.stringify(v.fanout.rawBytes)}, idle baseline for the same time ${JSON.stringify(v.fanout.idleBytes)}, `
        + `net per notification ${JSON.stringify(v.fanout.bytesPerNotification)}.`, '');
    }
    if (v.failure) {
      lines.push(`Failure: killed node ${v.failure.killedNode + 1} of ${v.failure.nodesBefore}; per survivor ${JSON.stringify(v.failure.perSurvivorMs)}${v.failure.error ? `; ${v.failure.error}` : ''}.`, '');
    }
  }
  lines.push('Method: see bench/README.md. Raw numbers: results.json. Plot: results.svg.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// SVG

const COLORS: Record<Variant, string> = { bundled: '#d95f02', native: '#e7298a', 'native-single': '#66a61e', ours: '#1b9e77', single: '#7570b3' };

function esc (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
}

function logScale (min: number, max: number, panel: Panel): (v: number) => number {
  const lo = Math.log10(min);
  const hi = Math.log10(max);
  return v => panel.y + panel.h - ((Math.log10(Math.max(min, Math.min(max, v))) - lo) / (hi - lo)) * panel.h;
}

function logAxis (out: string[], panel: Panel, min: number, max: number, label: string): (v: number) => number {
  const y = logScale(min, max, panel);
  for (let e = Math.ceil(Math.log10(min)); e <= Math.floor(Math.log10(max)); e++) {
    const v = 10 ** e;
    out.push(`<line x1="${panel.x}" x2="${panel.x + panel.w}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${panel.x - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v >= 1 ? v : v.toString()}</text>`);
  }
  out.push(`<line x1="${panel.x}" x2="${panel.x}" y1="${panel.y}" y2="${panel.y + panel.h}" stroke="#333"/>`);
  out.push(`<line x1="${panel.x}" x2="${panel.x + panel.w}" y1="${panel.y + panel.h}" y2="${panel.y + panel.h}" stroke="#333"/>`);
  out.push(`<text transform="translate(${panel.x - 42},${panel.y + panel.h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(label)}</text>`);
  return y;
}

export function svg (results: BenchResults): string {
  const width = 1100;
  const height = 1000;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="20" y="28" font-size="18" font-weight="bold">Kuzzle 2.10.4 cluster benchmark — ${esc(results.startedAt)}${results.quick ? ' (quick)' : ''}, ${results.machine.cores} cores</text>`);
  const variants = results.variants;

  // legend
  const legendStep = Math.min(300, Math.floor(1080 / Math.max(1, variants.length)));
  variants.forEach((v, i) => {
    out.push(`<rect x="${20 + i * legendStep}" y="42" width="14" height="14" fill="${COLORS[v.variant]}"/>`);
    out.push(`<text x="${40 + i * legendStep}" y="54" font-size="${legendStep < 300 ? 11 : 13}">${esc(v.label)}</text>`);
  });

  // panel 1: latency percentiles per rate
  {
    const panel: Panel = { h: 250, w: 1000, x: 70, y: 100 };
    out.push(`<text x="${panel.x}" y="${panel.y - 14}" font-size="14" font-weight="bold">Notification latency at fixed rates (cluster: subscriber node 1, publisher node 2) — bars p50, p95, p99 (log scale)</text>`);
    const y = logAxis(out, panel, 0.1, 10000, 'ms');
    const rates = results.settings.latencyRates;
    const groupW = panel.w / rates.length;
    const barW = (groupW - 40) / (variants.length * 3);
    rates.forEach((rate, gi) => {
      const gx = panel.x + gi * groupW + 20;
      out.push(`<text x="${gx + (groupW - 40) / 2}" y="${panel.y + panel.h + 18}" text-anchor="middle" font-size="12">${rate} msg/s</text>`);
      variants.forEach((v, vi) => {
        const r = v.latency.find(l => l.targetRate === rate);
        (['p50', 'p95', 'p99'] as const).forEach((p, pi) => {
          const value = r?.latencyMs[p];
          if (value === null || value === undefined) {
            return;
          }
          const x = gx + (vi * 3 + pi) * barW;
          const top = y(value);
          out.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(panel.y + panel.h - top).toFixed(1)}" fill="${COLORS[v.variant]}" opacity="${[0.45, 0.7, 1][pi]}"><title>${esc(`${v.label} ${p} ${value} ms`)}</title></rect>`);
          out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="8">${value < 10 ? value.toFixed(1) : Math.round(value)}</text>`);
        });
      });
    });
  }

  // panel 2: p99 against offered rate
  {
    const panel: Panel = { h: 250, w: 1000, x: 70, y: 420 };
    out.push(`<text x="${panel.x}" y="${panel.y - 14}" font-size="14" font-weight="bold">Throughput steps: p99 latency vs offered rate (dashed: ${results.settings.p99LimitMs} ms limit; hollow point = step failed)</text>`);
    const y = logAxis(out, panel, 0.1, 10000, 'p99 ms');
    const rates = results.settings.throughputRates;
    const maxRate = rates[rates.length - 1];
    const x = (r: number): number => panel.x + (r / maxRate) * panel.w;
    for (const r of rates) {
      out.push(`<text x="${x(r)}" y="${panel.y + panel.h + 18}" text-anchor="middle" font-size="11">${r}</text>`);
    }
    out.push(`<text x="${panel.x + panel.w / 2}" y="${panel.y + panel.h + 34}" text-anchor="middle" font-size="12">offered msg/s</text>`);
    out.push(`<line x1="${panel.x}" x2="${panel.x + panel.w}" y1="${y(results.settings.p99LimitMs)}" y2="${y(results.settings.p99LimitMs)}" stroke="#c00" stroke-dasharray="6,4"/>`);
    for (const v of variants) {
      const steps = v.throughput?.steps || [];
      const points = steps.filter(st => st.latencyMs.p99 !== null).map(st => ({ pass: st.pass, px: x(st.targetRate), py: y(st.latencyMs.p99 as number) }));
      if (points.length > 1) {
        out.push(`<polyline fill="none" stroke="${COLORS[v.variant]}" stroke-width="2" points="${points.map(p => `${p.px.toFixed(1)},${p.py.toFixed(1)}`).join(' ')}"/>`);
      }
      for (const p of points) {
        out.push(`<circle cx="${p.px.toFixed(1)}" cy="${p.py.toFixed(1)}" r="4" fill="${p.pass ? COLORS[v.variant] : 'white'}" stroke="${COLORS[v.variant]}" stroke-width="2"/>`);
      }
    }
  }

  // panel 3: cluster operations
  {
    const panel: Panel = { h: 220, w: 1000, x: 70, y: 740 };
    out.push(`<text x="${panel.x}" y="${panel.y - 14}" font-size="14" font-weight="bold">Cluster operations (seconds, log scale; * = capped, extrapolated)</text>`);
    const y = logAxis(out, panel, 0.001, 1000, 's');
    const single = variants.find(v => v.variant === 'single');
    const groups: Array<{ label: string; value: (v: VariantResult) => { s: number | null; mark?: string } }> = [
      {
        label: `${int(results.settings.subscriptions)} subscriptions (converged)`,
        value: v => {
          const t = subscriptionTime(v.subscriptions);
          return { mark: t.extrapolated ? '*' : '', s: t.ms === null ? null : t.ms / 1000 };
        },
      },
      {
        label: 'one subscription after the bulk (converged)',
        value: v => {
          const ms = v.subscriptions?.summary.afterConvergedMs ?? null;
          return { s: ms === null ? null : ms / 1000 };
        },
      },
      { label: 'join (spawn -> healthy; single: plain boot)', value: v => ({ s: v.variant === 'single' ? (single ? single.bootMs[0] / 1000 : null) : (v.join ? v.join.healthyMs / 1000 : null) }) },
      {
        label: 'failure detection',
        value: v => {
          const ms = v.failure?.detectedMs ?? null;
          return { s: ms === null ? null : ms / 1000 };
        },
      },
    ];
    const groupW = panel.w / groups.length;
    const barW = (groupW - 60) / variants.length;
    groups.forEach((g, gi) => {
      const gx = panel.x + gi * groupW + 30;
      out.push(`<text x="${gx + (groupW - 60) / 2}" y="${panel.y + panel.h + 18}" text-anchor="middle" font-size="11">${esc(g.label)}</text>`);
      variants.forEach((v, vi) => {
        const { s, mark } = g.value(v);
        if (s === null || s === undefined) {
          return;
        }
        const bx = gx + vi * barW;
        const top = y(s);
        out.push(`<rect x="${bx.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(panel.y + panel.h - top).toFixed(1)}" fill="${COLORS[v.variant]}"><title>${esc(`${v.label}: ${s} s`)}</title></rect>`);
        out.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="10">${s < 1 ? s.toFixed(3) : s.toFixed(1)}${mark || ''}</text>`);
      });
    });
  }

  out.push('</svg>');
  return out.join('\n');
}
