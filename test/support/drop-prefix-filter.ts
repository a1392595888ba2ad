// A compaction filter module for tests (lib/compaction/compactor.ts, rule 3).
// The worker imports it by path, so tests name the compiled file:
// dist/test/support/drop-prefix-filter.js.
//
// It drops every key that starts with `options.prefix`, except that a key
// `prefix + rest` is kept while the key `options.keepPrefix + rest` has a value
// in the segments the compaction sees (read with `context.get`). So tests can
// check both that the filter runs and that `context.get` answers.
//
// Example:
//   compactionFilter: { module: '/abs/dist/test/support/drop-prefix-filter.js', options: { prefix: 'tmp:', keepPrefix: 'pin:' } }

import type { CompactionFilter, CompactionFilterContext } from '../../lib/engine/engine.js';

export interface DropPrefixFilterOptions {
  /** Keys starting with this are dropped. */
  prefix: string;
  /** When set, `prefix + rest` is kept while `keepPrefix + rest` exists. */
  keepPrefix?: string;
}

export function createCompactionFilter(options: DropPrefixFilterOptions, context: CompactionFilterContext): CompactionFilter {
  if (typeof options?.prefix !== 'string' || options.prefix.length === 0) {
    throw new TypeError('drop-prefix-filter: options.prefix must be a non-empty string');
  }
  const prefix = Buffer.from(options.prefix, 'latin1');
  const keepPrefix = options.keepPrefix === undefined ? undefined : Buffer.from(options.keepPrefix, 'latin1');
  return {
    drop(userKey: Buffer): boolean {
      if (userKey.length < prefix.length || !userKey.subarray(0, prefix.length).equals(prefix)) return false;
      if (keepPrefix === undefined) return true;
      const pin = Buffer.concat([keepPrefix, userKey.subarray(prefix.length)]);
      return context.get(pin) === undefined;
    },
  };
}
