// Sets in the keyspace (lib/keyspace/set.ts) on both engines: one batch per
// write with exact sizes, emptied sets deleted, SMOVE's two keys in one
// batch, the algebra (intersection walking the smallest set), the STORE
// forms, a set of 100,000 members (point operations stay correct; SPOP of a
// few and of all; DEL is one small batch and, on LsmEngine with the keyspace
// compaction filter, its subkeys are gone after flush + compactRange), and
// the uniformity of sampled random picks on large sets.

import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { metadataKey, prefixRange, subkey, subkeyPrefix } from '../../../lib/keyspace/key-encoding.js';
import { KeyType, collectionRecord, recordSize, recordVersion, stringRecord } from '../../../lib/keyspace/metadata.js';
import {
  loadSet,
  setAdd,
  setAreMembers,
  setCardinality,
  setDifference,
  setIntersection,
  setIsMember,
  setMembers,
  setMove,
  setPop,
  setRandomMembers,
  setRemove,
  setStore,
  setUnion,
} from '../../../lib/keyspace/set.js';
import { randomPickWalkMax } from '../../../lib/keyspace/collection.js';
import { WrongTypeError } from '../../../lib/errors.js';
import { keyspaceCases, entries, levelHarness, lsmHarness, type EngineHarness, type TestContext } from './keyspace-harness.js';

const t0 = 1_700_000_000_000;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const texts = (buffers: Buffer[]): string[] => buffers.map((buffer) => buffer.toString('latin1'));
const sortedTexts = (buffers: Buffer[]): string[] => texts(buffers).sort();

for (const harness of [lsmHarness(), levelHarness()] satisfies EngineHarness[]) {
  describe(`sets on ${harness.name}`, () => {
    let engine: Engine;
    let keyspace: Keyspace;
    let ctx: TestContext;
    keyspaceCases(harness, { databases: 2 }, t0, (current) => ({ engine, keyspace, ctx } = current));

    async function subkeys(key: string): Promise<number> {
      const record = keyspace.lookup(0, b(key), ctx.nowMs);
      if (record === undefined) return 0;
      const range = prefixRange(subkeyPrefix(keyspace.physicalDb(0), b(key), recordVersion(record)));
      return (await entries(engine, range.gte, range.lt)).length;
    }

    const add = (key: string, ...members: string[]): number => setAdd(keyspace, ctx, b(key), members.map(b));

    it('adds and removes members with exact sizes, empty values, one batch each', async () => {
      expect(add('s', 'a', 'b', 'a')).toBe(2);
      expect(add('s', 'a')).toBe(0);
      expect(ctx.batches).toHaveLength(1); // nothing written when nothing is added
      expect(setCardinality(keyspace, 0, b('s'), ctx.nowMs)).toBe(2);
      expect(setIsMember(keyspace, 0, b('s'), b('a'), ctx.nowMs)).toBe(true);
      expect(await setAreMembers(keyspace, 0, b('s'), [b('b'), b('z')], ctx.nowMs)).toEqual([true, false]);
      await ctx.settle();
      const range = prefixRange(subkeyPrefix(keyspace.physicalDb(0), b('s'), recordVersion(keyspace.lookup(0, b('s'), ctx.nowMs)!)));
      expect((await entries(engine, range.gte, range.lt)).map(([key, value]) => [key.subarray(range.gte.length).toString('latin1'), value.length])).toEqual([
        ['a', 0],
        ['b', 0],
      ]);
      expect(setRemove(keyspace, ctx, b('s'), [b('a'), b('a'), b('z')])).toBe(1);
      expect(setRemove(keyspace, ctx, b('s'), [b('b')])).toBe(1);
      expect(keyspace.lookup(0, b('s'), ctx.nowMs)).toBeUndefined();
      expect(keyspace.dbSize(0)).toBe(0);
    });

    it('moves a member between two sets in one batch', () => {
      add('from', 'a', 'b');
      const before = ctx.batches.length;
      expect(setMove(keyspace, ctx, b('from'), b('to'), b('a'))).toBe(true);
      expect(ctx.batches.length).toBe(before + 1);
      expect(setMove(keyspace, ctx, b('from'), b('to'), b('b'))).toBe(true);
      expect(keyspace.lookup(0, b('from'), ctx.nowMs)).toBeUndefined();
      expect(setCardinality(keyspace, 0, b('to'), ctx.nowMs)).toBe(2);
      expect(setMove(keyspace, ctx, b('from'), b('to'), b('a'))).toBe(false);
    });

    it('computes the algebra and stores results as new versions without TTL', async () => {
      add('s1', 'a', 'b', 'c');
      add('s2', 'b', 'c', 'd');
      expect(sortedTexts(await setIntersection(keyspace, 0, [b('s1'), b('s2')], ctx.nowMs))).toEqual(['b', 'c']);
      expect(await setIntersection(keyspace, 0, [b('s1'), b('s2')], ctx.nowMs, 1)).toHaveLength(1);
      expect(sortedTexts(await setUnion(keyspace, 0, [b('s1'), b('s2'), b('none')], ctx.nowMs))).toEqual(['a', 'b', 'c', 'd']);
      expect(sortedTexts(await setDifference(keyspace, 0, [b('s2'), b('s1')], ctx.nowMs))).toEqual(['d']);
      const stored = await setUnion(keyspace, 0, [b('s1'), b('s2')], ctx.nowMs);
      expect(setStore(keyspace, ctx, b('s1'), stored)).toBe(4);
      expect(sortedTexts(await setMembers(keyspace, 0, b('s1'), ctx.nowMs))).toEqual(['a', 'b', 'c', 'd']);
      expect(await subkeys('s1')).toBe(4);
      expect(setStore(keyspace, ctx, b('s1'), [])).toBe(0);
      expect(keyspace.lookup(0, b('s1'), ctx.nowMs)).toBeUndefined();
    });

    it('refuses other types with WrongTypeError, checking every key of the algebra', () => {
      const target = keyspace.load(0, b('str'), ctx.nowMs);
      keyspace.put(ctx, target, stringRecord(b('v'), 0, keyspace.newVersion(ctx.nowMs)));
      add('s', 'a');
      expect(() => add('str', 'a')).toThrow(WrongTypeError);
      expect(() => setIntersection(keyspace, 0, [b('none'), b('str')], ctx.nowMs)).toThrow(WrongTypeError);
      expect(() => setMove(keyspace, ctx, b('s'), b('str'), b('a'))).toThrow(WrongTypeError);
      expect(() => loadSet(keyspace, 0, b('str'), ctx.nowMs)).toThrow(WrongTypeError);
      expect(setMove(keyspace, ctx, b('none'), b('str'), b('a'))).toBe(false);
    });

    it('pops random members of a small set, all of them in the end', async () => {
      add('s', ...Array.from({ length: 10 }, (_, index) => `m${index}`));
      const popped = [...(await setPop(keyspace, ctx, b('s'), 3))];
      expect(new Set(texts(popped)).size).toBe(3);
      expect(setCardinality(keyspace, 0, b('s'), ctx.nowMs)).toBe(7);
      for (const member of popped) expect(setIsMember(keyspace, 0, b('s'), member, ctx.nowMs)).toBe(false);
      popped.push(...(await setPop(keyspace, ctx, b('s'), 100)));
      expect(sortedTexts(popped)).toEqual(Array.from({ length: 10 }, (_, index) => `m${index}`).sort());
      expect(keyspace.lookup(0, b('s'), ctx.nowMs)).toBeUndefined();
      expect(await setPop(keyspace, ctx, b('s'), 1)).toEqual([]);
    });

    describe('a set of 100,000 members', () => {
      const memberCount = 100_000;
      const member = (index: number): Buffer => b(`member:${index}`);

      beforeEach(async () => {
        for (let start = 0; start < memberCount; start += 5_000) {
          expect(setAdd(keyspace, ctx, b('big'), Array.from({ length: 5_000 }, (_, offset) => member(start + offset)))).toBe(5_000);
        }
        await ctx.settle();
      }, 120_000);

      it('keeps point operations correct; intersection walks the smallest set', async () => {
        expect(setCardinality(keyspace, 0, b('big'), ctx.nowMs)).toBe(memberCount);
        expect(setIsMember(keyspace, 0, b('big'), member(99_999), ctx.nowMs)).toBe(true);
        expect(setIsMember(keyspace, 0, b('big'), b('member:100000'), ctx.nowMs)).toBe(false);
        expect(setRemove(keyspace, ctx, b('big'), [member(1), member(2)])).toBe(2);
        expect(setAdd(keyspace, ctx, b('big'), [member(1), b('new')])).toBe(2);
        expect(setCardinality(keyspace, 0, b('big'), ctx.nowMs)).toBe(memberCount);
        add('small', 'member:5', 'member:77', 'nope');
        expect(sortedTexts(await setIntersection(keyspace, 0, [b('big'), b('small')], ctx.nowMs))).toEqual(['member:5', 'member:77']);
        expect(sortedTexts(await setDifference(keyspace, 0, [b('small'), b('big')], ctx.nowMs))).toEqual(['nope']);
        expect(setMove(keyspace, ctx, b('big'), b('small'), member(9))).toBe(true);
        await ctx.settle();
        expect(await subkeys('big')).toBe(memberCount - 1);
        expect(setCardinality(keyspace, 0, b('big'), ctx.nowMs)).toBe(memberCount - 1);
      }, 120_000);

      it('pops a few sampled members, then all of them with an O(1) delete', async () => {
        const popped = await setPop(keyspace, ctx, b('big'), 100);
        expect(new Set(texts(popped)).size).toBe(100);
        expect(setCardinality(keyspace, 0, b('big'), ctx.nowMs)).toBe(memberCount - 100);
        for (const name of popped.slice(0, 10)) expect(setIsMember(keyspace, 0, b('big'), name, ctx.nowMs)).toBe(false);
        await ctx.settle();
        expect(await subkeys('big')).toBe(memberCount - 100);
        const before = ctx.batches.length;
        const rest = await setPop(keyspace, ctx, b('big'), memberCount);
        expect(rest).toHaveLength(memberCount - 100);
        expect(ctx.batches.slice(before).map((batch) => batch.length)).toEqual([2]); // M delete + C
        expect(keyspace.lookup(0, b('big'), ctx.nowMs)).toBeUndefined();
      }, 120_000);

      it('DEL is one small batch; compaction reclaims every subkey (LsmEngine with the filter)', async () => {
        const target = keyspace.load(0, b('big'), ctx.nowMs);
        const before = ctx.batches.length;
        expect(keyspace.remove(ctx, target)).toBe(true);
        expect(ctx.batches.slice(before).map((batch) => batch.length)).toEqual([2]);
        expect(setIsMember(keyspace, 0, b('big'), member(5), ctx.nowMs)).toBe(false);
        await ctx.settle();
        if (!harness.filters) return;
        const range = prefixRange(subkeyPrefix(keyspace.physicalDb(0), b('big'), recordVersion(target.live!)));
        expect((await entries(engine, range.gte, range.lt)).length).toBe(memberCount);
        await engine.flush();
        await engine.compactRange();
        expect(await entries(engine, range.gte, range.lt)).toEqual([]);
      }, 120_000);

      it('samples random members close to uniformly', async () => {
        const picks = harness.filters ? 20_000 : 4_000;
        const buckets = new Array<number>(10).fill(0);
        const seen = new Set<string>();
        for (let done = 0; done < picks; done += 1_000) {
          const batch = await setRandomMembers(keyspace, 0, b('big'), ctx.nowMs, 1_000, false);
          expect(batch).toHaveLength(1_000);
          for (const name of texts(batch)) {
            const index = Number(name.slice('member:'.length));
            buckets[Math.floor(index / 10_000)]!++;
            seen.add(name);
          }
        }
        // Chi-square over 10 buckets of member numbers (9 degrees of freedom; 27.9 is the 0.001 tail
        // of a truly uniform picker). The trie walk is only approximately uniform when member names
        // differ in length ("member:7" vs "member:70000": their subtrees differ in size; see
        // docs/commands.md, "Sets"), and CI saw 37 once, so the bound is three times the 0.001
        // tail: it still fails a picker that favours a region (the first, window-based one scored
        // in the thousands here).
        const expected = picks / buckets.length;
        const chiSquare = buckets.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
        expect(chiSquare).toBeLessThan(3 * 27.9);
        // Uniform picks of k out of N hit about N (1 - e^(-k/N)) distinct members.
        const distinctExpected = memberCount * (1 - Math.exp(-picks / memberCount));
        expect(seen.size).toBeGreaterThan(distinctExpected * 0.95);
        expect(memberCount).toBeGreaterThan(randomPickWalkMax);
      }, 120_000);
    });

    it('keeps sizes and subkeys in step through random adds, removes and pops', async () => {
      const model = new Set<string>();
      for (let round = 0; round < 200; round++) {
        const names = Array.from({ length: 1 + (round % 5) }, (_, index) => `m${(round * 7 + index * 13) % 90}`);
        if (round % 3 === 2) {
          setRemove(keyspace, ctx, b('s'), names.map(b));
          for (const name of names) model.delete(name);
        } else if (round % 11 === 10) {
          for (const name of texts(await setPop(keyspace, ctx, b('s'), 4))) expect(model.delete(name)).toBe(true);
        } else {
          add('s', ...names);
          for (const name of names) model.add(name);
        }
        expect(setCardinality(keyspace, 0, b('s'), ctx.nowMs)).toBe(model.size);
      }
      await ctx.settle();
      expect(sortedTexts(await setMembers(keyspace, 0, b('s'), ctx.nowMs))).toEqual([...model].sort());
      const record = keyspace.lookup(0, b('s'), ctx.nowMs);
      expect(record === undefined ? 0 : recordSize(record)).toBe(await subkeys('s'));
    });
  });
}

describe('docs/format.md set example', () => {
  it('re-encodes every line of the marked block', () => {
    const doc = readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');
    const block = /<!-- set-hex-example:start -->\n```\n([\s\S]*?)```\n<!-- set-hex-example:end -->/.exec(doc);
    expect(block, 'the marked example block exists').not.toBeNull();
    const lines = block![1]!.split('\n').filter((line) => line.trim() !== '');
    const bytes = lines.map((line) => Buffer.from(/(?:key|val) ((?:[0-9a-f]{2} ?)+)$/.exec(line)![1]!.replace(/ /g, ''), 'hex'));
    const version = 1_700_000_000_000 * 1024 + 7;
    const key = b('tags');
    expect(bytes).toEqual([metadataKey(0, key), collectionRecord(KeyType.set, 0, version, 2), subkey(0, key, version, b('blue')), subkey(0, key, version, b('red'))]);
  });
});
