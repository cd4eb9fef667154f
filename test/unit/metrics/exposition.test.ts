import should from 'should';

import {
  CONTENT_TYPE, Exposition, escapeHelp, escapeLabelValue, formatValue,
} from '../../../lib/metrics/exposition';
import { Histogram } from '../../../lib/metrics/histogram';

describe('metrics/exposition', () => {
  it('renders counters, gauges and a histogram exactly, in declaration order', () => {
    const out = new Exposition();
    out.counter('demo_requests_total', 'Requests served.').set(3, { code: '200' }).set(1, { code: '500' });
    out.gauge('demo_up', 'Whether it is up.').set(1);
    const histogram = new Histogram([0.1, 1]);
    histogram.observe(0.05);
    histogram.observe(0.1);
    histogram.observe(0.5);
    histogram.observe(7);
    out.histogram('demo_duration_seconds', 'How long it took.').set(histogram.snapshot(), { op: 'get' });

    should(out.render()).equal([
      '# HELP demo_requests_total Requests served.',
      '# TYPE demo_requests_total counter',
      'demo_requests_total{code="200"} 3',
      'demo_requests_total{code="500"} 1',
      '# HELP demo_up Whether it is up.',
      '# TYPE demo_up gauge',
      'demo_up 1',
      '# HELP demo_duration_seconds How long it took.',
      '# TYPE demo_duration_seconds histogram',
      'demo_duration_seconds_bucket{op="get",le="0.1"} 2',
      'demo_duration_seconds_bucket{op="get",le="1"} 3',
      'demo_duration_seconds_bucket{op="get",le="+Inf"} 4',
      'demo_duration_seconds_sum{op="get"} 7.65',
      'demo_duration_seconds_count{op="get"} 4',
      '',
    ].join('\n'));
  });

  it('escapes label values (backslash, double quote, line feed) and HELP text (backslash, line feed)', () => {
    should(escapeLabelValue('a\\b"c\nd')).equal('a\\\\b\\"c\\nd');
    should(escapeHelp('a\\b"c\nd')).equal('a\\\\b"c\\nd');

    const out = new Exposition();
    out.gauge('demo_info', 'Line one\nline "two" \\ end').set(1, { path: 'C:\\tmp\n"x"' });
    should(out.render()).equal([
      '# HELP demo_info Line one\\nline "two" \\\\ end',
      '# TYPE demo_info gauge',
      'demo_info{path="C:\\\\tmp\\n\\"x\\""} 1',
      '',
    ].join('\n'));
  });

  it('formats special values as Prometheus parses them', () => {
    should(formatValue(NaN)).equal('NaN');
    should(formatValue(Infinity)).equal('+Inf');
    should(formatValue(-Infinity)).equal('-Inf');
    should(formatValue(0.25)).equal('0.25');
    should(formatValue(1e-7)).equal('1e-7');
    should(formatValue(12345678)).equal('12345678');
  });

  it('a family declared with no sample still has its HELP and TYPE; nothing renders as empty text', () => {
    should(new Exposition().render()).equal('');
    const out = new Exposition();
    out.gauge('demo_peer_up', 'Per peer.');
    should(out.render()).equal('# HELP demo_peer_up Per peer.\n# TYPE demo_peer_up gauge\n');
  });

  it('refuses what Prometheus would reject: bad names, duplicates, clashes, negative counters, reserved labels', () => {
    const out = new Exposition();
    should(() => out.gauge('1bad', 'x')).throw(/invalid metric name/);
    should(() => out.gauge('bad-name', 'x')).throw(/invalid metric name/);
    should(() => out.counter('demo_requests', 'x')).throw(/must end with _total/);
    out.gauge('demo_a', 'x');
    should(() => out.gauge('demo_a', 'x')).throw(/declared twice/);
    out.histogram('demo_h', 'x');
    should(() => out.gauge('demo_h_count', 'x')).throw(/clashes/);
    out.gauge('demo_g_bucket', 'x');
    should(() => out.histogram('demo_g', 'x')).throw(/clashes/);
    should(() => out.counter('demo_c_total', 'x').set(-1)).throw(/cannot be -1/);
    should(() => out.gauge('demo_b', 'x').set(1, { 'bad-label': 'v' })).throw(/invalid label name/);
    should(() => out.gauge('demo_c', 'x').set(1, { __name: 'v' })).throw(/invalid label name/);
    should(() => out.histogram('demo_d', 'x').set(new Histogram().snapshot(), { le: '1' })).throw(/invalid label name/);
  });

  it('says which exposition format it is', () => {
    should(CONTENT_TYPE).equal('text/plain; version=0.0.4; charset=utf-8');
  });
});
