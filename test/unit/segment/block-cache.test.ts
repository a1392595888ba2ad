// The block cache: hits and misses, CLOCK eviction (a hit buys a second
// chance; an unused block goes before used ones), a byte bound that is never
// exceeded, oversized blocks skipped, per-file eviction, and reader slots that
// hold exactly the cached blocks.

import { describe, expect, test } from 'vitest';
import { BlockCache, BlockSlots } from '../../../lib/segment/block-cache.js';
import { Block } from '../../../lib/segment/block-reader.js';
import { BlockBuilder } from '../../../lib/segment/block-builder.js';
import { makeInternalKey } from '../../../lib/format/internal-key.js';

/** A valid block whose data is exactly `bytes` long or a little more. */
function blockOfAbout(bytes: number, offset = 0): Block {
  const builder = new BlockBuilder(16);
  builder.add(makeInternalKey(Buffer.from('k'), 1, 1), Buffer.alloc(Math.max(0, bytes - 20)));
  return Block.parse(Buffer.from(builder.finish()), 'c.sst', offset);
}

describe('BlockCache', () => {
  test('counts misses and hits and returns the cached block', () => {
    const cache = new BlockCache(10_000);
    const block = blockOfAbout(100);
    expect(cache.get(1, 0)).toBeUndefined();
    cache.set(1, 0, block);
    expect(cache.get(1, 0)).toBe(block);
    expect(cache.get(2, 0)).toBeUndefined();
    expect(cache.stats()).toEqual({ bytes: block.byteLength, capacityBytes: 10_000, hits: 1, misses: 2, entries: 1 });
  });

  test('evicts the least recently used block first', () => {
    const a = blockOfAbout(400);
    const cache = new BlockCache(3 * a.byteLength);
    cache.set(1, 0, a);
    cache.set(1, 100, blockOfAbout(400));
    cache.set(1, 200, blockOfAbout(400));
    cache.get(1, 0); // now most recently used
    cache.set(1, 300, blockOfAbout(400));
    expect(cache.get(1, 100)).toBeUndefined();
    expect(cache.get(1, 0)).toBe(a);
    expect(cache.get(1, 200)).toBeDefined();
    expect(cache.get(1, 300)).toBeDefined();
  });

  test('a block hit once outlives a newer block never hit (unlike LRU, which would evict the older one)', () => {
    const size = blockOfAbout(400).byteLength;
    const cache = new BlockCache(4 * size);
    const hot = [blockOfAbout(400), blockOfAbout(400)];
    cache.set(1, 0, hot[0]!);
    cache.set(1, 100, hot[1]!);
    cache.get(1, 0);
    cache.get(1, 100);
    cache.set(2, 0, blockOfAbout(400)); // a scan passing through
    cache.set(2, 100, blockOfAbout(400));
    cache.set(2, 200, blockOfAbout(400));
    expect(cache.stats().entries).toBe(4);
    expect(cache.get(2, 0)).toBeUndefined();
    expect(cache.get(1, 0)).toBe(hot[0]);
    expect(cache.get(1, 100)).toBe(hot[1]);
  });

  test('never holds more bytes than its capacity', () => {
    const cache = new BlockCache(5_000);
    for (let index = 0; index < 200; index++) {
      cache.set(index % 7, index * 4096, blockOfAbout(100 + ((index * 37) % 900)));
      const stats = cache.stats();
      expect(stats.bytes).toBeLessThanOrEqual(5_000);
      expect(stats.entries).toBeGreaterThan(0);
    }
  });

  test('does not cache a block larger than the whole capacity', () => {
    const cache = new BlockCache(1_000);
    cache.set(1, 0, blockOfAbout(200));
    cache.set(1, 4096, blockOfAbout(5_000));
    expect(cache.get(1, 4096)).toBeUndefined();
    expect(cache.get(1, 0)).toBeDefined();
  });

  test('replaces an entry at the same place without double counting', () => {
    const cache = new BlockCache(10_000);
    cache.set(1, 0, blockOfAbout(300));
    const replacement = blockOfAbout(500);
    cache.set(1, 0, replacement);
    expect(cache.get(1, 0)).toBe(replacement);
    expect(cache.stats().bytes).toBe(replacement.byteLength);
    expect(cache.stats().entries).toBe(1);
  });

  test('evictFile drops every block of one file only', () => {
    const cache = new BlockCache(100_000);
    for (let index = 0; index < 10; index++) {
      cache.set(1, index * 4096, blockOfAbout(100));
      cache.set(2, index * 4096, blockOfAbout(100));
    }
    cache.evictFile(1);
    cache.evictFile(3);
    expect(cache.stats().entries).toBe(10);
    expect(cache.get(1, 0)).toBeUndefined();
    expect(cache.get(2, 0)).toBeDefined();
    cache.clear();
    expect(cache.stats().bytes).toBe(0);
  });

  test('admits a block on its second miss while the first is remembered, then forgets it', () => {
    const cache = new BlockCache(64 * 1024); // 16 blocks of 4 KiB: 1024 slots remembered (the least)
    expect(cache.admit(7, 3)).toBe(false);
    expect(cache.admit(7, 4)).toBe(false);
    expect(cache.admit(8, 3)).toBe(false);
    expect(cache.admit(7, 3)).toBe(true);
    expect(cache.admit(7, 3), 'an admission is forgotten: the next miss is a first one').toBe(false);
    expect(cache.admit(8, 3)).toBe(true);
    expect(cache.admit(7, 4)).toBe(true);
    // A memory of 1024 first misses: after many others, most early ones are gone (direct-mapped, replaced).
    expect(cache.admit(9, 0)).toBe(false);
    let remembered = 0;
    for (let block = 1; block <= 100_000; block++) cache.admit(10, block);
    for (let block = 1; block <= 1000; block++) if (cache.admit(11, block)) remembered++;
    expect(remembered).toBe(0);
    expect(cache.admit(9, 0)).toBe(false);
  });

  test('a memory of first misses that scales with the capacity', () => {
    const cache = new BlockCache(64 * 1024 * 1024); // 16,384 blocks of 4 KiB: 32,768 slots
    for (let block = 0; block < 4000; block++) expect(cache.admit(1, block)).toBe(false);
    let admitted = 0;
    for (let block = 0; block < 4000; block++) if (cache.admit(1, block)) admitted++;
    expect(admitted, 'few of 4,000 first misses collide in 32,768 slots').toBeGreaterThan(3700);
  });

  test('a capacity of 0 caches nothing', () => {
    const cache = new BlockCache(0);
    cache.set(1, 0, blockOfAbout(50));
    expect(cache.get(1, 0)).toBeUndefined();
    expect(cache.stats().entries).toBe(0);
    expect(cache.admit(1, 0)).toBe(false);
    expect(cache.admit(1, 0), 'nothing to admit into').toBe(false);
  });

  test('a reader slot holds its block exactly while it is cached', () => {
    const size = blockOfAbout(400).byteLength;
    const cache = new BlockCache(2 * size);
    const slots = new BlockSlots(4);
    const a = blockOfAbout(400);
    cache.set(1, 0, a, slots, 0);
    expect(slots.blocks[0]).toBe(a);
    cache.set(1, 100, blockOfAbout(400), slots, 1);
    slots.referenced[0] = 1; // a hit through slot 0, as SegmentReader records it
    cache.countHit();
    expect(cache.stats().hits).toBe(1);
    cache.set(1, 200, blockOfAbout(400), slots, 2);
    expect(slots.blocks[0]).toBe(a); // the referenced slot bought block 0 a second chance
    expect(slots.referenced[0]).toBe(0); // cleared as the hand passed
    expect(slots.blocks[1]).toBeUndefined(); // block 1 was evicted, and its slot cleared
    expect(slots.blocks[2]).toBeDefined();
    cache.evictFile(1);
    expect(slots.blocks.every((block) => block === undefined)).toBe(true);
    cache.set(3, 0, blockOfAbout(100));
    expect(slots.blocks[3]).toBeUndefined();
    expect(cache.get(3, 0, slots, 3)).toBe(slots.blocks[3]); // a get through the map attaches the slot
    expect(slots.blocks[3]).toBeDefined();
    cache.clear();
    expect(slots.blocks[3]).toBeUndefined();
    expect(cache.stats()).toMatchObject({ bytes: 0, entries: 0 });
  });

  test('replacing a block through a slot keeps the slot on the new block', () => {
    const cache = new BlockCache(10_000);
    const slots = new BlockSlots(1);
    cache.set(1, 0, blockOfAbout(100), slots, 0);
    const replacement = blockOfAbout(200);
    cache.set(1, 0, replacement, slots, 0);
    expect(slots.blocks[0]).toBe(replacement);
    expect(cache.stats().entries).toBe(1);
  });
});
