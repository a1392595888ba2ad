// KeyIndex: the memtable's hash index from key bytes to anchors.
//
// Strategy: random distinct byte strings (short ones collide in the table's
// low bits; many of them make it grow), looked up by their bytes at an
// offset inside a larger buffer, against a Map model.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyIndex, keyChunkRows, migrateBucketsPerInsert, type KeyChunks } from '../../../lib/memtable/key-index.js';

const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 100);

/** `stored` (key by anchor) in the memtable's chunks. */
function chunked(stored: readonly string[]): KeyChunks {
  const chunks: string[][] = [];
  for (let at = 0; at < Math.max(1, stored.length); at += keyChunkRows) chunks.push(stored.slice(at, at + keyChunkRows));
  return chunks;
}

describe('KeyIndex', () => {
  it('finds every inserted key by its bytes and nothing else', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uint8Array({ maxLength: 9 }), { maxLength: 500, selector: (bytes) => Buffer.from(bytes).toString('hex') }), fc.array(fc.uint8Array({ maxLength: 9 })), (keys, probes) => {
        const index = new KeyIndex();
        const stored: string[] = [];
        const model = new Map<string, number>();
        keys.forEach((bytes, anchor) => {
          const key = Buffer.from(bytes);
          stored[anchor] = key.toString('latin1');
          model.set(key.toString('hex'), anchor);
          index.insert(index.hash(key, 0, key.length), anchor);
        });
        expect(index.size).toBe(keys.length);
        for (const bytes of [...keys, ...probes]) {
          const framed = Buffer.concat([Buffer.from([0xaa, 0xbb]), Buffer.from(bytes), Buffer.from([0xcc])]);
          const end = framed.length - 1;
          expect(index.find(framed, 2, end, index.hash(framed, 2, end), chunked(stored))).toBe(model.get(Buffer.from(bytes).toString('hex')) ?? -1);
        }
        expect([...index.anchors()].sort((a, b) => a - b)).toEqual(keys.map((_, anchor) => anchor));
      }),
      { numRuns: runs },
    );
  });

  it('grows a little at each insert, never all at once, and finds every key throughout', () => {
    const index = new KeyIndex();
    // The memtable's key chunks (KeyChunks), filled as it fills them: 100,000 keys span two.
    const stored: string[][] = [[]];
    const keyOf = (anchor: number): Buffer => Buffer.from(`key:${anchor}`);
    let growths = 0;
    let growingInserts = 0;
    let wasGrowing = false;
    let checkedMidGrowth = false;
    const count = 100_000;
    for (let anchor = 0; anchor < count; anchor++) {
      const key = keyOf(anchor);
      if (stored[stored.length - 1]!.length === keyChunkRows) stored.push([]);
      stored[stored.length - 1]!.push(key.toString('latin1'));
      index.insert(index.hash(key, 0, key.length), anchor);
      if (index.growing) {
        growingInserts++;
        if (!wasGrowing) growths++;
        // Mid-growth, keys in either table are found: one copied long ago, the newest, one not copied yet.
        for (const probe of [0, anchor, anchor >> 1]) {
          const bytes = keyOf(probe);
          expect(index.find(bytes, 0, bytes.length, index.hash(bytes, 0, bytes.length), stored)).toBe(probe);
        }
        // And anchors() names each key once, from both tables, halfway through a large growth.
        if (!checkedMidGrowth && anchor >= 70_000) {
          checkedMidGrowth = true;
          const anchors = [...index.anchors()];
          expect(anchors.length).toBe(anchor + 1);
          expect(new Set(anchors).size).toBe(anchor + 1);
        }
      }
      wasGrowing = index.growing;
    }
    // 100,000 keys at most half full: 64 buckets doubled 12 times. Each growth of a table of B buckets lasts
    // B / migrateBucketsPerInsert inserts (a growth in one stop would leave `growing` false throughout).
    expect(growths).toBeGreaterThanOrEqual(11);
    expect(checkedMidGrowth).toBe(true);
    expect(growingInserts).toBeGreaterThan(2 ** 17 / migrateBucketsPerInsert);
    const anchors = [...index.anchors()];
    expect(anchors.length).toBe(count);
    expect(new Set(anchors).size).toBe(count);
  });

  it('hashes the same bytes alike wherever they sit, and differently per index', () => {
    const bytes = Buffer.from('some key');
    const index = new KeyIndex();
    expect(index.hash(Buffer.concat([Buffer.from('xx'), bytes]), 2, 10)).toBe(index.hash(bytes, 0, 8));
    const hashes = new Set(Array.from({ length: 8 }, () => new KeyIndex().hash(bytes, 0, 8)));
    expect(hashes.size).toBeGreaterThan(1); // seeded at random
  });
});
