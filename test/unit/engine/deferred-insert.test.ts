import { describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { memtableBytesMin } from '../../../lib/limits.js';

// LsmEngine makes a write's memtable inserts at the end of its turn, after
// the WAL has written the turn's records (lsm-engine.ts, #deferInsert). No
// caller may tell: every read in the same synchronous run sees the write, and
// the memtable's budget counts it.

let count = 0;
const open = (options: Parameters<typeof LsmEngine.open>[1] = {}): Promise<LsmEngine> =>
  LsmEngine.open(`/mem/deferred-${++count}`, { fs: new MemFileSystem(), syncPolicy: 'always', backgroundExecutor: 'inline', ...options });

const text = (buffer: Buffer | undefined): string | undefined => buffer?.toString();

describe('LsmEngine deferred memtable inserts', () => {
  test('every read made in the writing turn sees the write', async () => {
    const engine = await open();
    try {
      await engine.write(new WriteBatch().put(Buffer.from('a'), Buffer.from('old')));
      const written = engine.write(new WriteBatch().put(Buffer.from('a'), Buffer.from('new')).put(Buffer.from('b'), Buffer.from('1')));
      // Each read below is the first after the write in its own turn's state: a fresh write before each.
      expect(text(engine.get(Buffer.from('a')))).toBe('new');

      const second = engine.write(new WriteBatch().put(Buffer.from('c'), Buffer.from('2')));
      const iterator = engine.iteratorSync();
      const seen: string[] = [];
      for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) seen.push(`${entry[0].toString()}=${entry[1].toString()}`);
      iterator.close();
      expect(seen).toEqual(['a=new', 'b=1', 'c=2']);

      const third = engine.write(new WriteBatch().del(Buffer.from('b')));
      const cursor = engine.cursorSync();
      expect(cursor.seek(Buffer.from('b'))?.[0].toString()).toBe('c');
      cursor.close();

      const before = engine.stats().memtableBytes;
      const fourth = engine.write(new WriteBatch().put(Buffer.from('d'), Buffer.from('3')));
      expect(engine.stats().memtableBytes).toBeGreaterThan(before);

      const fifth = engine.write(new WriteBatch().put(Buffer.from('e'), Buffer.from('4')));
      const snapshot = engine.snapshot();
      expect(text(engine.get(Buffer.from('e'), { snapshot }))).toBe('4');
      snapshot.release();

      await Promise.all([written, second, third, fourth, fifth]);
      expect(text(engine.get(Buffer.from('b')))).toBeUndefined();
    } finally {
      await engine.close();
    }
  });

  test('the memtable budget counts writes whose inserts wait: a long synchronous run of writes switches memtables', async () => {
    const engine = await open({ memtableBytes: memtableBytesMin, disableAutoCompaction: true });
    try {
      const writes: Promise<unknown>[] = [];
      // About 3x the budget in one synchronous run: without the deferred bytes counted, no switch until the turn ends.
      for (let index = 0; index < 60; index++) {
        writes.push(engine.write(new WriteBatch().put(Buffer.from(`key-${String(index).padStart(4, '0')}`), Buffer.alloc(100, index))));
      }
      expect(engine.stats().immutableMemtables).toBeGreaterThan(0);
      await Promise.all(writes);
      await engine.flush();
      for (let index = 0; index < 60; index++) {
        expect(engine.get(Buffer.from(`key-${String(index).padStart(4, '0')}`))).toEqual(Buffer.alloc(100, index));
      }
    } finally {
      await engine.close();
    }
  });
});
