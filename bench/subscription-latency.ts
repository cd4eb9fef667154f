/**
 * One subscription at a time against a running cluster (e.g. ./dev.sh):
 * the time from realtime:subscribe to its answer, which this plugin gives
 * once Redis has the room and every peer applied it. Distinct filters; every
 * second subscription is removed again, so the room count stays low.
 *
 *   node -r ts-node/register/transpile-only bench/subscription-latency.ts [--port=7513] [--count=400] [--warm-up=100]
 */
import { connect } from './clients';
import { summarize } from './metrics';
import { parseOptions, positiveInteger } from './options';

const INDEX = 'latency';
const COLLECTION = 'subscriptions';

async function main (): Promise<void> {
  const options = { count: 400, port: 7513, warmUp: 100 };
  parseOptions(process.argv.slice(2), {
    values: {
      '--count': (value, key) => { options.count = positiveInteger(key, value); },
      '--port': (value, key) => { options.port = positiveInteger(key, value); },
      '--warm-up': value => { options.warmUp = Number(value); },
    },
  });
  if (!Number.isInteger(options.warmUp) || options.warmUp < 0 || options.warmUp >= options.count) {
    throw new Error('--warm-up: expected an integer from 0 to --count - 1');
  }

  const { kuzzle } = await connect(0, options.port);
  try {
    if (!await kuzzle.index.exists(INDEX)) {
      await kuzzle.index.create(INDEX);
    }
    await kuzzle.collection.create(INDEX, COLLECTION, {});
    const run = Date.now();
    const times: number[] = [];
    for (let i = 0; i < options.count; i++) {
      const start = process.hrtime.bigint();
      const room = await kuzzle.realtime.subscribe(INDEX, COLLECTION, { equals: { sub: `${run}-${i}` } }, () => undefined);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (i % 2 === 1) {
        await kuzzle.realtime.unsubscribe(room);
      }
    }
    const s = summarize(times.slice(options.warmUp));
    console.log(`subscription answered, ms, ${s.count} after ${options.warmUp} to warm up, port ${options.port}: `
      + `p50 ${s.p50} p95 ${s.p95} p99 ${s.p99} max ${s.max}`);
  }
  finally {
    kuzzle.disconnect();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
