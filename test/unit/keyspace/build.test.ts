// Building a new collection version ahead of its metadata (lib/keyspace/build.ts):
// the entries written ahead survive flushes and compaction (the build marker),
// no reader sees them before the metadata batch, a failed batch written ahead
// keeps the metadata from being written, and what an abandoned build leaves is
// reclaimed: its marker deleted by the command, or else at the next open.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import type { WriteBatch } from '../../../lib/engine/write-batch.js';
import { IoError } from '../../../lib/errors.js';
import { KeyTag, buildAbandoned, buildMarkerKey, decodeBuildMarker, prefixEnd, subkeyPrefix, tagPrefix } from '../../../lib/keyspace/key-encoding.js';
import type { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { recordExpireMs, recordSize, recordVersion, withExpire } from '../../../lib/keyspace/metadata.js';
import { setStore } from '../../../lib/keyspace/set.js';
import { SortedSet, SortedSetWriter, parseLexRange, parseScoreRange, rewriteLimits, zsetStore, type ScoredMember } from '../../../lib/keyspace/zset.js';
import { drive, walkSlice } from '../../../lib/keyspace/walk.js';
import { writeAheadInFlightMax, writeAheadOpsMax } from '../../../lib/keyspace/build.js';
import { entries, lsmHarness, openKeyspace, testContext, type TestContext } from './keyspace-harness.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

interface AheadContext extends TestContext {
  /** Batches written ahead so far. */
  ahead: WriteBatch[];
  /** Whether writing ahead is allowed now. */
  allowed: boolean;
  /** Resolves when the build asks for its turn. */
  turnAsked: Promise<void>;
  /** Lets the build take its turn (or fails it with `error`). */
  grant(error?: Error): void;
  /** Batches written ahead from now on report their outcome only at settleAhead(). */
  holdAhead: boolean;
  /** Settles the held batches: written, or failed with `error`. */
  settleAhead(error?: Error): void;
}

/** A command context that walks "in the background": it may write ahead, and its turn waits for grant(). */
function aheadContext(engine: Engine, nowMs: number): AheadContext {
  const base = testContext(engine, nowMs);
  const held: { written: Promise<void>; settle: (error?: Error) => void }[] = [];
  let asked!: () => void;
  let release!: (error?: Error) => void;
  const turnAsked = new Promise<void>((resolve) => (asked = resolve));
  const turn = new Promise<void>((resolve, reject) => (release = (error) => (error === undefined ? resolve() : reject(error))));
  const ctx: AheadContext = Object.assign(base, {
    ahead: [] as WriteBatch[],
    allowed: true,
    turnAsked,
    holdAhead: false,
    settleAhead: (error?: Error) => {
      for (const { settle } of held.splice(0)) settle(error);
    },
    grant: (error?: Error) => release(error),
    turn: () => {
      asked();
      return turn;
    },
    canWriteAhead: () => ctx.allowed,
    writeAhead: (batch: WriteBatch): Promise<void> => {
      ctx.ahead.push(batch);
      const written = engine.write(batch).then(() => undefined);
      if (!ctx.holdAhead) return written;
      return new Promise<void>((resolve, reject) => {
        held.push({ written, settle: (error) => (error === undefined ? written.then(resolve, reject) : reject(error)) });
      });
    },
  });
  return ctx;
}

function members(count: number): ScoredMember[] {
  return Array.from({ length: count }, (_, index) => ({ member: b(`m${String(index).padStart(5, '0')}`), score: index / 2 }));
}

describe('VersionBuild (LsmEngine with the keyspace compaction filter)', () => {
  const harness = lsmHarness();
  let engine: Engine;
  let keyspace: Keyspace;
  const saved = { ...walkSlice };
  const nowMs = 1_700_000_000_000;

  beforeEach(async () => {
    harness.reset();
    engine = await harness.open();
    keyspace = await openKeyspace(engine);
    // Every chunk of staged members spends its slice: the build writes ahead and pauses often.
    walkSlice.entriesMin = 1;
    walkSlice.durationMsMax = 0;
  });

  afterEach(async () => {
    Object.assign(walkSlice, saved);
    await engine.close();
  });

  const read = (key: string): SortedSet | undefined => SortedSet.read(keyspace, 0, b(key), nowMs);
  const engineEntries = async (key: string, version: number): Promise<number> => {
    const prefix = subkeyPrefix(keyspace.physicalDb(0), b(key), version);
    return (await entries(engine, prefix, prefixEnd(prefix))).length;
  };

  const markerValues = async (): Promise<string[]> =>
    (await entries(engine, tagPrefix(KeyTag.build), prefixEnd(tagPrefix(KeyTag.build)))).map(([, value]) => (value.equals(buildAbandoned) ? 'abandoned' : value.length === 0 ? 'building' : 'other'));
  const tagged = async (tag: number): Promise<number> => (await entries(engine, tagPrefix(tag), prefixEnd(tagPrefix(tag)))).length;
  /** A sorted set as a reader sees it: size, whether it has a TTL, version, members with scores. */
  const read0 = async (key: string): Promise<{ size: number; ttl: boolean; version: number; members: [string, number][] }> => {
    const record = keyspace.lookup(0, b(key), nowMs)!;
    const zset = read(key)!;
    const all = await zset.all();
    return { size: zset.size, ttl: recordExpireMs(record) !== 0, version: zset.version, members: all.map(({ member, score }) => [member.toString(), score]) };
  };
  /** Flushes and compacts everything: no `S` or `Z` entry is left. */
  const expectReclaimed = async (): Promise<void> => {
    await engine.flush();
    await engine.compactRange();
    expect(await tagged(KeyTag.score)).toBe(0);
    expect(await tagged(KeyTag.subkey)).toBe(0);
  };
  const reopen = async (): Promise<void> => {
    await engine.close();
    engine = await harness.open();
    keyspace = await openKeyspace(engine);
  };

  it('writes a store ahead in batches that flushes and compaction keep, which no reader sees before the metadata', async () => {
    const plain = testContext(engine, nowMs);
    expect(drive(zsetStore(keyspace, plain, b('dst'), [{ member: b('old'), score: 1 }]))).toBe(1);
    await plain.settle();
    const oldVersion = recordVersion(keyspace.lookup(0, b('dst'), nowMs)!);

    const ctx = aheadContext(engine, nowMs);
    const stored = members(2_000);
    const done = drive(zsetStore(keyspace, ctx, b('dst'), stored));
    expect(done).toBeInstanceOf(Promise);
    await ctx.turnAsked;
    expect(ctx.ahead.length).toBeGreaterThan(5);
    expect(await markerValues()).toEqual(['building']);
    // Written ahead, not published: the key is the old set, and compaction (the filter) keeps the new entries.
    await engine.flush();
    await engine.compactRange();
    expect(recordSize(keyspace.lookup(0, b('dst'), nowMs)!)).toBe(1);
    expect(read('dst')!.score(b('old'))).toBe(1);

    ctx.grant();
    expect(await done).toBe(2_000);
    await ctx.settle();
    expect(await markerValues()).toEqual([]);
    const published = read('dst')!;
    expect(published.size).toBe(2_000);
    for (const { member, score } of [stored[0]!, stored[777]!, stored[1_999]!]) expect(published.score(member)).toBe(score);
    expect(await engineEntries('dst', published.version)).toBe(2_000);
    expect(published.score(b('old'))).toBeUndefined();
    expect(ctx.ahead[0]!.ops[0]!.key).toEqual(buildMarkerKey(keyspace.physicalDb(0), b('dst'), published.version)); // first, with the first entries
    // The old version is dead now: compaction reclaims it, and keeps the new one.
    await engine.flush();
    await engine.compactRange();
    expect(await engineEntries('dst', oldVersion)).toBe(0);
    expect(await engineEntries('dst', published.version)).toBe(2_000);
    expect(keyspace.dbSize(0)).toBe(1);
  });

  it('caps a batch written ahead at writeAheadOpsMax entries however long the slice, for a STORE and a copy', async () => {
    Object.assign(walkSlice, { entriesMin: 1, entriesMax: 1_000_000, durationMsMax: Infinity }); // slices never spent
    const ctx = aheadContext(engine, nowMs);
    ctx.grant();
    expect(await drive(zsetStore(keyspace, ctx, b('z'), members(5_000)))).toBe(5_000);
    const sizes = ctx.ahead.map((batch) => batch.length);
    expect(sizes.length).toBeGreaterThanOrEqual(Math.floor(10_000 / writeAheadOpsMax));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(writeAheadOpsMax + 1); // the marker with the first

    await ctx.settle();
    ctx.ahead.length = 0;
    const source = keyspace.load(0, b('z'), nowMs);
    const target = keyspace.load(0, b('copy'), nowMs);
    const transfer = await keyspace.copyForTransfer(ctx, source, target);
    const copied = ctx.ahead.map((batch) => batch.length);
    expect(copied.length).toBeGreaterThanOrEqual(Math.floor(10_000 / writeAheadOpsMax));
    // The walk's cursor looks at its budget every 64 entries.
    expect(Math.max(...copied)).toBeLessThanOrEqual(writeAheadOpsMax + 64);
    transfer.build.abandon(ctx);
  });

  it('removes a large share of a sorted set by rewriting the rest ahead, for pops from either end and rank, score and lex ranges', async () => {
    const saved = { ...rewriteLimits };
    rewriteLimits.removedMin = 100;
    try {
      const all = members(1_000);
      for (const [name, read, order, left] of [
        ['ZPOPMIN 600', (zset: SortedSet) => zset.ends(600, false, true), 'score', all.slice(600)],
        ['ZPOPMAX 300', (zset: SortedSet) => zset.ends(300, true, true), 'score', all.slice(0, 700)],
        ['ZREMRANGEBYRANK 200 799', (zset: SortedSet) => zset.rangeByRank(200, 799), 'score', [...all.slice(0, 200), ...all.slice(800)]],
        ['ZREMRANGEBYSCORE 100 (400', (zset: SortedSet) => zset.rangeByScore(parseScoreRange(b('100'), b('(400'))!, { reverse: false, offset: 0, limit: -1 }), 'score', [...all.slice(0, 200), ...all.slice(800)]],
        ['ZREMRANGEBYLEX [m00100 (m00900', (zset: SortedSet) => zset.rangeByLex(parseLexRange(b('[m00100'), b('(m00900'))!, { reverse: false, offset: 0, limit: -1 }), 'member', [...all.slice(0, 100), ...all.slice(900)]],
      ] as const) {
        const plain = testContext(engine, nowMs);
        expect(drive(zsetStore(keyspace, plain, b('z'), all)), name).toBe(1_000);
        const stored = keyspace.load(0, b('z'), nowMs);
        keyspace.put(plain, stored, withExpire(stored.live!, nowMs + 60_000));
        await plain.settle();
        const before = await read0('z');

        const ctx = aheadContext(engine, nowMs);
        const writer = SortedSetWriter.load(keyspace, 0, b('z'), nowMs);
        const removed = await read(writer);
        const done = drive(writer.removeByRewrite(ctx, removed, order));
        await ctx.turnAsked;
        expect(ctx.ahead.length, name).toBeGreaterThan(1);
        expect(await read0('z'), `${name}: before its turn`).toEqual(before);
        ctx.grant();
        expect(await done, name).toBe(true);
        await ctx.settle();
        expect(await read0('z'), name).toMatchObject({ size: left.length, ttl: true, members: left.map(({ member, score }) => [member.toString(), score]) });
        expect(recordVersion(keyspace.lookup(0, b('z'), nowMs)!), name).toBeGreaterThan(before.version);
        expect(await markerValues(), name).toEqual([]);
      }
      // Too few removed, or too many left for each: the caller deletes them in its turn.
      const plain = testContext(engine, nowMs);
      drive(zsetStore(keyspace, plain, b('z'), all));
      await plain.settle();
      const ctx = aheadContext(engine, nowMs);
      const writer = SortedSetWriter.load(keyspace, 0, b('z'), nowMs);
      expect(await drive(writer.removeByRewrite(ctx, await writer.ends(50, false, true), 'score'))).toBe(false);
      rewriteLimits.survivorsPerRemoved = 1;
      expect(await drive(writer.removeByRewrite(ctx, await writer.ends(400, false, true), 'score'))).toBe(false);
      expect(ctx.ahead).toHaveLength(0);
    } finally {
      Object.assign(rewriteLimits, saved);
    }
  });

  it('waits for the oldest batch written ahead once writeAheadInFlightMax are unacknowledged, as a stalled engine holds them', async () => {
    const ctx = aheadContext(engine, nowMs);
    ctx.holdAhead = true;
    let asked = false;
    void ctx.turnAsked.then(() => (asked = true));
    const done = drive(zsetStore(keyspace, ctx, b('dst'), members(5_000)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ctx.ahead).toHaveLength(writeAheadInFlightMax);
    let rounds = 0;
    while (!asked) {
      ctx.settleAhead();
      await new Promise((resolve) => setTimeout(resolve, 5));
      rounds++;
    }
    expect(rounds).toBeGreaterThan(3);
    ctx.settleAhead();
    ctx.grant();
    expect(await done).toBe(5_000);
    await ctx.settle();
    expect(read('dst')!.size).toBe(5_000);
  });

  it('puts every entry in the command\'s one batch when it cannot write ahead (foreground, EXEC)', () => {
    const ctx = aheadContext(engine, nowMs);
    ctx.allowed = false;
    ctx.turn = () => undefined; // its turn already: it never left it
    const done = setStore(keyspace, ctx, b('s'), members(500).map(({ member }) => member));
    expect(done).toBe(500); // nothing paused
    expect(ctx.ahead).toHaveLength(0);
    expect(ctx.batches).toHaveLength(1);
    expect(ctx.batches[0]!.ops.some((op) => op.key[0] === KeyTag.build)).toBe(false);
  });

  it('refuses to publish after a batch written ahead failed, even if writing works again', async () => {
    const ctx = aheadContext(engine, nowMs);
    ctx.holdAhead = true;
    let asked = false;
    void ctx.turnAsked.then(() => (asked = true));
    const done = drive(zsetStore(keyspace, ctx, b('dst'), members(2_000)));
    // Acknowledged as the build goes, but for the last batches...
    while (!asked) {
      ctx.settleAhead();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // ...whose failure is known only now (a slow fdatasync that failed); the engine takes plain writes again.
    ctx.settleAhead(new IoError('no space left on device'));
    await new Promise((resolve) => setImmediate(resolve));
    ctx.grant();
    await expect(done).rejects.toThrow('no space left on device');
    await ctx.settle();
    expect(read('dst')).toBeUndefined();
    expect(keyspace.dbSize(0)).toBe(0);
  });

  it('stops writing ahead at the first failure it learns of', async () => {
    const ctx = aheadContext(engine, nowMs);
    ctx.holdAhead = true;
    const done = drive(zsetStore(keyspace, ctx, b('dst'), members(20_000)));
    await new Promise((resolve) => setImmediate(resolve));
    ctx.settleAhead(new IoError('no space left on device'));
    ctx.grant();
    await expect(done).rejects.toThrow('no space left on device');
    const batches = ctx.ahead.length;
    expect(batches).toBeLessThan(20_000 / 64);
    expect(read('dst')).toBeUndefined();
  });

  it('marks abandoned the marker of a build that fails before its turn: compaction reclaims its entries, then an open deletes it', async () => {
    const ctx = aheadContext(engine, nowMs);
    const done = drive(zsetStore(keyspace, ctx, b('dst'), members(2_000)));
    await ctx.turnAsked;
    ctx.grant(new Error('client gone'));
    await expect(done).rejects.toThrow('client gone');
    expect(ctx.ahead.length).toBeGreaterThan(5);
    await ctx.settle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await markerValues()).toEqual(['abandoned']);
    await reopen();
    expect(await markerValues()).toEqual(['abandoned']); // its entries are not reclaimed yet
    await expectReclaimed();
    await reopen();
    expect(await markerValues()).toEqual([]);
  });

  it('leaves the marker when it cannot mark it, and the next open does; later versions of the key are above its version', async () => {
    const ctx = aheadContext(engine, nowMs);
    const done = drive(zsetStore(keyspace, ctx, b('dst'), members(2_000)));
    await ctx.turnAsked;
    ctx.allowed = false; // say, another client's EXEC is open
    ctx.grant(new Error('client gone'));
    await expect(done).rejects.toThrow('client gone');
    expect(await markerValues()).toEqual(['building']);
    const abandoned = decodeBuildMarker(ctx.ahead[0]!.ops[0]!.key).version;
    await engine.flush();
    await engine.compactRange();
    expect(await tagged(KeyTag.score)).toBe(2_000); // kept: for all the filter knows, the build goes on

    await reopen();
    expect(await markerValues()).toEqual(['abandoned']);
    expect(keyspace.newVersion(0)).toBeGreaterThan(abandoned); // a clock far behind does not matter
    await expectReclaimed();
    await reopen();
    expect(await markerValues()).toEqual([]);
  });
});
