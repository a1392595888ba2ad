// sortLatin1: radix sort of distinct latin1 strings in byte order.
//
// Strategy: random distinct strings built to stress the digit logic (shared
// prefixes longer than a digit, keys ending inside a digit, trailing zero
// bytes, more keys than the comparison-sort cutoff), checked against
// Buffer.compare of the same bytes; values must travel with their keys.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sortLatin1 } from '../../../lib/memtable/latin1-sort.js';
import { sharedPrefix, stressKeysArb } from './sort-test-support.js';

const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 100);
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));

/** Sorts `keys` twice (from the start, and told the prefix they share) and checks both. */
function check(keys: string[]): void {
  const expected = [...keys].sort(byteOrder);
  for (const sharedPrefixLength of [0, sharedPrefix(keys)]) {
    const sorted = [...keys];
    const values = keys.map((_, index) => index);
    sortLatin1(sorted, values, sharedPrefixLength);
    expect(sorted).toEqual(expected);
    for (let index = 0; index < sorted.length; index++) expect(keys[values[index]!]).toBe(sorted[index]);
  }
}

describe('sortLatin1', () => {
  it('sorts like Buffer.compare, moving values with keys', () => {
    fc.assert(fc.property(stressKeysArb, check), { numRuns: runs });
  });

  it('sorts many keys with a long shared prefix and zero-padded numbers', () => {
    const keys = Array.from({ length: 20_000 }, (_, index) => `${'p'.repeat(23)}${String((index * 7919) % 20_000).padStart(16, '0')}`);
    keys.push('p'.repeat(23), 'p'.repeat(23) + '\u0000', 'p'.repeat(22));
    check(keys);
  });

  it('sorts keys that differ only in trailing zero bytes', () => {
    check(Array.from({ length: 100 }, (_, index) => 'k' + '\u0000'.repeat(index)));
    check(Array.from({ length: 100 }, (_, index) => '\u0000'.repeat(index)));
  });
});
