import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { InvalidArgumentError, LimitExceededError } from '../../../lib/errors.js';
import { batchOpsMax, walPreallocateBytesMax } from '../../../lib/limits.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { WalReplayThread } from '../../../lib/wal/wal-replay-thread.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { defineEngineSuite } from '../../support/engine-suite.js';
import { crashCloneOf } from '../../support/engine-test-helpers.js';
import { allocWithHeadroom, largeHeadroomValueBytes } from '../../../lib/format/headroom.js';

// The shared Engine contract on LsmEngine, over the real file system (with
// worker-thread flush and compaction), again with every WAL replay read in a
// worker thread (wal-replay-thread.ts; by default only big WALs are), and over
// MemFileSystem (inline).

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-lsm-engine-'));
let dirCount = 0;
// The suites' cleanup runs before the describe blocks below them, which make directories here too.
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

defineEngineSuite('LsmEngine on NodeFileSystem', (dir, options) => LsmEngine.open(dir, options), {
  makeDir: () => path.join(root, `db-${++dirCount}`),
});

defineEngineSuite('LsmEngine on NodeFileSystem, WAL replayed in a thread', (dir, options) => LsmEngine.open(dir, options), {
  makeDir: () => path.join(root, `db-${++dirCount}`),
  options: { walReplayThreadBytesMin: 0 },
  cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
});

const memFs = new MemFileSystem();
let memCount = 0;
defineEngineSuite('LsmEngine on MemFileSystem', (dir, options) => LsmEngine.open(dir, options), {
  makeDir: () => `/mem/db-${++memCount}`,
  options: { fs: memFs },
});

describe('LsmEngine WAL replay thread', () => {
  test('is used from walReplayThreadBytesMin live WAL bytes on, and replays the same data as the main thread', async () => {
    const dir = path.join(root, `db-${++dirCount}`);
    const writer = await LsmEngine.open(dir, { memtableBytes: 1 << 20 });
    for (let index = 0; index < 2000; index++) await writer.write(new WriteBatch().put(Buffer.from(`key-${index}`), Buffer.alloc(40, index)));
    await writer.close(); // close() does not flush: the writes are only in the WAL
    const walBytes = fs.readdirSync(path.join(dir, 'wal')).reduce((sum, name) => sum + fs.statSync(path.join(dir, 'wal', name)).size, 0);
    const read = vi.spyOn(WalReplayThread.prototype, 'readSliced');
    try {
      const contents: string[][] = [];
      for (const [min, threaded] of [
        [walBytes, true],
        [walBytes + 1, false],
      ] as const) {
        read.mockClear();
        const engine = await LsmEngine.open(dir, { readOnly: true, walReplayThreadBytesMin: min });
        expect(read.mock.calls.length > 0).toBe(threaded);
        expect(engine.recovery.walRecordsReplayed).toBe(2000);
        const seen: string[] = [];
        for await (const [key, value] of engine.iterator()) seen.push(`${key.toString()}=${value.toString('hex')}`);
        contents.push(seen);
        await engine.close();
      }
      expect(contents[0]!.length).toBe(2000);
      expect(contents[0]).toEqual(contents[1]);
    } finally {
      read.mockRestore();
    }
  });
});

describe('LsmEngine: a large value the memtable takes over (headroom in shared memory)', () => {
  test('reads back the same from the memtable, from its flushed segment and after a reopen', async () => {
    const dir = path.join(root, `db-${++dirCount}`);
    const value = allocWithHeadroom(largeHeadroomValueBytes + 3);
    for (let index = 0; index < value.length; index++) value[index] = (index * 31) & 0xff;
    const expected = Buffer.from(value);
    let engine = await LsmEngine.open(dir, { disableAutoCompaction: true });
    try {
      await engine.write(new WriteBatch().put(Buffer.from('big'), value).put(Buffer.from('small'), Buffer.from('s')));
      expect(engine.get(Buffer.from('big'))?.buffer, 'taken over, not copied').toBe(value.buffer);
      await engine.flush(); // the flush worker reads the taken-over slab in place
      expect(engine.get(Buffer.from('big'))?.equals(expected)).toBe(true);
      await engine.write(new WriteBatch().put(Buffer.from('big2'), allocWithHeadroom(largeHeadroomValueBytes).fill(5)));
    } finally {
      await engine.close();
    }
    engine = await LsmEngine.open(dir, { disableAutoCompaction: true });
    try {
      expect(engine.get(Buffer.from('big'))?.equals(expected)).toBe(true);
      expect(engine.get(Buffer.from('big2'))?.equals(Buffer.alloc(largeHeadroomValueBytes, 5))).toBe(true);
      expect(engine.get(Buffer.from('small'))?.toString()).toBe('s');
    } finally {
      await engine.close();
    }
  });
});

describe('LsmEngine stats: entries dropped by flush and compaction', () => {
  test('counts the versions flush leaves out, and the shadowed versions, tombstones and filtered entries of a compaction', async () => {
    const dir = path.join(root, `db-${++dirCount}`);
    const filterModule = new URL('../../../dist/test/support/drop-prefix-filter.js', import.meta.url).pathname;
    const engine = await LsmEngine.open(dir, { disableAutoCompaction: true, compactionFilter: { module: filterModule, options: { prefix: 'tmp:', keepPrefix: 'pin:' } } });
    try {
      const put = (key: string, value: string) => engine.write(new WriteBatch().put(Buffer.from(key), Buffer.from(value)));
      expect(engine.stats().entriesDropped).toEqual({ shadowed: 0, tombstones: 0, filtered: 0 });
      for (const value of ['1', '2', '3']) await put('k', value); // one memtable: flush keeps only '3'
      await put('gone', 'x');
      await put('tmp:a', 'x');
      await engine.flush();
      expect(engine.stats().entriesDropped).toEqual({ shadowed: 2, tombstones: 0, filtered: 0 });
      await put('k', '4'); // shadows the flushed '3' once both meet in a compaction
      await engine.write(new WriteBatch().del(Buffer.from('gone')));
      await engine.flush();
      await engine.compactRange();
      // 'k'@3 and 'gone'@x are shadowed; the tombstone of 'gone' has nothing below it; 'tmp:a' is filtered.
      expect(engine.stats().entriesDropped).toEqual({ shadowed: 4, tombstones: 1, filtered: 1 });
      expect(engine.get(Buffer.from('k'))?.toString()).toBe('4');
      expect(engine.get(Buffer.from('gone'))).toBeUndefined();
    } finally {
      await engine.close();
    }
  });
});

describe('LsmEngine compactRange', () => {
  test('calls made at once run one after another, each over the files the one before left', async () => {
    const dir = path.join(root, `db-${++dirCount}`);
    const engine = await LsmEngine.open(dir, { memtableBytes: 64 << 10 });
    try {
      const expected = new Map<string, number>();
      for (let round = 0; round < 8; round++) {
        const batch = new WriteBatch();
        for (let index = 0; index < 1500; index++) {
          const key = `k${(index * 7919 + round) % 2500}`;
          batch.put(Buffer.from(key), Buffer.alloc(40, round));
          expected.set(key, round);
        }
        await engine.write(batch);
        await engine.flush();
      }
      const results = await Promise.allSettled([engine.compactRange(), engine.compactRange(), engine.compactRange()]);
      expect(results.map((result) => (result.status === 'rejected' ? String(result.reason) : result.status))).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(engine.stats().levels.reduce((sum, level) => sum + level.segments, 0)).toBe(1);
      const seen = new Map<string, number>();
      for await (const [key, value] of engine.iterator()) seen.set(key.toString(), value[0]!);
      expect(seen).toEqual(expected);
    } finally {
      await engine.close();
    }
  });
});

describe('LsmEngine stats', () => {
  test('skip a WAL file deleted between listing the directory and reading its size', async () => {
    // A file system whose listing of wal/ still names a file already gone, as when a retired WAL
    // file's background unlink lands between stats()'s list and stat.
    class GhostWal extends MemFileSystem {
      ghost = false;
      override list(dir: string): string[] {
        const names = super.list(dir);
        return this.ghost && dir.endsWith('/wal') ? [...names, '999999.log'] : names;
      }
    }
    const fs = new GhostWal();
    const engine = await LsmEngine.open('/ghost', { fs, backgroundExecutor: 'inline' });
    fs.ghost = true;
    try {
      await engine.write(new WriteBatch().put(Buffer.from('k'), Buffer.from('v')));
      const stats = engine.stats();
      expect(stats.walFiles).toBe(1);
      expect(stats.walBytes).toBeGreaterThan(0);
    } finally {
      fs.ghost = false;
      await engine.close();
    }
  });
});

describe('LsmEngine walPreallocateBytes', () => {
  test('is refused unless an integer from 0 to limits.walPreallocateBytesMax; the live writer reports its zeros', async () => {
    for (const walPreallocateBytes of [-1, 1.5, Number.NaN, walPreallocateBytesMax + 1]) {
      await expect(LsmEngine.open(path.join(root, `db-${++dirCount}`), { walPreallocateBytes }), String(walPreallocateBytes)).rejects.toThrow(InvalidArgumentError);
    }
    const dir = path.join(root, `db-${++dirCount}`);
    const engine = await LsmEngine.open(dir, { syncPolicy: 'always', walPreallocateBytes: 64 * 1024 });
    try {
      await engine.write(new WriteBatch().put(Buffer.from('k'), Buffer.from('v')));
      const stats = engine.stats();
      expect(stats.walPreallocatedBytes).toBe(64 * 1024);
      expect(stats.walBytes).toBeGreaterThan(64 * 1024);
    } finally {
      await engine.close();
    }
  });
});

describe('LsmEngine batch limits', () => {
  // A batch is one WAL record, and an atomic group (EXEC) is one batch: a group
  // the WAL writer took but replay refuses would leave a directory that cannot
  // open after a crash, and one the writer refused would stop every write.
  const key = (prefix: string, index: number): Buffer => Buffer.from(`${prefix}${index}`);

  test('an atomic group refuses a batch that would take it past batchOpsMax operations; what it holds commits and replays', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open('/db', { fs, syncPolicy: 'always' });
    const group = engine.beginAtomic();
    const first = new WriteBatch();
    for (let index = 0; index < 1000; index++) first.put(key('a', index), Buffer.from('1'));
    group.write(first);
    // One past the limit with the first: refused before anything is applied (one key and value shared, to keep it cheap).
    const second = new WriteBatch();
    const [sharedKey, sharedValue] = [key('b', 0), Buffer.from('2')];
    for (let index = 0; index < batchOpsMax - 999; index++) second.put(sharedKey, sharedValue);
    expect(() => group.write(second)).toThrow(`Cannot add ${batchOpsMax - 999} operations to this transaction: it would hold ${batchOpsMax + 1}, and one transaction is one batch of at most ${batchOpsMax} operations`);
    expect(engine.get(sharedKey)).toBeUndefined(); // nothing of the refused batch was applied
    group.write(new WriteBatch().put(Buffer.from('small'), Buffer.from('3'))); // one that fits still goes in
    await group.commit();
    await engine.write(new WriteBatch().put(Buffer.from('after'), Buffer.from('4'))); // writes go on
    const crashed = crashCloneOf(fs, '/db');
    await engine.close();
    const reopened = await LsmEngine.open('/db', { fs: crashed });
    try {
      expect(reopened.get(key('a', 999))?.toString()).toBe('1');
      expect(reopened.get(Buffer.from('small'))?.toString()).toBe('3');
      expect(reopened.get(Buffer.from('after'))?.toString()).toBe('4');
      expect(reopened.get(sharedKey)).toBeUndefined();
    } finally {
      await reopened.close();
    }
  });

  test('a batch or a group past batchBytesMax is refused before it is logged, and writes go on', async () => {
    for (const batchBytesMax of [63, 1.5, 2 ** 31]) {
      await expect(LsmEngine.open('/db', { fs: new MemFileSystem(), batchBytesMax }), String(batchBytesMax)).rejects.toThrow(InvalidArgumentError);
    }
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open('/db', { fs, batchBytesMax: 64 * 1024 });
    try {
      const big = new WriteBatch().put(Buffer.from('x'), Buffer.alloc(40_000)).put(Buffer.from('y'), Buffer.alloc(40_000));
      await expect(engine.write(big)).rejects.toThrow(/^Cannot write batch of 800\d\d bytes: it is one WAL record, of at most 65536$/);
      await expect(engine.writeShared(big)).rejects.toThrow(LimitExceededError);
      expect(engine.get(Buffer.from('x'))).toBeUndefined();
      const group = engine.beginAtomic();
      group.write(new WriteBatch().put(Buffer.from('x'), Buffer.alloc(40_000)));
      expect(() => group.write(new WriteBatch().put(Buffer.from('y'), Buffer.alloc(40_000)))).toThrow(/this transaction: it would take 800\d\d bytes, and one transaction is one WAL record of at most 65536/);
      await group.commit();
      // Neither refusal stopped writes (a refused WAL append would have).
      await engine.write(new WriteBatch().put(Buffer.from('z'), Buffer.from('1')));
      expect(engine.stats().writeError).toBeUndefined();
      expect(engine.get(Buffer.from('x'))?.length).toBe(40_000);
      expect(engine.get(Buffer.from('y'))).toBeUndefined();
    } finally {
      await engine.close();
    }
  });
});

describe('LsmEngine prepopulateBlockCache', () => {
  // A flush hands its data blocks to the block cache (up to half of it), so
  // reads of what it wrote hit the cache; off, each block is read back once.
  const cases = [
    { name: 'NodeFileSystem (flush in a worker)', dir: () => path.join(root, `db-${++dirCount}`), options: {} },
    { name: 'MemFileSystem (inline flush)', dir: () => `/mem/prepopulate-${++memCount}`, options: { fs: memFs } },
  ];
  test.each(cases)('reads of a flush hit the cache on $name, and miss with it off', async ({ dir, options }) => {
    const keys = Array.from({ length: 3000 }, (_, index) => Buffer.from(`key:${String(index).padStart(6, '0')}`));
    const misses = async (prepopulateBlockCache: boolean | undefined, blockCacheBytes: number): Promise<number> => {
      const engine = await LsmEngine.open(dir(), { ...options, blockCacheBytes, ...(prepopulateBlockCache === undefined ? {} : { prepopulateBlockCache }) });
      try {
        const batch = new WriteBatch();
        for (const key of keys) batch.put(key, Buffer.alloc(100, key.at(-1)));
        await engine.write(batch);
        await engine.flush();
        // The blocks go into the cache a few hundred an event-loop turn.
        for (let turn = 0; turn < 8; turn++) await new Promise((resolve) => setImmediate(resolve));
        const before = engine.stats().blockCache.misses;
        for (const key of keys) expect(engine.get(key)).toEqual(Buffer.alloc(100, key.at(-1)));
        return engine.stats().blockCache.misses - before;
      } finally {
        await engine.close();
      }
    };
    expect(await misses(undefined, 8 * 1024 * 1024)).toBe(0);
    const off = await misses(false, 8 * 1024 * 1024);
    expect(off).toBeGreaterThan(50); // about 3000 x 120 bytes / 4 KiB blocks
    // Half of a 128 KiB cache holds part of the flush: the rest is read back.
    const part = await misses(true, 128 * 1024);
    expect(part).toBeGreaterThan(0);
    expect(part).toBeLessThan(off);
  });

  test.each(cases)('later flushes keep their blocks in the buffer the last one used, and what the cache took from it stays right, on $name', async ({ dir, options }) => {
    const engine = await LsmEngine.open(dir(), { ...options, blockCacheBytes: 8 * 1024 * 1024 });
    try {
      const rounds = ['a', 'b', 'c'].map((tag) => Array.from({ length: 2000 }, (_, index) => Buffer.from(`${tag}:${String(index).padStart(6, '0')}`)));
      const valueOf = (key: Buffer): Buffer => Buffer.alloc(100, key.toString('latin1'));
      for (const keys of rounds) {
        const batch = new WriteBatch();
        for (const key of keys) batch.put(key, valueOf(key));
        await engine.write(batch);
        await engine.flush();
        for (let turn = 0; turn < 8; turn++) await new Promise((resolve) => setImmediate(resolve));
      }
      // Every flush's blocks came from the cache, the older ones too, though later flushes wrote
      // over the buffer the worker kept them in: the cache holds copies.
      const before = engine.stats().blockCache.misses;
      for (const keys of rounds) for (const key of keys) expect(engine.get(key)).toEqual(valueOf(key));
      expect(engine.stats().blockCache.misses - before).toBe(0);
    } finally {
      await engine.close();
    }
  });
});
