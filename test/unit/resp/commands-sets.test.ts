// The set command handlers, called through a small fake CommandContext (no
// sockets) on both engines (LsmEngine over MemFileSystem with the keyspace
// compaction filter, where reads are synchronous; LevelEngine, where walks
// answer through a Promise): replies and Redis's exact error wording and
// checking order (compared with redis-server 7.0.15; NOVALUES as 7.4), TTLs,
// emptied sets disappearing, RESP3 set replies. Then a property test: random
// command sequences against an in-memory model of Redis's set semantics,
// across flush, compactRange and reopen, checking sizes against the subkeys.
//
// Property runs come from SILT_PROPERTY_RUNS (default 200, scaled down here:
// every run opens an engine); fast-check prints the seed of a failure.

import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import { recordSize } from '../../../lib/keyspace/metadata.js';
import { SetReply } from '../../../service/resp/reply.js';
import { setCommands } from '../../../service/resp/commands/sets.js';
import { hashCommands } from '../../../service/resp/commands/hashes.js';
import { keyCommands } from '../../../service/resp/commands/keys.js';
import { stringCommands } from '../../../service/resp/commands/strings.js';
import { checkInvariants, levelHarness, lsmHarness, type EngineHarness } from '../keyspace/keyspace-harness.js';
import { propertyRuns } from './resp-test-support.js';
import { arity, commandHarness, commandTable, notInteger, sorted, subkeyCount, syntax, wrongType, type CommandHarness as Harness, type Plain, runCommonStep, type CommonStep } from './command-test-support.js';

const table = commandTable(setCommands, hashCommands, stringCommands, keyCommands);
const harness = (engine: Engine): Promise<Harness> => commandHarness(engine, table);

for (const engineHarness of [lsmHarness(), levelHarness()] satisfies EngineHarness[]) {
  describe(`set commands on ${engineHarness.name}`, () => {
    let h: Harness;
    let r: Harness['r'];
    /** The reply, sorted (sets answer in no particular order). */
    const rs = async (...args: string[]): Promise<Plain> => sorted(await r(...args));

    beforeEach(async () => {
      engineHarness.reset();
      h = await harness(await engineHarness.open());
      r = h.r;
    });

    afterEach(async () => {
      await h.settle();
      expect(await checkInvariants(h.engine, h.keyspace)).toBe('');
      await h.engine.close();
    });

    afterAll(() => engineHarness.cleanup());

    describe('SADD, SREM, SISMEMBER, SMISMEMBER, SCARD, SMEMBERS', () => {
      it('adds and removes members once each; an emptied set disappears', async () => {
        expect(await r('SADD', 's', 'a', 'b', 'c', 'a')).toBe(3);
        expect(await r('SADD', 's', 'a', 'd')).toBe(1);
        expect(await r('SCARD', 's')).toBe(4);
        expect(await subkeyCount(h, 's')).toBe(4);
        expect(await r('SISMEMBER', 's', 'a')).toBe(1);
        expect(await r('SISMEMBER', 's', 'z')).toBe(0);
        expect(await r('SISMEMBER', 'nokey', 'a')).toBe(0);
        expect(await r('SMISMEMBER', 's', 'a', 'z', 'd')).toEqual([1, 0, 1]);
        expect(await r('SMISMEMBER', 'nokey', 'a')).toEqual([0]);
        expect(await r('SMEMBERS', 's')).toEqual(['a', 'b', 'c', 'd']);
        expect(await r('SREM', 's', 'a', 'a', 'z')).toBe(1);
        expect(await r('SREM', 'nokey', 'a')).toBe(0);
        expect(await r('SREM', 's', 'b', 'c', 'd')).toBe(3);
        expect(await r('EXISTS', 's')).toBe(0);
        expect(await r('DBSIZE')).toBe(0);
        expect(await r('SCARD', 's')).toBe(0);
        expect(await r('SMEMBERS', 's')).toEqual([]);
        expect(await r('SADD', 's', '')).toBe(1);
        expect(await r('SMEMBERS', 's')).toEqual(['']);
        expect(await r('TYPE', 's')).toBe('+set');
      });

      it('answers SMEMBERS as a RESP3 set', async () => {
        await r('SADD', 's', 'x');
        expect(await h.raw('SMEMBERS', 's')).toBeInstanceOf(SetReply);
        expect(await h.raw('SMEMBERS', 'nokey')).toEqual(new SetReply([]));
      });
    });

    describe('SRANDMEMBER, SPOP', () => {
      beforeEach(async () => {
        await r('SADD', 's', 'a', 'b', 'c');
      });

      it('SRANDMEMBER picks one, distinct ones for a positive count, repeats for a negative one', async () => {
        expect(['a', 'b', 'c']).toContain(await r('SRANDMEMBER', 's'));
        expect(await r('SRANDMEMBER', 'nokey')).toBeNull();
        const two = (await r('SRANDMEMBER', 's', '2')) as string[];
        expect(new Set(two).size).toBe(2);
        expect(await rs('SRANDMEMBER', 's', '5')).toEqual(['a', 'b', 'c']);
        const many = (await r('SRANDMEMBER', 's', '-10')) as string[];
        expect(many).toHaveLength(10);
        for (const member of many) expect(['a', 'b', 'c']).toContain(member);
        expect(await r('SRANDMEMBER', 's', '0')).toEqual([]);
        expect(await r('SRANDMEMBER', 'nokey', '3')).toEqual([]);
        expect(await h.raw('SRANDMEMBER', 's', '2')).toBeInstanceOf(Array); // an array, not a set: it may repeat
        expect(await r('SCARD', 's')).toBe(3);
      });

      it('SRANDMEMBER words its errors as Redis 7.0', async () => {
        expect(await r('SRANDMEMBER', 's', 'x')).toBe(notInteger);
        expect(await r('SRANDMEMBER', 's', '-9223372036854775808')).toBe('-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
        expect(await r('SRANDMEMBER', 's', '-1048577')).toBe('-ERR value is out of range'); // silt's bound on repeated picks
        expect(await r('SRANDMEMBER', 's', '1', '2')).toBe(syntax);
        await r('SET', 'str', 'x');
        expect(await r('SRANDMEMBER', 'str', '0')).toBe(wrongType);
        expect(await r('SRANDMEMBER', 'str')).toBe(wrongType);
      });

      it('SPOP removes what it returns; popping the last member deletes the set', async () => {
        const one = (await r('SPOP', 's')) as string;
        expect(['a', 'b', 'c']).toContain(one);
        expect(await r('SISMEMBER', 's', one)).toBe(0);
        expect(await r('SCARD', 's')).toBe(2);
        const popped = (await r('SPOP', 's', '1')) as string[];
        expect(popped).toHaveLength(1);
        expect(await r('SCARD', 's')).toBe(1);
        expect(await r('SPOP', 's', '0')).toEqual([]);
        const rest = (await r('SPOP', 's', '10')) as string[];
        expect(sorted([one, ...popped, ...rest])).toEqual(['a', 'b', 'c']);
        expect(await r('EXISTS', 's')).toBe(0);
        expect(await r('SPOP', 's')).toBeNull();
        expect(await r('SPOP', 's', '2')).toEqual([]);
        expect(await h.raw('SPOP', 'nokey', '2')).toEqual(new SetReply([]));
      });

      it('SPOP words its errors as Redis 7.0', async () => {
        expect(await r('SPOP', 's', '-1')).toBe('-ERR value is out of range, must be positive');
        expect(await r('SPOP', 's', 'x')).toBe('-ERR value is out of range, must be positive');
        expect(await r('SPOP', 's', '1', '2')).toBe(syntax);
        await r('SET', 'str', 'x');
        expect(await r('SPOP', 'str', '0')).toBe(wrongType);
        expect(await r('SPOP', 'str')).toBe(wrongType);
        expect(await r('SCARD', 's')).toBe(3);
      });
    });

    describe('SMOVE', () => {
      it('moves a member in one batch, creating and deleting sets as needed', async () => {
        await r('SADD', 'src', 'a', 'b');
        await r('SADD', 'dst', 'b');
        expect(await r('SMOVE', 'src', 'dst', 'a')).toBe(1);
        expect(await rs('SMEMBERS', 'dst')).toEqual(['a', 'b']);
        expect(await r('SMOVE', 'src', 'dst', 'zz')).toBe(0);
        expect(await r('SMOVE', 'src', 'dst', 'b')).toBe(1); // already there: still removed from the source
        expect(await r('EXISTS', 'src')).toBe(0);
        expect(await r('SCARD', 'dst')).toBe(2);
        expect(await r('SMOVE', 'dst', 'fresh', 'a')).toBe(1);
        expect(await r('SMEMBERS', 'fresh')).toEqual(['a']);
        expect(await r('SMOVE', 'dst', 'dst', 'b')).toBe(1);
        expect(await r('SMOVE', 'dst', 'dst', 'zz')).toBe(0);
        expect(await r('SMOVE', 'nokey', 'dst', 'a')).toBe(0);
      });

      it('checks types as Redis: an absent source answers 0 before the destination is checked', async () => {
        await r('SADD', 's', 'a');
        await r('SET', 'str', 'x');
        expect(await r('SMOVE', 's', 'str', 'a')).toBe(wrongType);
        expect(await r('SMOVE', 'str', 's', 'a')).toBe(wrongType);
        expect(await r('SMOVE', 'nokey', 'str', 'a')).toBe(0);
        expect(await r('SMEMBERS', 's')).toEqual(['a']);
      });
    });

    describe('SINTER, SUNION, SDIFF, SINTERCARD and the STORE forms', () => {
      beforeEach(async () => {
        await r('SADD', 's1', 'a', 'b', 'c', 'd');
        await r('SADD', 's2', 'c', 'd', 'e');
        await r('SADD', 's3', 'd', 'e', 'f');
      });

      it('compute as Redis; an absent key is the empty set', async () => {
        expect(await rs('SINTER', 's1', 's2', 's3')).toEqual(['d']);
        expect(await rs('SINTER', 's1', 's2')).toEqual(['c', 'd']);
        expect(await rs('SINTER', 's1')).toEqual(['a', 'b', 'c', 'd']);
        expect(await rs('SINTER', 's1', 's1')).toEqual(['a', 'b', 'c', 'd']);
        expect(await r('SINTER', 's1', 'nokey')).toEqual([]);
        expect(await rs('SUNION', 's1', 's2')).toEqual(['a', 'b', 'c', 'd', 'e']);
        expect(await rs('SUNION', 's1', 'nokey', 's1')).toEqual(['a', 'b', 'c', 'd']);
        expect(await r('SUNION', 'nokey')).toEqual([]);
        expect(await rs('SDIFF', 's1', 's2', 's3')).toEqual(['a', 'b']);
        expect(await rs('SDIFF', 's1', 'nokey')).toEqual(['a', 'b', 'c', 'd']);
        expect(await r('SDIFF', 's1', 's1')).toEqual([]);
        expect(await r('SDIFF', 'nokey', 's1')).toEqual([]);
        expect(await h.raw('SINTER', 's1', 's2')).toBeInstanceOf(SetReply);
      });

      it('type-check every key, even after an absent one', async () => {
        await r('SET', 'str', 'x');
        expect(await r('SINTER', 's1', 'nokey', 'str')).toBe(wrongType);
        expect(await r('SUNION', 's1', 'str')).toBe(wrongType);
        expect(await r('SDIFF', 'nokey', 'str')).toBe(wrongType);
        expect(await r('SINTERCARD', '2', 'nokey', 'str')).toBe(wrongType);
        expect(await r('SINTERSTORE', 'd', 'nokey', 'str')).toBe(wrongType);
        expect(await r('SINTERSTORE', 'str', 's1', 's2')).toBe(2); // the destination's type does not matter
        expect(await r('TYPE', 'str')).toBe('+set');
      });

      it('SINTERCARD counts, stops at LIMIT and words its errors as Redis', async () => {
        expect(await r('SINTERCARD', '2', 's1', 's2')).toBe(2);
        expect(await r('SINTERCARD', '2', 's1', 's2', 'LIMIT', '1')).toBe(1);
        expect(await r('SINTERCARD', '2', 's1', 's2', 'limit', '0')).toBe(2);
        expect(await r('SINTERCARD', '1', 's3', 'LIMIT', '5', 'LIMIT', '1')).toBe(1);
        expect(await r('SINTERCARD', '2', 's1', 'nokey')).toBe(0);
        expect(await r('SINTERCARD', '0', 's1')).toBe('-ERR numkeys should be greater than 0');
        expect(await r('SINTERCARD', 'x', 's1')).toBe('-ERR numkeys should be greater than 0');
        expect(await r('SINTERCARD', '-1', 's1')).toBe('-ERR numkeys should be greater than 0');
        expect(await r('SINTERCARD', '3', 's1')).toBe("-ERR Number of keys can't be greater than number of args");
        expect(await r('SINTERCARD', '1', 's1', 'LIMIT', '-1')).toBe("-ERR LIMIT can't be negative");
        expect(await r('SINTERCARD', '1', 's1', 'LIMIT', 'x')).toBe("-ERR LIMIT can't be negative");
        expect(await r('SINTERCARD', '1', 's1', 'LIMIT')).toBe(syntax);
        expect(await r('SINTERCARD', '1', 's1', 'foo')).toBe(syntax);
      });

      it('the STORE forms replace the destination without its TTL, and delete it for an empty result', async () => {
        expect(await r('SINTERSTORE', 'd', 's1', 's2')).toBe(2);
        expect(await rs('SMEMBERS', 'd')).toEqual(['c', 'd']);
        expect(await r('EXPIRE', 'd', '100')).toBe(1);
        expect(await r('SUNIONSTORE', 'd', 's1', 's3')).toBe(6);
        expect(await r('TTL', 'd')).toBe(-1);
        expect(await subkeyCount(h, 'd')).toBe(6);
        expect(await r('SDIFFSTORE', 'd', 's1', 's2')).toBe(2);
        expect(await rs('SMEMBERS', 'd')).toEqual(['a', 'b']);
        expect(await r('SDIFFSTORE', 's1', 's1', 's2')).toBe(2); // a source may be the destination
        expect(await rs('SMEMBERS', 's1')).toEqual(['a', 'b']);
        expect(await r('SINTERSTORE', 'd', 's1', 'nokey')).toBe(0);
        expect(await r('EXISTS', 'd')).toBe(0);
        expect(await r('SUNIONSTORE', 'd', 'nokey')).toBe(0);
        expect(await r('SDIFFSTORE', 'd', 's2', 's2')).toBe(0);
        expect(await r('EXISTS', 'd')).toBe(0);
      });
    });

    describe('SSCAN', () => {
      it('iterates every member once with COUNT and MATCH', async () => {
        const members = Array.from({ length: 30 }, (_, index) => `m:${index}`);
        await r('SADD', 's', ...members, 'other');
        const seen: string[] = [];
        let cursor = '0';
        let calls = 0;
        do {
          const [next, items] = (await r('SSCAN', 's', cursor, 'COUNT', '4', 'MATCH', 'm:*')) as [string, string[]];
          seen.push(...items);
          cursor = next;
          calls++;
        } while (cursor !== '0' && calls < 100);
        expect(seen.sort()).toEqual(members.sort());
        expect(calls).toBeGreaterThan(6);
        expect(await r('SSCAN', 's', '0', 'MATCH', 'oth*', 'COUNT', '1000')).toEqual(['0', ['other']]);
      });

      it('checks the cursor, then the key, then the options; NOVALUES is for HSCAN only (Redis 7.4)', async () => {
        await r('SADD', 's', 'a');
        await r('SET', 'str', 'x');
        expect(await r('SSCAN', 's', 'x')).toBe('-ERR invalid cursor');
        expect(await r('SSCAN', 'nokey', '0', 'NOVALUES')).toEqual(['0', []]);
        expect(await r('SSCAN', 'str', '0', 'NOVALUES')).toBe(wrongType);
        expect(await r('SSCAN', 's', '0', 'NOVALUES')).toBe('-ERR NOVALUES option can only be used in HSCAN');
        expect(await r('SSCAN', 's', '0', 'COUNT', '0')).toBe(syntax);
        expect(await r('SSCAN', 's', '0', 'COUNT', 'x')).toBe(notInteger);
        expect(await r('SSCAN', 's', '0')).toEqual(['0', ['a']]);
      });
    });

    describe('types and TTLs', () => {
      it('answers WRONGTYPE for every command on a hash', async () => {
        await r('HSET', 'h', 'a', '1');
        const commands = [
          ['SADD', 'h', 'a'],
          ['SREM', 'h', 'a'],
          ['SISMEMBER', 'h', 'a'],
          ['SMISMEMBER', 'h', 'a'],
          ['SCARD', 'h'],
          ['SMEMBERS', 'h'],
          ['SRANDMEMBER', 'h'],
          ['SPOP', 'h'],
          ['SMOVE', 'h', 'x', 'a'],
          ['SINTER', 'h'],
          ['SINTERCARD', '1', 'h'],
          ['SUNION', 'h'],
          ['SDIFF', 'h'],
          ['SINTERSTORE', 'd', 'h'],
          ['SUNIONSTORE', 'd', 'h'],
          ['SDIFFSTORE', 'd', 'h'],
          ['SSCAN', 'h', '0'],
        ];
        for (const command of commands) expect(await r(...command), command.join(' ')).toBe(wrongType);
        expect(await r('HGETALL', 'h')).toEqual(['a', '1']);
        expect(await r('EXISTS', 'd', 'x')).toBe(0);
      });

      it('keeps a live set\'s TTL on writes; an expired set is absent and SADD starts a new one', async () => {
        await r('SADD', 's', 'a', 'b');
        expect(await r('PEXPIRE', 's', '500')).toBe(1);
        await r('SADD', 's', 'c');
        await r('SREM', 's', 'a');
        expect(await r('PTTL', 's')).toBe(500);
        h.ctx.nowMs += 501;
        expect(await r('SCARD', 's')).toBe(0);
        expect(await r('SISMEMBER', 's', 'b')).toBe(0);
        expect(await r('SMEMBERS', 's')).toEqual([]);
        expect(await r('SPOP', 's')).toBeNull();
        expect(await r('SINTER', 's')).toEqual([]);
        expect(await r('SMOVE', 's', 'd', 'b')).toBe(0);
        expect(await r('SADD', 's', 'z')).toBe(1);
        expect(await r('SMEMBERS', 's')).toEqual(['z']);
        expect(await r('PTTL', 's')).toBe(-1);
        expect(await subkeyCount(h, 's')).toBe(1);
      });
    });

    it('every spec has a summary, complexity and key positions that fit its arity', () => {
      expect(setCommands.map((spec) => spec.name).sort()).toEqual(
        ['sadd', 'srem', 'sismember', 'smismember', 'scard', 'smembers', 'srandmember', 'spop', 'smove', 'sinter', 'sintercard', 'sunion', 'sdiff', 'sinterstore', 'sunionstore', 'sdiffstore', 'sscan'].sort(),
      );
      for (const spec of setCommands) {
        expect(spec.summary.length, spec.name).toBeGreaterThan(0);
        expect(spec.complexity.length, spec.name).toBeGreaterThan(0);
        if (spec.firstKey > 0) expect(Math.abs(spec.arity), spec.name).toBeGreaterThan(spec.firstKey);
      }
    });

    it('answers wrong-arity requests through the table specs', async () => {
      expect(await r('SADD', 's')).toBe(arity('sadd'));
      expect(await r('SMOVE', 'a', 'b')).toBe(arity('smove'));
      expect(await r('SMISMEMBER', 's')).toBe(arity('smismember'));
      expect(await r('SINTERCARD', '1')).toBe(arity('sintercard'));
      expect(await r('SINTERSTORE', 'd')).toBe(arity('sinterstore'));
    });

    describe('random command sequences against a model', () => {
      type Model = Map<string, { members: Set<string>; expireMs: number }>;
      const keys = ['s1', 's2', 's3'];
      const memberNames = ['a', 'b', 'c', 'd', 'e'];
      type Step =
        | { kind: 'sadd' | 'srem'; key: string; members: string[] }
        | { kind: 'smove'; from: string; to: string; member: string }
        | { kind: 'spop'; key: string; count: number }
        | { kind: 'sinterstore' | 'sunionstore' | 'sdiffstore'; destination: string; sources: string[] }
        | CommonStep;
      const key = fc.constantFrom(...keys);
      const member = fc.constantFrom(...memberNames);
      const step: fc.Arbitrary<Step> = fc.oneof(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant('sadd' as const), key, members: fc.array(member, { minLength: 1, maxLength: 4 }) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('srem' as const), key, members: fc.array(member, { minLength: 1, maxLength: 4 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('smove' as const), from: key, to: key, member }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('spop' as const), key, count: fc.integer({ min: 0, max: 3 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('sinterstore' as const, 'sunionstore' as const, 'sdiffstore' as const), destination: key, sources: fc.array(key, { minLength: 1, maxLength: 3 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('del' as const), key }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('pexpire' as const), key, ms: fc.integer({ min: 1, max: 50 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 40 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('flush' as const, 'compact' as const, 'reopen' as const) }) },
      );

      function live(model: Model, name: string, nowMs: number): Set<string> | undefined {
        const entry = model.get(name);
        if (entry === undefined) return undefined;
        if (entry.expireMs !== 0 && nowMs > entry.expireMs) {
          model.delete(name);
          return undefined;
        }
        return entry.members;
      }

      function store(model: Model, name: string, members: Set<string>): void {
        if (members.size === 0) model.delete(name);
        else model.set(name, { members, expireMs: 0 });
      }

      it('agrees with the model after every step, and sizes match subkeys', async () => {
        const runs = Math.max(5, Math.floor(propertyRuns / 10));
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
            await h.settle();
            await h.engine.close();
            engineHarness.reset();
            h = await harness(await engineHarness.open());
            const model: Model = new Map();
            for (const current of steps) {
              const now = h.ctx.nowMs;
              switch (current.kind) {
                case 'sadd': {
                  let members = live(model, current.key, now);
                  if (members === undefined) model.set(current.key, { members: (members = new Set<string>()), expireMs: 0 });
                  const before = members.size;
                  for (const name of current.members) members.add(name);
                  expect(await h.r('SADD', current.key, ...current.members)).toBe(members.size - before);
                  break;
                }
                case 'srem': {
                  const members = live(model, current.key, now);
                  const before = members?.size ?? 0;
                  for (const name of current.members) members?.delete(name);
                  if (members?.size === 0) model.delete(current.key);
                  expect(await h.r('SREM', current.key, ...current.members)).toBe(before - (members?.size ?? 0));
                  break;
                }
                case 'smove': {
                  const from = live(model, current.from, now);
                  const to = live(model, current.to, now);
                  let moved = 0;
                  if (from?.has(current.member)) {
                    moved = 1;
                    if (current.from !== current.to) {
                      from.delete(current.member);
                      if (from.size === 0) model.delete(current.from);
                      if (to === undefined) model.set(current.to, { members: new Set([current.member]), expireMs: 0 });
                      else to.add(current.member);
                    }
                  }
                  expect(await h.r('SMOVE', current.from, current.to, current.member)).toBe(moved);
                  break;
                }
                case 'spop': {
                  const members = live(model, current.key, now);
                  const popped = (await h.r('SPOP', current.key, String(current.count))) as string[];
                  expect(popped).toHaveLength(Math.min(current.count, members?.size ?? 0));
                  for (const name of popped) expect(members!.delete(name), name).toBe(true);
                  if (members?.size === 0) model.delete(current.key);
                  break;
                }
                case 'sinterstore':
                case 'sunionstore':
                case 'sdiffstore': {
                  const sets = current.sources.map((name) => live(model, name, now) ?? new Set<string>());
                  let result: Set<string>;
                  if (current.kind === 'sinterstore') result = new Set([...sets[0]!].filter((name) => sets.every((set) => set.has(name))));
                  else if (current.kind === 'sunionstore') result = new Set(sets.flatMap((set) => [...set]));
                  else result = new Set([...sets[0]!].filter((name) => sets.slice(1).every((set) => !set.has(name))));
                  live(model, current.destination, now);
                  store(model, current.destination, result);
                  expect(await h.r(current.kind.toUpperCase(), current.destination, ...current.sources)).toBe(result.size);
                  break;
                }
                default:
                  h = await runCommonStep(current, h, model, async () => harness(await engineHarness.open()));
              }
              for (const name of keys) {
                const members = live(model, name, h.ctx.nowMs);
                expect(await rsOf(h, 'SMEMBERS', name), name).toEqual(members === undefined ? [] : [...members].sort());
                expect(await h.r('SCARD', name)).toBe(members?.size ?? 0);
                const record = h.keyspace.lookup(0, Buffer.from(name), h.ctx.nowMs);
                if (record !== undefined) expect(recordSize(record)).toBe(await subkeyCount(h, name));
              }
            }
            await h.settle();
            expect(await checkInvariants(h.engine, h.keyspace)).toBe('');
          }),
          { numRuns: runs },
        );
      }, 120_000);
    });
  });
}

async function rsOf(h: Harness, ...args: string[]): Promise<Plain> {
  return sorted(await h.r(...args));
}
