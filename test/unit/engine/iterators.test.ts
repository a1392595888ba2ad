import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { ValueType } from '../../../lib/format/internal-key.js';
import { MergeIterator } from '../../../lib/engine/merge-iterator.js';
import { UserIterator } from '../../../lib/engine/user-iterator.js';
import type { Entry, IteratorOptions } from '../../../lib/engine/engine.js';

// Strategy: random versions spread over several memtables (standing in for
// memtable, immutables and segments), a random snapshot and random bounds;
// the merged user view must equal a model built from a plain map.
// Invariant: each user key shows its newest version <= snapshot, tombstones hidden.

type Op = [key: number, sequence: number, isPut: boolean, source: number];

function drain(iterator: UserIterator): Entry[] {
  const out: Entry[] = [];
  for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) out.push(entry);
  return out;
}

const keyOf = (n: number): Buffer => Buffer.from([n]);

describe('MergeIterator + UserIterator', () => {
  it('shows each key at the snapshot, in range, forwards and backwards', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat(12), fc.integer({ min: 1, max: 200 }), fc.boolean(), fc.nat(3)), {
          selector: ([key, sequence]) => `${key}@${sequence}`,
          maxLength: 80,
        }),
        fc.integer({ min: 0, max: 210 }),
        fc.record({ lower: fc.option(fc.nat(13)), upper: fc.option(fc.nat(13)), lowerInclusive: fc.boolean(), upperInclusive: fc.boolean(), limit: fc.option(fc.nat(10)) }),
        (ops: Op[], snapshot, bounds) => {
          const tables = [new Memtable(), new Memtable(), new Memtable(), new Memtable()];
          for (const [key, sequence, isPut, source] of ops) {
            tables[source]!.add(sequence, isPut ? ValueType.put : ValueType.delete, keyOf(key), Buffer.from(`${key}@${sequence}`));
          }
          const options: IteratorOptions = {};
          if (bounds.lower !== null) options[bounds.lowerInclusive ? 'gte' : 'gt'] = keyOf(bounds.lower);
          if (bounds.upper !== null) options[bounds.upperInclusive ? 'lte' : 'lt'] = keyOf(bounds.upper);
          if (bounds.limit !== null) options.limit = bounds.limit;

          const newest = new Map<number, { sequence: number; isPut: boolean }>();
          for (const [key, sequence, isPut] of ops) {
            if (sequence > snapshot) continue;
            const seen = newest.get(key);
            if (!seen || seen.sequence < sequence) newest.set(key, { sequence, isPut });
          }
          const inRange = (key: number): boolean =>
            (bounds.lower === null || (bounds.lowerInclusive ? key >= bounds.lower : key > bounds.lower)) &&
            (bounds.upper === null || (bounds.upperInclusive ? key <= bounds.upper : key < bounds.upper));
          const expected = [...newest]
            .filter(([key, version]) => version.isPut && inRange(key))
            .sort(([a], [b]) => a - b)
            .map(([key, version]) => `${key}=${key}@${version.sequence}`);
          const show = (entries: Entry[]): string[] => entries.map(([k, v]) => `${k[0]}=${v.toString()}`);
          const limit = bounds.limit ?? Number.POSITIVE_INFINITY;

          const forward = new UserIterator(new MergeIterator(tables.map((t) => t.iterator())), snapshot, options);
          expect(show(drain(forward))).toEqual(expected.slice(0, limit));
          const backward = new UserIterator(new MergeIterator(tables.map((t) => t.iterator())), snapshot, { ...options, reverse: true });
          expect(show(drain(backward))).toEqual([...expected].reverse().slice(0, limit));
        },
      ),
      { numRuns: Number(process.env.SILT_PROPERTY_RUNS ?? 300) },
    );
  });
});
