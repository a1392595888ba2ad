// sortPackedKeys: radix sort of packed distinct keys in byte order.
//
// Strategy: as latin1-sort.test.ts (shared prefixes longer than a digit, keys
// ending inside a digit, trailing zero bytes, more keys than the
// comparison-sort cutoff), checked against Buffer.compare; the keys are packed
// in a shuffled order, and the order sorted may name only some of them.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sortPackedKeys, type PackedKeys } from '../../../lib/memtable/packed-key-sort.js';
import { sharedPrefix, stressKeysArb } from './sort-test-support.js';

const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 100);

function pack(keys: Buffer[]): PackedKeys {
  const starts = new Uint32Array(keys.length + 1);
  let at = 0;
  keys.forEach((key, index) => {
    starts[index] = at;
    at += key.length;
  });
  starts[keys.length] = at;
  return { bytes: Buffer.concat(keys), starts };
}

/** Sorts the keys at `picked` (all by default), from the start and told the prefix they share, and checks both. */
function check(keys: Buffer[], picked: number[] = keys.map((_, index) => index)): void {
  const expected = picked.map((index) => keys[index]!).sort(Buffer.compare);
  const packed = pack(keys);
  for (const sharedPrefixLength of [0, sharedPrefix(picked.map((index) => keys[index]!))]) {
    const order = Int32Array.from(picked);
    sortPackedKeys(packed, order, sharedPrefixLength);
    expect([...order].map((index) => keys[index]!.toString('hex'))).toEqual(expected.map((key) => key.toString('hex')));
  }
}

describe('sortPackedKeys', () => {
  it('sorts like Buffer.compare', () => {
    fc.assert(
      fc.property(stressKeysArb, fc.boolean(), (strings, some) => {
        const keys = strings.map((key) => Buffer.from(key, 'latin1'));
        check(keys, some ? keys.map((_, index) => index).filter((index) => index % 3 !== 1) : undefined);
      }),
      { numRuns: runs },
    );
  });

  it('sorts many keys with a long shared prefix and zero-padded numbers', () => {
    const keys = Array.from({ length: 20_000 }, (_, index) => Buffer.from(`${'p'.repeat(23)}${String((index * 7919) % 20_000).padStart(16, '0')}`));
    keys.push(Buffer.from('p'.repeat(23)), Buffer.from('p'.repeat(23) + '\u0000', 'latin1'), Buffer.from('p'.repeat(22)), Buffer.alloc(0));
    check(keys);
  });

  it('sorts keys that differ only in trailing zero bytes, and a long run of them', () => {
    check(Array.from({ length: 100 }, (_, index) => Buffer.concat([Buffer.from('k'), Buffer.alloc(index)])));
    check(Array.from({ length: 100 }, (_, index) => Buffer.alloc(index)));
  });

  it('sorts keys that tie for more digits than the radix descends, by comparison', () => {
    const prefix = Buffer.alloc(4200, 7);
    check(Array.from({ length: 60 }, (_, index) => Buffer.concat([prefix, Buffer.from(String((index * 37) % 60))])));
  });
});
