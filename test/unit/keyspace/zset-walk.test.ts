// lib/keyspace/zset.ts, long walks (Walk, walkSlice) on both engines: a rank,
// a count, a range with an offset and a rank range over a set
// far larger than one slice answer what a synchronous walk answers, pausing
// between slices; what is written (or flushed, compacted, deleted) during a
// pause never shows in the answer, which is the set as the walk began; the
// snapshot is released on every path, a failed pause included.
//
// The slice budget is lowered to a few dozen entries (and the clock taken out
// of it) so a small set makes many slices; `pause` is replaced to count the
// pauses and, in the snapshot cases, to hold the walk until the test has
// written. Set size: SILT_ZSET_WALK_MEMBERS (default 2,000).

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import type { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { SortedSet, SortedSetWriter, type ScoredMember } from '../../../lib/keyspace/zset.js';
import { walkSlice } from '../../../lib/keyspace/walk.js';
import { checkInvariants, levelHarness, lsmHarness, openKeyspace, testContext, type EngineHarness, type TestContext } from './keyspace-harness.js';

const t0 = 1_700_000_000_000;
const members = Number(process.env.SILT_ZSET_WALK_MEMBERS ?? 2000);
const sliceEntries = 50;
const middle = Math.floor(members / 2);
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
/** Member `index` scores `index`, so member order, score order and rank agree. */
const member = (index: number): string => `m:${String(index).padStart(7, '0')}`;
const names = (list: readonly ScoredMember[]): string[] => list.map((entry) => entry.member.toString('latin1'));
const all = { min: -Infinity, max: Infinity, minExclusive: false, maxExclusive: false };
const everyMember = { min: { kind: 'min' as const }, max: { kind: 'max' as const } };

const engines: [string, () => EngineHarness][] = [
  ['LsmEngine', lsmHarness],
  ['LevelEngine', levelHarness],
];

const defaults = { ...walkSlice };

/** A gate the pause waits on: the walk stops at its first pause until open() is called. */
interface Gate {
  /** Resolves when the walk reaches its first pause. */
  reached: Promise<void>;
  open(): void;
}

describe.each(engines)('long sorted-set walks pause between slices on a snapshot (%s)', (_name, makeEngine) => {
  const engineHarness = makeEngine();
  let engine: Engine;
  let keyspace: Keyspace;
  let ctx: TestContext;
  let pauses = 0;

  beforeEach(async () => {
    engineHarness.reset();
    engine = await engineHarness.open();
    keyspace = await openKeyspace(engine);
    ctx = testContext(engine, t0);
    for (let start = 0; start < members; start += 1000) {
      const writer = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
      for (let index = start; index < Math.min(members, start + 1000); index++) writer.add(b(member(index)), index);
      writer.commit(ctx);
    }
    await ctx.settle();
    pauses = 0;
    Object.assign(walkSlice, { entriesMin: 0, entriesMax: sliceEntries, durationMsMax: Infinity });
    walkSlice.pause = () => {
      pauses++;
      return defaults.pause();
    };
  });

  afterEach(async () => {
    Object.assign(walkSlice, defaults);
    await ctx.settle();
    expect(engine.stats().liveSnapshots).toBe(0);
    expect(await checkInvariants(engine, keyspace)).toBe('');
    await engine.close();
  });

  afterAll(() => engineHarness.cleanup());

  function read(): SortedSet {
    const zset = SortedSet.read(keyspace, 0, b('z'), ctx.nowMs);
    expect(zset).toBeDefined();
    return zset!;
  }

  /** Holds the walk at its first pause; later pauses go on at once. */
  function gate(): Gate {
    let reached!: () => void;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const gateReached = new Promise<void>((resolve) => (reached = resolve));
    let first = true;
    walkSlice.pause = () => {
      pauses++;
      if (!first) return defaults.pause();
      first = false;
      reached();
      return opened;
    };
    return { reached: gateReached, open };
  }

  /** Changes during a pause: members below every rank, one removed, one moved to the front. */
  async function rewrite(): Promise<void> {
    const writer = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
    writer.add(b('early-1'), -1);
    writer.add(b('early-2'), -2);
    writer.remove(b(member(0)));
    writer.add(b(member(middle + 1)), -10);
    writer.commit(ctx);
    await ctx.settle();
  }

  it('charges the removed members it passes to its slices, and answers as if they were never there', async () => {
    // All but the first and last 10 members removed: their tombstones lie between the ends of every walk.
    for (let start = 10; start < members - 10; start += 500) {
      const writer = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
      for (let index = start; index < Math.min(members - 10, start + 500); index++) writer.remove(b(member(index)));
      writer.commit(ctx);
    }
    await ctx.settle();
    Object.assign(walkSlice, { hiddenPerIterator: 20 });
    const zset = read();
    // Whether the walk crosses the tombstones: a rank walks from both ends and stops at the nearer one.
    const cases: [name: string, walk: () => unknown, expected: unknown, crosses: boolean][] = [
      ['rank', () => zset.rank(b(member(members - 5)), false), { rank: 15, score: members - 5 }, true],
      ['reverse rank', () => zset.rank(b(member(5)), true), { rank: 14, score: 5 }, false],
      ['count by score', () => zset.countByScore(all), 20, true],
      ['range by score, offset', () => zset.rangeByScore(all, { reverse: false, offset: 10, limit: 1 }), [member(members - 10)], true],
      ['reverse range by score, offset', () => zset.rangeByScore(all, { reverse: true, offset: 10, limit: 1 }), [member(9)], true],
    ];
    for (const [name, walk, expected, crosses] of cases) {
      pauses = 0;
      const answer = walk();
      const settled = await answer;
      const shown = Array.isArray(settled) && typeof settled[0] === 'object' ? names(settled as ScoredMember[]) : settled;
      expect(shown, name).toEqual(expected);
      // LevelDB skips tombstones inside its iterator: only LsmEngine's walks can charge them.
      if (engine.kind === 'lsm' && crosses) {
        expect(answer, `${name} answers a Promise once it pauses`).toBeInstanceOf(Promise);
        expect(pauses, `${name} pauses among the tombstones`).toBeGreaterThanOrEqual(Math.floor((members - 20) / 20 / sliceEntries) * 2);
      }
    }
  });

  it('answers what a synchronous walk answers, in many slices', async () => {
    const zset = read();
    const cases: [name: string, walk: () => unknown, expected: unknown, walked: number][] = [
      ['rank', () => zset.rank(b(member(middle)), false), { rank: middle, score: middle }, middle],
      ['reverse rank', () => zset.rank(b(member(middle)), true), { rank: members - 1 - middle, score: middle }, middle],
      ['count by score', () => zset.countByScore(all), members, members],
      ['count by lex', () => zset.countByLex(everyMember), members, members],
      ['range by score, offset', () => zset.rangeByScore(all, { reverse: false, offset: middle, limit: 2 }), [member(middle), member(middle + 1)], middle],
      ['range by rank', () => zset.rangeByRank(middle, middle + 1), [member(middle), member(middle + 1)], middle],
    ];
    // Each case walks at least `walked` entries, some chunkEntries (64) at a time.
    for (const [name, walk, expected, walked] of cases) {
      pauses = 0;
      const answer = walk();
      if (engine.kind === 'lsm') expect(answer, `${name} answers a Promise once it pauses`).toBeInstanceOf(Promise);
      const settled = await answer;
      const shown = Array.isArray(settled) && typeof settled[0] === 'object' ? names(settled as ScoredMember[]) : settled;
      expect(shown, name).toEqual(expected);
      expect(pauses, `${name} pauses about once a slice`).toBeGreaterThanOrEqual(Math.floor(walked / sliceEntries / 2) - 1);
    }
    expect(names(await zset.rangeByScore(all, { reverse: true, offset: middle, limit: 1 }))).toEqual([member(members - 1 - middle)]);
    expect(names(await zset.rangeByLex(everyMember, { reverse: false, offset: middle, limit: 1 }))).toEqual([member(middle)]);
    expect(names(await zset.random(members, true))).toHaveLength(members);
    // Random picks of a large set sample its member keys: no walk (which would pause members / sliceEntries
    // times); the 5 descents are charged a few tens of entries in all.
    pauses = 0;
    const picked = await zset.random(5, true);
    expect(pauses, 'random picks do not walk').toBeLessThanOrEqual(2);
    expect(new Set(names(picked)).size).toBe(5);
    for (const entry of picked) expect(entry.score).toBe(Number(entry.member.toString('latin1').slice(2)));
  });

  it('stays synchronous on LsmEngine while a walk fits in one slice', async () => {
    if (engine.kind !== 'lsm') return;
    walkSlice.entriesMax = 500;
    const zset = read();
    expect(zset.rank(b(member(10)), false)).toEqual({ rank: 10, score: 10 });
    expect(zset.countByScore({ min: 5, max: 404, minExclusive: false, maxExclusive: false })).toBe(400);
    expect(pauses).toBe(0);
    const long = zset.countByScore(all);
    expect(long).toBeInstanceOf(Promise);
    expect(await long).toBe(members);
    expect(pauses).toBe(Math.floor(members / 512));
  });

  const snapshotCases: [name: string, walk: (zset: SortedSet) => Promise<unknown>, before: unknown, after: unknown][] = [
    ['rank', async (zset) => (await zset.rank(b(member(middle)), false))?.rank, middle, middle + 2],
    ['reverse rank', async (zset) => (await zset.rank(b(member(middle)), true))?.rank, members - 1 - middle, members - 2 - middle],
    ['count by score', async (zset) => zset.countByScore(all), members, members + 1],
    ['range by score with an offset', async (zset) => names(await zset.rangeByScore(all, { reverse: false, offset: middle, limit: 1 })), [member(middle)], [member(middle - 2)]],
    ['range by rank', async (zset) => names(await zset.rangeByRank(middle, middle)), [member(middle)], [member(middle - 2)]],
  ];

  it.each(snapshotCases)('%s: answers the set as the walk began, whatever is written during its pauses', async (_case, walk, before, after) => {
    const held = gate();
    const answer = walk(read());
    await held.reached;
    await rewrite();
    held.open();
    expect(await answer).toEqual(before);
    expect(await walk(read())).toEqual(after);
  });

  it('keeps its snapshot across a flush, a compaction and the deletion of the set', async () => {
    const held = gate();
    const answer = read().rank(b(member(middle)), false);
    await held.reached;
    await rewrite();
    keyspace.remove(ctx, keyspace.load(0, b('z'), ctx.nowMs));
    await ctx.settle();
    if (engine.kind === 'lsm') {
      await engine.flush();
      await engine.compactRange();
    }
    expect(SortedSet.read(keyspace, 0, b('z'), ctx.nowMs)).toBeUndefined();
    held.open();
    expect(await answer).toEqual({ rank: middle, score: middle });
  });

  it('releases its snapshot when a pause fails', async () => {
    walkSlice.pause = () => Promise.reject(new Error('pause failed'));
    await expect(Promise.resolve(read().rank(b(member(middle)), false))).rejects.toThrow('pause failed');
    await expect(Promise.resolve(read().countByScore(all))).rejects.toThrow('pause failed');
    expect(engine.stats().liveSnapshots).toBe(0);
  });
});
