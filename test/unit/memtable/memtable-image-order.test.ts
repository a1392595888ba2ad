// The order Memtable.image() sends (tree leaves, a sorted merge's remainder, pending keys)
// after ranged iterators moved keys between them (mergeRangeNow, #foldRange), with removes, the
// smallestSnapshot rule, and a visitor that pauses while the memtable is iterated (an inline flush).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { forEachImageEntry, type MemtableImage } from '../../../lib/memtable/memtable-image.js';
import { iteratorEntries } from './image-test-support.js';
import { ValueType } from '../../../lib/format/internal-key.js';

/** The reference for smallestSnapshot: keep a version unless a newer version of its key has a sequence <= it. */
function withSnapshot(all: string[], smallestSnapshot: number): string[] {
  const userKeyOf = (entry: string): string => entry.split('=')[0]!.slice(0, -16);
  const sequenceOf = (entry: string): number => {
    const key = Buffer.from(entry.split('=')[0]!, 'hex');
    return Number(key.readBigUInt64LE(key.length - 8) >> 8n);
  };
  return all.filter((entry, index) => index === 0 || userKeyOf(all[index - 1]!) !== userKeyOf(entry) || sequenceOf(all[index - 1]!) > smallestSnapshot);
}

async function imageEntries(image: MemtableImage, smallestSnapshot?: number, pause?: () => Promise<void> | undefined): Promise<string[]> {
  const out: string[] = [];
  await forEachImageEntry(
    image,
    (key, slab, start, end) => {
      out.push(`${key.toString('hex')}=${slab.toString('hex', start, end)}`);
      return pause?.();
    },
    smallestSnapshot,
  );
  return out;
}

const keyBytes = fc.uint8Array({ maxLength: 6 }).map((bytes) => Buffer.from(bytes.map((byte) => [0, 1, 0x61, 0x62, 0x80, 0xff][byte % 6]!)));

describe('memtable image: the order sent after ranged iterators moved keys', () => {
  it('matches the iterator and the full sort (property)', async () => {
    const op = fc.oneof(
      { weight: 8, arbitrary: fc.record({ kind: fc.constant('add' as const), key: keyBytes, value: fc.uint8Array({ maxLength: 12 }), delete: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), back: fc.nat(20) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('range' as const), lower: fc.option(keyBytes, { nil: undefined }), upper: fc.option(keyBytes, { nil: undefined }) }) },
    );
    let sawMergeAndRange = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 500, size: 'max' }), fc.integer({ min: 1, max: 24 }), fc.nat(600), async (ops, pendingKeysMax, snapshotPick) => {
        const table = new Memtable({ pendingKeysMax, rangeFoldMin: 1 });
        let sequence = 1;
        const added: [number, Buffer][] = [];
        let rangedWhileMerging = false;
        for (const step of ops) {
          if (step.kind === 'add') {
            table.add(sequence, step.delete ? ValueType.delete : ValueType.put, step.key, step.delete ? Buffer.alloc(0) : Buffer.from(step.value));
            added.push([sequence, step.key]);
            sequence++;
          } else if (step.kind === 'remove') {
            const target = added[added.length - 1 - (step.back % Math.max(1, added.length))];
            if (target !== undefined) table.remove(target[0], target[1]);
          } else {
            let lower = step.lower?.toString('latin1');
            let upper = step.upper?.toString('latin1');
            if (lower !== undefined && upper !== undefined && lower > upper) [lower, upper] = [upper, lower];
            // Ranged iterators: keys of a merge in progress and pending keys in range go into the tree.
            const image = table.image();
            if (image.order!.unsorted.length > 0) rangedWhileMerging = true;
            table.iterator({ lower, upper }).close();
          }
        }
        if (rangedWhileMerging) sawMergeAndRange++;
        table.checkInvariants();
        const image = table.image();
        const { order, ...unordered } = image;
        // Each anchor named once across the two runs.
        const named = [...order!.sorted, ...order!.unsorted];
        expect(new Set(named).size).toBe(named.length);
        const smallestSnapshot = snapshotPick % (sequence + 1);
        const merged = await imageEntries(image, smallestSnapshot);
        expect(merged).toEqual(await imageEntries(unordered, smallestSnapshot));
        expect(merged).toEqual(withSnapshot(iteratorEntries(table), smallestSnapshot));
      }),
      { numRuns: 400 },
    );
    expect(sawMergeAndRange, 'some runs had ranged iterators while keys were outside the tree').toBeGreaterThan(20);
  });

  it('is unaffected by iterators folding the memtable while a visitor pauses (an inline flush)', async () => {
    const table = new Memtable({ pendingKeysMax: 32, rangeFoldMin: 1 });
    let sequence = 1;
    for (let index = 0; index < 5000; index++) {
      const key = Buffer.from(`k${(index * 7919) % 3001}`, 'latin1');
      table.add(sequence++, index % 7 === 0 ? ValueType.delete : ValueType.put, key, index % 7 === 0 ? Buffer.alloc(0) : Buffer.alloc(index % 50, index));
    }
    const image = table.image();
    expect(image.order!.unsorted.length).toBeGreaterThan(0);
    let count = 0;
    const seen = await imageEntries(image, undefined, () => {
      count++;
      if (count % 97 !== 0) return undefined;
      // What the engine may do meanwhile: ranged and full iterators fold keys into the tree.
      table.iterator({ lower: `k${count % 3000}`, upper: `k${(count % 3000) + 5}` }).close();
      if (count % 1000 === 0) table.iterator().close();
      return new Promise<void>((resolve) => setImmediate(resolve));
    });
    expect(seen).toEqual(iteratorEntries(table));
  });
});
