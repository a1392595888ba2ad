// A compaction filter module for tests of a worker thread that dies: with
// `options.crash` it throws from a timer `crashAfterMs` after it is created,
// an uncaught exception that ends the worker (its 'error', then 'exit'
// event). With `options.crashOnNextLoad` it arms that crash for the next
// slow-loading-filter.js this worker loads instead (crashArmed()). It drops
// nothing; `busyMs` makes each key cost that long.
// Tests name the compiled file: dist/test/support/crashing-filter.js.

import type { CompactionFilter } from '../../lib/engine/engine.js';

export interface CrashingFilterOptions {
  crash?: boolean;
  crashAfterMs?: number;
  crashOnNextLoad?: boolean;
  busyMs?: number;
}

/** Set in a worker by a filter created with crashOnNextLoad. */
let armed = false;

/** Whether a filter of this worker armed a crash for the next module load (slow-loading-filter.ts). */
export function crashArmed(): boolean {
  return armed;
}

export function createCompactionFilter(options: CrashingFilterOptions): CompactionFilter {
  if (options.crashOnNextLoad === true) armed = true;
  if (options.crash === true) {
    setTimeout(() => {
      throw new Error('worker crash (test)');
    }, options.crashAfterMs ?? 0);
  }
  return {
    drop(): boolean {
      const until = Date.now() + (options.busyMs ?? 0);
      while (Date.now() < until);
      return false;
    },
  };
}
