// A compaction filter module for tests of a worker thread that dies: with
// `options.crash` it throws from a timer `crashAfterMs` after it is created,
// an uncaught exception that ends the worker (its 'error', then 'exit'
// event). It drops nothing; `busyMs` makes each key cost that long.
// Tests name the compiled file: dist/test/support/crashing-filter.js.

import type { CompactionFilter } from '../../lib/engine/engine.js';

export interface CrashingFilterOptions {
  crash?: boolean;
  crashAfterMs?: number;
  busyMs?: number;
}

export function createCompactionFilter(options: CrashingFilterOptions): CompactionFilter {
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
