// Segment round trips. Strategy: fast-check generates entry lists (user keys
// from a tiny alphabet so one key gets many versions, tombstones, sequence
// numbers at the trailer's byte boundaries, values from 0 bytes to 100 KiB)
// and writer options (block size, restart interval, compression, bloom bits).
// Invariants: every get(userKey, sequence) equals the model (newest version
// with sequence <= the asked one, tombstones included); the iterator yields
// exactly the sorted entries forward and backward; seek and seekForPrev land
// where a binary search of the model does; the properties count what was
// written. Runs on MemFileSystem and NodeFileSystem; SILT_PROPERTY_RUNS sets
// the run count (fast-check prints the seed of a failure).

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compareInternalKeys, makeInternalKey, sequenceMax, sequenceOf, typeOf, userKeyOf } from '../../../lib/format/internal-key.js';
import type { InternalIterator } from '../../../lib/format/internal-iterator.js';
import { BlockCache } from '../../../lib/segment/block-cache.js';
import { BlockIterator } from '../../../lib/segment/block-reader.js';
import { SegmentReader } from '../../../lib/segment/segment-reader.js';
import { SegmentWriter, type SegmentWriterOptions, shortSeparator, shortSuccessor } from '../../../lib/segment/segment-writer.js';
import { checkSegment } from '../../../lib/segment/segment-checker.js';
import { segmentFileName } from '../../../lib/segment/segment-format.js';
import { InvalidArgumentError } from '../../../lib/errors.js';
import { AssertionError } from '../../../lib/assert.js';
import { MemFileSystem, systemError } from '../../../lib/fs/mem-file-system.js';
import {
  buildEntries,
  type Entry,
  type EntrySpec,
  fileSystemKinds,
  lowerBound,
  makeValue,
  modelGet,
  propertyRuns,
  type TestFileSystem,
  writeSegment,
} from './segment-test-support.js';

const sequenceArbitrary = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 50 }), weight: 6 },
  { arbitrary: fc.constantFrom(0, 255, 256, 2 ** 24 - 1, 2 ** 24, 2 ** 32, 2 ** 40 + 3, sequenceMax), weight: 1 },
);

const valueBytesArbitrary = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 40 }), weight: 20 },
  { arbitrary: fc.integer({ min: 0, max: 5000 }), weight: 3 },
  { arbitrary: fc.constant(100 * 1024), weight: 1 },
);

const specArbitrary: fc.Arbitrary<EntrySpec> = fc.record({
  userKey: fc.uint8Array({ minLength: 0, maxLength: 6, max: 3 }),
  sequence: sequenceArbitrary,
  type: fc.constantFrom(0, 1, 1, 1),
  valueBytes: valueBytesArbitrary,
  valueSeed: fc.nat(1000),
});

const optionsArbitrary: fc.Arbitrary<SegmentWriterOptions> = fc.record({
  blockBytes: fc.integer({ min: 64, max: 4096 }),
  restartInterval: fc.integer({ min: 1, max: 16 }),
  compression: fc.constantFrom('lz4' as const, 'none' as const),
  bloomBitsPerKey: fc.constantFrom(0, 1, 10),
});

function collectForward(iterator: InternalIterator): Buffer[] {
  const keys: Buffer[] = [];
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) keys.push(Buffer.from(iterator.key()));
  return keys;
}

function collectBackward(iterator: InternalIterator): Buffer[] {
  const keys: Buffer[] = [];
  for (iterator.seekToLast(); iterator.valid(); iterator.prev()) keys.push(Buffer.from(iterator.key()));
  return keys.reverse();
}

function expectAt(iterator: InternalIterator, entry: Entry | undefined): void {
  expect(iterator.valid()).toBe(entry !== undefined);
  if (entry === undefined) return;
  expect(iterator.key().equals(entry.key)).toBe(true);
  expect(iterator.value().equals(entry.value)).toBe(true);
}

/** Every get the model can answer differently: each version's sequence, one below, the newest, and absent keys. */
function checkGets(reader: SegmentReader, entries: Entry[]): void {
  for (const entry of entries) {
    const userKey = userKeyOf(entry.key);
    const sequence = sequenceOf(entry.key);
    for (const asked of [sequence, Math.max(0, sequence - 1), sequenceMax]) {
      expect(reader.get(userKey, asked)).toEqual(modelGet(entries, userKey, asked));
    }
    expect(reader.mayContain(userKey)).toBe(true);
  }
  for (const absent of [Buffer.from([9]), Buffer.from([0, 9, 9]), Buffer.from('zzzz')]) {
    expect(reader.get(absent, sequenceMax)).toBeUndefined();
  }
}

function checkSeeks(reader: SegmentReader, entries: Entry[], targets: Buffer[]): void {
  const iterator = reader.iterator();
  for (const target of targets) {
    iterator.seek(target);
    expectAt(iterator, entries[lowerBound(entries, target)]);
    iterator.seekForPrev(target);
    const index = lowerBound(entries, target);
    const atOrBefore = entries[index] !== undefined && compareInternalKeys(entries[index]!.key, target) === 0 ? index : index - 1;
    expectAt(iterator, atOrBefore >= 0 ? entries[atOrBefore] : undefined);
  }
  iterator.close();
}

describe.each(fileSystemKinds)('segment round trip on $name', (kind) => {
  let testFs: TestFileSystem;
  let fileNumber = 0;
  const nextPath = (): string => `${testFs.dir}/${segmentFileName(++fileNumber)}`;

  beforeAll(() => {
    testFs = kind.make();
  });
  afterAll(() => testFs.cleanup());

  test('random entries read back through get, iterators and seeks', () => {
    fc.assert(
      fc.property(
        fc.array(specArbitrary, { minLength: 1, maxLength: 300 }),
        optionsArbitrary,
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 6, max: 4 }), sequenceArbitrary, fc.constantFrom(0, 1)), { maxLength: 20 }),
        (specs, options, seekSpecs) => {
          const entries = buildEntries(specs);
          const file = nextPath();
          const properties = writeSegment(testFs.fs, file, entries, options);
          const reader = SegmentReader.open(testFs.fs, file, { fileNumber, cache: new BlockCache(64 * 1024) });
          try {
            expect(reader.properties).toEqual(properties);
            checkGets(reader, entries);
            const keys = entries.map((entry) => entry.key);
            expect(collectForward(reader.iterator())).toEqual(keys);
            expect(collectBackward(reader.iterator())).toEqual(keys);
            const targets = seekSpecs.map(([userKey, sequence, type]) => makeInternalKey(userKey, sequence, type));
            checkSeeks(reader, entries, [...targets, ...keys.slice(0, 30)]);
            expect(checkSegment(testFs.fs, file, fileNumber)).toEqual([]);
          } finally {
            reader.close();
          }
        },
      ),
      { numRuns: propertyRuns(40) },
    );
  });

  test('many versions of one user key across many blocks', () => {
    const specs: EntrySpec[] = [];
    for (let sequence = 1; sequence <= 3000; sequence++) {
      specs.push({ userKey: Buffer.from('hot'), sequence: sequence * 2, type: sequence % 10 === 0 ? 0 : 1, valueBytes: 30, valueSeed: sequence });
    }
    specs.push({ userKey: Buffer.from('cold'), sequence: 5, type: 1, valueBytes: 3, valueSeed: 1 });
    const entries = buildEntries(specs);
    const file = nextPath();
    const properties = writeSegment(testFs.fs, file, entries, { blockBytes: 256 });
    expect(properties.dataBlockCount).toBeGreaterThan(100);
    const reader = SegmentReader.open(testFs.fs, file, { fileNumber });
    const hot = Buffer.from('hot');
    for (const asked of [0, 1, 2, 3, 19, 20, 21, 999, 1000, 4444, 5999, 6000, 6001, sequenceMax]) {
      expect(reader.get(hot, asked)).toEqual(modelGet(entries, hot, asked));
    }
    expect(reader.get(hot, 20)?.type).toBe(0);
    expect(reader.get(hot, 1)).toBeUndefined();
    expect(reader.get(Buffer.from('cold'), 100)?.value.toString()).toBe(makeValue(3, 1).toString());
    reader.close();
  });

  test('values from 0 bytes to 100 KiB, compressible and not', () => {
    const entries = buildEntries(
      [0, 1, 127, 128, 4095, 4096, 4097, 65_536, 100 * 1024].flatMap((valueBytes, index) => [
        { userKey: Buffer.from(`k${index}a`), sequence: 10, type: 1, valueBytes, valueSeed: 2 * index },
        { userKey: Buffer.from(`k${index}b`), sequence: 10, type: 1, valueBytes, valueSeed: 2 * index + 1 },
      ]),
    );
    for (const compression of ['lz4', 'none'] as const) {
      const file = nextPath();
      const properties = writeSegment(testFs.fs, file, entries, { compression });
      const reader = SegmentReader.open(testFs.fs, file, { fileNumber });
      for (const entry of entries) expect(reader.get(userKeyOf(entry.key), 10)?.value.equals(entry.value)).toBe(true);
      if (compression === 'lz4') expect(properties.dataBytes).toBeLessThan(properties.rawValueBytes);
      reader.close();
    }
  });

  test('iterators switch direction across block boundaries', () => {
    const entries = buildEntries(
      Array.from({ length: 500 }, (_, index) => ({ userKey: Buffer.from(`key-${String(index).padStart(4, '0')}`), sequence: 1, type: 1, valueBytes: 20, valueSeed: index })),
    );
    const file = nextPath();
    writeSegment(testFs.fs, file, entries, { blockBytes: 128 });
    const reader = SegmentReader.open(testFs.fs, file, { fileNumber });
    const iterator = reader.iterator();
    iterator.seek(entries[100]!.key);
    for (let step = 0; step < 50; step++) iterator.next();
    expectAt(iterator, entries[150]);
    for (let step = 0; step < 120; step++) iterator.prev();
    expectAt(iterator, entries[30]);
    iterator.next();
    expectAt(iterator, entries[31]);
    iterator.seekToFirst();
    iterator.prev();
    expect(iterator.valid()).toBe(false);
    iterator.seekToLast();
    iterator.next();
    expect(iterator.valid()).toBe(false);
    iterator.close();
    iterator.close();
    reader.close();
  });

  test('properties count what was written', () => {
    const entries = buildEntries([
      { userKey: Buffer.from('a'), sequence: 7, type: 1, valueBytes: 10, valueSeed: 1 },
      { userKey: Buffer.from('a'), sequence: 3, type: 0, valueBytes: 0, valueSeed: 0 },
      { userKey: Buffer.from('b'), sequence: 9, type: 1, valueBytes: 5, valueSeed: 2 },
    ]);
    const file = nextPath();
    const properties = writeSegment(testFs.fs, file, entries, { bloomBitsPerKey: 12 }, 1234);
    expect(properties).toMatchObject({
      formatVersion: 1,
      entryCount: 3,
      tombstoneCount: 1,
      rawKeyBytes: 27,
      rawValueBytes: 15,
      dataBlockCount: 1,
      smallestSequence: 3,
      largestSequence: 9,
      createdMs: 1234,
      bloomBitsPerKey: 12,
    });
    expect(properties.smallestKey.equals(entries[0]!.key)).toBe(true);
    expect(properties.largestKey.equals(entries[2]!.key)).toBe(true);
    expect(properties.fileBytes).toBe(testFs.fs.stat(file).size);
    expect(typeOf(properties.smallestKey)).toBe(1);
  });

  test('get finds the first and last key of every data block and nothing between blocks, cached or not', () => {
    const entries = buildEntries(
      Array.from({ length: 300 }, (_, index) => ({ userKey: Buffer.from(`key:${String(index * 2).padStart(4, '0')}`), sequence: 7 + (index % 3), type: index % 7 === 0 ? 0 : 1, valueBytes: 40, valueSeed: index })),
    );
    const file = nextPath();
    writeSegment(testFs.fs, file, entries, { blockBytes: 512, restartInterval: 4 });
    for (const cache of [undefined, new BlockCache(1024 * 1024), new BlockCache(1024)]) {
      const reader = SegmentReader.open(testFs.fs, file, cache === undefined ? { fileNumber } : { fileNumber, cache });
      const index = reader.indexIterator();
      const handle = { offset: 0, size: 0 };
      let blocks = 0;
      for (index.seekToFirst(); index.valid(); index.next(), blocks++) {
        const data = new BlockIterator(reader.dataBlockAt(index, handle));
        data.seekToFirst();
        const first = Buffer.from(data.key());
        data.seekToLast();
        const last = Buffer.from(data.key());
        for (const key of [first, last]) {
          for (const asked of [sequenceOf(key), sequenceMax]) expect(reader.get(userKeyOf(key), asked)).toEqual(modelGet(entries, userKeyOf(key), asked));
          // An odd number sorts between two written keys, on either side of a block boundary.
          const between = Buffer.from(userKeyOf(key).toString().replace(/\d$/, (digit) => String(Number(digit) + 1)));
          expect(reader.get(between, sequenceMax)).toBeUndefined();
        }
      }
      expect(blocks).toBeGreaterThan(10);
      reader.close();
    }
  });

  test('reads through the block cache: a block missed twice is cached, and the next read of it is a hit', () => {
    const entries = buildEntries(
      Array.from({ length: 200 }, (_, index) => ({ userKey: Buffer.from(`k${index}`), sequence: 1, type: 1, valueBytes: 50, valueSeed: index })),
    );
    const file = nextPath();
    writeSegment(testFs.fs, file, entries, { blockBytes: 512 });
    const cache = new BlockCache(1024 * 1024);
    const reader = SegmentReader.open(testFs.fs, file, { fileNumber, cache });
    const first = entries[0]!;
    const last = entries.at(-1)!;
    // A first miss reads the block into scratch memory and returns a copy of the value: nothing is cached.
    const copied = reader.get(userKeyOf(first.key), 1)!.value;
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, entries: 0 });
    expect(reader.get(userKeyOf(last.key), 1)!.value.equals(last.value)).toBe(true);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 2, entries: 0 });
    expect(copied.equals(first.value), 'a copy, not a view of scratch memory other reads overwrite').toBe(true);
    // The second miss of each block caches it.
    reader.get(userKeyOf(first.key), 1);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 3, entries: 1 });
    reader.get(userKeyOf(last.key), 1);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 4, entries: 2 });
    const value = reader.get(userKeyOf(first.key), 1)!.value;
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 4 });
    cache.evictFile(fileNumber);
    expect(value.equals(first.value)).toBe(true); // views stay valid after eviction
    reader.close();
    expect(value.equals(first.value)).toBe(true); // and after close
  });

  test('long keys sharing long prefixes (compared natively past 128 bytes)', () => {
    const prefix = 'p'.repeat(300);
    const entries = buildEntries(
      Array.from({ length: 300 }, (_, index) => ({
        userKey: Buffer.from(`${prefix}${String(index % 100).padStart(3, '0')}${'s'.repeat(index % 7)}`),
        sequence: 1 + (index % 3),
        type: 1,
        valueBytes: 10,
        valueSeed: index,
      })),
    );
    const file = nextPath();
    writeSegment(testFs.fs, file, entries, { blockBytes: 2048, restartInterval: 4 });
    const reader = SegmentReader.open(testFs.fs, file, { fileNumber });
    checkGets(reader, entries);
    checkSeeks(reader, entries, entries.map((entry) => entry.key));
    expect(collectBackward(reader.iterator())).toEqual(entries.map((entry) => entry.key));
    reader.close();
  });

  test.each([
    { name: 'stored uncompressed, too long for the scratch input', compression: 'none' as const, seed: 1 },
    { name: 'compressed, decoding past the scratch output', compression: 'lz4' as const, seed: 2 },
  ])('a block too large for the scratch memory ($name) is read into a buffer of its own', ({ compression, seed }) => {
    const entries = buildEntries([
      { userKey: Buffer.from('big'), sequence: 1, type: 1, valueBytes: 200 * 1024, valueSeed: seed },
      { userKey: Buffer.from('small'), sequence: 1, type: 1, valueBytes: 10, valueSeed: 3 },
    ]);
    const file = nextPath();
    writeSegment(testFs.fs, file, entries, { compression, blockBytes: 4096 });
    const cache = new BlockCache(1024 * 1024);
    const reader = SegmentReader.open(testFs.fs, file, { fileNumber, cache });
    for (let round = 0; round < 3; round++) {
      expect(reader.get(Buffer.from('big'), 1)?.value.equals(entries[0]!.value)).toBe(true);
      expect(reader.get(Buffer.from('small'), 1)?.value.equals(entries[1]!.value)).toBe(true);
    }
    // First misses are not cached, whichever way the block was read; second ones are.
    expect(cache.stats()).toMatchObject({ misses: 4, entries: 2, hits: 2 });
    reader.close();
  });

  test('reads with checksum verification turned off', () => {
    const entries = buildEntries([{ userKey: Buffer.from('x'), sequence: 1, type: 1, valueBytes: 10, valueSeed: 3 }]);
    const file = nextPath();
    writeSegment(testFs.fs, file, entries);
    const reader = SegmentReader.open(testFs.fs, file, { fileNumber, verifyChecksums: false });
    expect(reader.get(Buffer.from('x'), 1)?.value.equals(entries[0]!.value)).toBe(true);
    reader.close();
  });
});

describe('SegmentWriter', () => {
  let testFs: TestFileSystem;
  beforeAll(() => {
    testFs = fileSystemKinds[0]!.make();
  });
  afterAll(() => testFs.cleanup());

  test('asserts that keys strictly increase', () => {
    const writer = new SegmentWriter(testFs.fs, `${testFs.dir}/order.sst`);
    writer.add(makeInternalKey(Buffer.from('b'), 1, 1), Buffer.alloc(0));
    expect(() => writer.add(makeInternalKey(Buffer.from('a'), 1, 1), Buffer.alloc(0))).toThrow(AssertionError);
    expect(() => writer.add(makeInternalKey(Buffer.from('b'), 1, 1), Buffer.alloc(0))).toThrow(AssertionError);
    expect(() => writer.add(makeInternalKey(Buffer.from('b'), 2, 1), Buffer.alloc(0))).toThrow(AssertionError);
    writer.abandon();
  });

  test('orders keys that share bytes with the last one: a prefix sorts first, then the first differing byte decides', () => {
    const writer = new SegmentWriter(testFs.fs, `${testFs.dir}/order-shared.sst`);
    const add = (key: string, sequence = 1): void => writer.add(makeInternalKey(Buffer.from(key, 'latin1'), sequence, 1), Buffer.alloc(0));
    add('key:0010');
    add('key:00100'); // the last key is its prefix
    expect(() => add('key:0010')).toThrow(AssertionError); // a prefix of the last key
    expect(() => add('key:001', 9)).toThrow(AssertionError);
    expect(() => add('key:000999')).toThrow(AssertionError); // differs below at a shared position
    add('key:00100\x00');
    add('key:0011');
    add('key:0011\xff', 5);
    add('key:0011\xff', 4); // an older version of the same user key
    expect(() => add('key:0011\xff', 4)).toThrow(AssertionError);
    expect(() => add('key:0011\xff', 6)).toThrow(AssertionError);
    add('key:0012');
    writer.finish();
    const reader = SegmentReader.open(testFs.fs, `${testFs.dir}/order-shared.sst`, { fileNumber: 1 });
    const keys: string[] = [];
    const iterator = reader.iterator();
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) keys.push(userKeyOf(iterator.key()).toString('latin1'));
    reader.close();
    expect(keys).toEqual(['key:0010', 'key:00100', 'key:00100\x00', 'key:0011', 'key:0011\xff', 'key:0011\xff', 'key:0012']);
  });

  test('abandon() closes and deletes the partial file', () => {
    const file = `${testFs.dir}/abandoned.sst`;
    const writer = new SegmentWriter(testFs.fs, file);
    for (let index = 0; index < 1000; index++) writer.add(makeInternalKey(Buffer.from(`k${String(index).padStart(5, '0')}`), 1, 1), makeValue(100, index));
    expect(testFs.fs.exists(file)).toBe(true);
    writer.abandon();
    writer.abandon();
    expect(testFs.fs.exists(file)).toBe(false);
  });

  test('a failed sync in finish() leaves a file that abandon() removes', () => {
    const memory = new MemFileSystem();
    memory.mkdir('/seg');
    const writer = new SegmentWriter(memory, '/seg/000009.sst');
    writer.add(makeInternalKey(Buffer.from('k'), 1, 1), Buffer.from('v'));
    memory.injectFault((operation) => (operation === 'sync' ? systemError('EIO', 'fdatasync', '/seg/000009.sst') : undefined));
    expect(() => writer.finish()).toThrow(/EIO/);
    memory.injectFault(undefined);
    writer.abandon();
    expect(memory.exists('/seg/000009.sst')).toBe(false);
  });

  test('refuses to finish an empty segment', () => {
    const writer = new SegmentWriter(testFs.fs, `${testFs.dir}/empty.sst`);
    expect(() => writer.finish()).toThrow(AssertionError);
    writer.abandon();
  });

  test('refuses to create over an existing file', () => {
    writeSegment(testFs.fs, `${testFs.dir}/exists.sst`, buildEntries([{ userKey: Buffer.from('a'), sequence: 1, type: 1, valueBytes: 1, valueSeed: 0 }]));
    expect(() => new SegmentWriter(testFs.fs, `${testFs.dir}/exists.sst`)).toThrow(/EEXIST/);
  });

  test.each([
    [{ blockBytes: 0 }],
    [{ blockBytes: 1e9 }],
    [{ restartInterval: 0 }],
    [{ bloomBitsPerKey: -1 }],
    [{ bloomBitsPerKey: 1.5 }],
    [{ compression: 'zstd' as 'lz4' }],
  ])('rejects options %o with an InvalidArgumentError', (options) => {
    expect(() => new SegmentWriter(testFs.fs, `${testFs.dir}/bad.sst`, options)).toThrow(InvalidArgumentError);
  });

  test('keeps its first data blocks as written (keepBlocksBytes), which a reader caches without reading the file', () => {
    const entries = Array.from({ length: 3000 }, (_, index) => ({ key: makeInternalKey(Buffer.from(`k${String(index).padStart(5, '0')}`), 1, 1), value: makeValue(40, index) }));
    const write = (file: string, keepBlocksBytes: number): ReturnType<SegmentWriter['takeKeptBlocks']> => {
      const writer = new SegmentWriter(testFs.fs, `${testFs.dir}/${file}`, { keepBlocksBytes });
      for (const entry of entries) writer.add(entry.key, entry.value);
      writer.finish();
      return writer.takeKeptBlocks();
    };
    expect(write('kept-none.sst', 0)).toBeUndefined();
    const kept = write('kept.sst', 40_000)!;
    const count = kept.entries.length / 3;
    let bytes = 0;
    for (let index = 0; index < count; index++) {
      if (index > 0) expect(kept.entries[3 * index]).toBeGreaterThan(kept.entries[3 * (index - 1)]!);
      expect(kept.entries[3 * index + 1]).toBe(bytes); // back to back
      bytes += kept.entries[3 * index + 2]!;
    }
    expect(kept.entries[0]).toBe(0);
    expect(bytes).toBe(kept.bytes.length);
    expect(bytes).toBeLessThanOrEqual(40_000);
    expect(bytes).toBeGreaterThan(40_000 - 5000); // a prefix up to the budget, not less
    // Read every entry back through a cache: with the kept blocks cached, only the others are read from the file.
    const readAll = (prepopulate: boolean): { seen: string[]; misses: number; blocks: number } => {
      const cache = new BlockCache(16 * 1024 * 1024);
      const reader = SegmentReader.open(testFs.fs, `${testFs.dir}/kept.sst`, { fileNumber: 7, cache });
      if (prepopulate) {
        expect(reader.cacheKeptBlocks(kept, 0, 2)).toBe(true);
        expect(reader.cacheKeptBlocks(kept, 2, Number.POSITIVE_INFINITY)).toBe(true);
        expect(cache.stats().entries).toBe(count);
      }
      const seen: string[] = [];
      const iterator = reader.iterator();
      for (iterator.seekToFirst(); iterator.valid(); iterator.next()) seen.push(`${iterator.key().toString('hex')}=${iterator.value().toString('hex')}`);
      iterator.close();
      const blocks = reader.properties.dataBlockCount;
      reader.close();
      return { seen, misses: cache.stats().misses, blocks };
    };
    const cold = readAll(false);
    const warm = readAll(true);
    expect(warm.seen).toEqual(entries.map((entry) => `${entry.key.toString('hex')}=${entry.value.toString('hex')}`));
    expect(warm.seen).toEqual(cold.seen);
    expect(count).toBeLessThan(cold.blocks);
    expect(cold.misses).toBe(cold.blocks);
    expect(warm.misses).toBe(cold.blocks - count);
    // Blocks that are not where the index says are not cached.
    const shifted = { bytes: kept.bytes, entries: Float64Array.from(kept.entries, (value, index) => (index % 3 === 0 && index > 0 ? value + 1 : value)) };
    const cache = new BlockCache(16 * 1024 * 1024);
    const reader = SegmentReader.open(testFs.fs, `${testFs.dir}/kept.sst`, { fileNumber: 8, cache });
    expect(reader.cacheKeptBlocks(shifted, 0, count)).toBe(false);
    expect(cache.stats().entries).toBe(1); // block 0 only, before the first misplaced one
    reader.close();
  });

  test('keeps its blocks in a buffer it is given (keepInto), at most its length, the same bytes as in a buffer of its own', () => {
    const entries = Array.from({ length: 3000 }, (_, index) => ({ key: makeInternalKey(Buffer.from(`k${String(index).padStart(5, '0')}`), 1, 1), value: makeValue(40, index) }));
    const write = (file: string, keepBlocksBytes: number, keepInto?: Uint8Array): ReturnType<SegmentWriter['takeKeptBlocks']> => {
      const writer = new SegmentWriter(testFs.fs, `${testFs.dir}/${file}`, { keepBlocksBytes, keepInto });
      for (const entry of entries) writer.add(entry.key, entry.value);
      writer.finish();
      return writer.takeKeptBlocks();
    };
    const own = write('keep-own.sst', 40_000)!;
    const arena = new Uint8Array(new SharedArrayBuffer(64 * 1024)).fill(0xee);
    const given = write('keep-given.sst', 40_000, arena)!;
    expect(given.bytes.buffer).toBe(arena.buffer);
    expect(given.bytes.byteOffset).toBe(0);
    expect(Buffer.from(given.bytes).equals(Buffer.from(own.bytes))).toBe(true);
    expect(given.entries).toEqual(own.entries);
    // A buffer shorter than the budget caps what is kept.
    const small = new Uint8Array(new SharedArrayBuffer(10_000));
    const capped = write('keep-small.sst', 40_000, small)!;
    expect(capped.bytes.buffer).toBe(small.buffer);
    expect(capped.bytes.length).toBeLessThanOrEqual(10_000);
    expect(Buffer.from(capped.bytes).equals(Buffer.from(own.bytes.subarray(0, capped.bytes.length)))).toBe(true);
    expect(capped.entries).toEqual(own.entries.subarray(0, capped.entries.length));
  });

  test('estimatedBytes tracks the finished size and entryCount counts adds', () => {
    const writer = new SegmentWriter(testFs.fs, `${testFs.dir}/estimate.sst`);
    for (let index = 0; index < 2000; index++) writer.add(makeInternalKey(Buffer.from(`k${String(index).padStart(5, '0')}`), 1, 1), makeValue(64, index * 2 + 1));
    expect(writer.entryCount).toBe(2000);
    const estimate = writer.estimatedBytes();
    const properties = writer.finish();
    expect(Math.abs(estimate - properties.fileBytes) / properties.fileBytes).toBeLessThan(0.1);
  });
});

describe('index separators', () => {
  const key = (user: string, sequence = 5): Buffer => makeInternalKey(Buffer.from(user), sequence, 1);

  test('shortSeparator picks a short key between two blocks', () => {
    const separator = shortSeparator(key('the quick brown'), key('the whale'));
    expect(userKeyOf(separator).toString()).toBe('the r');
    expect(compareInternalKeys(key('the quick brown'), separator)).toBeLessThan(0);
    expect(compareInternalKeys(separator, key('the whale'))).toBeLessThan(0);
  });

  test('shortSeparator keeps the last key when nothing shorter fits', () => {
    for (const [last, next] of [
      [key('abc', 9), key('abc', 3)],
      [key('abc'), key('abcd')],
      [key('ab1x'), key('ab2')],
      [key('a\xff'), key('b')],
    ] as const) {
      const separator = shortSeparator(last, next);
      expect(compareInternalKeys(last, separator)).toBeLessThanOrEqual(0);
      expect(compareInternalKeys(separator, next)).toBeLessThan(0);
    }
  });

  test('shortSuccessor is at least the last key', () => {
    for (const last of [key('hello'), key(''), makeInternalKey(Buffer.from([0xff, 0xff, 0x01]), 1, 0)]) {
      expect(compareInternalKeys(last, shortSuccessor(last))).toBeLessThanOrEqual(0);
    }
    expect(userKeyOf(shortSuccessor(key('hello'))).toString()).toBe('i');
  });
});
