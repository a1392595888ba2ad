// lib/keyspace/zset.ts: argument parsing as Redis reads scores and ranges,
// the `S` value codec, drive()/wait(), and SortedSet/SortedSetWriter on both
// engines: staged writes seen by later reads of the same command, one batch
// per command, O(1) deletion, rank walks from either end, random picks, and
// a 100k-member set whose point operations touch a handful of engine keys
// and whose space compaction reclaims after DEL (LsmEngine with the
// keyspace compaction filter).

import * as fs from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Engine } from '../../../lib/engine/engine.js';
import { randomPickSampleCost } from '../../../lib/keyspace/collection.js';
import { CorruptionError, WrongTypeError } from '../../../lib/errors.js';
import { AssertionError } from '../../../lib/assert.js';
import type { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { metadataKey, prefixEnd, scoreKey, scorePrefix, subkey, subkeyPrefix } from '../../../lib/keyspace/key-encoding.js';
import { KeyType, collectionRecord, recordSize, recordVersion, stringRecord } from '../../../lib/keyspace/metadata.js';
import {
  SortedSet,
  SortedSetWriter,
  zsetStore,
  compareScored,
  decodeScoreValue,
  encodeScoreValue,
  lexRangeEmpty,
  parseLexRange,
  parseScore,
  parseScoreRange,
  readScoreSource,
  scoreRangeEmpty,
  type ScoredMember,
} from '../../../lib/keyspace/zset.js';
import { drive, wait, type Steps } from '../../../lib/keyspace/walk.js';
import { checkInvariants, countCursors, entries, levelHarness, lsmHarness, openKeyspace, testContext, type EngineHarness, type TestContext } from './keyspace-harness.js';

const t0 = 1_700_000_000_000;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('score and range parsing', () => {
  it('reads scores as string2d: whole text, no spaces, no NaN, no overflow or underflow', () => {
    const valid: [string, number][] = [
      ['1', 1],
      ['-2.5', -2.5],
      ['+3', 3],
      ['.5', 0.5],
      ['5.', 5],
      ['1e3', 1000],
      ['1E-3', 0.001],
      ['inf', Infinity],
      ['+inf', Infinity],
      ['-Infinity', -Infinity],
      ['INF', Infinity],
      ['0x10', 16],
      ['-0', 0],
      ['0.0', 0],
      ['1e-310', 1e-310],
      ['1.7976931348623157e308', Number.MAX_VALUE],
    ];
    for (const [text, value] of valid) expect(parseScore(b(text)), text).toBe(value);
    expect(Object.is(parseScore(b('-0')), 0)).toBe(true);
    for (const text of ['', ' 1', '1 ', 'nan', 'NaN', '-nan', 'x', '1e', '1e400', '-1e400', '1e-400', 'infinit', '1,5', '.', '1\u00002', '0x', '--1']) {
      expect(parseScore(b(text)), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('reads score ranges as zslParseRange (strtod): ( for open ends, leading space, empty is 0, overflow is inf', () => {
    expect(parseScoreRange(b('(1'), b('2'))).toEqual({ min: 1, max: 2, minExclusive: true, maxExclusive: false });
    expect(parseScoreRange(b('-inf'), b('(+inf'))).toEqual({ min: -Infinity, max: Infinity, minExclusive: false, maxExclusive: true });
    expect(parseScoreRange(b(' \t2'), b('1e400'))).toEqual({ min: 2, max: Infinity, minExclusive: false, maxExclusive: false });
    expect(parseScoreRange(b(''), b('('))).toEqual({ min: 0, max: 0, minExclusive: false, maxExclusive: true });
    expect(parseScoreRange(b('1e-400'), b('1\u0000junk'))).toEqual({ min: 0, max: 1, minExclusive: false, maxExclusive: false });
    for (const bad of ['x', '1 ', ' ', '(nan', '((1', '1e']) expect(parseScoreRange(b(bad), b('1')), bad).toBeUndefined();
    expect(scoreRangeEmpty({ min: 2, max: 1, minExclusive: false, maxExclusive: false })).toBe(true);
    expect(scoreRangeEmpty({ min: 1, max: 1, minExclusive: false, maxExclusive: false })).toBe(false);
    expect(scoreRangeEmpty({ min: 1, max: 1, minExclusive: true, maxExclusive: false })).toBe(true);
  });

  it('reads lex ranges as zslParseLexRange, with - and + as open ends', () => {
    expect(parseLexRange(b('-'), b('+'))).toEqual({ min: { kind: 'min' }, max: { kind: 'max' } });
    expect(parseLexRange(b('[a'), b('(b'))).toEqual({ min: { kind: 'value', value: b('a'), exclusive: false }, max: { kind: 'value', value: b('b'), exclusive: true } });
    expect(parseLexRange(b('['), b('+'))?.min).toEqual({ kind: 'value', value: b(''), exclusive: false });
    for (const bad of [['a', '+'], ['-', '+x'], ['', '+'], ['-x', '+'], ['[a', 'b']]) expect(parseLexRange(b(bad[0]!), b(bad[1]!)), bad.join(' ')).toBeUndefined();
    const empty = (min: string, max: string): boolean => lexRangeEmpty(parseLexRange(b(min), b(max))!);
    expect(empty('-', '+')).toBe(false);
    expect(empty('+', '-')).toBe(true);
    expect(empty('-', '-')).toBe(true);
    expect(empty('+', '+')).toBe(true);
    expect(empty('[a', '[a')).toBe(false);
    expect(empty('[a', '(a')).toBe(true);
    expect(empty('[b', '[a')).toBe(true);
    expect(empty('[a', '-')).toBe(true);
    expect(empty('+', '[a')).toBe(true);
  });

  it('orders members by score, then bytes', () => {
    const list: ScoredMember[] = [
      { member: b('b'), score: 1 },
      { member: b('a'), score: 1 },
      { member: b('z'), score: -Infinity },
      { member: b('\u00ff'), score: 0 },
      { member: b('A'), score: 0 },
    ];
    expect(list.sort(compareScored).map((entry) => entry.member.toString('latin1'))).toEqual(['z', 'A', '\u00ff', 'a', 'b']);
  });
});

describe('score values', () => {
  it('round-trip and sort bytewise as numbers', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.double({ noNaN: true }), (x, y) => {
        const encodedX = encodeScoreValue(x);
        expect(decodeScoreValue(encodedX, b('k'))).toBe(x === 0 ? 0 : x);
        const order = Math.sign(Buffer.compare(encodedX, encodeScoreValue(y)));
        expect(order).toBe(x === y ? 0 : x < y ? -1 : 1);
      }),
    );
  });

  it('refuses a value of the wrong length as corruption', () => {
    expect(() => decodeScoreValue(Buffer.alloc(7), b('k'))).toThrow(CorruptionError);
  });
});

describe('drive and wait', () => {
  function* add(first: number | Promise<number>, second: number | Promise<number>): Steps<number> {
    const x = yield* wait(first);
    const y = yield* wait(second);
    return x + y;
  }

  it('runs synchronously while nothing is a promise', () => {
    expect(drive(add(1, 2))).toBe(3);
  });

  it('continues through promises, and a rejected one throws inside the generator', async () => {
    const result = drive(add(1, Promise.resolve(5)));
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(6);
    function* recover(): Steps<string> {
      try {
        yield* wait(Promise.reject(new Error('boom')));
        return 'not here';
      } catch (error) {
        return (error as Error).message;
      }
    }
    expect(await drive(recover())).toBe('boom');
    function* fail(): Steps<number> {
      const ready = yield* wait(1);
      if (ready === 1) throw new Error('sync');
      return ready;
    }
    expect(() => drive(fail())).toThrow('sync');
  });
});

describe('docs/format.md sorted-set example', () => {
  it('re-encodes every line of the marked block', () => {
    const doc = fs.readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');
    const block = /<!-- zset-hex-example:start -->\n```\n([\s\S]*?)```\n<!-- zset-hex-example:end -->/.exec(doc);
    expect(block, 'the marked example block exists').not.toBeNull();
    const lines = new Map<string, { key?: string; val?: string }>();
    let label = '';
    for (const line of block![1]!.split('\n')) {
      const match = /^(.{0,10}?)\s*(key|val) ((?:[0-9a-f]{2} ?)+)$/.exec(line);
      if (match === null) continue;
      if (match[1]!.trim() !== '') label = match[1]!.trim();
      const entry = lines.get(label) ?? {};
      entry[match[2] as 'key' | 'val'] = match[3]!.replace(/ /g, '');
      lines.set(label, entry);
    }
    const version = 1_700_000_000_000 * 1024 + 4;
    const key = b('board');
    const hex = (buffer: Buffer): string => buffer.toString('hex');
    expect(lines).toEqual(
      new Map([
        ['M zset', { key: hex(metadataKey(1, key)), val: hex(collectionRecord(KeyType.zset, 0, version, 2)) }],
        ['S ann', { key: hex(subkey(1, key, version, b('ann'))), val: hex(encodeScoreValue(1.5)) }],
        ['Z ann', { key: hex(scoreKey(1, key, version, 1.5, b('ann'))) }],
        ['S bob', { key: hex(subkey(1, key, version, b('bob'))), val: hex(encodeScoreValue(-Infinity)) }],
        ['Z bob', { key: hex(scoreKey(1, key, version, -Infinity, b('bob'))) }],
      ]),
    );
  });
});

const engines: [string, () => EngineHarness][] = [
  ['LsmEngine', lsmHarness],
  ['LevelEngine', levelHarness],
];

/** Settles a MaybePromise. */
async function settled<T>(value: T | Promise<T>): Promise<T> {
  return value;
}

describe.each(engines)('SortedSet and SortedSetWriter (%s)', (_name, makeEngine) => {
  const engineHarness = makeEngine();
  let engine: Engine;
  let keyspace: Keyspace;
  let ctx: TestContext;

  beforeEach(async () => {
    engineHarness.reset();
    engine = await engineHarness.open();
    keyspace = await openKeyspace(engine, { databases: 2 });
    ctx = testContext(engine, t0);
  });

  afterEach(async () => {
    await ctx.settle();
    expect(await checkInvariants(engine, keyspace)).toBe('');
    await engine.close();
  });

  afterAll(() => engineHarness.cleanup());

  function write(key: string, pairs: [member: string, score: number][]): SortedSetWriter {
    const writer = SortedSetWriter.load(keyspace, 0, b(key), ctx.nowMs);
    for (const [member, score] of pairs) writer.add(b(member), score);
    writer.commit(ctx);
    return writer;
  }

  function read(key: string): SortedSet {
    const zset = SortedSet.read(keyspace, 0, b(key), ctx.nowMs);
    expect(zset).toBeDefined();
    return zset!;
  }

  const names = (list: readonly ScoredMember[]): string[] => list.map((entry) => entry.member.toString('latin1'));

  it('keeps random picks in step with writes: an add drops the member pool, a removal shrinks it', async () => {
    const memberNames = Array.from({ length: 300 }, (_, index) => `x${index}`);
    write('z', memberNames.map((name, index): [string, number] => [name, index]));
    await ctx.settle();
    // Enough picks for the pool (picks × randomPickSampleCost >= size); one more call to use it.
    const warmCalls = Math.ceil(memberNames.length / randomPickSampleCost) + 1;
    for (let call = 0; call < warmCalls; call++) expect(await settled(read('z').random(1, true))).toHaveLength(1);
    const cursors = countCursors(engine);
    const pick = async (count: number, distinct: boolean): Promise<ScoredMember[]> => {
      const picked = await settled(read('z').random(count, distinct));
      for (const entry of picked) expect(entry.score).toBe(entry.member.toString('latin1') === 'new' ? 1000 : Number(entry.member.toString('latin1').slice(1)));
      return picked;
    };
    for (let call = 0; call < 20; call++) expect(memberNames).toContain(names(await pick(1, true))[0]);
    expect(cursors.count).toBe(0); // the pool: neither a walk nor a descent
    // An add and a removal leave the size as it was: the writer's note alone drops the pool.
    const writer = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
    writer.remove(b('x299'));
    writer.add(b('new'), 1000);
    writer.commit(ctx);
    await pick(1, true);
    if (cursors.supported) expect(cursors.count).toBeGreaterThan(0);
    const members = [...memberNames.filter((name) => name !== 'x299'), 'new'];
    const many = names(await pick(299, true));
    expect(new Set(many).size).toBe(299);
    for (const name of many) expect(members).toContain(name);
    // Removals alone keep the (rebuilt) pool, one member fewer each.
    for (let call = 0; call < warmCalls; call++) await pick(1, true);
    const remover = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
    remover.remove(b('x7'));
    remover.remove(b('new'));
    remover.commit(ctx);
    const before = cursors.count;
    for (let call = 0; call < 50; call++) {
      const repeated = names(await pick(3, false));
      expect(repeated).toHaveLength(3);
      expect(repeated).not.toContain('x7');
      expect(repeated).not.toContain('new');
    }
    expect(cursors.count).toBe(before);
  });

  it('stages a command in one batch; later reads of the command see what it staged', async () => {
    const writer = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
    expect(writer.exists).toBe(false);
    expect(writer.add(b('a'), 1)).toBe('added');
    expect(writer.add(b('a'), 2)).toBe('updated');
    expect(writer.add(b('a'), 2)).toBe('unchanged');
    expect(writer.score(b('a'))).toBe(2);
    expect(writer.add(b('b'), -0)).toBe('added');
    expect(writer.remove(b('b'))).toBe(true);
    expect(writer.remove(b('b'))).toBe(false);
    expect(writer.size).toBe(1);
    writer.commit(ctx);
    expect(ctx.batches).toHaveLength(1);
    await ctx.settle();
    const zset = read('z');
    expect(zset.size).toBe(1);
    expect(await settled(zset.all())).toEqual([{ member: b('a'), score: 2 }]);
    expect(Object.is(zset.score(b('a')), 2)).toBe(true);
  });

  it('writes nothing when nothing changes, and deletes the key when the last member goes', async () => {
    write('z', [['a', 1]]);
    const before = ctx.batches.length;
    write('z', [['a', 1]]);
    const nothing = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
    nothing.remove(b('nope'));
    nothing.commit(ctx);
    expect(ctx.batches.length).toBe(before);
    const writer = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
    writer.remove(b('a'));
    writer.commit(ctx);
    expect(keyspace.lookup(0, b('z'), ctx.nowMs)).toBeUndefined();
    expect(keyspace.dbSize(0)).toBe(0);
  });

  it('refuses other types, starts a new version over an expired key, and zsetStore() takes any key', async () => {
    const target = keyspace.load(0, b('s'), ctx.nowMs);
    keyspace.put(ctx, target, stringRecord(b('v'), 0, keyspace.newVersion(ctx.nowMs)));
    expect(() => SortedSetWriter.load(keyspace, 0, b('s'), ctx.nowMs)).toThrow(WrongTypeError);
    expect(() => SortedSet.read(keyspace, 0, b('s'), ctx.nowMs)).toThrow(WrongTypeError);
    expect(drive(zsetStore(keyspace, ctx, b('s'), [{ member: b('m'), score: -0 }]))).toBe(1);
    expect(read('s').size).toBe(1);
    expect(read('s').score(b('m'))).toBe(0);
    expect(Object.is(read('s').score(b('m')), -0)).toBe(false);

    const old = write('e', [['a', 1], ['b', 2]]);
    const expiring = keyspace.load(0, b('e'), ctx.nowMs);
    keyspace.put(ctx, expiring, collectionRecord(KeyType.zset, ctx.nowMs + 10, recordVersion(expiring.live!), 2));
    ctx.nowMs += 11;
    expect(SortedSet.read(keyspace, 0, b('e'), ctx.nowMs)).toBeUndefined();
    const fresh = write('e', [['c', 3]]);
    expect(fresh.version).toBeGreaterThan(old.version);
    await ctx.settle();
    expect(names(await settled(read('e').all()))).toEqual(['c']);
    expect(keyspace.dbSize(0)).toBe(2);
  });

  it('clear() removes every member with the metadata alone; nothing may be added afterwards', async () => {
    write('z', [['a', 1], ['b', 2], ['c', 3]]);
    await ctx.settle();
    const writer = SortedSetWriter.load(keyspace, 0, b('z'), ctx.nowMs);
    writer.removeEntries(await settled(writer.all()));
    expect(writer.score(b('a'))).toBeUndefined();
    expect(() => writer.add(b('d'), 4)).toThrow(AssertionError);
    writer.commit(ctx);
    const batch = ctx.batches[ctx.batches.length - 1]!;
    expect(batch.ops.filter((op) => op.key[0] === 0x53 || op.key[0] === 0x5a)).toHaveLength(0);
    expect(keyspace.lookup(0, b('z'), ctx.nowMs)).toBeUndefined();
  });

  it('reads ranks from either end, picks members at random, and counts ranks from both ends', async () => {
    const pairs: [string, number][] = Array.from({ length: 300 }, (_, index) => [`m${String(index).padStart(3, '0')}`, index % 10]);
    write('z', pairs);
    await ctx.settle();
    const zset = read('z');
    const all = await settled(zset.all());
    expect(all).toHaveLength(300);
    for (let index = 1; index < all.length; index++) expect(compareScored(all[index - 1]!, all[index]!)).toBeLessThan(0);
    for (const [first, last] of [[0, 0], [0, 9], [5, 200], [250, 299], [299, 299], [100, 100]] as const) {
      expect(await settled(zset.rangeByRank(first, last))).toEqual(all.slice(first, last + 1));
    }
    for (const rank of [0, 1, 64, 65, 128, 149, 150, 151, 235, 298, 299]) {
      expect(await settled(zset.rank(all[rank]!.member, false))).toEqual({ rank, score: all[rank]!.score });
      expect(await settled(zset.rank(all[rank]!.member, true))).toEqual({ rank: 299 - rank, score: all[rank]!.score });
    }
    expect(await settled(zset.rank(b('nope'), false))).toBeUndefined();
    expect(await settled(zset.ends(3, true))).toEqual(all.slice(-3).reverse());
    const random = await settled(zset.random(50, true));
    expect(new Set(names(random)).size).toBe(50);
    const scores = new Map(all.map((entry) => [entry.member.toString('latin1'), entry.score]));
    for (const entry of random) expect(entry.score).toBe(scores.get(entry.member.toString('latin1')));
    const repeated = await settled(zset.random(500, false));
    expect(repeated).toHaveLength(500);
    expect(new Set(names(repeated)).size).toBeGreaterThan(100);
  });

  it('ranges by score and lex with offset and limit, both directions', async () => {
    write('z', [['a', 1], ['b', 2], ['c', 2], ['d', 3], ['e', Infinity]]);
    await ctx.settle();
    const zset = read('z');
    const range = parseScoreRange(b('(1'), b('inf'))!;
    expect(names(await settled(zset.rangeByScore(range, { reverse: false, offset: 0, limit: -1 })))).toEqual(['b', 'c', 'd', 'e']);
    expect(names(await settled(zset.rangeByScore(range, { reverse: true, offset: 1, limit: 2 })))).toEqual(['d', 'c']);
    expect(await settled(zset.countByScore(range))).toBe(4);
    const lex = parseLexRange(b('(a'), b('[d'))!;
    expect(names(await settled(zset.rangeByLex(lex, { reverse: false, offset: 0, limit: -1 })))).toEqual(['b', 'c', 'd']);
    expect(names(await settled(zset.rangeByLex(lex, { reverse: true, offset: 0, limit: 1 })))).toEqual(['d']);
    expect(await settled(zset.countByLex(lex))).toBe(3);
  });

  it('scans in member order from a cursor position, honouring MATCH', async () => {
    write('z', [['apple', 1], ['banana', 2], ['apricot', 3], ['cherry', 4]]);
    await ctx.settle();
    const zset = read('z');
    const first = await settled(zset.scan(undefined, 2, undefined));
    expect(names(first.entries)).toEqual(['apple', 'apricot']);
    expect(first.next).toEqual(b('apricot'));
    const second = await settled(zset.scan(first.next, 2, undefined));
    expect(names(second.entries)).toEqual(['banana', 'cherry']);
    expect(second.next).toBeUndefined();
    expect(names((await settled(zset.scan(undefined, 10, b('ap*')))).entries)).toEqual(['apple', 'apricot']);
  });

  it('reads sets as score sources with score 1', async () => {
    const target = keyspace.load(0, b('set'), ctx.nowMs);
    const version = keyspace.newVersion(ctx.nowMs);
    const batch = keyspace.begin();
    keyspace.stagePut(batch, target, collectionRecord(KeyType.set, 0, version, 2));
    for (const member of ['x', 'y']) batch.put(Buffer.concat([subkeyPrefix(keyspace.physicalDb(0), b('set'), version), b(member)]), Buffer.alloc(0));
    keyspace.commit(ctx, batch);
    await ctx.settle();
    const source = readScoreSource(keyspace, 0, b('set'), ctx.nowMs)!;
    expect(source.size).toBe(2);
    expect(source.score(b('x'))).toBe(1);
    expect(source.score(b('z'))).toBeUndefined();
    expect(names(await settled(source.entries()))).toEqual(['x', 'y']);
    expect(readScoreSource(keyspace, 0, b('none'), ctx.nowMs)).toBeUndefined();
  });
});

// ---------------------------------------------------------------- large sets

describe.each(engines)('a sorted set of 100,000 members (%s)', (_name, makeEngine) => {
  const engineHarness = makeEngine();
  afterAll(() => engineHarness.cleanup());

  it('keeps point operations to a handful of engine keys; DEL is O(1) and compaction reclaims the members', async () => {
    engineHarness.reset();
    const engine = await engineHarness.open({ memtableBytes: 4 * 1024 * 1024 });
    const keyspace = await openKeyspace(engine);
    const ctx = testContext(engine, t0);
    const members = 100_000;
    const key = b('big');
    const member = (index: number): Buffer => b(`member:${String(index).padStart(6, '0')}`);
    try {
      for (let start = 0; start < members; start += 10_000) {
        const writer = SortedSetWriter.load(keyspace, 0, key, ctx.nowMs);
        for (let index = start; index < start + 10_000; index++) writer.add(member(index), index % 1000);
        writer.commit(ctx);
        await ctx.settle();
      }
      const zset = SortedSet.read(keyspace, 0, key, ctx.nowMs)!;
      expect(zset.size).toBe(members);
      expect(zset.score(member(12_345))).toBe(345);

      // One member added, updated, removed: each a batch of at most four data keys plus the metadata.
      for (const change of [(writer: SortedSetWriter) => writer.add(b('new'), -1), (writer: SortedSetWriter) => writer.add(member(7), 5000), (writer: SortedSetWriter) => writer.remove(member(8))]) {
        const writer = SortedSetWriter.load(keyspace, 0, key, ctx.nowMs);
        change(writer);
        writer.commit(ctx);
        expect(ctx.batches[ctx.batches.length - 1]!.length).toBeLessThanOrEqual(5);
      }
      await ctx.settle();
      const after = SortedSet.read(keyspace, 0, key, ctx.nowMs)!;
      expect(after.size).toBe(members);
      expect(after.score(member(7))).toBe(5000);
      expect(after.score(member(8))).toBeUndefined();
      expect(await settled(after.rank(b('new'), false))).toEqual({ rank: 0, score: -1 });
      expect(await settled(after.rank(member(7), true))).toEqual({ rank: 0, score: 5000 });
      expect(names(await settled(after.rangeByRank(members - 2, members - 1)))).toEqual(['member:099999', 'member:000007']);

      if (engine.kind === 'lsm') await engine.flush();
      const version = recordVersion(keyspace.lookup(0, key, ctx.nowMs)!);
      expect(recordSize(keyspace.lookup(0, key, ctx.nowMs)!)).toBe(members);
      const target = keyspace.load(0, key, ctx.nowMs);
      keyspace.remove(ctx, target);
      expect(ctx.batches[ctx.batches.length - 1]!.length).toBeLessThanOrEqual(3); // metadata, counters: nothing per member
      await ctx.settle();
      expect(SortedSet.read(keyspace, 0, key, ctx.nowMs)).toBeUndefined();

      if (engineHarness.filters) {
        const physDb = keyspace.physicalDb(0);
        const bytes = (): number => engine.stats().levels.reduce((sum, level) => sum + level.bytes, 0);
        const before = bytes();
        await engine.flush();
        await engine.compactRange();
        const memberPrefix = subkeyPrefix(physDb, key, version);
        const indexPrefix = scorePrefix(physDb, key, version);
        expect(await entries(engine, memberPrefix, prefixEnd(memberPrefix))).toHaveLength(0);
        expect(await entries(engine, indexPrefix, prefixEnd(indexPrefix))).toHaveLength(0);
        expect(bytes()).toBeLessThan(before / 10);
      }
      expect(await checkInvariants(engine, keyspace)).toBe('');
    } finally {
      await ctx.settle();
      await engine.close();
    }
  }, 120_000);

  function names(list: readonly ScoredMember[]): string[] {
    return list.map((entry) => entry.member.toString('latin1'));
  }
});
