// The sorted-set command handlers, called through a small fake
// CommandContext (no sockets) on both engines: LsmEngine over MemFileSystem
// (synchronous iteration) and LevelEngine in a temp dir (replies through
// promises). Replies and Redis's exact error wording and checking order,
// RESP2 and RESP3 shapes, TTLs, emptied sets disappearing, and after each
// case the storage invariant: every member has one `S` and one `Z` entry
// with the same score, and the metadata size is their count.
//
// The property test at the end runs random command sequences against an
// in-memory model of Redis's semantics, with flush, compactRange and reopen
// mixed in; its strategy and invariants are in its own header.

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Engine } from '../../../lib/engine/engine.js';
import { decodeOrderedDouble, metadataKey, prefixEnd, scorePrefix, subkey, subkeyPrefix } from '../../../lib/keyspace/key-encoding.js';
import { KeyType, collectionRecord, recordSize, recordType, recordVersion } from '../../../lib/keyspace/metadata.js';
import { formatDouble } from '../../../service/resp/encoder.js';
import { BlockedReply, DoubleReply, NullArrayReply, type Reply } from '../../../service/resp/reply.js';
import { keyCommands } from '../../../service/resp/commands/keys.js';
import { sortedSetCommands } from '../../../service/resp/commands/sorted-sets.js';
import { stringCommands } from '../../../service/resp/commands/strings.js';
import { checkInvariants, entries, levelHarness, lsmHarness, type EngineHarness } from '../keyspace/keyspace-harness.js';
import { propertyRuns } from './resp-test-support.js';
import { commandHarness, commandTable, notInteger, plain, syntax, wrongType, type CommandHarness as Harness, type Plain } from './command-test-support.js';

const table = commandTable(sortedSetCommands, stringCommands, keyCommands);
const harness = (engine: Engine): Promise<Harness> => commandHarness(engine, table);

/** A RESP3 reply as data that keeps doubles apart: DoubleReply -> { double }. */
function plain3(reply: Reply): unknown {
  if (reply instanceof DoubleReply) return { double: reply.value };
  if (Array.isArray(reply)) return reply.map(plain3);
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (reply instanceof NullArrayReply) return '*-1';
  return reply;
}

/** Makes `key` a set of `members` (raw subkeys, field = member), as SADD does. */
function makeSet(h: Harness, key: string, members: string[]): void {
  const target = h.keyspace.load(h.ctx.db, Buffer.from(key), h.ctx.nowMs);
  const version = h.keyspace.newVersion(h.ctx.nowMs, target.stored);
  const batch = h.keyspace.begin();
  h.keyspace.stagePut(batch, target, collectionRecord(KeyType.set, 0, version, members.length));
  for (const member of members) batch.put(subkey(h.keyspace.physicalDb(h.ctx.db), Buffer.from(key), version, Buffer.from(member)), Buffer.alloc(0));
  h.keyspace.commit(h.ctx, batch);
}

/**
 * Checks the storage invariant of every sorted set in db 0..3: one `S` and
 * one `Z` entry per member with equal scores, and the size in the metadata.
 * @returns '' or the problems
 */
async function zsetProblems(h: Harness): Promise<string> {
  const problems: string[] = [];
  for (let db = 0; db < h.keyspace.databases; db++) {
    const physDb = h.keyspace.physicalDb(db);
    const prefix = metadataKey(physDb, Buffer.alloc(0));
    for (const [engineKey, record] of await entries(h.engine, prefix, prefixEnd(prefix))) {
      if (recordType(record) !== KeyType.zset) continue;
      const key = engineKey.subarray(prefix.length);
      const version = recordVersion(record);
      const members = subkeyPrefix(physDb, key, version);
      const scores = scorePrefix(physDb, key, version);
      const byMember = new Map<string, number>();
      for (const [memberKey, value] of await entries(h.engine, members, prefixEnd(members))) {
        byMember.set(memberKey.subarray(members.length).toString('hex'), decodeOrderedDouble(value, 0));
      }
      const indexed = await entries(h.engine, scores, prefixEnd(scores));
      for (const [scoreKey] of indexed) {
        const member = scoreKey.subarray(scores.length + 8).toString('hex');
        const score = decodeOrderedDouble(scoreKey, scores.length);
        if (byMember.get(member) !== score) problems.push(`${key}: Z entry ${member}=${score}, S says ${byMember.get(member)}`);
      }
      if (indexed.length !== byMember.size) problems.push(`${key}: ${indexed.length} Z entries, ${byMember.size} S entries`);
      if (recordSize(record) !== byMember.size) problems.push(`${key}: size ${recordSize(record)}, ${byMember.size} members`);
      if (recordSize(record) === 0) problems.push(`${key}: an empty sorted set is stored`);
    }
  }
  return problems.join('\n');
}

const notFloat = '-ERR value is not a valid float';
const scoreRange = '-ERR min or max is not a float';
const lexRange = '-ERR min or max not valid string range item';

const engines: [string, () => EngineHarness][] = [
  ['LsmEngine', lsmHarness],
  ['LevelEngine', levelHarness],
];

describe.each(engines)('sorted-set commands (%s)', (_name, makeEngine) => {
  const engineHarness = makeEngine();
  let h: Harness;
  let r: Harness['r'];

  beforeEach(async () => {
    engineHarness.reset();
    h = await harness(await engineHarness.open());
    r = h.r;
  });

  afterEach(async () => {
    await h.settle();
    expect(await zsetProblems(h)).toBe('');
    expect(await checkInvariants(h.engine, h.keyspace)).toBe('');
    await h.engine.close();
  });

  afterAll(() => engineHarness.cleanup());

  describe('ZADD and ZINCRBY', () => {
    it('adds and updates, counting added members (CH: and changed ones); duplicates in one call keep the last score', async () => {
      expect(await r('ZADD', 'z', '1', 'a', '2', 'b')).toBe(2);
      expect(await r('ZADD', 'z', '3', 'a', '2', 'b', '4', 'c')).toBe(1);
      expect(await r('ZADD', 'z', 'CH', '5', 'a', '2', 'b', '6', 'd')).toBe(2);
      expect(await r('ZADD', 'z', '1', 'e', '7', 'e')).toBe(1);
      expect(await r('ZRANGE', 'z', '0', '-1', 'WITHSCORES')).toEqual(['b', '2', 'c', '4', 'a', '5', 'd', '6', 'e', '7']);
      expect(await r('ZCARD', 'z')).toBe(5);
      expect(await r('TYPE', 'z')).toBe('+zset');
      expect(await r('OBJECT', 'ENCODING', 'z')).toBe('skiplist');
    });

    it('NX only adds, XX only updates (and never creates the key), GT and LT only move scores one way', async () => {
      await r('ZADD', 'z', '5', 'a');
      expect(await r('ZADD', 'z', 'NX', '1', 'a', '1', 'b')).toBe(1);
      expect(await r('ZSCORE', 'z', 'a')).toBe('5');
      expect(await r('ZADD', 'z', 'XX', 'CH', '2', 'a', '2', 'c')).toBe(1);
      expect(await r('ZSCORE', 'z', 'c')).toBeNull();
      expect(await r('ZADD', 'nokey', 'XX', '1', 'a')).toBe(0);
      expect(await r('EXISTS', 'nokey')).toBe(0);
      expect(await r('ZADD', 'z', 'GT', 'CH', '1', 'a', '9', 'b', '3', 'new')).toBe(2); // b raised, new added; a not lowered
      expect(await r('ZRANGE', 'z', '0', '-1', 'WITHSCORES')).toEqual(['a', '2', 'new', '3', 'b', '9']);
      expect(await r('ZADD', 'z', 'LT', 'CH', '5', 'a', '0', 'b')).toBe(1);
      expect(await r('ZADD', 'z', 'xx', 'gt', 'ch', '10', 'a')).toBe(1);
      expect(await r('ZSCORE', 'z', 'a')).toBe('10');
    });

    it('INCR and ZINCRBY return the new score, nil when NX/XX/GT/LT skip it', async () => {
      expect(await r('ZINCRBY', 'z', '1.5', 'a')).toBe('1.5');
      expect(await r('ZINCRBY', 'z', '-0.5', 'a')).toBe('1');
      expect(await r('ZADD', 'z', 'INCR', '10', 'a')).toBe('11');
      expect(await r('ZADD', 'z', 'NX', 'INCR', '1', 'a')).toBeNull();
      expect(await r('ZADD', 'z', 'XX', 'INCR', '1', 'nope')).toBeNull();
      expect(await r('ZADD', 'z', 'GT', 'INCR', '-1', 'a')).toBeNull();
      expect(await r('ZADD', 'z', 'LT', 'INCR', '-1', 'a')).toBe('10');
      expect(await r('ZADD', 'nokey', 'XX', 'INCR', '1', 'a')).toBeNull();
      expect(await r('ZINCRBY', 'z', '0.1', 'b')).toBe('0.1');
      expect(await r('ZINCRBY', 'z', '0.2', 'b')).toBe('0.30000000000000004');
    });

    it('takes inf and -inf; refuses NaN results and invalid floats before touching the key', async () => {
      expect(await r('ZADD', 'z', '+inf', 'hi', '-inf', 'lo', '-0', 'zero', '1e-5', 'small', '0x10', 'hex')).toBe(5);
      expect(await r('ZRANGE', 'z', '0', '-1', 'WITHSCORES')).toEqual(['lo', '-inf', 'zero', '0', 'small', '0.00001', 'hex', '16', 'hi', 'inf']);
      expect(await r('ZINCRBY', 'z', '-inf', 'hi')).toBe('-ERR resulting score is not a number (NaN)');
      expect(await r('ZADD', 'z', 'INCR', '+inf', 'lo')).toBe('-ERR resulting score is not a number (NaN)');
      expect(await r('ZSCORE', 'z', 'hi')).toBe('inf');
      for (const bad of ['nan', 'x', '', ' 1', '1 ', '1e400', '1e-400', 'infinit', '1e']) {
        expect(await r('ZADD', 'z', bad, 'm'), bad).toBe(notFloat);
      }
      expect(await r('ZINCRBY', 'z', 'abc', 'm')).toBe(notFloat);
      expect(await r('SET', 's', 'v')).toBe('+OK');
      expect(await r('ZADD', 's', 'x', 'm')).toBe(notFloat); // scores are checked before the type
      expect(await r('ZADD', 's', '1', 'm')).toBe(wrongType);
      expect(await r('ZINCRBY', 's', '1', 'm')).toBe(wrongType);
    });

    it('words option errors as Redis, in its order', async () => {
      expect(await r('ZADD', 'z', '1')).toBe("-ERR wrong number of arguments for 'zadd' command");
      expect(await r('ZADD', 'z', 'NX', '1')).toBe(syntax);
      expect(await r('ZADD', 'z', '1', 'a', '2')).toBe(syntax);
      expect(await r('ZADD', 'z', 'NX', 'XX', '1', 'a')).toBe('-ERR XX and NX options at the same time are not compatible');
      expect(await r('ZADD', 'z', 'GT', 'LT', '1', 'a')).toBe('-ERR GT, LT, and/or NX options at the same time are not compatible');
      expect(await r('ZADD', 'z', 'NX', 'GT', '1', 'a')).toBe('-ERR GT, LT, and/or NX options at the same time are not compatible');
      expect(await r('ZADD', 'z', 'INCR', '1', 'a', '2', 'b')).toBe('-ERR INCR option supports a single increment-element pair');
      expect(await r('ZINCRBY', 'z', 'nx', 'm')).toBe(syntax); // the increment is read as an option, as in Redis
      expect(await r('EXISTS', 'z')).toBe(0);
    });
  });

  describe('ZREM, ZCARD, ZSCORE, ZMSCORE', () => {
    it('removes members; the emptied set disappears', async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c');
      expect(await r('ZREM', 'z', 'a', 'a', 'nope')).toBe(1);
      expect(await r('ZCARD', 'z')).toBe(2);
      expect(await r('ZREM', 'z', 'b', 'c', 'd')).toBe(2);
      expect(await r('EXISTS', 'z')).toBe(0);
      expect(await r('TYPE', 'z')).toBe('+none');
      expect(await r('DBSIZE')).toBe(0);
      expect(await r('ZREM', 'z', 'a')).toBe(0);
      expect(await r('ZCARD', 'z')).toBe(0);
      await r('SET', 's', 'v');
      expect(await r('ZREM', 's', 'a')).toBe(wrongType);
      expect(await r('ZCARD', 's')).toBe(wrongType);
    });

    it('ZSCORE and ZMSCORE answer scores in the shortest round-trip form, nil for missing members', async () => {
      await r('ZADD', 'z', '0.1', 'a', '1e20', 'b', '-2.5', 'c', '123456789012', 'd', '1.5e-7', 'e');
      expect(await r('ZSCORE', 'z', 'a')).toBe('0.1');
      expect(await r('ZSCORE', 'z', 'b')).toBe('1e+20');
      expect(await r('ZSCORE', 'z', 'd')).toBe('123456789012');
      expect(await r('ZSCORE', 'z', 'e')).toBe('1.5e-7');
      expect(await r('ZSCORE', 'z', 'nope')).toBeNull();
      expect(await r('ZSCORE', 'nokey', 'a')).toBeNull();
      expect(await r('ZMSCORE', 'z', 'c', 'nope', 'a')).toEqual(['-2.5', null, '0.1']);
      expect(await r('ZMSCORE', 'nokey', 'a', 'b')).toEqual([null, null]);
      await r('SET', 's', 'v');
      expect(await r('ZSCORE', 's', 'a')).toBe(wrongType);
      expect(await r('ZMSCORE', 's', 'a')).toBe(wrongType);
    });

    it('members are binary: empty and non-UTF-8 members work', async () => {
      const odd = Buffer.from([0xff, 0x00, 0x80]);
      expect(await r('ZADD', 'z', '1', odd, '2', '')).toBe(2);
      expect(await h.raw('ZSCORE', 'z', odd)).toEqual(new DoubleReply(1));
      expect(await r('ZRANGE', 'z', '0', '-1')).toEqual([odd.toString('latin1'), '']);
      expect(await r('ZRANK', 'z', '')).toBe(1);
    });
  });

  describe('ZRANK and ZREVRANK', () => {
    it('answers ranks from both ends, with the score on WITHSCORE', async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b', '2', 'c', '3', 'd');
      expect(await r('ZRANK', 'z', 'a')).toBe(0);
      expect(await r('ZRANK', 'z', 'c')).toBe(2);
      expect(await r('ZREVRANK', 'z', 'c')).toBe(1);
      expect(await r('ZREVRANK', 'z', 'd')).toBe(0);
      expect(await r('ZRANK', 'z', 'd', 'WITHSCORE')).toEqual([3, '3']);
      expect(await r('ZREVRANK', 'z', 'a', 'withscore')).toEqual([3, '1']);
      expect(await r('ZRANK', 'z', 'nope')).toBeNull();
      expect(await r('ZRANK', 'z', 'nope', 'WITHSCORE')).toBe('*-1');
      expect(await r('ZRANK', 'nokey', 'a')).toBeNull();
      expect(await r('ZRANK', 'nokey', 'a', 'WITHSCORE')).toBe('*-1');
      expect(await r('ZRANK', 'z', 'a', 'WITHSCORES')).toBe(syntax);
      expect(await r('ZRANK', 'z', 'a', 'WITHSCORE', 'x')).toBe("-ERR wrong number of arguments for 'zrank' command");
      await r('SET', 's', 'v');
      expect(await r('ZREVRANK', 's', 'a')).toBe(wrongType);
    });

    it('counts ranks right in a larger set, whichever end is nearer', async () => {
      const args: string[] = [];
      for (let index = 0; index < 500; index++) args.push(String(index % 7), `m${String(index).padStart(3, '0')}`);
      await r('ZADD', 'z', ...args);
      const order = (await r('ZRANGE', 'z', '0', '-1')) as string[];
      expect(order).toHaveLength(500);
      for (const rank of [0, 1, 63, 64, 65, 200, 249, 250, 251, 436, 498, 499]) {
        expect(await r('ZRANK', 'z', order[rank]!), `rank ${rank}`).toBe(rank);
        expect(await r('ZREVRANK', 'z', order[rank]!), `revrank ${rank}`).toBe(499 - rank);
      }
    });
  });

  describe('ZCOUNT and ZLEXCOUNT', () => {
    it('counts by score with open ends, infinities and strtod forms', async () => {
      await r('ZADD', 'z', '-inf', 'lo', '1', 'a', '2', 'b', '3', 'c', '+inf', 'hi');
      expect(await r('ZCOUNT', 'z', '-inf', '+inf')).toBe(5);
      expect(await r('ZCOUNT', 'z', '(1', '3')).toBe(2);
      expect(await r('ZCOUNT', 'z', '(1', '(3')).toBe(1);
      expect(await r('ZCOUNT', 'z', '(-inf', '(inf')).toBe(3);
      expect(await r('ZCOUNT', 'z', '2', '1')).toBe(0);
      expect(await r('ZCOUNT', 'z', '(2', '2')).toBe(0);
      expect(await r('ZCOUNT', 'z', ' 2', '1e400')).toBe(3); // strtod: leading space, overflow to inf
      expect(await r('ZCOUNT', 'z', '', '(')).toBe(0); // empty text is 0
      expect(await r('ZCOUNT', 'z', 'x', '1')).toBe(scoreRange);
      expect(await r('ZCOUNT', 'z', '1', '(nan')).toBe(scoreRange);
      expect(await r('ZCOUNT', 'z', '1 ', '2')).toBe(scoreRange);
      expect(await r('ZCOUNT', 'nokey', '0', '1')).toBe(0);
      await r('SET', 's', 'v');
      expect(await r('ZCOUNT', 's', 'x', '1')).toBe(scoreRange);
      expect(await r('ZCOUNT', 's', '0', '1')).toBe(wrongType);
    });

    it('counts by lex with [ ( - +', async () => {
      await r('ZADD', 'z', '0', 'a', '0', 'b', '0', 'c', '0', 'cc', '0', 'd');
      expect(await r('ZLEXCOUNT', 'z', '-', '+')).toBe(5);
      expect(await r('ZLEXCOUNT', 'z', '[b', '[c')).toBe(2);
      expect(await r('ZLEXCOUNT', 'z', '(b', '(d')).toBe(2);
      expect(await r('ZLEXCOUNT', 'z', '[c', '+')).toBe(3);
      expect(await r('ZLEXCOUNT', 'z', '[c', '[a')).toBe(0);
      expect(await r('ZLEXCOUNT', 'z', '+', '-')).toBe(0);
      expect(await r('ZLEXCOUNT', 'z', '-', '-')).toBe(0);
      expect(await r('ZLEXCOUNT', 'z', '[b', '(b')).toBe(0);
      expect(await r('ZLEXCOUNT', 'z', '[b', '[b')).toBe(1);
      for (const bad of [['b', '+'], ['-', '+x'], ['', '+'], ['[a', 'c']]) {
        expect(await r('ZLEXCOUNT', 'z', bad[0]!, bad[1]!), bad.join(' ')).toBe(lexRange);
      }
      expect(await r('ZLEXCOUNT', 'nokey', '-', '+')).toBe(0);
    });
  });

  describe('ZRANGE and its older forms', () => {
    beforeEach(async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e');
    });

    it('ranges by rank with negative and out-of-range indexes, REV, WITHSCORES', async () => {
      expect(await r('ZRANGE', 'z', '0', '-1')).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(await r('ZRANGE', 'z', '-2', '100')).toEqual(['d', 'e']);
      expect(await r('ZRANGE', 'z', '-100', '1')).toEqual(['a', 'b']);
      expect(await r('ZRANGE', 'z', '3', '1')).toEqual([]);
      expect(await r('ZRANGE', 'z', '5', '10')).toEqual([]);
      expect(await r('ZRANGE', 'z', '0', '-6')).toEqual([]);
      expect(await r('ZRANGE', 'z', '0', '1', 'REV', 'WITHSCORES')).toEqual(['e', '5', 'd', '4']);
      expect(await r('ZREVRANGE', 'z', '1', '-2', 'WITHSCORES')).toEqual(['d', '4', 'c', '3', 'b', '2']);
      expect(await r('ZRANGE', 'z', '3', '4', 'withscores')).toEqual(['d', '4', 'e', '5']);
      expect(await r('ZRANGE', 'nokey', '0', '-1')).toEqual([]);
      expect(await r('ZRANGE', 'z', 'x', '1')).toBe(notInteger);
    });

    it('ranges by score: BYSCORE, Z[REV]RANGEBYSCORE (max first), LIMIT offset count', async () => {
      expect(await r('ZRANGE', 'z', '(1', '3', 'BYSCORE')).toEqual(['b', 'c']);
      expect(await r('ZRANGE', 'z', '3', '(1', 'BYSCORE', 'REV')).toEqual(['c', 'b']);
      expect(await r('ZRANGE', 'z', '(1', '3', 'BYSCORE', 'REV')).toEqual([]);
      expect(await r('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', '1', '2', 'WITHSCORES')).toEqual(['b', '2', 'c', '3']);
      expect(await r('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', '3', '-1')).toEqual(['d', 'e']);
      expect(await r('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', '0', '0')).toEqual([]);
      expect(await r('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', '-1', '2')).toEqual([]);
      expect(await r('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', '9', '2')).toEqual([]);
      expect(await r('ZREVRANGEBYSCORE', 'z', '+inf', '(2', 'LIMIT', '1', '10')).toEqual(['d', 'c']);
      expect(await r('ZREVRANGEBYSCORE', 'z', '2', '4')).toEqual([]);
      expect(await r('ZRANGEBYSCORE', 'z', '4', '2')).toEqual([]);
      expect(await r('ZRANGEBYSCORE', 'z', '1', 'x')).toBe(scoreRange);
      expect(await r('ZRANGEBYSCORE', 'z', '1', '2', 'LIMIT', 'x', '1')).toBe(notInteger);
      expect(await r('ZRANGEBYSCORE', 'z', '1', '2', 'LIMIT', '1')).toBe(syntax);
      expect(await r('ZRANGEBYSCORE', 'z', '1', '2', 'BYSCORE')).toBe(syntax);
      expect(await r('ZREVRANGEBYSCORE', 'z', '2', '1', 'REV')).toBe(syntax);
    });

    it('ranges by lex: BYLEX, Z[REV]RANGEBYLEX', async () => {
      await r('ZADD', 'l', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e', '0', 'ee');
      expect(await r('ZRANGE', 'l', '[b', '(d', 'BYLEX')).toEqual(['b', 'c']);
      expect(await r('ZRANGE', 'l', '(d', '[b', 'BYLEX', 'REV')).toEqual(['c', 'b']);
      expect(await r('ZRANGEBYLEX', 'l', '-', '+', 'LIMIT', '2', '3')).toEqual(['c', 'd', 'e']);
      expect(await r('ZRANGEBYLEX', 'l', '[e', '+')).toEqual(['e', 'ee']);
      expect(await r('ZRANGEBYLEX', 'l', '(e', '+')).toEqual(['ee']);
      expect(await r('ZREVRANGEBYLEX', 'l', '+', '[d')).toEqual(['ee', 'e', 'd']);
      expect(await r('ZREVRANGEBYLEX', 'l', '+', '-', 'LIMIT', '1', '1')).toEqual(['e']);
      expect(await r('ZRANGEBYLEX', 'l', '+', '-')).toEqual([]);
      expect(await r('ZRANGEBYLEX', 'l', 'a', '+')).toBe(lexRange);
      expect(await r('ZRANGEBYLEX', 'l', '-', '+', 'WITHSCORES')).toBe('-ERR syntax error, WITHSCORES not supported in combination with BYLEX');
      expect(await r('ZRANGE', 'l', '-', '+', 'BYLEX', 'WITHSCORES')).toBe('-ERR syntax error, WITHSCORES not supported in combination with BYLEX');
    });

    it('checks options before ranges and ranges before the type', async () => {
      expect(await r('ZRANGE', 'z', '0', '-1', 'LIMIT', '0', '1')).toBe('-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
      expect(await r('ZRANGE', 'z', '0', '-1', 'LIMIT', '0', '-1')).toEqual(['a', 'b', 'c', 'd', 'e']); // LIMIT 0 -1 is no limit, as in Redis
      expect(await r('ZRANGE', 'z', '0', '-1', 'REV', 'REV')).toBe(syntax);
      expect(await r('ZRANGE', 'z', '0', '-1', 'BYSCORE', 'BYLEX')).toBe(syntax);
      expect(await r('ZREVRANGE', 'z', '0', '-1', 'BYSCORE')).toBe(syntax);
      expect(await r('ZRANGE', 'z', '0', '-1', 'BOGUS')).toBe(syntax);
      await r('SET', 's', 'v');
      expect(await r('ZRANGE', 's', 'x', '1', 'BYSCORE')).toBe(scoreRange);
      expect(await r('ZRANGE', 's', '0', '1')).toBe(wrongType);
      expect(await r('ZRANGE', 'z', '0')).toBe("-ERR wrong number of arguments for 'zrange' command");
    });

    it('ZRANGESTORE stores the range, replaces any destination, deletes it on an empty result', async () => {
      await r('SET', 'dst', 'string', 'EX', '100');
      expect(await r('ZRANGESTORE', 'dst', 'z', '1', '3')).toBe(3);
      expect(await r('TYPE', 'dst')).toBe('+zset');
      expect(await r('TTL', 'dst')).toBe(-1);
      expect(await r('ZRANGE', 'dst', '0', '-1', 'WITHSCORES')).toEqual(['b', '2', 'c', '3', 'd', '4']);
      expect(await r('ZRANGESTORE', 'dst', 'z', '(3', '+inf', 'BYSCORE', 'LIMIT', '0', '1')).toBe(1);
      expect(await r('ZRANGE', 'dst', '0', '-1')).toEqual(['d']);
      expect(await r('ZRANGESTORE', 'dst', 'z', '[c', '-', 'BYLEX', 'REV')).toBe(3); // REV: max first
      expect(await r('ZRANGE', 'dst', '0', '-1', 'WITHSCORES')).toEqual(['a', '1', 'b', '2', 'c', '3']);
      expect(await r('ZRANGESTORE', 'z', 'z', '0', '1')).toBe(2); // destination = source
      expect(await r('ZRANGE', 'z', '0', '-1')).toEqual(['a', 'b']);
      expect(await r('ZRANGESTORE', 'dst', 'nokey', '0', '-1')).toBe(0);
      expect(await r('EXISTS', 'dst')).toBe(0);
      expect(await r('ZRANGESTORE', 'dst', 'z', '0', '-1', 'WITHSCORES')).toBe(syntax);
      await r('SET', 's', 'v');
      expect(await r('ZRANGESTORE', 'dst', 's', '0', '-1')).toBe(wrongType);
    });
  });

  describe('pops', () => {
    beforeEach(async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c');
    });

    it('ZPOPMIN and ZPOPMAX pop from either end; the emptied set disappears', async () => {
      expect(await r('ZPOPMIN', 'z')).toEqual(['a', '1']);
      expect(await r('ZPOPMAX', 'z', '1')).toEqual(['c', '3']);
      expect(await r('ZPOPMIN', 'z', '0')).toEqual([]);
      expect(await r('ZPOPMAX', 'z', '10')).toEqual(['b', '2']);
      expect(await r('EXISTS', 'z')).toBe(0);
      expect(await r('ZPOPMIN', 'z')).toEqual([]);
      expect(await r('ZPOPMIN', 'z', '3')).toEqual([]);
      expect(await r('ZPOPMIN', 'z', '-1')).toBe('-ERR value is out of range, must be positive');
      expect(await r('ZPOPMIN', 'z', 'x')).toBe('-ERR value is out of range, must be positive');
      expect(await r('ZPOPMIN', 'z', '1', '2')).toBe(syntax);
      await r('SET', 's', 'v');
      expect(await r('ZPOPMAX', 's', '0')).toBe(wrongType);
    });

    it('ZMPOP pops from the first non-empty key', async () => {
      expect(await r('ZMPOP', '2', 'nokey', 'z', 'MAX', 'COUNT', '2')).toEqual(['z', [['c', '3'], ['b', '2']]]);
      expect(await r('ZMPOP', '1', 'z', 'min')).toEqual(['z', [['a', '1']]]);
      expect(await r('ZMPOP', '1', 'z', 'MIN')).toBe('*-1');
      expect(await r('ZMPOP', '0', 'z', 'MIN')).toBe('-ERR numkeys should be greater than 0');
      expect(await r('ZMPOP', 'x', 'z', 'MIN')).toBe('-ERR numkeys should be greater than 0');
      expect(await r('ZMPOP', '2', 'z', 'MIN')).toBe(syntax);
      expect(await r('ZMPOP', '1', 'z', 'MID')).toBe(syntax);
      expect(await r('ZMPOP', '1', 'z', 'MIN', 'COUNT', '0')).toBe('-ERR count should be greater than 0');
      expect(await r('ZMPOP', '1', 'z', 'MIN', 'COUNT', '1', 'COUNT', '1')).toBe(syntax);
      await r('SET', 's', 'v');
      expect(await r('ZMPOP', '2', 'nokey', 's', 'MIN')).toBe(wrongType);
    });

    it('BZPOPMIN, BZPOPMAX and BZMPOP pop at once when they can and check the timeout as Redis', async () => {
      expect(await r('BZPOPMIN', 'nokey', 'z', '0')).toEqual(['z', 'a', '1']);
      expect(await r('BZPOPMAX', 'z', '0.5')).toEqual(['z', 'c', '3']);
      expect(await r('BZMPOP', '1', '1', 'z', 'MAX', 'COUNT', '5')).toEqual(['z', [['b', '2']]]);
      expect(await r('BZPOPMIN', 'z', '-1')).toBe('-ERR timeout is negative');
      expect(await r('BZPOPMIN', 'z', 'abc')).toBe('-ERR timeout is not a float or out of range');
      expect(await r('BZPOPMIN', 'z', '1e400')).toBe('-ERR timeout is negative'); // ms overflow, as Redis 7.0 (and BLPOP here) words it
      expect(await r('BZMPOP', 'x', '0', 'z', 'MIN')).toBe('-ERR numkeys should be greater than 0'); // options before the timeout
      expect(await r('BZMPOP', 'x', '1', 'z', 'MIN')).toBe('-ERR timeout is not a float or out of range');
      await r('SET', 's', 'v');
      expect(await r('BZPOPMIN', 'nokey', 's', '0')).toBe(wrongType);
    });

    it('block when there is nothing to pop: a BlockedReply whose retry pops once a key holds a set', async () => {
      const blocked = await h.raw('BZPOPMAX', 'k1', 'k2', '1.5');
      expect(blocked).toBeInstanceOf(BlockedReply);
      const { db, keys, timeoutMs, retry, timeoutReply } = blocked as BlockedReply;
      expect([db, keys.map(String), timeoutMs, timeoutReply]).toEqual([0, ['k1', 'k2'], 1500, NullArrayReply.instance]);
      expect(await retry(h.ctx)).toBeUndefined();
      await r('ZADD', 'k2', '1', 'a', '2', 'b');
      expect(plain((await retry(h.ctx))!)).toEqual(['k2', 'b', '2']);
      await r('SET', 'k1', 'string');
      // A retry passes over keys of another type (Redis wakes a waiter only for its type): k2 serves.
      expect(plain((await retry(h.ctx))!)).toEqual(['k2', 'a', '1']);
      const forever = (await h.raw('BZMPOP', '0', '1', 'k3', 'MIN', 'COUNT', '2')) as BlockedReply;
      expect(forever.timeoutMs).toBe(0);
      await r('ZADD', 'k3', '1', 'a', '2', 'b', '3', 'c');
      expect(plain((await forever.retry(h.ctx))!)).toEqual(['k3', [['a', '1'], ['b', '2']]]);
      h.ctx.db = 1;
      expect(plain((await forever.retry(h.ctx))!)).toEqual(['k3', [['c', '3']]]); // the retry keeps the blocked command's db
    });
  });

  describe('ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX', () => {
    it('remove ranges and count them; removing everything deletes the key', async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e');
      expect(await r('ZREMRANGEBYRANK', 'z', '-2', '-1')).toBe(2);
      expect(await r('ZREMRANGEBYRANK', 'z', '5', '10')).toBe(0);
      expect(await r('ZREMRANGEBYSCORE', 'z', '(1', '2')).toBe(1);
      expect(await r('ZRANGE', 'z', '0', '-1')).toEqual(['a', 'c']);
      expect(await r('ZREMRANGEBYSCORE', 'z', '-inf', '+inf')).toBe(2);
      expect(await r('EXISTS', 'z')).toBe(0);
      await r('ZADD', 'l', '0', 'a', '0', 'b', '0', 'c', '0', 'd');
      expect(await r('ZREMRANGEBYLEX', 'l', '(a', '[c')).toBe(2);
      expect(await r('ZRANGE', 'l', '0', '-1')).toEqual(['a', 'd']);
      expect(await r('ZREMRANGEBYLEX', 'l', '-', '+')).toBe(2);
      expect(await r('EXISTS', 'l')).toBe(0);
      expect(await r('ZREMRANGEBYRANK', 'nokey', '0', '-1')).toBe(0);
      expect(await r('ZREMRANGEBYRANK', 'z', 'x', '1')).toBe(notInteger);
      expect(await r('ZREMRANGEBYSCORE', 'z', 'x', '1')).toBe(scoreRange);
      expect(await r('ZREMRANGEBYLEX', 'z', 'x', 'y')).toBe(lexRange);
      await r('SET', 's', 'v');
      expect(await r('ZREMRANGEBYRANK', 's', '0', '1')).toBe(wrongType);
    });
  });

  describe('union, intersection, difference', () => {
    beforeEach(async () => {
      await r('ZADD', 'z1', '1', 'a', '2', 'b', '3', 'c');
      await r('ZADD', 'z2', '10', 'b', '20', 'c', '30', 'd');
      makeSet(h, 'set', ['a', 'd', 'x']);
    });

    it('ZUNION, ZINTER, ZDIFF with WEIGHTS, AGGREGATE and WITHSCORES; sets count as score 1', async () => {
      expect(await r('ZUNION', '2', 'z1', 'z2', 'WITHSCORES')).toEqual(['a', '1', 'b', '12', 'c', '23', 'd', '30']);
      expect(await r('ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '2', '0.5', 'AGGREGATE', 'MAX', 'WITHSCORES')).toEqual(['a', '2', 'b', '5', 'c', '10', 'd', '15']);
      expect(await r('ZINTER', '2', 'z1', 'z2', 'AGGREGATE', 'MIN', 'WITHSCORES')).toEqual(['b', '2', 'c', '3']);
      expect(await r('ZINTER', '2', 'z2', 'set', 'WITHSCORES')).toEqual(['d', '31']);
      expect(await r('ZINTER', '2', 'z1', 'z1', 'WITHSCORES')).toEqual(['a', '2', 'b', '4', 'c', '6']);
      expect(await r('ZDIFF', '3', 'z1', 'z2', 'set', 'WITHSCORES')).toEqual([]);
      expect(await r('ZDIFF', '2', 'z2', 'z1', 'WITHSCORES')).toEqual(['d', '30']);
      expect(await r('ZDIFF', '1', 'set')).toEqual(['a', 'd', 'x']);
      expect(await r('ZUNION', '2', 'z1', 'nokey')).toEqual(['a', 'b', 'c']);
      expect(await r('ZINTER', '2', 'z1', 'nokey')).toEqual([]);
      expect(await r('ZINTERCARD', '2', 'z1', 'z2')).toBe(2);
      expect(await r('ZINTERCARD', '2', 'z1', 'z2', 'LIMIT', '1')).toBe(1);
      expect(await r('ZINTERCARD', '2', 'z1', 'z2', 'LIMIT', '0')).toBe(2);
    });

    it('sums inf and -inf to 0, and a NaN product (inf * 0) to 0, as Redis', async () => {
      await r('ZADD', 'i1', '+inf', 'm');
      await r('ZADD', 'i2', '-inf', 'm');
      expect(await r('ZUNION', '2', 'i1', 'i2', 'WITHSCORES')).toEqual(['m', '0']);
      expect(await r('ZINTER', '2', 'i1', 'i2', 'WITHSCORES')).toEqual(['m', '0']);
      expect(await r('ZUNION', '1', 'i1', 'WEIGHTS', '0', 'WITHSCORES')).toEqual(['m', '0']);
    });

    it('the STORE forms replace the destination and answer its size', async () => {
      expect(await r('ZUNIONSTORE', 'out', '2', 'z1', 'z2')).toBe(4);
      expect(await r('ZRANGE', 'out', '0', '-1', 'WITHSCORES')).toEqual(['a', '1', 'b', '12', 'c', '23', 'd', '30']);
      expect(await r('ZINTERSTORE', 'out', '2', 'z1', 'set', 'WEIGHTS', '1', '5')).toBe(1);
      expect(await r('ZRANGE', 'out', '0', '-1', 'WITHSCORES')).toEqual(['a', '6']);
      expect(await r('ZDIFFSTORE', 'z1', '2', 'z1', 'z2')).toBe(1); // the destination may be an input
      expect(await r('ZRANGE', 'z1', '0', '-1')).toEqual(['a']);
      expect(await r('ZINTERSTORE', 'out', '2', 'z1', 'z2')).toBe(0);
      expect(await r('EXISTS', 'out')).toBe(0);
    });

    it('words errors as Redis, checking types before options', async () => {
      expect(await r('ZUNIONSTORE', 'out', '0', 'z1')).toBe("-ERR at least 1 input key is needed for 'zunionstore' command");
      expect(await r('ZINTERCARD', '0', 'z1')).toBe("-ERR at least 1 input key is needed for 'zintercard' command");
      expect(await r('ZUNION', 'x', 'z1')).toBe(notInteger);
      expect(await r('ZUNION', '3', 'z1', 'z2')).toBe(syntax);
      expect(await r('ZUNION', '1', 'z1', 'WEIGHTS', 'x')).toBe('-ERR weight value is not a float');
      expect(await r('ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '1')).toBe(syntax);
      expect(await r('ZUNION', '1', 'z1', 'AGGREGATE', 'AVG')).toBe(syntax);
      expect(await r('ZDIFF', '1', 'z1', 'WEIGHTS', '1')).toBe(syntax);
      expect(await r('ZUNIONSTORE', 'out', '1', 'z1', 'WITHSCORES')).toBe(syntax);
      expect(await r('ZINTERCARD', '1', 'z1', 'LIMIT', '-1')).toBe("-ERR LIMIT can't be negative");
      expect(await r('ZINTERCARD', '1', 'z1', 'WITHSCORES')).toBe(syntax);
      await r('SET', 's', 'v');
      expect(await r('ZUNION', '2', 'z1', 's', 'WEIGHTS', 'x')).toBe(wrongType);
      expect(await r('ZINTERSTORE', 'out', '1', 's')).toBe(wrongType);
    });
  });

  describe('ZRANDMEMBER', () => {
    it('picks members: one, distinct ones, all of them, or with repetitions', async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e');
      const all = ['a', 'b', 'c', 'd', 'e'];
      for (let round = 0; round < 10; round++) expect(all).toContain(await r('ZRANDMEMBER', 'z'));
      const three = (await r('ZRANDMEMBER', 'z', '3')) as string[];
      expect(new Set(three).size).toBe(3);
      for (const member of three) expect(all).toContain(member);
      expect(await r('ZRANDMEMBER', 'z', '10', 'WITHSCORES')).toEqual(['a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5']);
      const repeated = (await r('ZRANDMEMBER', 'z', '-20', 'WITHSCORES')) as string[];
      expect(repeated).toHaveLength(40);
      for (let index = 0; index < repeated.length; index += 2) expect(repeated[index + 1]).toBe(String(all.indexOf(repeated[index]!) + 1));
      const seen = new Set<string>();
      for (let round = 0; round < 200; round++) seen.add((await r('ZRANDMEMBER', 'z')) as string);
      expect([...seen].sort()).toEqual(all); // every member can come up
      expect(await r('ZRANDMEMBER', 'z', '0')).toEqual([]);
      expect(await r('ZRANDMEMBER', 'nokey')).toBeNull();
      expect(await r('ZRANDMEMBER', 'nokey', '5')).toEqual([]);
      expect(await r('ZRANDMEMBER', 'z', 'x')).toBe(notInteger);
      expect(await r('ZRANDMEMBER', 'z', '1', 'SCORES')).toBe(syntax);
      expect(await r('ZRANDMEMBER', 'z', '1', 'WITHSCORES', 'x')).toBe(syntax);
      expect(await r('ZRANDMEMBER', 'z', '-9223372036854775808')).toBe('-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
      expect(await r('ZRANDMEMBER', 'z', '-4611686018427387904', 'WITHSCORES')).toBe('-ERR value is out of range');
      expect(await r('ZRANDMEMBER', 'z', '-2000000')).toBe('-ERR value is out of range');
      await r('SET', 's', 'v');
      expect(await r('ZRANDMEMBER', 's')).toBe(wrongType);
    });
  });

  describe('ZSCAN', () => {
    it('returns every member exactly once across calls, with MATCH and COUNT', async () => {
      const args: string[] = [];
      for (let index = 0; index < 40; index++) args.push(String(index / 4), `m${index}`);
      await r('ZADD', 'z', ...args);
      const seen = new Map<string, string>();
      let cursor = '0';
      let calls = 0;
      do {
        const [next, flat] = (await r('ZSCAN', 'z', cursor, 'COUNT', '7')) as [string, string[]];
        for (let index = 0; index < flat.length; index += 2) {
          expect(seen.has(flat[index]!)).toBe(false);
          seen.set(flat[index]!, flat[index + 1]!);
        }
        cursor = next;
        calls++;
      } while (cursor !== '0' && calls < 100);
      expect(seen.size).toBe(40);
      expect(seen.get('m10')).toBe('2.5');
      const [done, matched] = (await r('ZSCAN', 'z', '0', 'MATCH', 'm1*', 'COUNT', '100')) as [string, string[]];
      expect(done).toBe('0');
      expect(matched.filter((_, index) => index % 2 === 0).sort()).toEqual(['m1', ...Array.from({ length: 10 }, (_, index) => `m1${index}`)].sort());
      expect(await r('ZSCAN', 'nokey', '0', 'COUNT', '0')).toEqual(['0', []]); // a missing key answers before options are read
      expect(await r('ZSCAN', 'z', 'abc')).toBe('-ERR invalid cursor');
      expect(await r('ZSCAN', 'z', '0', 'COUNT', '0')).toBe(syntax);
      expect(await r('ZSCAN', 'z', '0', 'COUNT', 'x')).toBe(notInteger);
      expect(await r('ZSCAN', 'z', '0', 'TYPE', 'zset')).toBe(syntax);
      expect(await r('ZSCAN', 'z', '0', 'NOVALUES')).toBe('-ERR NOVALUES option can only be used in HSCAN'); // Redis 7.4, as SSCAN
      const [restart, some] = (await r('ZSCAN', 'z', '123456789', 'COUNT', '5')) as [string, string[]];
      expect(restart).not.toBe('0'); // an unknown cursor starts over
      expect(some).toHaveLength(10);
      await r('SET', 's', 'v');
      expect(await r('ZSCAN', 's', '0')).toBe(wrongType);
    });
  });

  describe('TTLs and key commands', () => {
    it('honours expiry: an expired set reads as absent and a write starts a new one', async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b');
      expect(await r('EXPIRE', 'z', '10')).toBe(1);
      expect(await r('ZADD', 'z', '3', 'c')).toBe(1);
      expect(await r('TTL', 'z')).toBe(10); // writes keep the TTL
      h.ctx.nowMs += 10_001;
      expect(await r('ZCARD', 'z')).toBe(0);
      expect(await r('ZSCORE', 'z', 'a')).toBeNull();
      expect(await r('ZRANGE', 'z', '0', '-1')).toEqual([]);
      expect(await r('ZREM', 'z', 'a')).toBe(0);
      expect(await r('ZADD', 'z', 'XX', '1', 'a')).toBe(0);
      expect(await r('ZADD', 'z', '5', 'x')).toBe(1);
      expect(await r('ZRANGE', 'z', '0', '-1', 'WITHSCORES')).toEqual(['x', '5']);
      expect(await r('TTL', 'z')).toBe(-1);
      expect(await r('DBSIZE')).toBe(1);
    });

    it('RENAME, COPY and DEL work on sorted sets', async () => {
      await r('ZADD', 'z', '1', 'a', '2', 'b');
      expect(await r('RENAME', 'z', 'y')).toBe('+OK');
      expect(await r('ZRANGE', 'y', '0', '-1', 'WITHSCORES')).toEqual(['a', '1', 'b', '2']);
      expect(await r('COPY', 'y', 'x')).toBe(1);
      expect(await r('ZADD', 'x', '3', 'a')).toBe(0);
      expect(await r('ZSCORE', 'y', 'a')).toBe('1');
      expect(await r('ZRANK', 'x', 'a')).toBe(1);
      expect(await r('DEL', 'x', 'y')).toBe(2);
      expect(await r('ZCARD', 'x')).toBe(0);
      expect(await r('ZADD', 'x', '9', 'n')).toBe(1);
      expect(await r('ZRANGE', 'x', '0', '-1')).toEqual(['n']); // the deleted members stay dead
    });

    it('fires WATCH hooks for writes that change something, not for no-ops', async () => {
      const modified: string[] = [];
      h.keyspace.hooks = { onKeyModified: (_db, key) => modified.push(key.toString()), onDbModified: () => {} };
      await r('ZADD', 'z', '1', 'a');
      await r('ZADD', 'z', '1', 'a');
      await r('ZADD', 'z', 'NX', '2', 'a');
      await r('ZREM', 'z', 'nope');
      await r('ZINCRBY', 'z', '1', 'a');
      await r('ZPOPMIN', 'z');
      expect(modified).toEqual(['z', 'z', 'z']);
    });
  });

  describe('RESP3', () => {
    it('answers doubles, and [member, score] pairs for WITHSCORES', async () => {
      h.ctx.protocol = 3;
      await h.raw('ZADD', 'z', '1', 'a', '2.5', 'b');
      expect(plain3(await h.raw('ZSCORE', 'z', 'b'))).toEqual({ double: 2.5 });
      expect(plain3(await h.raw('ZINCRBY', 'z', '1', 'a'))).toEqual({ double: 2 });
      expect(plain3(await h.raw('ZMSCORE', 'z', 'a', 'x'))).toEqual([{ double: 2 }, null]);
      expect(plain3(await h.raw('ZRANGE', 'z', '0', '-1', 'WITHSCORES'))).toEqual([['a', { double: 2 }], ['b', { double: 2.5 }]]);
      expect(plain3(await h.raw('ZRANGE', 'z', '0', '-1'))).toEqual(['a', 'b']);
      expect(plain3(await h.raw('ZUNION', '1', 'z', 'WITHSCORES'))).toEqual([['a', { double: 2 }], ['b', { double: 2.5 }]]);
      expect(plain3(await h.raw('ZRANDMEMBER', 'z', '5', 'WITHSCORES'))).toEqual([['a', { double: 2 }], ['b', { double: 2.5 }]]);
      expect(plain3(await h.raw('ZRANK', 'z', 'b', 'WITHSCORE'))).toEqual([1, { double: 2.5 }]);
      expect(plain3(await h.raw('ZSCAN', 'z', '0'))).toEqual(['0', ['a', '2', 'b', '2.5']]); // ZSCAN scores stay bulk strings, as in Redis
      expect(plain3(await h.raw('ZPOPMIN', 'z'))).toEqual(['a', { double: 2 }]);
      await h.raw('ZADD', 'z', '1', 'a');
      expect(plain3(await h.raw('ZPOPMIN', 'z', '1'))).toEqual([['a', { double: 1 }]]);
      expect(plain3(await h.raw('BZPOPMAX', 'z', '0'))).toEqual(['z', 'b', { double: 2.5 }]);
    });
  });

  it('every spec has a summary, complexity and key positions that fit its arity', () => {
    for (const spec of sortedSetCommands) {
      expect(spec.summary.length, spec.name).toBeGreaterThan(0);
      expect(spec.complexity.length, spec.name).toBeGreaterThan(0);
      expect(spec.name).toBe(spec.name.toLowerCase());
      expect(spec.name.startsWith('z') || spec.name.startsWith('bz'), spec.name).toBe(true);
      if (spec.firstKey > 0) expect(Math.abs(spec.arity), spec.name).toBeGreaterThan(spec.firstKey);
    }
    expect(new Set(sortedSetCommands.map((spec) => spec.name)).size).toBe(sortedSetCommands.length);
  });
});

// ---------------------------------------------------------------- property test

// Strategy: fast-check draws a sequence of operations on three keys (two
// sorted sets and, sometimes, a string in their place) from a small member
// and score alphabet so that collisions, ties and emptied sets are common:
// ZADD with every flag combination, ZINCRBY, ZREM, ZPOPMIN/MAX, ZMPOP, the
// three ZREMRANGEBY forms, ZRANGESTORE, ZUNIONSTORE, and reads (ZRANGE by
// rank/score/lex with LIMIT, ZRANK, ZREVRANK, ZSCORE, ZCARD, ZCOUNT,
// ZLEXCOUNT), mixed with engine flush, compactRange and a close + reopen.
// The model is a Map of Maps with Redis's semantics written out plainly.
// Invariants: every reply equals the model's; after the sequence (and after
// each reopen) the storage invariant holds (one `S` and one `Z` per member,
// equal scores, size = members, no empty set stored) and the keyspace
// counters match the metadata. Runs: SILT_PROPERTY_RUNS / 4 per engine.

type Model = Map<string, Map<string, number>>;

type Op =
  | { kind: 'command'; args: string[] }
  | { kind: 'flush' }
  | { kind: 'compact' }
  | { kind: 'reopen' };

const keysArb = fc.constantFrom('a', 'b', 'b', 'b');
const memberArb = fc.constantFrom('m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'n', '');
const scoreArb = fc.constantFrom('0', '1', '1', '2', '-1', '2.5', '10', '-inf', '+inf');
const boundArb = fc.constantFrom('-inf', '+inf', '0', '1', '(1', '2', '(2.5', '10');
const lexArb = fc.constantFrom('-', '+', '[m2', '(m2', '[m4', '(m5', '[n', '[');
const indexArb = fc.integer({ min: -8, max: 8 }).map(String);

const commandArb: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(keysArb, fc.subarray(['NX', 'XX', 'GT', 'LT', 'CH']), fc.array(fc.tuple(scoreArb, memberArb), { minLength: 1, maxLength: 6 })).map(([key, flags, pairs]) => ['ZADD', key, ...flags, ...pairs.flat()]) },
  { weight: 2, arbitrary: fc.tuple(keysArb, fc.constantFrom('1', '-2', '0.5', '+inf', '-inf'), memberArb).map(([key, by, member]) => ['ZINCRBY', key, by, member]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, fc.constantFrom('NX', 'XX', 'GT', 'LT'), scoreArb, memberArb).map(([key, flag, score, member]) => ['ZADD', key, flag, 'INCR', score, member]) },
  { weight: 2, arbitrary: fc.tuple(keysArb, fc.array(memberArb, { minLength: 1, maxLength: 3 })).map(([key, members]) => ['ZREM', key, ...members]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('ZPOPMIN', 'ZPOPMAX'), keysArb, fc.option(fc.integer({ min: 0, max: 2 }).map(String), { nil: undefined })).map(([name, key, count]) => (count === undefined ? [name, key] : [name, key, count])) },
  { weight: 1, arbitrary: fc.tuple(keysArb, keysArb, fc.constantFrom('MIN', 'MAX'), fc.integer({ min: 1, max: 3 })).map(([first, second, where, count]) => ['ZMPOP', '2', first, second, where, 'COUNT', String(count)]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, indexArb, indexArb).map(([key, start, stop]) => ['ZREMRANGEBYRANK', key, start, stop]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, boundArb, boundArb).map(([key, min, max]) => ['ZREMRANGEBYSCORE', key, min, max]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, lexArb, lexArb).map(([key, min, max]) => ['ZREMRANGEBYLEX', key, min, max]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, keysArb, indexArb, indexArb).map(([dst, src, start, stop]) => ['ZRANGESTORE', dst, src, start, stop]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, keysArb, keysArb, fc.constantFrom('SUM', 'MIN', 'MAX')).map(([dst, first, second, how]) => ['ZUNIONSTORE', dst, '2', first, second, 'AGGREGATE', how]) },
  { weight: 3, arbitrary: fc.tuple(keysArb, indexArb, indexArb, fc.boolean()).map(([key, start, stop, rev]) => ['ZRANGE', key, start, stop, ...(rev ? ['REV'] : []), 'WITHSCORES']) },
  { weight: 2, arbitrary: fc.tuple(keysArb, boundArb, boundArb, fc.boolean(), fc.integer({ min: 0, max: 3 }), fc.integer({ min: -1, max: 3 })).map(([key, min, max, rev, offset, count]) => ['ZRANGE', key, rev ? max : min, rev ? min : max, 'BYSCORE', ...(rev ? ['REV'] : []), 'LIMIT', String(offset), String(count), 'WITHSCORES']) },
  { weight: 1, arbitrary: fc.tuple(keysArb, lexArb, lexArb, fc.boolean()).map(([key, min, max, rev]) => (rev ? ['ZREVRANGEBYLEX', key, max, min] : ['ZRANGEBYLEX', key, min, max])) },
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('ZRANK', 'ZREVRANK', 'ZSCORE'), keysArb, memberArb).map(([name, key, member]) => [name, key, member]) },
  { weight: 1, arbitrary: keysArb.map((key) => ['ZCARD', key]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, boundArb, boundArb).map(([key, min, max]) => ['ZCOUNT', key, min, max]) },
  { weight: 1, arbitrary: fc.tuple(keysArb, lexArb, lexArb).map(([key, min, max]) => ['ZLEXCOUNT', key, min, max]) },
  { weight: 1, arbitrary: keysArb.map((key) => ['SET', key, 'string']) },
  { weight: 1, arbitrary: keysArb.map((key) => ['DEL', key]) },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: commandArb.map((args): Op => ({ kind: 'command', args })) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'flush' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'compact' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'reopen' }) },
);

/** What Redis answers, computed on the model (scores in RESP2 text). Mutates the model. */
function modelReply(model: Model, strings: Set<string>, args: string[]): Plain {
  const [name, key = ''] = args;
  const sorted = (zset: Map<string, number>): [string, number][] =>
    [...zset.entries()].sort((a, b) => (a[1] !== b[1] ? a[1] - b[1] : Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))));
  const num = (text: string): number => Number(text.replace('inf', 'Infinity'));
  const bound = (text: string): [number, boolean] => (text.startsWith('(') ? [num(text.slice(1)), true] : [num(text), false]);
  const inScore = (score: number, min: string, max: string): boolean => {
    const [low, lowOpen] = bound(min);
    const [high, highOpen] = bound(max);
    return (lowOpen ? score > low : score >= low) && (highOpen ? score < high : score <= high);
  };
  const lexOk = (text: string): boolean => text === '-' || text === '+' || text.startsWith('[') || text.startsWith('(');
  const inLex = (member: string, min: string, max: string): boolean => {
    const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const aboveMin = min === '-' ? true : min === '+' ? false : min.startsWith('(') ? cmp(member, min.slice(1)) > 0 : cmp(member, min.slice(1)) >= 0;
    const belowMax = max === '+' ? true : max === '-' ? false : max.startsWith('(') ? cmp(member, max.slice(1)) < 0 : cmp(member, max.slice(1)) <= 0;
    return aboveMin && belowMax;
  };
  const text = (score: number): string => formatDouble(score);
  const get = (target: string): Map<string, number> | undefined | 'wrong' => (strings.has(target) ? 'wrong' : model.get(target));
  const drop = (target: string): void => {
    if (model.get(target)?.size === 0) model.delete(target);
  };
  const window = (size: number, start: number, stop: number): [number, number] | undefined => {
    let first = start < 0 ? size + start : start;
    let last = stop < 0 ? size + stop : stop;
    if (first < 0) first = 0;
    if (first > last || first >= size) return undefined;
    if (last >= size) last = size - 1;
    return [first, last];
  };
  const zset = get(key);
  switch (name) {
    case 'SET':
      model.delete(key);
      strings.add(key);
      return '+OK';
    case 'DEL': {
      const existed = strings.delete(key) || model.delete(key);
      return existed ? 1 : 0;
    }
  }
  if (name === 'ZADD') {
    const flags = new Set(args.filter((arg) => ['NX', 'XX', 'GT', 'LT', 'CH', 'INCR'].includes(arg)));
    if (flags.has('NX') && flags.has('XX')) return '-ERR XX and NX options at the same time are not compatible';
    if ((flags.has('GT') && flags.has('NX')) || (flags.has('LT') && flags.has('NX')) || (flags.has('GT') && flags.has('LT'))) return '-ERR GT, LT, and/or NX options at the same time are not compatible';
  }
  if (zset === 'wrong' && name !== 'ZRANGESTORE' && name !== 'ZUNIONSTORE' && name !== 'ZMPOP') return wrongType;
  const set = zset === 'wrong' ? undefined : zset;
  switch (name) {
    case 'ZADD': {
      let index = 2;
      const flags = new Set<string>();
      while (['NX', 'XX', 'GT', 'LT', 'CH', 'INCR'].includes(args[index]!)) flags.add(args[index++]!);
      if (set === undefined && flags.has('XX')) return flags.has('INCR') ? null : 0;
      const target = set ?? new Map<string, number>();
      let added = 0;
      let changed = 0;
      let result: number | undefined;
      for (; index < args.length; index += 2) {
        const member = args[index + 1]!;
        let score = num(args[index]!);
        const current = target.get(member);
        if (current === undefined) {
          if (flags.has('XX')) continue;
        } else {
          if (flags.has('NX')) continue;
          if (flags.has('INCR')) {
            score += current;
            if (Number.isNaN(score)) return '-ERR resulting score is not a number (NaN)';
          }
          if ((flags.has('LT') && score >= current) || (flags.has('GT') && score <= current)) continue;
        }
        result = score;
        if (current === undefined) added++;
        else if (current !== score) changed++;
        target.set(member, score === 0 ? 0 : score);
      }
      if (target.size > 0) model.set(key, target);
      if (flags.has('INCR')) return result === undefined ? null : text(result);
      return flags.has('CH') ? added + changed : added;
    }
    case 'ZINCRBY':
      return modelReply(model, strings, ['ZADD', key, 'INCR', args[2]!, args[3]!]);
    case 'ZREM': {
      if (set === undefined) return 0;
      let removed = 0;
      for (const member of args.slice(2)) if (set.delete(member)) removed++;
      drop(key);
      return removed;
    }
    case 'ZPOPMIN':
    case 'ZPOPMAX': {
      const count = args[2] === undefined ? 1 : Number(args[2]);
      if (set === undefined || count === 0) return [];
      const order = sorted(set);
      if (name === 'ZPOPMAX') order.reverse();
      const out: Plain[] = [];
      for (const [member, score] of order.slice(0, count)) {
        set.delete(member);
        out.push(member, text(score));
      }
      drop(key);
      return out;
    }
    case 'ZMPOP': {
      for (const candidate of [args[2]!, args[3]!]) {
        const found = get(candidate);
        if (found === undefined) continue;
        if (found === 'wrong') return wrongType;
        const order = sorted(found);
        if (args[4] === 'MAX') order.reverse();
        const out: Plain[] = [];
        for (const [member, score] of order.slice(0, Number(args[6]))) {
          found.delete(member);
          out.push([member, text(score)]);
        }
        drop(candidate);
        return [candidate, out];
      }
      return '*-1';
    }
    case 'ZREMRANGEBYRANK':
    case 'ZREMRANGEBYSCORE':
    case 'ZREMRANGEBYLEX': {
      if (name === 'ZREMRANGEBYLEX' && !(lexOk(args[2]!) && lexOk(args[3]!))) return lexRange;
      if (set === undefined) return 0;
      const order = sorted(set);
      let doomed: [string, number][];
      if (name === 'ZREMRANGEBYRANK') {
        const range = window(order.length, Number(args[2]), Number(args[3]));
        doomed = range === undefined ? [] : order.slice(range[0], range[1] + 1);
      } else if (name === 'ZREMRANGEBYSCORE') {
        doomed = order.filter(([, score]) => inScore(score, args[2]!, args[3]!));
      } else {
        doomed = order.filter(([member]) => inLex(member, args[2]!, args[3]!));
      }
      for (const [member] of doomed) set.delete(member);
      drop(key);
      return doomed.length;
    }
    case 'ZRANGESTORE': {
      const source = get(args[2]!);
      if (source === 'wrong') return wrongType;
      const order = source === undefined ? [] : sorted(source);
      const range = window(order.length, Number(args[3]), Number(args[4]));
      const picked = range === undefined ? [] : order.slice(range[0], range[1] + 1);
      strings.delete(key);
      if (picked.length === 0) model.delete(key);
      else model.set(key, new Map(picked));
      return picked.length;
    }
    case 'ZUNIONSTORE': {
      const inputs = [get(args[3]!), get(args[4]!)];
      if (inputs.includes('wrong')) return wrongType;
      const how = args[6]!;
      const out = new Map<string, number>();
      for (const input of inputs) {
        if (input === undefined || input === 'wrong') continue;
        for (const [member, score] of input) {
          const existing = out.get(member);
          if (existing === undefined) out.set(member, score);
          else if (how === 'SUM') out.set(member, Number.isNaN(existing + score) ? 0 : existing + score);
          else if (how === 'MIN') out.set(member, Math.min(existing, score));
          else out.set(member, Math.max(existing, score));
        }
      }
      strings.delete(key);
      if (out.size === 0) model.delete(key);
      else model.set(key, new Map([...out].map(([member, score]) => [member, score === 0 ? 0 : score])));
      return out.size;
    }
    case 'ZRANGE': {
      const order = set === undefined ? [] : sorted(set);
      const flat = (list: [string, number][]): Plain[] => list.flatMap(([member, score]) => [member, text(score)]);
      if (args[4] === 'BYSCORE' || args[5] === 'BYSCORE') {
        const rev = args.includes('REV');
        const [min, max] = rev ? [args[3]!, args[2]!] : [args[2]!, args[3]!];
        const at = args.indexOf('LIMIT');
        const offset = Number(args[at + 1]);
        const count = Number(args[at + 2]);
        let list = order.filter(([, score]) => inScore(score, min, max));
        if (rev) list.reverse();
        list = list.slice(offset);
        if (count >= 0) list = list.slice(0, count);
        return flat(list);
      }
      const range = window(order.length, Number(args[2]), Number(args[3]));
      if (range === undefined) return [];
      if (args.includes('REV')) {
        const reversed = order.slice().reverse();
        return flat(reversed.slice(range[0], range[1] + 1));
      }
      return flat(order.slice(range[0], range[1] + 1));
    }
    case 'ZRANGEBYLEX':
    case 'ZREVRANGEBYLEX': {
      const [min, max] = name === 'ZRANGEBYLEX' ? [args[2]!, args[3]!] : [args[3]!, args[2]!];
      if (!lexOk(min) || !lexOk(max)) return lexRange;
      const members = set === undefined ? [] : [...set.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const list = members.filter((member) => inLex(member, min, max));
      return name === 'ZRANGEBYLEX' ? list : list.reverse();
    }
    case 'ZRANK':
    case 'ZREVRANK': {
      if (set === undefined || !set.has(args[2]!)) return null;
      const order = sorted(set).map(([member]) => member);
      const rank = order.indexOf(args[2]!);
      return name === 'ZRANK' ? rank : order.length - 1 - rank;
    }
    case 'ZSCORE': {
      const score = set?.get(args[2]!);
      return score === undefined ? null : text(score);
    }
    case 'ZCARD':
      return set?.size ?? 0;
    case 'ZCOUNT':
      return set === undefined ? 0 : [...set.values()].filter((score) => inScore(score, args[2]!, args[3]!)).length;
    case 'ZLEXCOUNT':
      if (!lexOk(args[2]!) || !lexOk(args[3]!)) return lexRange;
      return set === undefined ? 0 : [...set.keys()].filter((member) => inLex(member, args[2]!, args[3]!)).length;
  }
  throw new Error(`the model has no ${name}`);
}

describe.each(engines)('sorted-set commands against a model (%s)', (_name, makeEngine) => {
  const engineHarness = makeEngine();
  afterAll(() => engineHarness.cleanup());

  it('random command sequences match Redis semantics across flush, compaction and reopen', async () => {
    const runs = Math.max(5, Math.floor(propertyRuns / 4));
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }), async (ops) => {
        engineHarness.reset();
        let h = await harness(await engineHarness.open());
        const model: Model = new Map();
        const strings = new Set<string>();
        try {
          for (const op of ops) {
            if (op.kind === 'flush') {
              await h.settle();
              await h.engine.flush();
            } else if (op.kind === 'compact') {
              await h.settle();
              await h.engine.compactRange();
            } else if (op.kind === 'reopen') {
              await h.settle();
              await h.engine.close();
              h = await harness(await engineHarness.open());
              expect(await zsetProblems(h)).toBe('');
            } else {
              const expected = modelReply(model, strings, op.args);
              expect(await h.r(...op.args), op.args.join(' ')).toEqual(expected);
            }
          }
          await h.settle();
          expect(await zsetProblems(h)).toBe('');
          expect(await checkInvariants(h.engine, h.keyspace)).toBe('');
        } finally {
          await h.settle();
          await h.engine.close();
        }
      }),
      { numRuns: runs },
    );
  });
});
