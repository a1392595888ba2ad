// Point lookups in segments (LsmEngine#getFromSegments with
// lib/engine/segment-lookup.ts): which segment of a level may hold a key,
// decided in place, checked against a plain scan of the level; and engine gets
// that must look past the newest segment: a tombstone in a newer segment hides
// an older value, a put in a newer segment wins over an older tombstone, and a
// snapshot skips versions newer than itself, tombstones included. Engines run
// on MemFileSystem with inline background work and no automatic compaction,
// so each layout is exactly the one the test builds.

import { afterEach, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { segmentHolding, userKeyInRange } from '../../../lib/engine/segment-lookup.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { compareBytes } from '../../../lib/format/compare-bytes.js';
import { makeInternalKey } from '../../../lib/format/internal-key.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import type { SegmentMeta } from '../../../lib/manifest/segment-meta.js';

function meta(fileNumber: number, smallest: Buffer, largest: Buffer): SegmentMeta {
  return {
    fileNumber,
    level: 1,
    fileBytes: 100,
    smallestKey: makeInternalKey(smallest, 9, 1),
    largestKey: makeInternalKey(largest, 1, 0),
    smallestSequence: 1,
    largestSequence: 9,
    entryCount: 2,
    tombstoneCount: 0,
    createdMs: 0,
  };
}

describe('segmentHolding and userKeyInRange', () => {
  test('agree with a scan of a sorted, non-overlapping level', () => {
    const keyArbitrary = fc.uint8Array({ maxLength: 4, max: 3 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(fc.uniqueArray(keyArbitrary, { minLength: 0, maxLength: 16, comparator: (a, b) => a.equals(b) }), fc.array(keyArbitrary, { maxLength: 20 }), (bounds, asks) => {
        const sorted = [...bounds].sort(compareBytes);
        // Pairs of consecutive distinct keys as [smallest, largest]: non-overlapping, some one key wide.
        const files: SegmentMeta[] = [];
        for (let index = 0; index + 1 < sorted.length; index += 2) files.push(meta(index, sorted[index]!, sorted[index + 1]!));
        for (const file of files) expect(userKeyInRange(file, file.smallestKey.subarray(0, file.smallestKey.length - 8))).toBe(true);
        for (const key of [...asks, ...sorted]) {
          const expected = files.find((file) => userKeyInRange(file, key));
          const inRange = (file: SegmentMeta): boolean =>
            compareBytes(file.smallestKey.subarray(0, file.smallestKey.length - 8), key) <= 0 && compareBytes(file.largestKey.subarray(0, file.largestKey.length - 8), key) >= 0;
          expect(expected).toBe(files.find(inRange));
          expect(segmentHolding(files, key)).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('LsmEngine get through segments', () => {
  const engines: LsmEngine[] = [];
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.close();
  });

  async function open(): Promise<LsmEngine> {
    const engine = await LsmEngine.open('/db', { fs: new MemFileSystem(), backgroundExecutor: 'inline', disableAutoCompaction: true, syncPolicy: 'no' });
    engines.push(engine);
    return engine;
  }
  const b = (text: string): Buffer => Buffer.from(text);
  const text = (value: Buffer | undefined): string | undefined => value?.toString();

  test('a tombstone in a newer segment hides an older value; a newer put wins over an older tombstone', async () => {
    const engine = await open();
    await engine.write(new WriteBatch().put(b('gone'), b('old')).put(b('back'), b('old')).put(b('kept'), b('v1')));
    await engine.compactRange(); // level 1 (or deeper)
    await engine.write(new WriteBatch().del(b('gone')).del(b('back')));
    await engine.flush(); // level 0: the tombstones
    const beforePut = engine.snapshot();
    await engine.write(new WriteBatch().put(b('back'), b('new')));
    await engine.flush(); // a newer level-0 segment
    expect(engine.stats().levels[0]!.segments).toBe(2);
    expect(engine.get(b('gone'))).toBeUndefined();
    expect(text(engine.get(b('back')))).toBe('new');
    expect(text(engine.get(b('kept')))).toBe('v1');
    expect(engine.get(b('back'), { snapshot: beforePut })).toBeUndefined();
    beforePut.release();
    expect(engine.get(b('absent'))).toBeUndefined();
  });

  test('a snapshot skips a tombstone newer than itself and finds the older value below it', async () => {
    const engine = await open();
    await engine.write(new WriteBatch().put(b('k'), b('first')));
    await engine.compactRange();
    const before = engine.snapshot();
    await engine.write(new WriteBatch().del(b('k')));
    await engine.flush();
    expect(engine.get(b('k'))).toBeUndefined();
    expect(text(engine.get(b('k'), { snapshot: before }))).toBe('first');
    before.release();
  });

  test('keys between and beyond the segments of a level read as absent; keys inside read back', async () => {
    const engine = await LsmEngine.open('/db', {
      fs: new MemFileSystem(),
      backgroundExecutor: 'inline',
      disableAutoCompaction: true,
      syncPolicy: 'no',
      segmentBytesTarget: 4096,
    });
    engines.push(engine);
    const batch = new WriteBatch();
    for (let index = 0; index < 400; index += 2) batch.put(b(`key-${String(index).padStart(4, '0')}`), Buffer.alloc(60, index));
    await engine.write(batch);
    await engine.compactRange();
    const levels = engine.stats().levels;
    expect(levels.slice(1).some((level) => level.segments > 1)).toBe(true);
    for (let index = 0; index < 400; index++) {
      const value = engine.get(b(`key-${String(index).padStart(4, '0')}`));
      if (index % 2 === 0) expect(value?.equals(Buffer.alloc(60, index))).toBe(true);
      else expect(value).toBeUndefined();
    }
    for (const absent of ['', 'a', 'key-', 'key-0399x', 'zzz']) expect(engine.get(b(absent))).toBeUndefined();
  });
});
