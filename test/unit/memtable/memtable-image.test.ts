import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { forEachImageEntry, type MemtableImage } from '../../../lib/memtable/memtable-image.js';
import { iteratorEntries } from './image-test-support.js';
import { ValueType } from '../../../lib/format/internal-key.js';
import { largeValueBytesMin } from '../../../lib/memtable/value-arena.js';
import { allocWithHeadroom, largeHeadroomBytes, largeHeadroomValueBytes, takeHeadroom } from '../../../lib/format/headroom.js';

/** `internal key hex=value hex` per entry, from the image (what a flush writes). */
async function imageEntries(image: MemtableImage): Promise<string[]> {
  const out: string[] = [];
  await forEachImageEntry(image, (key, slab, start, end) => {
    out.push(`${key.toString('hex')}=${slab.toString('hex', start, end)}`);
  });
  return out;
}


describe('memtable: a large value with headroom in shared memory', () => {
  it('is taken over, not copied, with its key written in front, and a flush worker reads it in place', async () => {
    const table = new Memtable({});
    const big = allocWithHeadroom(largeHeadroomValueBytes);
    for (let index = 0; index < big.length; index += 4096) big.writeUInt32BE(index, index);
    const record = takeHeadroom(big, 27)!; // a record header in front, as stringRecord() writes it
    record.fill(0xab, 0, 27);
    // The first version of a key (its anchor): the key goes in front of the value.
    table.add(1, ValueType.put, Buffer.from('big'), record);
    const hit = table.get(Buffer.from('big'), 1)!;
    expect(hit.value.buffer, 'the memtable holds the record\'s own memory').toBe(record.buffer);
    expect(hit.value.byteOffset).toBe(record.byteOffset);
    expect(hit.value.equals(record)).toBe(true);
    // A second version of the same key, adopted too (no key in front).
    const second = takeHeadroom(allocWithHeadroom(largeHeadroomValueBytes + 5).fill(7), 27)!;
    table.add(2, ValueType.put, Buffer.from('big'), second);
    expect(table.get(Buffer.from('big'), 2)!.value.buffer).toBe(second.buffer);
    // Its room is gone once taken: the same record added again is copied.
    table.add(3, ValueType.put, Buffer.from('again'), record);
    expect(table.get(Buffer.from('again'), 3)!.value.buffer).not.toBe(record.buffer);
    expect(table.get(Buffer.from('again'), 3)!.value.equals(record)).toBe(true);
    // A large value in plain memory, or in shared memory without room, is copied.
    const plain = Buffer.alloc(largeHeadroomValueBytes, 1);
    table.add(4, ValueType.put, Buffer.from('plain'), plain);
    expect(table.get(Buffer.from('plain'), 4)!.value.buffer).not.toBe(plain.buffer);
    const shared = Buffer.from(new SharedArrayBuffer(largeHeadroomValueBytes)).fill(2);
    table.add(5, ValueType.put, Buffer.from('shared'), shared);
    expect(table.get(Buffer.from('shared'), 5)!.value.buffer).not.toBe(shared.buffer);

    expect(await imageEntries(table.image())).toEqual(iteratorEntries(table));
  });

  it('is copied when its key does not fit the room in front', async () => {
    const table = new Memtable({});
    const record = allocWithHeadroom(largeHeadroomValueBytes).fill(3);
    const key = Buffer.alloc(largeHeadroomBytes, 'k'); // with its 4-byte length, 4 bytes more than the room
    table.add(1, ValueType.put, key, record);
    expect(table.get(key, 1)!.value.buffer).not.toBe(record.buffer);
    expect(table.get(key, 1)!.value.equals(record)).toBe(true);
    expect(await imageEntries(table.image())).toEqual(iteratorEntries(table));
  });
});

describe('memtable image', () => {
  it('yields every version in internal-key order, as the iterator does', async () => {
    const table = new Memtable({ pendingKeysMax: 64 });
    let sequence = 1;
    for (let index = 0; index < 20_000; index++) {
      const key = Buffer.from(`key${(index * 7919) % 20_000}`, 'latin1');
      table.add(sequence++, index % 5 === 0 ? ValueType.delete : ValueType.put, key, index % 5 === 0 ? Buffer.alloc(0) : Buffer.alloc(index % 200, index));
      if (index % 1000 === 0) table.add(sequence++, ValueType.put, key, Buffer.alloc(10, 1)); // a second version
    }
    table.add(sequence++, ValueType.put, Buffer.from([0xff, 0x00, 0x80]), Buffer.alloc(largeValueBytesMin + 1000, 9)); // a slab of its own, key included
    table.add(sequence++, ValueType.put, Buffer.from('key10000'), Buffer.alloc(100 * 1024, 3)); // a large second version
    table.add(sequence++, ValueType.put, Buffer.from('empty'), Buffer.alloc(0)); // an anchor with an empty value
    table.add(sequence++, ValueType.put, Buffer.alloc(0), Buffer.from('empty key'));

    const expected = iteratorEntries(table);
    expect(expected).toHaveLength(table.entryCount);
    expect(await imageEntries(table.image())).toEqual(expected);
  });

  it('skips versions taken back by remove(), and keys left with none', async () => {
    const table = new Memtable();
    table.add(1, ValueType.put, Buffer.from('a'), Buffer.from('1'));
    table.add(2, ValueType.put, Buffer.from('a'), Buffer.from('2'));
    table.add(3, ValueType.put, Buffer.from('b'), Buffer.from('3'));
    table.add(4, ValueType.delete, Buffer.from('c'), Buffer.alloc(0));
    table.remove(1, Buffer.from('a')); // an anchor's own version: the key stays, with version 2
    table.remove(3, Buffer.from('b')); // b has no version left
    const entries = await imageEntries(table.image());
    expect(entries).toEqual(iteratorEntries(table));
    expect(entries.map((entry) => Buffer.from(entry.split('=')[0]!, 'hex').subarray(0, -8).toString())).toEqual(['a', 'c']);
  });

  it('drops the versions every reader sees a newer version over (smallestSnapshot), as a compaction does', async () => {
    const table = new Memtable({ pendingKeysMax: 64 });
    let sequence = 1;
    // Key k gets k + 1 versions; every third one is a tombstone.
    for (let round = 0; round < 12; round++) {
      for (let key = 0; key < 12; key++) {
        if (round > key) continue;
        const type = (round + key) % 3 === 0 ? ValueType.delete : ValueType.put;
        table.add(sequence++, type, Buffer.from(`k${String(key).padStart(2, '0')}`), type === ValueType.delete ? Buffer.alloc(0) : Buffer.from(`v${round}`));
      }
    }
    const all = iteratorEntries(table);
    const sequenceOf = (entry: string): number => {
      const key = Buffer.from(entry.split('=')[0]!, 'hex');
      return Number(key.readBigUInt64LE(key.length - 8) >> 8n);
    };
    const userKeyOf = (entry: string): string => entry.split('=')[0]!.slice(0, -16);
    for (const smallestSnapshot of [sequence - 1, 40, 10, 1, 0]) {
      // The reference: keep a version unless a newer version of its key has a sequence <= smallestSnapshot.
      const expected = all.filter((entry, index) => index === 0 || userKeyOf(all[index - 1]!) !== userKeyOf(entry) || sequenceOf(all[index - 1]!) > smallestSnapshot);
      const out: string[] = [];
      const skipped = await forEachImageEntry(
        table.image(),
        (key, slab, start, end) => {
          out.push(`${key.toString('hex')}=${slab.toString('hex', start, end)}`);
        },
        smallestSnapshot,
      );
      expect(out).toEqual(expected);
      expect(skipped).toBe(all.length - expected.length);
    }
    // No snapshot older than the newest sequence: one version per key, the newest.
    expect(await forEachImageEntry(table.image(), () => {}, sequence - 1)).toBe(all.length - 12);
  });

  it('counts the versions it stops short of from the image\'s total, removed ones left out, as a walk of every row counts them', async () => {
    const table = new Memtable({ pendingKeysMax: 64 });
    let sequence = 1;
    // A hot key written 500 times among 20 keys written 5 times each; some versions taken back.
    for (let round = 0; round < 500; round++) {
      table.add(sequence++, ValueType.put, Buffer.from('hot'), Buffer.from(`h${round}`));
      if (round < 100) table.add(sequence++, ValueType.put, Buffer.from(`k${round % 20}`), Buffer.from(`v${round}`));
    }
    for (const removed of [1, 3, 250, sequence - 1]) table.remove(removed, Buffer.from('hot'));
    table.remove(2, Buffer.from('k0'));
    const image = table.image();
    expect(image.versions).toBe(sequence - 1 - 5);
    const { versions: _total, ...walked } = image; // without the total: every row read, every skip counted
    for (const smallestSnapshot of [sequence - 1, 400, 150, 2, 0]) {
      const visits = (into: string[]) => (key: Buffer, slab: Buffer, start: number, end: number): void => {
        into.push(`${key.toString('hex')}=${slab.toString('hex', start, end)}`);
      };
      const fromTotal: string[] = [];
      const fromWalk: string[] = [];
      const skipped = await forEachImageEntry(image, visits(fromTotal), smallestSnapshot);
      const skippedWalking = await forEachImageEntry(walked, visits(fromWalk), smallestSnapshot);
      expect(fromTotal).toEqual(fromWalk);
      expect(skipped).toBe(skippedWalking);
      expect(skipped + fromTotal.length).toBe(sequence - 1 - 5);
    }
  });

  it('waits for the promise visit returns before the next entry', async () => {
    const table = new Memtable();
    for (let index = 0; index < 10; index++) table.add(index + 1, ValueType.put, Buffer.from(`k${index}`), Buffer.from(`v${index}`));
    const events: string[] = [];
    const skipped = await forEachImageEntry(table.image(), (key) => {
      const name = key.subarray(0, -8).toString();
      events.push(`visit ${name}`);
      if (name !== 'k3') return undefined;
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          events.push('turn');
          resolve();
        }),
      );
    });
    expect(skipped).toBe(0);
    expect(events).toEqual(['k0', 'k1', 'k2', 'k3'].map((name) => `visit ${name}`).concat('turn', ['k4', 'k5', 'k6', 'k7', 'k8', 'k9'].map((name) => `visit ${name}`)));
  });

  it('is empty for an empty memtable', async () => {
    expect(await imageEntries(new Memtable().image())).toEqual([]);
  });

  it('orders binary keys by bytes, prefixes first (property)', async () => {
    const op = fc.record({
      key: fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes.map((byte) => [0, 1, 0x61, 0x62, 0xff][byte % 5]!))),
      value: fc.uint8Array({ maxLength: 40 }),
      delete: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 64 }), async (ops, pendingKeysMax) => {
        const table = new Memtable({ pendingKeysMax, rangeFoldMin: 1 });
        let sequence = 1;
        for (const { key, value, delete: isDelete } of ops) {
          table.add(sequence++, isDelete ? ValueType.delete : ValueType.put, key, isDelete ? Buffer.alloc(0) : Buffer.from(value));
        }
        expect(await imageEntries(table.image())).toEqual(iteratorEntries(table));
      }),
    );
  });

  it('merges the order the memtable sends (its tree, a merge in progress, pending keys) as a full sort would order them (property)', async () => {
    const op = fc.record({
      key: fc.uint8Array({ maxLength: 10 }).map((bytes) => Buffer.from(bytes.map((byte) => [0, 1, 0x61, 0x62, 0xff][byte % 5]!))),
      value: fc.uint8Array({ maxLength: 20 }),
      delete: fc.boolean(),
      takeBack: fc.integer({ min: 0, max: 9 }),
    });
    let sawMergeAndPending = false;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 400 }), fc.integer({ min: 1, max: 48 }), async (ops, pendingKeysMax) => {
        const table = new Memtable({ pendingKeysMax });
        let sequence = 1;
        for (const { key, value, delete: isDelete, takeBack } of ops) {
          table.add(sequence, isDelete ? ValueType.delete : ValueType.put, key, isDelete ? Buffer.alloc(0) : Buffer.from(value));
          if (takeBack === 0) table.remove(sequence, key); // a key may be left with no version
          sequence++;
        }
        // Before any iterator, which would fold every key into the tree.
        const image = table.image();
        const { order, ...unordered } = image;
        if (order!.unsorted.length > 0 && order!.sorted.length > 0) sawMergeAndPending = true;
        const merged = await imageEntries(image);
        expect(merged).toEqual(await imageEntries(unordered));
        expect(merged).toEqual(iteratorEntries(table));
      }),
      { numRuns: 300 },
    );
    expect(sawMergeAndPending, 'some runs had keys both in the tree and not yet in it').toBe(true);
  });

  it('is read in place by another thread: posting it copies nothing', async () => {
    const table = new Memtable();
    for (let index = 0; index < 1000; index++) table.add(index + 1, ValueType.put, Buffer.from(`k${index}`), Buffer.alloc(100, index));
    const image = table.image();
    // The worker writes into the first slab: the change must show here, so the memory is shared, not copied.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       workerData.slabs[0][0] ^= 0xff;
       parentPort.postMessage(workerData.rows.length);`,
      { eval: true, workerData: image },
    );
    const before = image.slabs[0]![0]!;
    const rows = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    expect(rows).toBe(image.rows.length);
    expect(image.slabs[0]![0]).toBe(before ^ 0xff);
  });
});
