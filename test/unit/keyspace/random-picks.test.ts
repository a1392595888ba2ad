// Random picks (lib/keyspace/collection.ts, randomEntries; subkey-probe.ts)
// and the state they keep between calls, on both engines:
// - the probe's SeekMemo: bounds and jumps stay valid while keys are only
//   deleted, and no answer ever names a deleted key;
// - SPOP one member at a time drains a set whole, each member once, through
//   sampling (tombstones piling up), then the member pool;
// - a warm pool serves picks without a walk or a cursor, and anything added
//   or changed is seen at once (the pool is dropped);
// - sampled picks stay close to uniform over random hex keys, whose
//   alphabet ('0'-'9', 'a'-'f') leaves a gap a naive rejection fell into.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { randomPickPoolMax, randomPickSampleCost, randomPickSampleMax, randomPickSamplesMax, randomPickWalkMax } from '../../../lib/keyspace/collection.js';
import { SeekMemo, openProbe, seekMemoSkippedMin } from '../../../lib/keyspace/subkey-probe.js';
import { setAdd, setCardinality, setIsMember, setPop, setRandomMembers, setRemove } from '../../../lib/keyspace/set.js';
import { hashRandomFields, hashSet } from '../../../lib/keyspace/hash.js';
import { keyspaceCases, countCursors, levelHarness, lsmHarness, type EngineHarness, type TestContext } from './keyspace-harness.js';

const t0 = 1_700_000_000_000;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const texts = (buffers: readonly Buffer[]): string[] => buffers.map((buffer) => buffer.toString('latin1'));

describe('SubkeyProbe with a SeekMemo (LsmEngine)', () => {
  const memFs = new MemFileSystem();
  let engine: LsmEngine;
  let count = 0;
  const key = (n: number): Buffer => b(`p:${String(n).padStart(4, '0')}`);
  const range = { gte: b('p:'), lt: b('p;') };

  beforeEach(async () => {
    engine = await LsmEngine.open(`/probe/db-${++count}`, { fs: memFs, syncPolicy: 'no', disableAutoCompaction: true });
    const batch = new WriteBatch();
    for (let n = 0; n < 200; n++) batch.put(key(n), b(`v${n}`));
    await engine.write(batch);
  });

  afterEach(async () => {
    await engine.close();
  });

  async function remove(from: number, to: number): Promise<void> {
    const batch = new WriteBatch();
    for (let n = from; n < to; n++) batch.del(key(n));
    await engine.write(batch);
  }

  it('jumps over a run of tombstones it stepped over before, and never answers a deleted key', async () => {
    await remove(20, 60);
    const memo = new SeekMemo();
    let probe = openProbe(engine, range, memo);
    expect(texts([(probe.seek(key(20)) as [Buffer, Buffer])[0]])).toEqual(['p:0060']);
    expect(probe.skipped).toBe(80); // a tombstone over a put for each
    expect(probe.skipped).toBeGreaterThanOrEqual(seekMemoSkippedMin);
    expect((probe.seek(key(20)) as [Buffer, Buffer])[0]).toEqual(key(60));
    expect(probe.skipped).toBe(0); // from where it landed before
    probe.close();
    await remove(60, 70); // the landing itself goes: a later cursor must step on from it
    probe = openProbe(engine, range, memo);
    expect((probe.seek(key(20)) as [Buffer, Buffer])[0]).toEqual(key(70));
    expect(probe.skipped).toBe(20);
    expect((probe.next() as [Buffer, Buffer])[0]).toEqual(key(71));
    probe.close();
  });

  it('keeps bounds when asked, loose once keys go, and forgets them on request', async () => {
    const memo = new SeekMemo();
    let probe = openProbe(engine, range, memo);
    expect(probe.firstBound(key(100), true)).toEqual(key(100));
    expect(probe.lastBound(key(150), true)).toEqual(key(149));
    expect(probe.firstBound(key(120))).toEqual(key(120)); // not kept
    probe.close();
    await remove(100, 110);
    await remove(140, 150);
    probe = openProbe(engine, range, memo);
    // Bounds answer without seeking: the first key was at or before the live one, the last at or after.
    expect(probe.firstBound(key(100), true)).toEqual(key(100));
    expect(probe.lastBound(key(150), true)).toEqual(key(149));
    expect(probe.firstBound(key(120))).toEqual(key(120));
    // Seeks answer from the engine, starting at the bound.
    expect((probe.seek(key(100)) as [Buffer, Buffer])[0]).toEqual(key(110));
    expect((probe.seekLast(key(150)) as [Buffer, Buffer])[0]).toEqual(key(139));
    expect(probe.firstBound(key(100), true)).toEqual(key(110)); // the seek tightened the bound
    probe.forget([key(100)]);
    expect(probe.firstBound(key(100))).toEqual(key(110));
    probe.close();
    await remove(0, 200);
    probe = openProbe(engine, range, memo);
    expect(probe.seek(key(0))).toBeUndefined();
    expect(probe.seek(key(100))).toBeUndefined();
    expect(probe.seekLast()).toBeUndefined();
    expect(probe.seekLast(key(150))).toBeUndefined();
    probe.close();
  });
});

for (const harness of [lsmHarness(), levelHarness()] satisfies EngineHarness[]) {
  describe(`random picks on ${harness.name}`, () => {
    let engine: Engine;
    let keyspace: Keyspace;
    let ctx: TestContext;
    keyspaceCases(harness, { databases: 1 }, t0, (current) => ({ engine, keyspace, ctx } = current));

    const addMembers = (key: string, names: readonly string[]): void => {
      for (let start = 0; start < names.length; start += 1000) setAdd(keyspace, ctx, b(key), names.slice(start, start + 1000).map(b));
    };

    it('pops a set one member at a time down to nothing, each member once', async () => {
      const memberCount = harness.filters ? 3000 : 1200;
      const names = Array.from({ length: memberCount }, (_, index) => `m:${String((index * 7919) % 100_000).padStart(5, '0')}`);
      addMembers('s', names);
      await ctx.settle();
      const popped = new Set<string>();
      for (let left = memberCount; left > 0; left--) {
        const [member, ...more] = texts(await setPop(keyspace, ctx, b('s'), 1));
        expect(more).toEqual([]);
        expect(popped.has(member!)).toBe(false);
        popped.add(member!);
        if (left % 97 === 0) {
          expect(setCardinality(keyspace, 0, b('s'), ctx.nowMs)).toBe(left - 1);
          expect(setIsMember(keyspace, 0, b('s'), b(member!), ctx.nowMs)).toBe(false);
          await ctx.settle();
        }
      }
      expect([...popped].sort()).toEqual([...names].sort());
      expect(keyspace.lookup(0, b('s'), ctx.nowMs)).toBeUndefined();
      expect(await setPop(keyspace, ctx, b('s'), 1)).toEqual([]);
      expect(memberCount).toBeGreaterThan(randomPickWalkMax);
      expect(memberCount).toBeLessThan(randomPickPoolMax);
    }, 120_000);

    it('serves picks from a warm pool, and sees what is added or changed at once', async () => {
      const names = Array.from({ length: 300 }, (_, index) => `x${index}`);
      addMembers('s', names);
      await ctx.settle();
      // Enough picks for the pool (picks × randomPickSampleCost >= size); one more call to use it.
      const warmCalls = Math.ceil(names.length / randomPickSampleCost) + 1;
      for (let call = 0; call < warmCalls; call++) expect(await setRandomMembers(keyspace, 0, b('s'), ctx.nowMs, 1, true)).toHaveLength(1);
      const cursors = countCursors(engine);
      for (let call = 0; call < 20; call++) {
        const [picked] = texts(await setRandomMembers(keyspace, 0, b('s'), ctx.nowMs, 1, true));
        expect(names).toContain(picked);
      }
      expect(cursors.count).toBe(0); // neither a walk nor a descent: the pool
      // An add and a removal leave the size as it was: the add alone must drop the pool.
      expect(setAdd(keyspace, ctx, b('s'), [b('new')])).toBe(1);
      expect(setRemove(keyspace, ctx, b('s'), [b('x299')])).toBe(1);
      await setRandomMembers(keyspace, 0, b('s'), ctx.nowMs, 1, true);
      if (cursors.supported) expect(cursors.count).toBeGreaterThan(0);
      const members = [...names.filter((name) => name !== 'x299'), 'new'];
      expect(texts(await setRandomMembers(keyspace, 0, b('s'), ctx.nowMs, 1000, true)).sort()).toEqual(members.sort());
      expect(setRemove(keyspace, ctx, b('s'), [b('x7'), b('new')])).toBe(2);
      const left = texts(await setRandomMembers(keyspace, 0, b('s'), ctx.nowMs, 1000, true));
      expect(left).toHaveLength(names.length - 2);
      expect(left).not.toContain('x7');
      for (let call = 0; call < 50; call++) {
        const repeated = texts(await setRandomMembers(keyspace, 0, b('s'), ctx.nowMs, 3, false));
        expect(repeated).toHaveLength(3);
        expect(repeated).not.toContain('x7');
      }

      // Hash values: a changed value is what a pick answers.
      hashSet(keyspace, ctx, b('h'), names.flatMap((name) => [b(name), b(`old:${name}`)]));
      for (let call = 0; call < warmCalls; call++) await hashRandomFields(keyspace, 0, b('h'), ctx.nowMs, 1, true);
      hashSet(keyspace, ctx, b('h'), [b('x1'), b('new:x1')]);
      const fields = new Map((await hashRandomFields(keyspace, 0, b('h'), ctx.nowMs, 1000, true)).map(([field, value]) => [field.toString(), value.toString()]));
      expect(fields.size).toBe(names.length);
      expect(fields.get('x1')).toBe('new:x1');
      expect(fields.get('x2')).toBe('old:x2');
    }, 60_000);

    // A set larger than a sample, drained by SPOP past a refill: every pop a member popped once, the pops
    // drawn uniformly (rank buckets of what was left at a window's start), and most pops served by a sample
    // without a cursor. LevelEngine shares the code, slower.
    it.runIf(harness.filters)('pops a large set from uniform samples it walks for again as they run low', async () => {
      const memberCount = randomPickSampleMax + 8000;
      const popCount = memberCount - 4000;
      expect(memberCount).toBeGreaterThan(randomPickPoolMax);
      const names = Array.from({ length: memberCount }, (_, index) => `e:${String(index).padStart(6, '0')}`);
      addMembers('big', names);
      await ctx.settle();
      const left = new Set(names);
      const cursors = countCursors(engine);
      // Windows of pops whose ranks (among the members left at the window's start) are bucketed.
      const windows = [
        { from: 2000, to: 12_000 },
        { from: popCount - 10_000, to: popCount },
      ];
      const chiSquares: number[] = [];
      for (const { from, to } of windows) {
        while (memberCount - left.size < from) {
          const [member] = texts(await setPop(keyspace, ctx, b('big'), 1));
          expect(left.delete(member!)).toBe(true);
        }
        const rank = new Map([...left].sort().map((name, index) => [name, index]));
        const buckets = new Array<number>(10).fill(0);
        for (let pop = from; pop < to; pop++) {
          const [member] = texts(await setPop(keyspace, ctx, b('big'), 1));
          expect(left.delete(member!)).toBe(true);
          buckets[Math.floor((rank.get(member!)! * buckets.length) / rank.size)]!++;
        }
        const expected = (to - from) / buckets.length;
        chiSquares.push(buckets.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0));
      }
      expect(setCardinality(keyspace, 0, b('big'), ctx.nowMs)).toBe(left.size);
      for (const name of [...left].slice(0, 50)) expect(setIsMember(keyspace, 0, b('big'), b(name), ctx.nowMs)).toBe(true);
      // 27.9 is the 0.001 tail of a uniform picker's chi-square over 10 buckets; pops without replacement
      // spread more evenly still. A sample that kept the first members walked scores in the thousands.
      for (const chiSquare of chiSquares) expect(chiSquare).toBeLessThan(27.9);
      // Each pop outside a sample opens a cursor: the first picks, the walks, the refills.
      expect(cursors.count).toBeLessThan(popCount / 4);
    }, 120_000);

    it.runIf(harness.filters)(`keeps samples for at most ${randomPickSamplesMax} sets at a time`, async () => {
      const memberCount = randomPickSampleMax + 2000;
      const sets = Array.from({ length: randomPickSamplesMax + 1 }, (_, index) => `big${index}`);
      for (const set of sets) addMembers(set, Array.from({ length: memberCount }, (_, index) => `${set}:${String(index).padStart(6, '0')}`));
      await ctx.settle();
      const cursors = countCursors(engine);
      // Enough pops for each set to warm up (N / randomPickSampleCost) and walk its whole sample, then 500 more.
      const warmPops = Math.ceil(memberCount / randomPickSampleCost) + Math.ceil(memberCount / 256) + 50;
      const opened: number[] = [];
      for (const set of sets) {
        for (let pop = 0; pop < warmPops; pop++) expect(await setPop(keyspace, ctx, b(set), 1)).toHaveLength(1);
        const before = cursors.count;
        for (let pop = 0; pop < 500; pop++) expect(await setPop(keyspace, ctx, b(set), 1)).toHaveLength(1);
        opened.push(cursors.count - before);
      }
      // The first sets pop from their samples without a cursor; the last samples by descent, a cursor a pop.
      expect(opened.slice(0, randomPickSamplesMax)).toEqual(new Array<number>(randomPickSamplesMax).fill(0));
      expect(opened.at(-1)).toBe(500);
      expect(memberCount - warmPops - 500).toBeGreaterThan(randomPickPoolMax); // still too large for a whole pool
      for (const set of sets) expect(setCardinality(keyspace, 0, b(set), ctx.nowMs)).toBe(memberCount - warmPops - 500);
    }, 120_000);

    it.runIf(harness.filters)('lets a live set have the sample slot of a set deleted meanwhile', async () => {
      const memberCount = randomPickSampleMax + 2000;
      const sets = Array.from({ length: randomPickSamplesMax + 1 }, (_, index) => `gone${index}`);
      const warmPops = Math.ceil(memberCount / randomPickSampleCost) + Math.ceil(memberCount / 256) + 50;
      const cursors = countCursors(engine);
      const cursorsInPops = async (set: string): Promise<number> => {
        addMembers(set, Array.from({ length: memberCount }, (_, index) => `${set}:${String(index).padStart(6, '0')}`));
        await ctx.settle();
        for (let pop = 0; pop < warmPops; pop++) expect(await setPop(keyspace, ctx, b(set), 1)).toHaveLength(1);
        const before = cursors.count;
        for (let pop = 0; pop < 500; pop++) expect(await setPop(keyspace, ctx, b(set), 1)).toHaveLength(1);
        return cursors.count - before;
      };
      for (const set of sets.slice(0, -1)) {
        expect(await cursorsInPops(set)).toBe(0);
        // Abandoned mid-drain, as a producer replacing a batch would: DEL does not pass through the set's edits.
        keyspace.remove(ctx, keyspace.load(0, b(set), ctx.nowMs));
      }
      await ctx.settle();
      expect(await cursorsInPops(sets.at(-1)!), 'the last set pops from a sample, not by descent').toBe(0);
    }, 120_000);

    // A sample is kept in step with each SPOP before its write is known to
    // succeed. When that write fails, the members it meant to pop stay in the
    // set: the sample, which dropped them, must go, even after a later SREM
    // of as many other members makes the sizes agree again.
    it.runIf(harness.filters)('drops a sample kept in step with a write that failed', async () => {
      const memberCount = randomPickSampleMax + 8000;
      const names = Array.from({ length: memberCount }, (_, index) => `f:${String(index).padStart(6, '0')}`);
      addMembers('s', names);
      await ctx.settle();
      const left = new Set(names);
      const pop = async (): Promise<string> => {
        const [member] = texts(await setPop(keyspace, ctx, b('s'), 1));
        expect(left.delete(member!)).toBe(true);
        return member!;
      };
      const warmPops = Math.ceil(memberCount / randomPickSampleCost) + Math.ceil(memberCount / 256) + 50;
      for (let index = 0; index < warmPops; index++) await pop();
      const cursors = countCursors(engine);
      for (let index = 0; index < 100; index++) await pop();
      expect(cursors.count, 'pops come from a sample').toBe(0);

      const write = ctx.write;
      let refused: WriteBatch | undefined;
      ctx.write = (batch) => {
        refused = batch;
        throw new Error('write refused');
      };
      await expect(async () => setPop(keyspace, ctx, b('s'), 1000)).rejects.toThrow('write refused');
      ctx.write = write;
      const kept = new Set(refused!.ops.filter((op) => op.type === 'del').map((op) => op.key.toString('latin1').slice(-8)).filter((tail) => tail.startsWith('f:') && left.has(tail)));
      expect(kept.size).toBe(1000);
      const others = [...left].filter((name) => !kept.has(name)).slice(0, 1000);
      expect(setRemove(keyspace, ctx, b('s'), others.map(b))).toBe(1000);
      for (const name of others) left.delete(name);
      await ctx.settle();

      let keptPopped = 0;
      const pops = 15_000;
      // Uniform pops without replacement take kept * pops / left of them (hypergeometric): about 215 at
      // randomPickSampleMax 65,536, sd 13; the stale sample took none. Half the mean is 8 sd below it.
      const expected = (kept.size * pops) / left.size;
      for (let index = 0; index < pops; index++) if (kept.has(await pop())) keptPopped++;
      expect(keptPopped).toBeGreaterThan(expected / 2);
    }, 120_000);

    // Sampling only: above the pool's size, and in calls too small for a walk. LevelEngine shares the code, slower.
    it.runIf(harness.filters)('samples random hex members close to uniformly', async () => {
      const memberCount = 20_000;
      const picks = 20_000;
      const perCall = 500;
      expect(memberCount).toBeGreaterThan(randomPickPoolMax);
      expect(perCall * randomPickSampleCost).toBeLessThan(memberCount);
      let seed = 12_345;
      const nextRandom = (): number => {
        // mulberry32: a fixed, well-spread sequence of 32-bit values
        seed = (seed + 0x6d2b79f5) | 0;
        let value = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
        return ((value ^ (value >>> 14)) >>> 0) / 2 ** 32;
      };
      const names = new Set<string>();
      while (names.size < memberCount) names.add(Array.from({ length: 12 }, () => Math.floor(nextRandom() * 16).toString(16)).join(''));
      const sorted = [...names].sort();
      const rank = new Map(sorted.map((name, index) => [name, index]));
      addMembers('hex', sorted);
      await ctx.settle();
      const buckets = new Array<number>(10).fill(0);
      for (let done = 0; done < picks; done += perCall) {
        for (const name of texts(await setRandomMembers(keyspace, 0, b('hex'), ctx.nowMs, perCall, false))) {
          buckets[Math.floor((rank.get(name)! * buckets.length) / memberCount)]!++;
        }
      }
      // Chi-square over 10 rank buckets (9 degrees of freedom; 27.9 is the 0.001 tail of a uniform
      // picker), with the set test's allowance for the trie walk's approximation. A picker that
      // takes where its last probe landed after too many misses favours the 'a' subtrees (after
      // the gap between '9' and 'a'): the one before this change scored 700 to 830 here.
      const expected = picks / buckets.length;
      const chiSquare = buckets.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
      expect(chiSquare).toBeLessThan(3 * 27.9);
    }, 120_000);
  });
}
