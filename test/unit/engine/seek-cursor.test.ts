// SeekCursor (lib/engine/seek-cursor.ts) and LsmEngine.cursorSync.
// Strategy: random versions spread over several memtables (standing in for
// memtable, immutables and segments), a random snapshot, random bounds and a
// random sequence of seek / next / seekLast calls on one cursor; each answer
// must equal a model built from a plain map. Then on a real LsmEngine: data
// in flushed segments under tombstones and newer versions in the memtable,
// read at a snapshot, with exact counts of what each call stepped over, and
// the cursor's lifetime (closing, the engine closing it).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { ValueType } from '../../../lib/format/internal-key.js';
import { MergeIterator } from '../../../lib/engine/merge-iterator.js';
import { SeekCursor } from '../../../lib/engine/seek-cursor.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { ClosedError } from '../../../lib/errors.js';
import type { CursorOptions, Entry } from '../../../lib/engine/engine.js';

type Op = [key: number, sequence: number, isPut: boolean, source: number];
type Call = ['seek', number] | ['next'] | ['seekLast', number | null];

const keyOf = (n: number): Buffer => Buffer.from([n]);
const show = (entry: Entry | undefined): string | undefined => (entry === undefined ? undefined : `${entry[0][0]}=${entry[1].toString()}`);

describe('SeekCursor', () => {
  it('answers every seek, next and seekLast as the model does, at the snapshot and within bounds', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat(15), fc.integer({ min: 1, max: 200 }), fc.boolean(), fc.nat(3)), {
          selector: ([key, sequence]) => `${key}@${sequence}`,
          maxLength: 80,
        }),
        fc.integer({ min: 0, max: 210 }),
        fc.record({ lower: fc.option(fc.nat(16)), upper: fc.option(fc.nat(16)) }),
        fc.array(
          fc.oneof(
            fc.tuple(fc.constant('seek' as const), fc.nat(17)),
            fc.tuple(fc.constant('next' as const)),
            fc.tuple(fc.constant('seekLast' as const), fc.option(fc.nat(17))),
          ),
          { maxLength: 30 },
        ),
        (ops: Op[], snapshot, bounds, calls: Call[]) => {
          const tables = [new Memtable(), new Memtable(), new Memtable(), new Memtable()];
          for (const [key, sequence, isPut, source] of ops) {
            tables[source]!.add(sequence, isPut ? ValueType.put : ValueType.delete, keyOf(key), Buffer.from(`${key}@${sequence}`));
          }
          const newest = new Map<number, { sequence: number; isPut: boolean }>();
          for (const [key, sequence, isPut] of ops) {
            if (sequence > snapshot) continue;
            const seen = newest.get(key);
            if (!seen || seen.sequence < sequence) newest.set(key, { sequence, isPut });
          }
          const live = [...newest]
            .filter(([key, version]) => version.isPut && (bounds.lower === null || key >= bounds.lower) && (bounds.upper === null || key < bounds.upper))
            .sort(([a], [b]) => a - b)
            .map(([key, version]) => ({ key, text: `${key}=${key}@${version.sequence}` }));

          const options: CursorOptions = {};
          if (bounds.lower !== null) options.gte = keyOf(bounds.lower);
          if (bounds.upper !== null) options.lt = keyOf(bounds.upper);
          // The merge with the cursor's bounds, as LsmEngine.cursorSync() gives them, or none.
          for (const bounded of [false, true]) {
            let closed = 0;
            const merge = new MergeIterator(
              tables.map((table) => table.iterator()),
              bounded ? { lower: options.gte, upper: options.lt, upperExclusive: true } : {},
            );
            const cursor = new SeekCursor(merge, snapshot, options, () => closed++);
            let current: number | undefined; // index in `live` of the last answer
            for (const call of calls) {
              let index: number;
              if (call[0] === 'seek') {
                index = live.findIndex(({ key }) => key >= call[1]);
                expect(show(cursor.seek(keyOf(call[1])))).toBe(index < 0 ? undefined : live[index]!.text);
              } else if (call[0] === 'next') {
                index = current === undefined ? -1 : current + 1 < live.length ? current + 1 : -1;
                expect(show(cursor.next())).toBe(index < 0 ? undefined : live[index]!.text);
              } else {
                const before = call[1];
                index = live.findLastIndex(({ key }) => before === null || key < before);
                expect(show(cursor.seekLast(before === null ? undefined : keyOf(before)))).toBe(index < 0 ? undefined : live[index]!.text);
              }
              current = index < 0 ? undefined : index;
            }
            cursor.close();
            cursor.close();
            expect(closed).toBe(1);
          }
        },
      ),
    );
  });
});

describe('LsmEngine.cursorSync', () => {
  let engine: LsmEngine;
  const memFs = new MemFileSystem();
  let dirCount = 0;

  const key = (n: number): Buffer => Buffer.from(`k${String(n).padStart(4, '0')}`);
  const value = (n: number, tag: string): Buffer => Buffer.from(`${tag}${n}`);
  const text = (entry: Entry | undefined): string | undefined => (entry === undefined ? undefined : `${entry[0].toString()}=${entry[1].toString()}`);

  async function write(fill: (batch: WriteBatch) => void): Promise<void> {
    const batch = new WriteBatch();
    fill(batch);
    await engine.write(batch);
  }

  beforeEach(async () => {
    engine = await LsmEngine.open(`/cursor/db-${++dirCount}`, { fs: memFs, syncPolicy: 'no', disableAutoCompaction: true });
    // k0000..k0199 in a segment; k0050..k0149 deleted in a second one; every
    // third key from k0100 overwritten in the memtable, and k0200..k0209 added there.
    await write((batch) => {
      for (let n = 0; n < 200; n++) batch.put(key(n), value(n, 'a'));
    });
    await engine.flush();
    await write((batch) => {
      for (let n = 50; n < 150; n++) batch.del(key(n));
    });
    await engine.flush();
    await write((batch) => {
      for (let n = 100; n < 200; n += 3) batch.put(key(n), value(n, 'b'));
      for (let n = 200; n < 210; n++) batch.put(key(n), value(n, 'c'));
    });
    expect(engine.stats().levels[0]!.segments).toBe(2);
  });

  afterEach(async () => {
    await engine.close();
  });

  it('seeks across memtable and segments, stepping over tombstones, and says how many it stepped over', () => {
    const cursor = engine.cursorSync({ gte: key(10), lt: key(205) });
    try {
      expect(text(cursor.seek(key(0)))).toBe('k0010=a10'); // below the range: its start
      expect(cursor.skipped).toBe(0);
      // k0050..k0099: each a tombstone over a put (100 entries), then k0100 rewritten over both.
      expect(text(cursor.seek(key(50)))).toBe('k0100=b100');
      expect(cursor.skipped).toBe(100);
      expect(text(cursor.next())).toBe('k0103=b103'); // k0101, k0102: tombstone + put each; k0100's older versions
      expect(cursor.skipped).toBe(2 + 4);
      expect(text(cursor.seekLast(key(100)))).toBe('k0049=a49');
      expect(cursor.skipped).toBe(100);
      expect(text(cursor.next())).toBe('k0100=b100'); // next() after a backward seek goes forwards again
      expect(text(cursor.seekLast())).toBe('k0204=c204'); // the range's upper bound
      expect(text(cursor.seek(key(205)))).toBeUndefined();
      expect(text(cursor.next())).toBeUndefined();
      const all: string[] = [];
      for (let entry = cursor.seek(key(10)); entry !== undefined; entry = cursor.next()) all.push(text(entry)!);
      expect(all).toHaveLength(40 + 17 + 50 + 5);
      expect(all.at(-1)).toBe('k0204=c204');
    } finally {
      cursor.close();
    }
  });

  it('reads at a snapshot taken before later writes', async () => {
    const snapshot = engine.snapshot();
    await write((batch) => {
      batch.del(key(0));
      batch.put(key(60), value(60, 'd'));
    });
    const atSnapshot = engine.cursorSync({ snapshot });
    const now = engine.cursorSync();
    try {
      expect(text(atSnapshot.seek(key(0)))).toBe('k0000=a0');
      expect(text(now.seek(key(0)))).toBe('k0001=a1');
      expect(text(atSnapshot.seek(key(55)))).toBe('k0100=b100');
      expect(atSnapshot.skipped).toBe(2 * 45 + 1); // and k0060's put above the snapshot
      expect(text(now.seek(key(55)))).toBe('k0060=d60');
      expect(text(atSnapshot.seekLast(key(61)))).toBe('k0049=a49');
      expect(text(now.seekLast(key(61)))).toBe('k0060=d60');
    } finally {
      atSnapshot.close();
      now.close();
      snapshot.release();
    }
  });

  // Past its bound the merge follows one source (merge-iterator.ts): a walk at a snapshot must stop at
  // the bound, not step over, and count, the newer versions that source holds past it (found by review).
  it('stops at its bound at a snapshot, however many newer entries lie past it', async () => {
    const fresh = await LsmEngine.open(`/cursor/db-${++dirCount}`, { fs: memFs, syncPolicy: 'no', disableAutoCompaction: true });
    const put = async (keys: string[]): Promise<void> => {
      const batch = new WriteBatch();
      for (const name of keys) batch.put(Buffer.from(name), Buffer.from('v'));
      await fresh.write(batch);
    };
    try {
      await put(['b']); // just past the range, in a segment
      await fresh.flush();
      await put(['a']);
      const snapshot = fresh.snapshot();
      await put(Array.from({ length: 1000 }, (_, n) => `b${String(n).padStart(4, '0')}`)); // past the range, newer than the snapshot
      fresh.iteratorSync({}).close(); // folds the new keys into the memtable's tree
      const cursor = fresh.cursorSync({ gte: Buffer.from('a'), lt: Buffer.from('b'), snapshot });
      expect(text(cursor.seek(Buffer.from('a')))).toBe('a=v');
      expect(cursor.next()).toBeUndefined();
      expect(cursor.skipped).toBe(0);
      cursor.close();
      const entries: string[] = [];
      const iterator = fresh.iteratorSync({ gte: Buffer.from('a'), lt: Buffer.from('b'), snapshot });
      iterator.visit((key) => void entries.push(key.toString()));
      iterator.close();
      expect(entries).toEqual(['a']);
      snapshot.release();
    } finally {
      await fresh.close();
    }
  });

  it('refuses calls once closed, and is closed with the engine', async () => {
    const cursor = engine.cursorSync();
    cursor.close();
    expect(() => cursor.seek(key(0))).toThrow(ClosedError);
    const open = engine.cursorSync();
    expect(text(open.seek(key(0)))).toBe('k0000=a0');
    await engine.close();
    expect(() => open.next()).toThrow(ClosedError);
    engine = await LsmEngine.open(`/cursor/db-${++dirCount}`, { fs: memFs, syncPolicy: 'no' });
  });
});
