// Hashes in the keyspace (lib/keyspace/hash.ts) and the collection machinery
// under them (lib/keyspace/collection.ts), on both engines: one batch per
// write with exact sizes, emptied hashes deleted, in-command duplicates, a
// hash of 100,000 fields (point operations stay correct; DEL is one small
// batch and, on LsmEngine with the keyspace compaction filter, its subkeys
// are gone after flush + compactRange), random picks (exact and sampled),
// scan cursors; and the helpers (run(), randomKeyBetween()) on their own.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { metadataKey, prefixRange, subkey, subkeyPrefix } from '../../../lib/keyspace/key-encoding.js';
import { KeyType, collectionRecord, recordSize, recordVersion, stringRecord, withExpire } from '../../../lib/keyspace/metadata.js';
import { hashDelete, hashEntries, hashGet, hashGetMany, hashIncrBy, hashIncrByFloat, hashLength, hashRandomFields, hashSet, loadHash } from '../../../lib/keyspace/hash.js';
import { randomKeyBetween, randomPickWalkMax, scanCollection, type CollectionEntry } from '../../../lib/keyspace/collection.js';
import { drive as run, wait, type Steps } from '../../../lib/keyspace/walk.js';
import { parseLongDouble } from '../../../lib/keyspace/numbers.js';
import { WrongTypeError } from '../../../lib/errors.js';
import { keyspaceCases, entries, levelHarness, lsmHarness, type EngineHarness, type TestContext } from './keyspace-harness.js';

const t0 = 1_700_000_000_000;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const text = (buffer: Buffer | undefined): string | undefined => buffer?.toString('latin1');

for (const harness of [lsmHarness(), levelHarness()] satisfies EngineHarness[]) {
  describe(`hashes on ${harness.name}`, () => {
    let engine: Engine;
    let keyspace: Keyspace;
    let ctx: TestContext;
    keyspaceCases(harness, { databases: 2, scanCursorSlots: 4 }, t0, (current) => ({ engine, keyspace, ctx } = current));

    /** Subkeys stored under the live version of `key`. */
    async function subkeys(key: string): Promise<number> {
      const record = keyspace.lookup(0, b(key), ctx.nowMs);
      if (record === undefined) return 0;
      const range = prefixRange(subkeyPrefix(keyspace.physicalDb(0), b(key), recordVersion(record)));
      return (await entries(engine, range.gte, range.lt)).length;
    }

    it('writes fields and the size in one batch, and reads them back', async () => {
      expect(hashSet(keyspace, ctx, b('h'), [b('a'), b('1'), b('b'), b('2'), b('a'), b('3')])).toBe(2);
      expect(ctx.batches).toHaveLength(1);
      expect(text(hashGet(keyspace, 0, b('h'), b('a'), ctx.nowMs))).toBe('3');
      expect((await hashGetMany(keyspace, 0, b('h'), [b('b'), b('z')], ctx.nowMs)).map(text)).toEqual(['2', undefined]);
      expect(hashLength(keyspace, 0, b('h'), ctx.nowMs)).toBe(2);
      expect(recordSize(keyspace.lookup(0, b('h'), ctx.nowMs)!)).toBe(2);
      expect(await subkeys('h')).toBe(2);
      const all = await hashEntries(keyspace, 0, b('h'), ctx.nowMs);
      expect(all.map(([field, value]) => `${text(field)}=${text(value)}`)).toEqual(['a=3', 'b=2']);
    });

    it('HSETNX semantics keep existing fields, also within one call', () => {
      hashSet(keyspace, ctx, b('h'), [b('a'), b('1')]);
      expect(hashSet(keyspace, ctx, b('h'), [b('a'), b('x'), b('c'), b('y'), b('c'), b('z')], true)).toBe(1);
      expect(text(hashGet(keyspace, 0, b('h'), b('a'), ctx.nowMs))).toBe('1');
      expect(text(hashGet(keyspace, 0, b('h'), b('c'), ctx.nowMs))).toBe('y');
    });

    it('deletes fields, writes nothing when nothing is removed, and deletes an emptied hash', async () => {
      hashSet(keyspace, ctx, b('h'), [b('a'), b('1'), b('b'), b('2')]);
      expect(hashDelete(keyspace, ctx, b('h'), [b('z')])).toBe(0);
      expect(hashDelete(keyspace, ctx, b('nokey'), [b('z')])).toBe(0);
      expect(ctx.batches).toHaveLength(1);
      expect(hashDelete(keyspace, ctx, b('h'), [b('a'), b('a')])).toBe(1);
      expect(hashDelete(keyspace, ctx, b('h'), [b('b')])).toBe(0 + 1);
      expect(keyspace.lookup(0, b('h'), ctx.nowMs)).toBeUndefined();
      expect(keyspace.dbSize(0)).toBe(0);
      await ctx.settle();
      expect(await subkeys('h')).toBe(0);
    });

    it('increments integers and floats, refusing what Redis refuses', () => {
      expect(hashIncrBy(keyspace, ctx, b('h'), b('n'), 41)).toBe(41);
      expect(hashIncrBy(keyspace, ctx, b('h'), b('n'), 9_223_372_036_854_775_000n)).toBe(9_223_372_036_854_775_041n);
      expect(hashIncrBy(keyspace, ctx, b('h'), b('n'), 1_000)).toBe('overflow');
      hashSet(keyspace, ctx, b('h'), [b('s'), b('1.5')]);
      expect(hashIncrBy(keyspace, ctx, b('h'), b('s'), 1)).toBe('not-integer');
      expect(hashIncrByFloat(keyspace, ctx, b('h'), b('s'), parseLongDouble(b('0.25'))!)).toEqual({ text: '1.75' });
      hashSet(keyspace, ctx, b('h'), [b('t'), b('text')]);
      expect(hashIncrByFloat(keyspace, ctx, b('h'), b('t'), parseLongDouble(b('1'))!)).toBe('not-float');
      expect(text(hashGet(keyspace, 0, b('h'), b('n'), ctx.nowMs))).toBe('9223372036854775041');
    });

    it('refuses other types with WrongTypeError and leaves them alone', () => {
      const target = keyspace.load(0, b('s'), ctx.nowMs);
      keyspace.put(ctx, target, stringRecord(b('v'), 0, keyspace.newVersion(ctx.nowMs)));
      expect(() => hashSet(keyspace, ctx, b('s'), [b('a'), b('1')])).toThrow(WrongTypeError);
      expect(() => hashGet(keyspace, 0, b('s'), b('a'), ctx.nowMs)).toThrow(WrongTypeError);
      expect(() => loadHash(keyspace, 0, b('s'), ctx.nowMs)).toThrow(WrongTypeError);
      expect(keyspace.typeName(0, b('s'), ctx.nowMs)).toBe('string');
    });

    it('starts a new version when writing to an expired hash, so its old fields stay dead', async () => {
      hashSet(keyspace, ctx, b('h'), [b('old'), b('1')]);
      const before = keyspace.lookup(0, b('h'), ctx.nowMs)!;
      const target = keyspace.load(0, b('h'), ctx.nowMs);
      keyspace.put(ctx, target, withExpire(before, ctx.nowMs + 10));
      ctx.nowMs += 11;
      expect(hashGet(keyspace, 0, b('h'), b('old'), ctx.nowMs)).toBeUndefined();
      expect(hashSet(keyspace, ctx, b('h'), [b('new'), b('2')])).toBe(1);
      const after = keyspace.lookup(0, b('h'), ctx.nowMs)!;
      expect(recordVersion(after)).toBeGreaterThan(recordVersion(before));
      expect((await hashEntries(keyspace, 0, b('h'), ctx.nowMs)).map(([field]) => text(field))).toEqual(['new']);
      expect(keyspace.dbSize(0)).toBe(1);
    });

    it('scans with cursors from the keyspace table; a forgotten cursor starts over', async () => {
      hashSet(keyspace, ctx, b('h'), Array.from({ length: 20 }, (_, index) => [b(`f${String(index).padStart(2, '0')}`), b('v')]).flat());
      const hash = loadHash(keyspace, 0, b('h'), ctx.nowMs);
      const first = await scanCollection(keyspace, hash, 0, { count: 5 });
      expect(first.entries.map(([field]) => text(field))).toEqual(['f00', 'f01', 'f02', 'f03', 'f04']);
      const second = await scanCollection(keyspace, hash, first.cursor, { count: 5 });
      expect(text(second.entries[0]![0])).toBe('f05');
      for (let index = 0; index < 4; index++) await scanCollection(keyspace, hash, 0, { count: 1 }); // the ring holds 4 slots
      const restarted = await scanCollection(keyspace, hash, second.cursor, { count: 5 });
      expect(text(restarted.entries[0]![0])).toBe('f00');
      const matched = await scanCollection(keyspace, hash, 0, { count: 100, match: b('f1?') });
      expect(matched.entries.map(([field]) => text(field))).toEqual(['f10', 'f11', 'f12', 'f13', 'f14', 'f15', 'f16', 'f17', 'f18', 'f19']);
      expect(matched.cursor).toBe(0);
    });

    it('scans past many removed fields a bounded number of tombstones per call, and still finds every live one', async () => {
      const removed = Array.from({ length: 2500 }, (_, index) => b(`d${String(index).padStart(5, '0')}`));
      hashSet(keyspace, ctx, b('h'), [b('a-live'), b('1'), ...removed.flatMap((field) => [field, b('x')]), b('z-live'), b('2')]);
      await ctx.settle();
      for (let index = 0; index < removed.length; index += 100) hashDelete(keyspace, ctx, b('h'), removed.slice(index, index + 100));
      await ctx.settle();
      const hash = loadHash(keyspace, 0, b('h'), ctx.nowMs);
      const found: string[] = [];
      let cursor = 0;
      let calls = 0;
      do {
        const result = await scanCollection(keyspace, hash, cursor, { count: 1 });
        found.push(...result.entries.map(([field]) => field.toString('latin1')));
        cursor = result.cursor;
        calls++;
      } while (cursor !== 0 && calls < 1000);
      expect(found).toEqual(['a-live', 'z-live']);
      // COUNT 1 passes at most 100 tombstones a call on LsmEngine; LevelDB skips them inside its iterator.
      if (harness.name.startsWith('LsmEngine')) expect(calls).toBeGreaterThanOrEqual(25);
    });

    it('picks small hashes uniformly (exact walk)', async () => {
      const fields = Array.from({ length: 8 }, (_, index) => `f${index}`);
      hashSet(keyspace, ctx, b('h'), fields.flatMap((field) => [b(field), b(`v-${field}`)]));
      const counts = new Map<string, number>();
      const picks = 8_000;
      for (let index = 0; index < picks; index++) {
        const [picked] = await hashRandomFields(keyspace, 0, b('h'), ctx.nowMs, 1, true);
        expect(text(picked![1])).toBe(`v-${text(picked![0])}`);
        counts.set(text(picked![0])!, (counts.get(text(picked![0])!) ?? 0) + 1);
      }
      // Chi-square with 7 degrees of freedom: 24.3 is the 0.001 tail.
      const expected = picks / fields.length;
      const chiSquare = fields.reduce((sum, field) => sum + ((counts.get(field) ?? 0) - expected) ** 2 / expected, 0);
      expect(chiSquare).toBeLessThan(24.3);
      const distinct = await hashRandomFields(keyspace, 0, b('h'), ctx.nowMs, 5, true);
      expect(new Set(distinct.map(([field]) => text(field))).size).toBe(5);
      expect(await hashRandomFields(keyspace, 0, b('h'), ctx.nowMs, 20, true)).toHaveLength(8);
      expect(await hashRandomFields(keyspace, 0, b('h'), ctx.nowMs, 20, false)).toHaveLength(20);
      expect(await hashRandomFields(keyspace, 0, b('nokey'), ctx.nowMs, 5, true)).toEqual([]);
    });

    describe('a hash of 100,000 fields', () => {
      const fieldCount = 100_000;
      const field = (index: number): Buffer => b(`field:${index}`);

      beforeEach(async () => {
        for (let start = 0; start < fieldCount; start += 5_000) {
          const pairs: Buffer[] = [];
          for (let index = start; index < start + 5_000; index++) pairs.push(field(index), b(`value:${index}`));
          expect(hashSet(keyspace, ctx, b('big'), pairs)).toBe(5_000);
        }
        await ctx.settle();
      }, 120_000);

      it('keeps point operations correct and each one a small batch', async () => {
        expect(hashLength(keyspace, 0, b('big'), ctx.nowMs)).toBe(fieldCount);
        for (const index of [0, 1, 99_999, 54_321, 77_777]) expect(text(hashGet(keyspace, 0, b('big'), field(index), ctx.nowMs))).toBe(`value:${index}`);
        expect(hashGet(keyspace, 0, b('big'), b('field:100000'), ctx.nowMs)).toBeUndefined();
        const before = ctx.batches.length;
        expect(hashSet(keyspace, ctx, b('big'), [field(5), b('changed'), b('extra'), b('x')])).toBe(1);
        expect(hashDelete(keyspace, ctx, b('big'), [field(6), field(7)])).toBe(2);
        expect(hashIncrBy(keyspace, ctx, b('big'), b('counter'), 3)).toBe(3);
        expect(ctx.batches.slice(before).map((batch) => batch.length)).toEqual([3, 3, 2]); // subkeys + M (no C: the key count does not move)
        expect(hashLength(keyspace, 0, b('big'), ctx.nowMs)).toBe(fieldCount);
        expect(text(hashGet(keyspace, 0, b('big'), field(5), ctx.nowMs))).toBe('changed');
        await ctx.settle();
        await engine.flush();
        expect(text(hashGet(keyspace, 0, b('big'), field(99_998), ctx.nowMs))).toBe('value:99998');
        expect(await subkeys('big')).toBe(fieldCount);
      }, 120_000);

      it('samples random fields by seeking: members with their values, distinct when asked', async () => {
        const picks = await hashRandomFields(keyspace, 0, b('big'), ctx.nowMs, 200, true);
        expect(picks).toHaveLength(200);
        expect(new Set(picks.map(([name]) => text(name))).size).toBe(200);
        for (const [name, value] of picks) expect(text(value)).toBe(`value:${text(name)!.slice('field:'.length)}`);
        const repeated = await hashRandomFields(keyspace, 0, b('big'), ctx.nowMs, 300, false);
        expect(repeated).toHaveLength(300);
        // Spread: picks land all over the key range, not in one window.
        const buckets = new Set(repeated.map(([name]) => Math.floor(Number(text(name)!.slice('field:'.length)) / 10_000)));
        expect(buckets.size).toBeGreaterThanOrEqual(8);
        expect(fieldCount).toBeGreaterThan(randomPickWalkMax);
      }, 120_000);

      it('DEL writes one small batch at once; compaction reclaims every subkey (LsmEngine with the filter)', async () => {
        const target = keyspace.load(0, b('big'), ctx.nowMs);
        const before = ctx.batches.length;
        const started = performance.now();
        expect(keyspace.remove(ctx, target)).toBe(true);
        expect(performance.now() - started).toBeLessThan(50);
        expect(ctx.batches.slice(before).map((batch) => batch.length)).toEqual([2]); // M delete + C
        expect(hashLength(keyspace, 0, b('big'), ctx.nowMs)).toBe(0);
        await ctx.settle();
        const version = recordVersion(target.live!);
        const range = prefixRange(subkeyPrefix(keyspace.physicalDb(0), b('big'), version));
        if (!harness.filters) return;
        expect((await entries(engine, range.gte, range.lt)).length).toBe(fieldCount); // dead but still stored
        await engine.flush();
        await engine.compactRange();
        expect(await entries(engine, range.gte, range.lt)).toEqual([]);
        const raw: CollectionEntry[] = [];
        const iterator = engine.iterator({ gte: range.gte, ...(range.lt === undefined ? {} : { lt: range.lt }) });
        for await (const entry of iterator) raw.push(entry);
        expect(raw).toEqual([]);
      }, 120_000);
    });
  });
}

describe('collection helpers', () => {
  it('randomKeyBetween stays within its bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }), (first, second) => {
        const [low, high] = Buffer.compare(Buffer.from(first), Buffer.from(second)) <= 0 ? [Buffer.from(first), Buffer.from(second)] : [Buffer.from(second), Buffer.from(first)];
        const key = randomKeyBetween(low, high);
        expect(Buffer.compare(key, low)).toBeGreaterThanOrEqual(0);
        expect(Buffer.compare(key, high)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('run() stays synchronous until a step yields a promise, and passes errors back into the steps', async () => {
    function* steps(values: (number | Promise<number>)[]): Steps<number> {
      let sum = 0;
      for (const value of values) sum += yield* wait(value);
      return sum;
    }
    expect(run(steps([1, 2, 3]))).toBe(6);
    const pending = run(steps([1, Promise.resolve(2), 3]));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toBe(6);
    function* guarded(): Steps<string> {
      try {
        yield* wait(Promise.reject(new Error('boom')));
        return 'not reached';
      } catch (error) {
        return (error as Error).message;
      }
    }
    expect(await run(guarded())).toBe('boom');
    await expect(run(steps([Promise.reject(new Error('unhandled'))]))).rejects.toThrow('unhandled');
  });
});

describe('docs/format.md hash example', () => {
  it('re-encodes every line of the marked block', () => {
    const doc = readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');
    const block = /<!-- hash-hex-example:start -->\n```\n([\s\S]*?)```\n<!-- hash-hex-example:end -->/.exec(doc);
    expect(block, 'the marked example block exists').not.toBeNull();
    const lines = block![1]!.split('\n').filter((line) => line.trim() !== '');
    const bytes = lines.map((line) => Buffer.from(/(?:key|val) ((?:[0-9a-f]{2} ?)+)$/.exec(line)![1]!.replace(/ /g, ''), 'hex'));
    const version = 1_700_000_000_000 * 1024 + 6;
    const key = b('user:1');
    expect(bytes).toEqual([
      metadataKey(0, key),
      collectionRecord(KeyType.hash, 0, version, 2),
      subkey(0, key, version, b('name')),
      b('ann'),
      subkey(0, key, version, b('visits')),
      b('42'),
    ]);
  });
});
