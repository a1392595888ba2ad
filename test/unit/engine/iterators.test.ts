import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { ValueType } from '../../../lib/format/internal-key.js';
import { MergeIterator, mergeBoundsOf } from '../../../lib/engine/merge-iterator.js';
import { compareInternalKeys } from '../../../lib/format/internal-key.js';
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

          // The merge with and without the range's bounds (MergeBounds): the same entries.
          for (const bounded of [false, true]) {
            const merge = (): MergeIterator => new MergeIterator(tables.map((t) => t.iterator()), bounded ? mergeBoundsOf(options) : {});
            const forward = new UserIterator(merge(), snapshot, options);
            expect(show(drain(forward))).toEqual(expected.slice(0, limit));
            const backward = new UserIterator(merge(), snapshot, { ...options, reverse: true });
            expect(show(drain(backward))).toEqual([...expected].reverse().slice(0, limit));
          }
        },
      ),
      { numRuns: Number(process.env.SILT_PROPERTY_RUNS ?? 300) },
    );
  });

  // Keys over a two-letter alphabet, 0-5 bytes: long shared prefixes, keys
  // that are prefixes of others and of the bounds, so UserIterator's
  // prefix-based skip of bound comparisons meets every case it reasons about.
  // visit() must agree with next(), also when stopped and resumed by next().
  it('agrees with a model on prefix-heavy keys, through next() and visit()', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 5 });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(text, fc.integer({ min: 1, max: 60 }), fc.boolean(), fc.nat(2)), {
          selector: ([key, sequence]) => `${key}@${sequence}`,
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 65 }),
        fc.record({ lower: fc.option(text), upper: fc.option(text), lowerInclusive: fc.boolean(), upperInclusive: fc.boolean(), limit: fc.option(fc.nat(12)) }),
        fc.nat(15),
        (ops, snapshot, bounds, stopAfter) => {
          const tables = [new Memtable(), new Memtable(), new Memtable()];
          for (const [key, sequence, isPut, source] of ops) {
            tables[source]!.add(sequence, isPut ? ValueType.put : ValueType.delete, Buffer.from(key), Buffer.from(`${key}@${sequence}`));
          }
          const options: IteratorOptions = {};
          if (bounds.lower !== null) options[bounds.lowerInclusive ? 'gte' : 'gt'] = Buffer.from(bounds.lower);
          if (bounds.upper !== null) options[bounds.upperInclusive ? 'lte' : 'lt'] = Buffer.from(bounds.upper);
          if (bounds.limit !== null) options.limit = bounds.limit;

          const newest = new Map<string, { sequence: number; isPut: boolean }>();
          for (const [key, sequence, isPut] of ops) {
            if (sequence > snapshot) continue;
            const seen = newest.get(key);
            if (!seen || seen.sequence < sequence) newest.set(key, { sequence, isPut });
          }
          const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
          const inRange = (key: string): boolean =>
            (bounds.lower === null || (bounds.lowerInclusive ? byBytes(key, bounds.lower) >= 0 : byBytes(key, bounds.lower) > 0)) &&
            (bounds.upper === null || (bounds.upperInclusive ? byBytes(key, bounds.upper) <= 0 : byBytes(key, bounds.upper) < 0));
          const expected = [...newest]
            .filter(([key, version]) => version.isPut && inRange(key))
            .sort(([a], [b]) => byBytes(a, b))
            .map(([key, version]) => `${key}=${key}@${version.sequence}`)
            .slice(0, bounds.limit ?? Number.POSITIVE_INFINITY);
          for (const bounded of [false, true]) {
            const open = (): UserIterator =>
              new UserIterator(new MergeIterator(tables.map((t) => t.iterator()), bounded ? mergeBoundsOf(options) : {}), snapshot, options);

            expect(drain(open()).map(([k, v]) => `${k.toString()}=${v.toString()}`)).toEqual(expected);
            // visit() until it is told to stop, then next() for the rest: keys are copied during their call.
            const iterator = open();
            const seen: string[] = [];
            iterator.visit((key, value) => {
              seen.push(`${key.toString()}=${value.toString()}`);
              return seen.length <= stopAfter;
            });
            for (const [key, value] of drain(iterator)) seen.push(`${key.toString()}=${value.toString()}`);
            expect(seen).toEqual(expected);
          }
        },
      ),
      { numRuns: Number(process.env.SILT_PROPERTY_RUNS ?? 300) * 2 },
    );
  });

  // The merge alone: every internal entry of every source, in order, from
  // random seeks in both directions, over sources that interleave or run
  // long (the runner-up logic), and with bounds: whatever lies inside them
  // in order and before anything outside.
  it('MergeIterator yields every entry in order from any seek, with or without bounds', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 4 });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(text, fc.integer({ min: 1, max: 40 }), fc.nat(4)), { selector: ([key, sequence]) => `${key}@${sequence}`, maxLength: 50 }),
        fc.array(fc.tuple(text, fc.integer({ min: 0, max: 41 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
        fc.record({ lower: fc.option(text), upper: fc.option(text), lowerExclusive: fc.boolean(), upperExclusive: fc.boolean() }),
        (ops, seeks, bounds) => {
          const tables = [new Memtable(), new Memtable(), new Memtable(), new Memtable(), new Memtable()];
          for (const [key, sequence, source] of ops) tables[source]!.add(sequence, ValueType.put, Buffer.from(key), Buffer.from(`${source}`));
          const all = ops.map(([key, sequence, source]) => ({ internal: internalKeyOf(key, sequence), shown: `${key}@${sequence}:${source}` }));
          all.sort((a, b) => compareInternalKeys(a.internal, b.internal));
          const inside = (entry: { internal: Buffer }): boolean => {
            const user = entry.internal.subarray(0, entry.internal.length - 8);
            if (bounds.lower !== null) {
              const order = Buffer.compare(user, Buffer.from(bounds.lower));
              if (order < 0 || (order === 0 && bounds.lowerExclusive)) return false;
            }
            if (bounds.upper !== null) {
              const order = Buffer.compare(user, Buffer.from(bounds.upper));
              if (order > 0 || (order === 0 && bounds.upperExclusive)) return false;
            }
            return true;
          };
          const mergeBounds = {
            lower: bounds.lower === null ? undefined : Buffer.from(bounds.lower),
            lowerExclusive: bounds.lowerExclusive,
            upper: bounds.upper === null ? undefined : Buffer.from(bounds.upper),
            upperExclusive: bounds.upperExclusive,
          };
          for (const bounded of [false, true]) {
            const merge = new MergeIterator(tables.map((t) => t.iterator()), bounded ? mergeBounds : {});
            for (const [key, sequence, forward] of seeks) {
              const target = internalKeyOf(key, sequence);
              const seen: string[] = [];
              if (forward) merge.seek(target);
              else merge.seekForPrev(target);
              for (; merge.valid(); forward ? merge.next() : merge.prev()) seen.push(`${merge.key().subarray(0, -8).toString()}@${sequenceOfKey(merge.key())}:${merge.value().toString()}`);
              const expected = forward
                ? all.filter((entry) => compareInternalKeys(entry.internal, target) >= 0)
                : all.filter((entry) => compareInternalKeys(entry.internal, target) <= 0).reverse();
              if (!bounded) {
                expect(seen).toEqual(expected.map((entry) => entry.shown));
              } else {
                // Inside the bounds: exactly the model's entries, in order, and before the first one outside.
                const firstOutside = expected.findIndex((entry) => !inside(entry));
                const insideExpected = (firstOutside < 0 ? expected : expected.slice(0, firstOutside)).map((entry) => entry.shown);
                expect(seen.slice(0, insideExpected.length)).toEqual(insideExpected);
                expect(seen.length).toBe(expected.length);
              }
            }
            merge.close();
          }
        },
      ),
      { numRuns: Number(process.env.SILT_PROPERTY_RUNS ?? 300) * 2 },
    );
  });
});

function internalKeyOf(key: string, sequence: number): Buffer {
  const out = Buffer.alloc(Buffer.byteLength(key) + 8);
  out.write(key, 0, 'latin1');
  out.writeUInt32LE(((sequence % 0x100_0000) * 256 + ValueType.put) >>> 0, out.length - 8);
  out.writeUInt32LE(Math.floor(sequence / 0x100_0000), out.length - 4);
  return out;
}

function sequenceOfKey(key: Buffer): number {
  return key.readUInt32LE(key.length - 4) * 0x100_0000 + (key.readUInt32LE(key.length - 8) >>> 8);
}
