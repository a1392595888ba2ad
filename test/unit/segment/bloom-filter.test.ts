// The Bloom filter: LevelDB's hash (checked against LevelDB's own test
// vectors), no false negatives, a false-positive rate near 1% at 10 bits per
// key, the probe count stored in the filter, and damaged filters rejected.

import { describe, expect, test } from 'vitest';
import { BloomFilter, BloomFilterBuilder, bloomHashSeed, bloomProbeCount, leveldbHash } from '../../../lib/segment/bloom-filter.js';
import { CorruptionError } from '../../../lib/errors.js';

function key(index: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32LE(index, 0);
  return bytes;
}

function buildFilter(keyCount: number, bitsPerKey: number): BloomFilter {
  const builder = new BloomFilterBuilder(bitsPerKey);
  for (let index = 0; index < keyCount; index++) builder.addKey(key(index));
  return BloomFilter.parse(builder.finish(), 'f.sst', 0);
}

function falsePositiveRate(filter: BloomFilter, probeCount: number): number {
  let hits = 0;
  for (let index = 0; index < probeCount; index++) if (filter.mayContain(key(1_000_000_000 + index))) hits++;
  return hits / probeCount;
}

describe('leveldbHash', () => {
  test("matches LevelDB's util/hash_test.cc vectors", () => {
    expect(leveldbHash(Buffer.alloc(0), 0, 0, bloomHashSeed)).toBe(0xbc9f1d34);
    expect(leveldbHash(Buffer.from([0x62]), 0, 1, bloomHashSeed)).toBe(0xef1345c4);
    expect(leveldbHash(Buffer.from([0xc3, 0x97]), 0, 2, bloomHashSeed)).toBe(0x5b663814);
    expect(leveldbHash(Buffer.from([0xe2, 0x99, 0xa5]), 0, 3, bloomHashSeed)).toBe(0x323c078f);
    expect(leveldbHash(Buffer.from([0xe1, 0x80, 0xb9, 0x32]), 0, 4, bloomHashSeed)).toBe(0xed21633a);
    const data5 = Buffer.from(
      '01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000',
      'hex',
    );
    expect(leveldbHash(data5, 0, data5.length, 0x12345678)).toBe(0xf333dabb);
  });

  test('hashes a sub-range like a copy of it', () => {
    const data = Buffer.from('xxhello worldxx');
    expect(leveldbHash(data, 2, 13, bloomHashSeed)).toBe(leveldbHash(Buffer.from('hello world'), 0, 11, bloomHashSeed));
  });
});

describe('BloomFilter', () => {
  test('never denies a key that was added', () => {
    for (const count of [1, 10, 100, 10_000]) {
      const filter = buildFilter(count, 10);
      for (let index = 0; index < count; index++) expect(filter.mayContain(key(index))).toBe(true);
    }
  });

  test('has a false-positive rate near 1% at 10 bits per key', () => {
    const rate = falsePositiveRate(buildFilter(10_000, 10), 100_000);
    expect(rate).toBeGreaterThan(0.003);
    expect(rate).toBeLessThan(0.02);
  });

  test('false positives fall as bits per key rise', () => {
    const low = falsePositiveRate(buildFilter(5_000, 4), 50_000);
    const high = falsePositiveRate(buildFilter(5_000, 16), 50_000);
    expect(high).toBeLessThan(low);
  });

  test('stores k = floor(bits per key * 0.69) within 1..30', () => {
    expect(bloomProbeCount(10)).toBe(6);
    expect(bloomProbeCount(1)).toBe(1);
    expect(bloomProbeCount(100)).toBe(30);
    const contents = new BloomFilterBuilder(10).finish();
    expect(contents.at(-1)).toBe(6);
    expect(BloomFilter.parse(contents, 'f.sst', 0).probeCount).toBe(6);
  });

  test('keeps at least 64 bits for few keys', () => {
    const builder = new BloomFilterBuilder(10);
    builder.addKey(key(1));
    expect(builder.finish().length).toBe(9);
  });

  test('an empty filter (0 bits per key) may contain every key', () => {
    const builder = new BloomFilterBuilder(0);
    builder.addKey(key(1));
    const contents = builder.finish();
    expect(contents.length).toBe(0);
    const filter = BloomFilter.parse(contents, 'f.sst', 0);
    expect(filter.isEmpty).toBe(true);
    expect(filter.mayContain(key(12345))).toBe(true);
  });

  test('mayContainHash answers exactly as the format probe arithmetic does (hash + j * delta mod 2^32, mod bits)', () => {
    // A reference written straight from docs/format.md, with `%` on every probe; mayContainHash
    // carries the position along instead, which must agree for every hash, wrap-around included.
    const reference = (contents: Buffer, hash: number): boolean => {
      const bitCount = (contents.length - 1) * 8;
      const probes = contents[contents.length - 1]!;
      const delta = ((hash >>> 17) | (hash << 15)) >>> 0;
      let h = hash;
      for (let probe = 0; probe < probes; probe++) {
        const position = h % bitCount;
        if ((contents[position >>> 3]! & (1 << (position & 7))) === 0) return false;
        h = (h + delta) >>> 0;
      }
      return true;
    };
    let state = 0x9e3779b9;
    const nextHash = (): number => (state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0);
    for (const [keyCount, bitsPerKey] of [[1, 10], [7, 3], [100, 10], [1000, 30], [3000, 1]] as const) {
      const builder = new BloomFilterBuilder(bitsPerKey);
      for (let index = 0; index < keyCount; index++) builder.addKey(key(index));
      const contents = builder.finish();
      const filter = BloomFilter.parse(contents, 'f.sst', 0);
      let agreedYes = 0;
      for (let index = 0; index < 20_000; index++) {
        const hash = index < keyCount ? leveldbHash(key(index), 0, 4, bloomHashSeed) : index % 50 === 0 ? 0xffff_ffff - index : nextHash();
        const expected = reference(contents, hash);
        expect(filter.mayContainHash(hash)).toBe(expected);
        if (expected) agreedYes++;
      }
      expect(agreedYes).toBeGreaterThanOrEqual(keyCount);
    }
  });

  test('the builder sets exactly the format\'s bits (hash + j * delta mod 2^32, mod bits), for many bit counts', () => {
    // The reference lays the filter out straight from docs/format.md, with `%` on every probe.
    const reference = (hashes: number[], bitsPerKey: number): Buffer => {
      const byteCount = Math.ceil(Math.max(64, hashes.length * bitsPerKey) / 8);
      const bitCount = byteCount * 8;
      const probes = bloomProbeCount(bitsPerKey);
      const out = Buffer.alloc(byteCount + 1);
      out[byteCount] = probes;
      for (const hash of hashes) {
        const delta = ((hash >>> 17) | (hash << 15)) >>> 0;
        let h = hash;
        for (let probe = 0; probe < probes; probe++) {
          const position = h % bitCount;
          out[position >>> 3]! |= 1 << (position & 7);
          h = (h + delta) >>> 0;
        }
      }
      return out;
    };
    let state = 0x1234567;
    const next = (): number => (state = (Math.imul(state ^ (state >>> 13), 0x5bd1e995) + 0x9e3779b9) >>> 0);
    for (let round = 0; round < 300; round++) {
      const bitsPerKey = 1 + (next() % 30);
      const keyCount = next() % (round < 250 ? 200 : 5000);
      const builder = new BloomFilterBuilder(bitsPerKey);
      const hashes: number[] = [];
      for (let index = 0; index < keyCount; index++) {
        const userKey = key(next());
        builder.addKey(userKey);
        hashes.push(leveldbHash(userKey, 0, 4, bloomHashSeed));
      }
      expect(builder.finish().equals(reference(hashes, bitsPerKey))).toBe(true);
    }
  });

  test.each([
    ['a probe count of 0', Buffer.concat([Buffer.alloc(8), Buffer.from([0])])],
    ['a probe count above 30', Buffer.concat([Buffer.alloc(8), Buffer.from([31])])],
    ['a bit array shorter than 64 bits', Buffer.from([0, 0, 6])],
  ])('rejects %s with a CorruptionError', (_name, contents) => {
    expect(() => BloomFilter.parse(contents, 'f.sst', 77)).toThrow(CorruptionError);
    try {
      BloomFilter.parse(contents, 'f.sst', 77);
    } catch (error) {
      expect((error as CorruptionError).offset).toBe(77);
    }
  });
});
