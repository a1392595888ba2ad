// Blocks: BlockBuilder output read back by Block and BlockIterator, in both
// directions and with seeks, at several restart intervals; damaged restart
// arrays and entries become CorruptionError naming the file and block offset.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BlockBuilder } from '../../../lib/segment/block-builder.js';
import { Block, BlockIterator, lookupTrailerHigh, lookupTrailerLow } from '../../../lib/segment/block-reader.js';
import { CorruptionError } from '../../../lib/errors.js';
import { compareInternalKeys, makeInternalKey, sequenceMax, sequenceOf, userKeyOf } from '../../../lib/format/internal-key.js';
import { lowerBound, makeValue, type Entry } from './segment-test-support.js';

function sampleEntries(count: number, keyPrefix = 'user-key-'): Entry[] {
  const entries: Entry[] = [];
  for (let index = 0; index < count; index++) {
    const userKey = Buffer.from(`${keyPrefix}${String(Math.floor(index / 3)).padStart(5, '0')}`);
    const sequence = 1000 - (index % 3);
    entries.push({ key: makeInternalKey(userKey, sequence, index % 5 === 0 ? 0 : 1), value: makeValue(index % 200, index) });
  }
  return entries.sort((a, b) => compareInternalKeys(a.key, b.key));
}

function buildBlock(entries: Entry[], restartInterval: number): Block {
  const builder = new BlockBuilder(restartInterval);
  for (const entry of entries) builder.add(entry.key, entry.value);
  return Block.parse(Buffer.from(builder.finish()), 'test.sst', 4096);
}

function expectAt(iterator: BlockIterator, entry: Entry | undefined): void {
  if (entry === undefined) {
    expect(iterator.valid()).toBe(false);
    return;
  }
  expect(iterator.valid()).toBe(true);
  expect(iterator.key().equals(entry.key)).toBe(true);
  expect(iterator.value().equals(entry.value)).toBe(true);
}

describe.each([1, 2, 3, 16])('block with restart interval %i', (restartInterval) => {
  const entries = sampleEntries(157);
  const block = buildBlock(entries, restartInterval);

  test('iterates forward over every entry in order', () => {
    const iterator = new BlockIterator(block);
    let index = 0;
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) expectAt(iterator, entries[index++]);
    expect(index).toBe(entries.length);
  });

  test('iterates backward over every entry in reverse order', () => {
    const iterator = new BlockIterator(block);
    let index = entries.length;
    for (iterator.seekToLast(); iterator.valid(); iterator.prev()) expectAt(iterator, entries[--index]);
    expect(index).toBe(0);
  });

  test('seek finds the first entry at or after each key and between keys', () => {
    const iterator = new BlockIterator(block);
    for (const entry of entries) {
      iterator.seek(entry.key);
      expectAt(iterator, entry);
      const between = makeInternalKey(entry.key.subarray(0, entry.key.length - 8), sequenceMax, 1);
      iterator.seek(between);
      expectAt(iterator, entries[lowerBound(entries, between)]);
    }
    iterator.seek(makeInternalKey(Buffer.from('zzz'), 0, 0));
    expect(iterator.valid()).toBe(false);
  });

  test('seekForPrev finds the last entry at or before each key', () => {
    const iterator = new BlockIterator(block);
    for (const entry of entries) {
      iterator.seekForPrev(entry.key);
      expectAt(iterator, entry);
    }
    iterator.seekForPrev(makeInternalKey(Buffer.from('a'), 0, 0));
    expect(iterator.valid()).toBe(false);
    iterator.seekForPrev(makeInternalKey(Buffer.from('zzz'), 0, 0));
    expectAt(iterator, entries.at(-1));
  });

  test('seekForGet lands where seek and userKeyEquals do: every version, restart points, first and last entries', () => {
    const getter = new BlockIterator(block);
    const seeker = new BlockIterator(block);
    const asks = (entry: Entry): number[] => [sequenceOf(entry.key), sequenceOf(entry.key) - 1, sequenceOf(entry.key) + 1, sequenceMax, 0];
    let restartsChecked = 0;
    for (const [index, entry] of entries.entries()) {
      const userKey = userKeyOf(entry.key);
      if (index % restartInterval === 0) restartsChecked++; // entry `index` is a restart point: stored whole
      for (const sequence of asks(entry)) {
        const found = getter.seekForGet(userKey, lookupTrailerHigh(sequence), lookupTrailerLow(sequence));
        seeker.seek(makeInternalKey(userKey, sequence, 1));
        const expected = seeker.valid() && seeker.userKeyEquals(userKey);
        expect(found).toBe(expected);
        expect(getter.valid()).toBe(expected);
        if (expected) {
          expect(getter.key().equals(seeker.key())).toBe(true);
          expect(getter.value().equals(seeker.value())).toBe(true);
          expect(getter.sequence()).toBe(seeker.sequence());
          expect(getter.type()).toBe(seeker.type());
        }
      }
    }
    expect(restartsChecked).toBe(Math.ceil(entries.length / restartInterval));
    for (const absent of ['', 'a', 'user-key-', 'user-key-00000-', 'zzz']) {
      expect(getter.seekForGet(Buffer.from(absent), lookupTrailerHigh(sequenceMax), lookupTrailerLow(sequenceMax))).toBe(false);
      expect(getter.valid()).toBe(false);
    }
  });

  test('after seekForGet the iterator moves on from the entry found', () => {
    const iterator = new BlockIterator(block);
    for (const index of [0, restartInterval, 77, entries.length - 1]) {
      const entry = entries[index]!;
      const sequence = sequenceOf(entry.key);
      expect(iterator.seekForGet(userKeyOf(entry.key), lookupTrailerHigh(sequence), lookupTrailerLow(sequence))).toBe(true);
      expectAt(iterator, entry);
      iterator.next();
      expectAt(iterator, entries[index + 1]);
      expect(iterator.seekForGet(userKeyOf(entry.key), lookupTrailerHigh(sequence), lookupTrailerLow(sequence))).toBe(true);
      iterator.prev();
      expectAt(iterator, entries[index - 1]);
    }
  });

  test('switches direction between next and prev', () => {
    const iterator = new BlockIterator(block);
    iterator.seek(entries[50]!.key);
    iterator.next();
    expectAt(iterator, entries[51]);
    iterator.prev();
    iterator.prev();
    expectAt(iterator, entries[49]);
    iterator.next();
    expectAt(iterator, entries[50]);
  });
});

describe('block encoding', () => {
  test('stores keys longer than the scratch buffer and lengths needing multi-byte varints', () => {
    const entries = [200, 300, 5000].map((length, index) => ({
      key: makeInternalKey(Buffer.alloc(length, 0x61 + index), 7, 1),
      value: makeValue(length * 3, index),
    }));
    for (const interval of [1, 16]) {
      const iterator = new BlockIterator(buildBlock(entries, interval));
      let index = 0;
      for (iterator.seekToFirst(); iterator.valid(); iterator.next()) expectAt(iterator, entries[index++]);
      expect(index).toBe(3);
    }
  });

  test('prefix-compresses keys between restart points', () => {
    const entries = sampleEntries(32);
    const whole = buildBlock(entries, 1).data.length;
    const compressed = buildBlock(entries, 16).data.length;
    expect(compressed).toBeLessThan(whole);
  });

  test('reports the sequence, type and user key of the current entry without allocating', () => {
    const key = makeInternalKey(Buffer.from('abc'), 2 ** 40 + 5, 0);
    const iterator = new BlockIterator(buildBlock([{ key, value: Buffer.alloc(0) }], 16));
    iterator.seekToFirst();
    expect(iterator.sequence()).toBe(2 ** 40 + 5);
    expect(iterator.type()).toBe(0);
    expect(iterator.userKeyEquals(Buffer.from('abc'))).toBe(true);
    expect(iterator.userKeyEquals(Buffer.from('abd'))).toBe(false);
  });

  test('seekForGet grows the scratch key for long prefix-compressed keys', () => {
    const entries = [300, 301, 302].map((length, index) => ({ key: makeInternalKey(Buffer.alloc(length, 0x61), 9 - index, 1), value: makeValue(10, index) }));
    entries.sort((a, b) => compareInternalKeys(a.key, b.key));
    const iterator = new BlockIterator(buildBlock(entries, 16));
    for (const entry of entries) {
      expect(iterator.seekForGet(userKeyOf(entry.key), lookupTrailerHigh(sequenceMax), lookupTrailerLow(sequenceMax))).toBe(true);
      expectAt(iterator, entry);
    }
  });

  test('an unattached iterator is not valid and ignores positioning', () => {
    const iterator = new BlockIterator();
    iterator.seekToFirst();
    iterator.seek(makeInternalKey(Buffer.from('a'), 1, 1));
    expect(iterator.seekForGet(Buffer.from('a'), 0, 1)).toBe(false);
    expect(iterator.valid()).toBe(false);
    iterator.close();
    iterator.close();
  });
});

describe('damaged blocks', () => {
  const good = buildBlock(sampleEntries(40), 4).data;

  function expectCorruption(data: Buffer, run: (block: Block) => void = () => {}): void {
    try {
      run(Block.parse(data, 'damaged.sst', 1234));
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptionError);
      expect((error as CorruptionError).file).toBe('damaged.sst');
      expect((error as CorruptionError).offset).toBe(1234);
      expect((error as CorruptionError).message).toMatch(/^Cannot read segment block in "damaged.sst" at offset 1234: /);
      return;
    }
    throw new Error('expected a CorruptionError');
  }

  test('a block too short for its restart count', () => expectCorruption(Buffer.from([1, 0])));
  test('a restart count of 0', () => expectCorruption(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])));

  test('a restart count larger than the block', () => {
    const data = Buffer.from(good);
    data.writeUInt32LE(1_000_000, data.length - 4);
    expectCorruption(data);
  });

  test('a first restart point other than 0', () => {
    const data = Buffer.from(good);
    const count = data.readUInt32LE(data.length - 4);
    data.writeUInt32LE(3, data.length - 4 - 4 * count);
    expectCorruption(data);
  });

  test('restart points out of order', () => {
    const data = Buffer.from(good);
    const count = data.readUInt32LE(data.length - 4);
    data.writeUInt32LE(data.length, data.length - 4 - 4 * (count - 1));
    expectCorruption(data);
  });

  test('an entry sharing more bytes than the previous key has', () => {
    const data = Buffer.from(good);
    data[0] = 60; // the first entry claims to share 60 bytes with no previous key
    expectCorruption(data, (block) => new BlockIterator(block).seekToFirst());
    expectCorruption(data, (block) => new BlockIterator(block).seekForGet(Buffer.from('a'), 0, 1));
  });

  test('a point lookup through a damaged entry', () => {
    const data = Buffer.from(good);
    data[2] = 0x7f; // the first entry's value runs past the entries
    expectCorruption(data, (block) => new BlockIterator(block).seekForGet(Buffer.from('user-key-00000'), 0, 1));
  });

  test('an entry whose value runs past the entries', () => {
    const data = Buffer.from(good);
    data[2] = 0x7f;
    expectCorruption(data, (block) => {
      const iterator = new BlockIterator(block);
      for (iterator.seekToFirst(); iterator.valid(); iterator.next()) iterator.value();
    });
  });
});

describe('seekForGet on random keys', () => {
  // Keys over a 3-letter alphabet, short, so that they share prefixes of
  // every length, are prefixes of one another and have several versions:
  // the cases where seekForGet skips an entry without comparing it.
  const userKey = fc.uint8Array({ minLength: 0, maxLength: 6 }).map((bytes) => Buffer.from(bytes.map((byte) => 97 + (byte % 3))));
  test('finds what seek and userKeyEquals find, for present and absent keys at any sequence', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(userKey, fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 80 }),
        fc.array(fc.tuple(userKey, fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 2, 3, 16),
        (written, asked, restartInterval) => {
          const seen = new Set<string>();
          const entries: Entry[] = [];
          for (const [key, sequence] of written) {
            const id = `${key.toString('hex')}/${sequence}`;
            if (seen.has(id)) continue;
            seen.add(id);
            entries.push({ key: makeInternalKey(key, sequence, sequence % 2), value: makeValue(8, entries.length) });
          }
          entries.sort((a, b) => compareInternalKeys(a.key, b.key));
          const block = buildBlock(entries, restartInterval);
          const getter = new BlockIterator(block);
          const seeker = new BlockIterator(block);
          for (const [key, sequence] of [...asked, ...written]) {
            const found = getter.seekForGet(key, lookupTrailerHigh(sequence), lookupTrailerLow(sequence));
            seeker.seek(makeInternalKey(key, sequence, 1));
            const expected = seeker.valid() && seeker.userKeyEquals(key);
            expect(found).toBe(expected);
            if (expected) expect(getter.key().equals(seeker.key())).toBe(true);
          }
        },
      ),
      { numRuns: Number(process.env.SILT_PROPERTY_RUNS ?? 300) },
    );
  });
});
