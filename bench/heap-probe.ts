/**
 * Preload (`node -r`) of every Kuzzle node the bench starts, whatever the
 * column: on SIGUSR2, runs two full garbage collections and writes the
 * node's memory to `$BENCH_HEAP_DIR/heap-<pid>.json` (written aside, then
 * renamed: a reader never sees half of it).
 *
 * Resident memory (VmRSS) also counts the heap V8 keeps free after a
 * collection and what the allocator has not returned: on one node holding
 * 30,000 subscriptions it moved by ±20 % within a minute, with no request in
 * between. The live heap after a full collection is what the subscriptions
 * themselves keep, measured the same way on every column (same Node binary).
 *
 * `gc` is taken from V8 at run time (the node starts without --expose-gc, as
 * users start it); nothing else changes. test/support/gc.ts does the same
 * for the benches, but this file is transpiled alone into the bench's work
 * directory and cannot import it.
 */
import fs from 'fs';
import path from 'path';
import v8 from 'v8';
import vm from 'vm';

const dir = process.env.BENCH_HEAP_DIR;
if (!dir) {
  throw new Error('bench heap probe: BENCH_HEAP_DIR must be set');
}

v8.setFlagsFromString('--expose-gc');
const collect: unknown = vm.runInNewContext('gc');
if (typeof collect !== 'function') {
  throw new Error('bench heap probe: no gc() even with --expose-gc');
}

process.on('SIGUSR2', () => {
  collect();
  collect();
  const { external, heapUsed } = process.memoryUsage();
  const file = path.join(dir, `heap-${process.pid}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ external, heapUsed }));
  fs.renameSync(`${file}.tmp`, file);
});
