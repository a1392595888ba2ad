// Lists in the keyspace (lib/keyspace/list.ts): the record and subkey
// encoding (and the hex example in docs/format.md, "Lists"), the List
// operations on both engines (point reads, ranges through point reads or an
// iterator, pushes, pops, trims, gap-closing removals and insertions, one
// batch per command), the refusals (another type, an exhausted index range,
// damage), and the compaction filter's rule 3 (list elements outside
// [head, tail)), alone and in a real compaction that later pushes reuse.

import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { CorruptionError, LimitExceededError, WrongTypeError } from '../../../lib/errors.js';
import { createCompactionFilter } from '../../../lib/keyspace/compaction-filter.js';
import { encodeTable } from '../../../lib/keyspace/db-table.js';
import { dbTableKey, metadataKey, scoreKey, subkey, writeUint64BE } from '../../../lib/keyspace/key-encoding.js';
import type { Keyspace } from '../../../lib/keyspace/keyspace.js';
import {
  List,
  elementIndex,
  listBounds,
  listElementPrefix,
  listFreedDeletesMax,
  listIndexLimit,
  listIndexStart,
  listKind,
  listRecord,
  type ListEnd,
} from '../../../lib/keyspace/list.js';
import { KeyType, collectionRecord, recordSize, recordVersion, stringRecord, withSize } from '../../../lib/keyspace/metadata.js';
import { checkInvariants, entries, levelHarness, lsmHarness, openKeyspace, testContext, type EngineHarness, type TestContext } from './keyspace-harness.js';
import { walkSlice } from '../../../lib/keyspace/walk.js';
import { listRangeSlicedMin } from '../../../lib/limits.js';

const now = 1_700_000_000_000;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const field = (index: number): Buffer => {
  const bytes = Buffer.alloc(8);
  writeUint64BE(bytes, 0, index);
  return bytes;
};
const hex = (bytes: Buffer): string => [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');

// ---------------------------------------------------------------- encoding

describe('list encoding', () => {
  it('a record holds head and tail after the header, and size = tail - head', () => {
    const record = listRecord(123, 77, listIndexStart - 2, listIndexStart + 3);
    expect(listBounds(record)).toEqual({ head: listIndexStart - 2, tail: listIndexStart + 3 });
    expect(recordSize(record)).toBe(5);
    expect(recordVersion(record)).toBe(77);
    expect(listKind(record)).toBe('list');
    expect(listKind(undefined)).toBe('none');
    expect(listKind(stringRecord(b('v'), 0, 1))).toBe('other');
    expect(() => listRecord(0, 1, 5, 5)).toThrow(/not empty/);
  });

  it('listBounds refuses what is not a readable list; elementIndex wants 8 bytes', () => {
    expect(listBounds(collectionRecord(KeyType.hash, 0, 1, 1))).toBeUndefined();
    expect(listBounds(collectionRecord(KeyType.list, 0, 1, 1))).toBeUndefined(); // no payload
    const backwards = listRecord(0, 1, 10, 20);
    writeUint64BE(backwards, backwards.length - 8, 5);
    expect(listBounds(backwards)).toBeUndefined();
    expect(elementIndex(field(listIndexStart))).toBe(listIndexStart);
    expect(elementIndex(b('abc'))).toBeUndefined();
  });

  it('matches the hex example in docs/format.md', () => {
    const doc = fs.readFileSync(fileURLToPath(new URL('../../../docs/format.md', import.meta.url)), 'utf8');
    const block = /<!-- list-hex-example:start -->\n```\n([\s\S]*?)```\n<!-- list-hex-example:end -->/.exec(doc)![1]!;
    const version = 1740800000000005;
    const expected = [
      ['M list    key', metadataKey(0, b('q'))],
      ['          val', listRecord(0, version, listIndexStart - 1, listIndexStart + 2)],
      ['S element key', subkey(0, b('q'), version, field(listIndexStart - 1))],
      ['          val', b('z')],
      ['S element key', subkey(0, b('q'), version, field(listIndexStart))],
      ['          val', b('a')],
      ['S element key', subkey(0, b('q'), version, field(listIndexStart + 1))],
      ['          val', b('b')],
    ] as const;
    expect(block.trimEnd().split('\n')).toEqual(expected.map(([label, bytes]) => `${label} ${hex(bytes)}`));
  });
});

// ---------------------------------------------------------------- compaction filter, rule 3

describe('compaction filter: list elements outside [head, tail)', () => {
  const table: [Buffer, Buffer] = [dbTableKey, encodeTable({ physIds: [0], nextPhysId: 1, versionFloor: 0 })];

  function filterOver(pairs: [Buffer, Buffer][]): (key: Buffer) => boolean {
    const store = new Map(pairs.map(([key, value]) => [key.toString('hex'), value]));
    const filter = createCompactionFilter({}, { nowMs: now, get: (key) => store.get(key.toString('hex')) });
    return (key) => filter.drop(key, Buffer.alloc(0));
  }

  it('drops elements before head and from tail on, keeps the live range, judges other versions by rule 2', () => {
    const drop = filterOver([table, [metadataKey(0, b('l')), listRecord(0, 9, 100, 103)]]);
    expect(drop(subkey(0, b('l'), 9, field(99)))).toBe(true);
    expect(drop(subkey(0, b('l'), 9, field(100)))).toBe(false);
    expect(drop(subkey(0, b('l'), 9, field(102)))).toBe(false);
    expect(drop(subkey(0, b('l'), 9, field(103)))).toBe(true);
    expect(drop(subkey(0, b('l'), 8, field(101)))).toBe(true); // an older version: rule 2
  });

  it('keeps what it cannot judge: fields of another length, lists without a readable payload, other types', () => {
    const drop = filterOver([
      table,
      [metadataKey(0, b('l')), listRecord(0, 9, 100, 103)],
      [metadataKey(0, b('bad')), collectionRecord(KeyType.list, 0, 9, 1)],
      [metadataKey(0, b('h')), collectionRecord(KeyType.hash, 0, 9, 1)],
      [metadataKey(0, b('z')), collectionRecord(KeyType.zset, 0, 9, 1)],
    ]);
    expect(drop(subkey(0, b('l'), 9, b('short')))).toBe(false);
    expect(drop(subkey(0, b('bad'), 9, field(5)))).toBe(false);
    expect(drop(subkey(0, b('h'), 9, field(5)))).toBe(false);
    expect(drop(scoreKey(0, b('z'), 9, 1, b('m')))).toBe(false);
  });
});

// ---------------------------------------------------------------- List on both engines

const harnesses: EngineHarness[] = [lsmHarness(), levelHarness()];
afterAll(() => {
  for (const harness of harnesses) harness.cleanup();
});

describe.each(harnesses)('List ($name)', (harness) => {
  let engine: Engine;
  let keyspace: Keyspace;
  let ctx: TestContext;

  beforeEach(async () => {
    harness.reset();
    engine = await harness.open();
    keyspace = await openKeyspace(engine, { databases: 2 });
    ctx = testContext(engine, now);
  });

  afterEach(async () => {
    await ctx.settle();
    expect(await checkInvariants(engine, keyspace)).toBe('');
    await engine.close();
  });

  /** Edits `key` with `change` and commits the one batch. */
  function edit(key: string, change: (list: List) => void): List {
    const list = List.edit(keyspace, 0, b(key), ctx.nowMs);
    change(list);
    const batch = keyspace.begin();
    list.stage(batch);
    keyspace.commit(ctx, batch);
    return list;
  }

  async function contents(key: string): Promise<string[]> {
    const list = List.read(keyspace, 0, b(key), ctx.nowMs);
    if (list === undefined) return [];
    return (await list.range(0, list.length)).map((value) => value.toString('latin1'));
  }

  /** Raw subkeys of the key's current version, by index. */
  async function raw(key: string): Promise<number[]> {
    const record = engine.get(metadataKey(keyspace.physicalDb(0), b(key)));
    if (record === undefined) return [];
    return (await entries(engine, ...Object.values(listElementPrefix(keyspace.physicalDb(0), b(key), recordVersion(record))) as [Buffer, Buffer])).map(
      ([key]) => elementIndex(key.subarray(key.length - 8))!,
    );
  }

  function push(key: string, values: string[], end: ListEnd = 'right'): List {
    return edit(key, (list) => {
      for (const value of values) list.push(b(value), end);
    });
  }

  it('creates a list at the middle index, pushes at both ends, reads by position, in one batch', async () => {
    const list = push('l', ['b', 'c']);
    expect(list.existed).toBe(false);
    push('l', ['a', 'z'], 'left');
    expect(ctx.batches).toHaveLength(2);
    expect(await contents('l')).toEqual(['z', 'a', 'b', 'c']);
    const read = List.read(keyspace, 0, b('l'), ctx.nowMs)!;
    expect(read.existed).toBe(true);
    expect(read.element(0).toString()).toBe('z');
    expect(read.element(3).toString()).toBe('c');
    const record = engine.get(metadataKey(keyspace.physicalDb(0), b('l')))!;
    expect(listBounds(record)).toEqual({ head: listIndexStart - 2, tail: listIndexStart + 2 });
    expect(await raw('l')).toEqual([listIndexStart - 2, listIndexStart - 1, listIndexStart, listIndexStart + 1]);
  });

  it('refuses another type; absent and expired keys read as no list, and a write starts a new version', async () => {
    const target = keyspace.load(0, b('s'), now);
    keyspace.put(ctx, target, stringRecord(b('v'), 0, keyspace.newVersion(now)));
    expect(() => List.read(keyspace, 0, b('s'), now)).toThrow(WrongTypeError);
    expect(() => List.edit(keyspace, 0, b('s'), now)).toThrow(WrongTypeError);
    expect(List.read(keyspace, 0, b('none'), now)).toBeUndefined();
    push('l', ['old']);
    const oldVersion = recordVersion(engine.get(metadataKey(keyspace.physicalDb(0), b('l')))!);
    const expiring = keyspace.load(0, b('l'), now);
    const record = engine.get(expiring.metadataKey)!;
    const withExpiry = Buffer.from(record);
    writeUint64BE(withExpiry, 3, now + 10);
    keyspace.put(ctx, expiring, withExpiry);
    ctx.nowMs = now + 11;
    expect(List.read(keyspace, 0, b('l'), ctx.nowMs)).toBeUndefined();
    const fresh = push('l', ['new']);
    expect(fresh.existed).toBe(false);
    expect(recordVersion(engine.get(metadataKey(keyspace.physicalDb(0), b('l')))!)).toBeGreaterThan(oldVersion);
    expect(await contents('l')).toEqual(['new']);
  });

  it('ranges: point reads for short ones, one iterator for long ones, either direction', async () => {
    const values = Array.from({ length: 50 }, (_, index) => `v${index}`);
    push('l', values);
    const list = List.read(keyspace, 0, b('l'), ctx.nowMs)!;
    const short = list.range(3, 4);
    expect(short).toBeInstanceOf(Array); // synchronous on either engine
    expect((short as Buffer[]).map(String)).toEqual(values.slice(3, 7));
    expect((await list.range(0, 50)).map(String)).toEqual(values);
    expect((await list.range(49, 50, true)).map(String)).toEqual([...values].reverse());
    expect((await list.range(40, 20, true)).map(String)).toEqual(values.slice(21, 41).reverse());
    expect(await list.range(0, 0)).toEqual([]);
    const seen: number[] = [];
    await list.scan(47, false, (position) => void seen.push(position));
    await list.scan(2, true, (position) => void seen.push(position));
    await list.scan(50, false, () => {
      throw new Error('out of range: nothing to visit');
    });
    expect(seen).toEqual([47, 48, 49, 2, 1, 0]);
    // A count bounds the walk (the engine's range ends there), clipped at either end of the list.
    const counted: number[] = [];
    await list.scan(10, false, (position) => void counted.push(position), false, 3);
    await list.scan(10, true, (position) => void counted.push(position), false, 3);
    await list.scan(48, false, (position) => void counted.push(position), false, 5);
    await list.scan(1, true, (position) => void counted.push(position), false, 5);
    await list.scan(5, false, () => void counted.push(-1), false, 0);
    expect(counted).toEqual([10, 11, 12, 10, 9, 8, 48, 49, 1, 0]);
  });

  it('walks a long range in slices at a snapshot, either direction', async () => {
    const values = Array.from({ length: listRangeSlicedMin + 2000 }, (_, index) => `v${index}`);
    for (let start = 0; start < values.length; start += 1000) push('l', values.slice(start, start + 1000));
    await ctx.settle();
    const saved = { ...walkSlice };
    let pauses = 0;
    Object.assign(walkSlice, { entriesMin: 0, entriesMax: 500, durationMsMax: Infinity, pause: () => (pauses++, saved.pause()) });
    try {
      const list = List.read(keyspace, 0, b('l'), ctx.nowMs)!;
      const all = list.range(0, values.length);
      if (engine.kind === 'lsm') expect(all).toBeInstanceOf(Promise);
      expect((await all).map(String)).toEqual(values);
      expect(pauses).toBeGreaterThanOrEqual(values.length / 500 - 1);
      expect((await list.range(values.length - 1, values.length, true)).map(String)).toEqual([...values].reverse());
      expect((await list.range(100, listRangeSlicedMin + 1)).map(String)).toEqual(values.slice(100, 100 + listRangeSlicedMin + 1));
      expect((await list.range(values.length - 2, listRangeSlicedMin, true)).map(String)).toEqual(values.slice(values.length - 1 - listRangeSlicedMin, values.length - 1).reverse());
      expect(engine.stats().liveSnapshots).toBe(0);
    } finally {
      Object.assign(walkSlice, saved);
    }
  });

  it('pops from both ends, deletes small removals, and deletes the list when emptied', async () => {
    push('l', ['a', 'b', 'c', 'd']);
    let popped: string[] = [];
    edit('l', (list) => {
      popped = [list.pop('left'), list.pop('right')].map(String);
    });
    expect(popped).toEqual(['a', 'd']);
    expect(await raw('l')).toEqual([listIndexStart + 1, listIndexStart + 2]);
    edit('l', (list) => {
      list.pop('left');
      list.pop('left');
    });
    expect(engine.get(metadataKey(keyspace.physicalDb(0), b('l')))).toBeUndefined();
    expect(keyspace.dbSize(0)).toBe(0);
  });

  it('trims by moving head and tail, deleting what it removes up to the bound', async () => {
    push('l', ['a', 'b', 'c', 'd', 'e']);
    edit('l', (list) => list.trim(1, 2));
    expect(await contents('l')).toEqual(['b', 'c']);
    expect(await raw('l')).toEqual([listIndexStart + 1, listIndexStart + 2]);
    const count = listFreedDeletesMax + 1;
    push('big', Array.from({ length: count + 2 }, (_, index) => `e${index}`));
    ctx.batches.length = 0;
    edit('big', (list) => list.trim(count, 0));
    expect(ctx.batches[0]!.length).toBeLessThan(5); // metadata, counters: no deletes
    expect(await contents('big')).toEqual([`e${count}`, `e${count + 1}`]);
    expect(await raw('big')).toHaveLength(count + 2);
    if (harness.filters) {
      await ctx.settle();
      await engine.flush();
      await engine.compactRange();
      expect(await raw('big')).toEqual([listIndexStart + count, listIndexStart + count + 1]);
      // Indexes the filter reclaimed come back by writes: pushes at the head reuse them.
      push('big', ['x', 'y'], 'left');
      await ctx.settle();
      await engine.flush();
      await engine.compactRange();
      expect(await contents('big')).toEqual(['y', 'x', `e${count}`, `e${count + 1}`]);
      await engine.close();
      engine = await harness.open();
      keyspace = await openKeyspace(engine, { databases: 2 });
      ctx = testContext(engine, now);
      expect(await contents('big')).toEqual(['y', 'x', `e${count}`, `e${count + 1}`]);
    }
  });

  it('closes gaps on the scanned side: removals from the left rewrite before the last one, from the right after the first', async () => {
    const values = ['a', 'x', 'b', 'x', 'c', 'd', 'e'];
    push('left', values);
    push('right', values);
    const scanned = (position: number): Buffer => b(values[position]!);
    ctx.batches.length = 0;
    edit('left', (list) => list.removePositions([1, 3], scanned, 'left'));
    expect(await contents('left')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await raw('left')).toEqual([2, 3, 4, 5, 6].map((offset) => listIndexStart + offset)); // tail side untouched
    edit('right', (list) => list.removePositions([1, 3], scanned, 'right'));
    expect(await contents('right')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await raw('right')).toEqual([0, 1, 2, 3, 4].map((offset) => listIndexStart + offset)); // head side untouched
    expect(ctx.batches).toHaveLength(2); // one batch per command
    expect(ctx.batches[0]!.length).toBe(2 + 2 + 1); // 2 survivors (a, b) rewritten, 2 freed indexes deleted, the metadata
    edit('left', (list) => list.removePositions([0, 1, 2, 3, 4], (position) => b(['a', 'b', 'c', 'd', 'e'][position]!), 'left'));
    expect(engine.get(metadataKey(keyspace.physicalDb(0), b('left')))).toBeUndefined();
  });

  it('inserts by moving the elements before the insertion point one place towards the head', async () => {
    push('l', ['a', 'b', 'c']);
    const values = ['a', 'b', 'c'];
    edit('l', (list) => list.insertAt(2, b('X'), (position) => b(values[position]!)));
    expect(await contents('l')).toEqual(['a', 'b', 'X', 'c']);
    const now4 = ['a', 'b', 'X', 'c'];
    edit('l', (list) => list.insertAt(0, b('first'), (position) => b(now4[position]!)));
    edit('l', (list) => list.insertAt(list.length, b('last'), (position) => b(['first', ...now4][position]!)));
    expect(await contents('l')).toEqual(['first', 'a', 'b', 'X', 'c', 'last']);
    expect(await raw('l')).toHaveLength(6);
  });

  it('sets in place and rotates onto itself without losing the element', async () => {
    push('l', ['a', 'b']);
    edit('l', (list) => list.set(1, b('B')));
    edit('l', (list) => list.push(list.pop('left'), 'right'));
    expect(await contents('l')).toEqual(['B', 'a']);
    edit('l', (list) => list.push(list.pop('right'), 'left'));
    expect(await contents('l')).toEqual(['a', 'B']);
    expect(await raw('l')).toHaveLength(2);
  });

  it('refuses pushes past the ends of the index range', async () => {
    // A list whose head is at 0 and whose tail is at the limit (one element each side).
    const physDb = keyspace.physicalDb(0);
    const version = keyspace.newVersion(now);
    const target = keyspace.load(0, b('edge'), now);
    const batch = keyspace.begin();
    batch.put(subkey(physDb, b('edge'), version, field(0)), b('first'));
    keyspace.stagePut(batch, target, listRecord(0, version, 0, 1));
    keyspace.commit(ctx, batch);
    expect(() => List.edit(keyspace, 0, b('edge'), now).push(b('x'), 'left')).toThrow(LimitExceededError);
    expect(() => List.edit(keyspace, 0, b('edge'), now).insertAt(0, b('x'), () => b('first'))).toThrow(LimitExceededError);
    edit('edge', (list) => list.push(b('second'), 'right'));
    expect(await contents('edge')).toEqual(['first', 'second']);

    const high = keyspace.load(0, b('high'), now);
    const highBatch = keyspace.begin();
    highBatch.put(subkey(physDb, b('high'), version, field(listIndexLimit - 1)), b('last'));
    keyspace.stagePut(highBatch, high, listRecord(0, version, listIndexLimit - 1, listIndexLimit));
    keyspace.commit(ctx, highBatch);
    expect(() => List.edit(keyspace, 0, b('high'), now).push(b('x'), 'right')).toThrow(/index range is exhausted/);
    edit('high', (list) => list.push(b('before'), 'left'));
    expect(await contents('high')).toEqual(['before', 'last']);
  });

  it('reports damage: a size that disagrees with head and tail, a missing element', async () => {
    push('l', ['a', 'b', 'c']);
    const target = keyspace.load(0, b('l'), now);
    keyspace.put(ctx, target, withSize(target.stored!, 5));
    expect(() => List.read(keyspace, 0, b('l'), now)).toThrow(CorruptionError);
    keyspace.put(ctx, keyspace.load(0, b('l'), now), withSize(target.stored!, 3));
    const version = recordVersion(target.stored!);
    await engine.write(new WriteBatch().del(subkey(keyspace.physicalDb(0), b('l'), version, field(listIndexStart + 1))));
    const list = List.read(keyspace, 0, b('l'), now)!;
    expect(() => list.element(1)).toThrow(CorruptionError);
    await expect(Promise.resolve().then(() => list.scan(0, false, () => true))).rejects.toThrow(CorruptionError);
    await expect(Promise.resolve().then(() => list.scan(2, true, () => true))).rejects.toThrow(/element/);
    // A visit that stops before the gap sees no damage, nor one whose count ends before it.
    await list.scan(0, false, () => false);
    await list.scan(0, false, () => true, false, 1);
    await list.scan(2, true, () => true, false, 1);
    await expect(Promise.resolve().then(() => list.scan(0, false, () => true, false, 2))).rejects.toThrow(CorruptionError);
    await expect(Promise.resolve().then(() => list.scan(2, true, () => true, false, 2))).rejects.toThrow(CorruptionError);
  });
});
