import * as v8 from 'v8';
import * as vm from 'vm';

/**
 * Two full garbage collections (the second takes what the first's
 * finalizers released), without --expose-gc on the command line: the flag
 * set at run time gives `gc` to a new context.
 */
export function collectGarbage (): void {
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = vm.runInNewContext('gc');
  if (typeof gc !== 'function') {
    throw new Error('no gc() even with --expose-gc');
  }
  gc();
  gc();
}
