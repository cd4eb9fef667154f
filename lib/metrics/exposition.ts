/**
 * The Prometheus text exposition format (version 0.0.4): a tiny typed
 * builder of metric families and its renderer. Kuzzle-free; no dependency.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */
import type { HistogramSnapshot } from './histogram';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;

export type MetricType = 'counter' | 'gauge' | 'histogram';

interface Sample {
  labels: Labels;
  value: number;
}

interface HistogramSeries {
  labels: Labels;
  histogram: HistogramSnapshot;
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
  series: HistogramSeries[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** suffixes a histogram's series use: a metric named so would clash with one */
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** a label value: backslash, double quote and line feed are escaped */
export function escapeLabelValue (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed are escaped (a double quote is not) */
export function escapeHelp (help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's float formatting as Prometheus parses it: NaN, +Inf, -Inf, else the shortest round-trip form */
export function formatValue (value: number): string {
  if (Number.isNaN(value)) {
    return 'NaN';
  }
  if (value === Infinity) {
    return '+Inf';
  }
  if (value === -Infinity) {
    return '-Inf';
  }
  return String(value);
}

function formatLabels (labels: Labels, extra?: [string, string]): string {
  const parts: string[] = [];
  for (const name of Object.keys(labels)) {
    parts.push(`${name}="${escapeLabelValue(labels[name])}"`);
  }
  if (extra) {
    parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  }
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/**
 * Metric families in the order they are declared; each name once. Built per
 * scrape from a snapshot of the node's state, then rendered.
 */
export class Exposition {
  private readonly families = new Map<string, Family>();

  counter (name: string, help: string): FamilyWriter {
    if (!name.endsWith('_total')) {
      throw new Error(`counter "${name}" must end with _total`);
    }
    return new FamilyWriter(this.declare(name, help, 'counter'));
  }

  gauge (name: string, help: string): FamilyWriter {
    return new FamilyWriter(this.declare(name, help, 'gauge'));
  }

  histogram (name: string, help: string): HistogramWriter {
    return new HistogramWriter(this.declare(name, help, 'histogram'));
  }

  private declare (name: string, help: string, type: MetricType): Family {
    if (!METRIC_NAME.test(name)) {
      throw new Error(`invalid metric name "${name}"`);
    }
    if (this.families.has(name)) {
      throw new Error(`metric "${name}" declared twice`);
    }
    for (const other of this.families.values()) {
      const clash = other.type === 'histogram' && HISTOGRAM_SUFFIXES.some(s => name === other.name + s)
        || type === 'histogram' && HISTOGRAM_SUFFIXES.some(s => other.name === name + s);
      if (clash) {
        throw new Error(`metric "${name}" clashes with the series of "${other.name}"`);
      }
    }
    const family: Family = { help, name, samples: [], series: [], type };
    this.families.set(name, family);
    return family;
  }

  render (): string {
    const lines: string[] = [];
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${family.name} ${family.type}`);
      for (const { labels, value } of family.samples) {
        lines.push(`${family.name}${formatLabels(labels)} ${formatValue(value)}`);
      }
      for (const { histogram, labels } of family.series) {
        histogram.bounds.forEach((bound, i) => {
          lines.push(`${family.name}_bucket${formatLabels(labels, ['le', formatValue(bound)])} ${histogram.cumulative[i]}`);
        });
        lines.push(`${family.name}_bucket${formatLabels(labels, ['le', '+Inf'])} ${histogram.count}`);
        lines.push(`${family.name}_sum${formatLabels(labels)} ${formatValue(histogram.sum)}`);
        lines.push(`${family.name}_count${formatLabels(labels)} ${histogram.count}`);
      }
    }
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }
}

function checkLabels (family: Family, labels: Labels, reserved: string[]): void {
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || reserved.includes(name)) {
      throw new Error(`invalid label name "${name}" on ${family.name}`);
    }
  }
}

export class FamilyWriter {
  constructor (private readonly family: Family) {}

  /** one sample; chainable */
  set (value: number, labels: Labels = {}): this {
    checkLabels(this.family, labels, []);
    if (this.family.type === 'counter' && !(value >= 0)) {
      throw new Error(`counter ${this.family.name} cannot be ${value}`);
    }
    this.family.samples.push({ labels, value });
    return this;
  }
}

export class HistogramWriter {
  constructor (private readonly family: Family) {}

  set (histogram: HistogramSnapshot, labels: Labels = {}): this {
    checkLabels(this.family, labels, ['le']);
    this.family.series.push({ histogram, labels });
    return this;
  }
}
