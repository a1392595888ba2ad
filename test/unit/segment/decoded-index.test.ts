// The decoded index (lib/segment/decoded-index.ts): find() must return the
// entry a seek of the index block itself lands on, for any separators and any
// lookup key. Strategy: fast-check builds index blocks from sorted internal
// keys over a tiny alphabet that includes 0 bytes (so zero-padded
// fingerprints tie with real zeros), often behind a long shared prefix (so the
// fingerprint window moves past it), with restart interval 1 (keys read in
// place) or 4 (keys prefix-compressed: the copied-keys path), and asks for
// user keys inside, around and outside the prefix at sequences around the
// separators'.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compareInternalKeys, makeInternalKey, sequenceMax } from '../../../lib/format/internal-key.js';
import { BlockBuilder } from '../../../lib/segment/block-builder.js';
import { encodeBlockHandle } from '../../../lib/segment/block-io.js';
import { Block, BlockIterator, lookupTrailerHigh, lookupTrailerLow } from '../../../lib/segment/block-reader.js';
import { DecodedIndex } from '../../../lib/segment/decoded-index.js';
import { propertyRuns } from './segment-test-support.js';

const byteArbitrary = fc.constantFrom(0, 0, 1, 2, 0x61, 0xff);
const userKeyArbitrary = fc.array(byteArbitrary, { maxLength: 9 }).map((bytes) => Buffer.from(bytes));
const sequenceArbitrary = fc.constantFrom(0, 1, 5, 255, 256, 2 ** 24, 2 ** 40, sequenceMax);

/** Builds an index block of `keys` (sorted, distinct), entry i pointing at offset 100 * i, size i + 1. */
function indexBlock(keys: Buffer[], restartInterval: number): Block {
  const builder = new BlockBuilder(restartInterval);
  keys.forEach((key, index) => builder.add(key, encodeBlockHandle({ offset: 100 * index, size: index + 1 })));
  return Block.parse(Buffer.from(builder.finish()), 'index.sst', 0);
}

/** Where a seek of the index block lands: the number of entries before it. */
function seekPosition(block: Block, target: Buffer): number {
  const iterator = new BlockIterator(block);
  iterator.seek(target);
  if (!iterator.valid()) return Number.POSITIVE_INFINITY;
  let position = 0;
  for (iterator.prev(); iterator.valid(); iterator.prev()) position++;
  return position;
}

describe('DecodedIndex', () => {
  // Small indexes, and ones past the 64-entry summary stride (several summary slots, long runs of tied fingerprints).
  test.each([
    ['1 to 40 entries', 1, 40, 300],
    ['200 to 700 entries', 200, 700, 30],
  ])('find() lands where a seek of the index block does: %s', (_name, minLength, maxLength, runs) => {
    fc.assert(
      fc.property(
        fc.option(userKeyArbitrary.filter((prefix) => prefix.length > 0), { nil: undefined }),
        fc.array(fc.tuple(userKeyArbitrary, sequenceArbitrary), { minLength, maxLength }),
        fc.array(fc.tuple(userKeyArbitrary, sequenceArbitrary, fc.boolean()), { maxLength: 30 }),
        fc.constantFrom(1, 4),
        (prefix, specs, asks, restartInterval) => {
          const withPrefix = (userKey: Buffer): Buffer => (prefix === undefined ? userKey : Buffer.concat([prefix, userKey]));
          const keys = specs.map(([userKey, sequence]) => makeInternalKey(withPrefix(userKey), sequence, 1)).sort(compareInternalKeys);
          const distinct = keys.filter((key, index) => index === 0 || compareInternalKeys(keys[index - 1]!, key) !== 0);
          const block = indexBlock(distinct, restartInterval);
          const index = DecodedIndex.decode(block);
          expect(index.count).toBe(distinct.length);
          const targets = [
            ...asks.map(([userKey, sequence, prefixed]) => ({ userKey: prefixed ? withPrefix(userKey) : userKey, sequence })),
            ...distinct.map((key) => ({ userKey: key.subarray(0, key.length - 8), sequence: sequenceMax })),
            ...(prefix === undefined ? [] : [{ userKey: prefix.subarray(0, prefix.length - 1), sequence: 3 }]),
          ];
          for (const { userKey, sequence } of targets) {
            const expected = seekPosition(block, makeInternalKey(userKey, sequence, 1));
            const found = index.find(userKey, lookupTrailerHigh(sequence), lookupTrailerLow(sequence));
            expect(found).toBe(Math.min(expected, index.count));
          }
          for (let entry = 0; entry < index.count; entry++) {
            expect(index.blockOffset(entry)).toBe(100 * entry);
            expect(index.blockSize(entry)).toBe(entry + 1);
          }
        },
      ),
      { numRuns: propertyRuns(runs) },
    );
  });

  // Collections beside other keys: families of subkeys share a prefix longer than the fingerprint reaches
  // past the segment-wide one, so lookups among them run over long runs of tied fingerprints.
  test('find() lands where a seek does when families of keys share long prefixes', () => {
    // The two N families tie on the first fingerprint, split on the second, and tie again among themselves.
    const families = ['A', 'H\u0000myhash\u0000\u0000\u0001', 'H\u0000myhash\u0000\u0000\u0002', 'H\u0000myhasi', 'L\u0000mylist\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0007\u0080', 'N:aaaaaaaaaaaaaa', 'N:aaaaaaabcccccccccc'].map((family) =>
      Buffer.from(family, 'latin1'),
    );
    const familyArbitrary = fc.constantFrom(...families.keys());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(familyArbitrary, userKeyArbitrary, sequenceArbitrary), { minLength: 100, maxLength: 600 }),
        fc.array(fc.tuple(familyArbitrary, userKeyArbitrary, sequenceArbitrary, fc.nat(20)), { maxLength: 40 }),
        fc.constantFrom(1, 4),
        (specs, asks, restartInterval) => {
          const keys = specs.map(([family, suffix, sequence]) => makeInternalKey(Buffer.concat([families[family]!, suffix]), sequence, 1)).sort(compareInternalKeys);
          const distinct = keys.filter((key, index) => index === 0 || compareInternalKeys(keys[index - 1]!, key) !== 0);
          const block = indexBlock(distinct, restartInterval);
          const index = DecodedIndex.decode(block);
          const targets = [
            // Family keys, cut at any length (inside a family's shared prefix too).
            ...asks.map(([family, suffix, sequence, cut]) => {
              const userKey = Buffer.concat([families[family]!, suffix]);
              return { userKey: userKey.subarray(0, Math.max(0, userKey.length - cut)), sequence };
            }),
            ...distinct.map((key) => ({ userKey: key.subarray(0, key.length - 8), sequence: sequenceMax })),
            ...distinct.map((key) => ({ userKey: key.subarray(0, key.length - 8), sequence: 0 })),
            // Keys that leave a family (or a run of families) at any byte, above or below it.
            ...families.flatMap((family) =>
              [...family.keys()].flatMap((at) =>
                [-1, 1].map((delta) => {
                  const userKey = Buffer.from(family.subarray(0, at + 1));
                  userKey[at] = (userKey[at]! + delta) & 0xff;
                  return { userKey, sequence: 5 };
                }),
              ),
            ),
          ];
          for (const { userKey, sequence } of targets) {
            const expected = seekPosition(block, makeInternalKey(userKey, sequence, 1));
            expect(index.find(userKey, lookupTrailerHigh(sequence), lookupTrailerLow(sequence))).toBe(Math.min(expected, index.count));
          }
        },
      ),
      { numRuns: propertyRuns(30) },
    );
  });

  test('keys sharing more than the fingerprint past a long common prefix still order by their bytes', () => {
    const prefix = 'M\u0000user:session:';
    const userKeys = ['aaaaaaaa1', 'aaaaaaaa2', 'aaaaaaab', 'b', 'b\u0000', 'b\u0000\u0000\u0000\u0000\u0000\u0000x'].map((key) => Buffer.from(prefix + key, 'latin1'));
    const keys = userKeys.map((userKey) => makeInternalKey(userKey, 7, 1));
    const block = indexBlock(keys, 1);
    const index = DecodedIndex.decode(block);
    for (const [position, userKey] of userKeys.entries()) {
      for (const sequence of [0, 7, 8]) {
        const expected = sequence >= 7 ? position : position + 1;
        expect(index.find(userKey, lookupTrailerHigh(sequence), lookupTrailerLow(sequence))).toBe(Math.min(expected, keys.length));
      }
    }
    expect(index.find(Buffer.from('M\u0000user:', 'latin1'), 0, 1)).toBe(0); // shorter than the shared prefix
    expect(index.find(Buffer.from('M\u0000user:sessioo', 'latin1'), 0, 1)).toBe(keys.length); // past every separator
    expect(index.find(Buffer.from('A'), 0, 1)).toBe(0); // before every separator
  });

  test('a malformed handle is recorded, not thrown, until a lookup needs it', () => {
    const builder = new BlockBuilder(1);
    builder.add(makeInternalKey(Buffer.from('a'), 1, 1), encodeBlockHandle({ offset: 0, size: 10 }));
    builder.add(makeInternalKey(Buffer.from('b'), 1, 1), Buffer.from([0x80])); // a varint cut short
    const index = DecodedIndex.decode(Block.parse(Buffer.from(builder.finish()), 'index.sst', 0));
    expect(index.blockOffset(0)).toBe(0);
    expect(index.blockOffset(1)).toBeNaN();
  });
});
