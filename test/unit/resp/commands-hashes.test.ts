// The hash command handlers, called through a small fake CommandContext (no
// sockets) on both engines (LsmEngine over MemFileSystem with the keyspace
// compaction filter, where reads are synchronous; LevelEngine, where walks
// answer through a Promise): replies and Redis's exact error wording and
// checking order (compared with redis-server 7.0.15), TTLs, emptied hashes
// disappearing, RESP2 and RESP3 shapes. Then a property test: random command
// sequences against an in-memory model of Redis's hash semantics, across
// flush, compactRange and reopen, checking sizes against the subkeys.
//
// Property runs come from SILT_PROPERTY_RUNS (default 200, scaled down here:
// every run opens an engine); fast-check prints the seed of a failure.

import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import type { WriteBatch } from '../../../lib/engine/write-batch.js';
import { recordSize } from '../../../lib/keyspace/metadata.js';
import { MapReply } from '../../../service/resp/reply.js';
import { hashCommands } from '../../../service/resp/commands/hashes.js';
import { keyCommands } from '../../../service/resp/commands/keys.js';
import { stringCommands } from '../../../service/resp/commands/strings.js';
import { checkInvariants, levelHarness, lsmHarness, type EngineHarness } from '../keyspace/keyspace-harness.js';
import { propertyRuns } from './resp-test-support.js';
import { arity, commandHarness, commandTable, notInteger, sorted, subkeyCount, syntax, wrongType, type CommandHarness as Harness, runCommonStep, type CommonStep } from './command-test-support.js';

const table = commandTable(hashCommands, stringCommands, keyCommands);
const harness = (engine: Engine): Promise<Harness> => commandHarness(engine, table);

for (const engineHarness of [lsmHarness(), levelHarness()] satisfies EngineHarness[]) {
  describe(`hash commands on ${engineHarness.name}`, () => {
    let h: Harness;
    let r: Harness['r'];

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

    describe('HSET, HSETNX, HMSET, HGET, HMGET', () => {
      it('counts new fields only, a field named twice takes its last value', async () => {
        expect(await r('HSET', 'h', 'a', '1', 'b', '2')).toBe(2);
        expect(await r('HSET', 'h', 'a', '10', 'c', '3', 'c', '4')).toBe(1);
        expect(await r('HGET', 'h', 'a')).toBe('10');
        expect(await r('HGET', 'h', 'c')).toBe('4');
        expect(await r('HGET', 'h', 'zz')).toBeNull();
        expect(await r('HGET', 'nokey', 'a')).toBeNull();
        expect(await r('HLEN', 'h')).toBe(3);
        expect(await subkeyCount(h, 'h')).toBe(3);
        expect(await r('TYPE', 'h')).toBe('+hash');
        expect(await r('OBJECT', 'ENCODING', 'h')).toBe('hashtable');
      });

      it('answers an odd pair count with the arity error, as hsetCommand does', async () => {
        expect(await r('HSET', 'h', 'a')).toBe(arity('hset'));
        expect(await r('HSET', 'h', 'a', '1', 'b')).toBe(arity('hset'));
        expect(await r('HMSET', 'h', 'a', '1', 'b')).toBe(arity('hmset'));
        expect(await r('EXISTS', 'h')).toBe(0);
      });

      it('HMSET answers OK; HSETNX sets only a new field', async () => {
        expect(await r('HMSET', 'h', 'a', '1', 'b', '2')).toBe('+OK');
        expect(await r('HSETNX', 'h', 'a', 'x')).toBe(0);
        expect(await r('HSETNX', 'h', 'c', 'x')).toBe(1);
        expect(await r('HSETNX', 'new', 'f', 'v')).toBe(1);
        expect(await r('HMGET', 'h', 'a', 'zz', 'c', 'a')).toEqual(['1', null, 'x', '1']);
        expect(await r('HMGET', 'nokey', 'a', 'b')).toEqual([null, null]);
      });

      it('keeps binary fields and values, and the empty field', async () => {
        expect(await r('HSET', 'h', '', 'empty', 'f\x00\xff', '\x00')).toBe(2);
        expect(await r('HGET', 'h', '')).toBe('empty');
        expect(await r('HGET', 'h', 'f\x00\xff')).toBe('\x00');
        expect(await r('HSTRLEN', 'h', 'f\x00\xff')).toBe(1);
      });
    });

    describe('HDEL, HEXISTS, HLEN, HSTRLEN', () => {
      it('deletes present fields once each; an emptied hash disappears', async () => {
        await r('HSET', 'h', 'a', '1', 'b', '2', 'c', '3');
        expect(await r('HDEL', 'h', 'a', 'a', 'zz')).toBe(1);
        expect(await r('HEXISTS', 'h', 'a')).toBe(0);
        expect(await r('HEXISTS', 'h', 'b')).toBe(1);
        expect(await r('HLEN', 'h')).toBe(2);
        expect(await r('HDEL', 'nokey', 'a')).toBe(0);
        expect(await r('HDEL', 'h', 'b', 'c')).toBe(2);
        expect(await r('EXISTS', 'h')).toBe(0);
        expect(await r('DBSIZE')).toBe(0);
        expect(await r('HLEN', 'h')).toBe(0);
        expect(await r('HSET', 'h', 'new', 'v')).toBe(1);
        expect(await r('HGETALL', 'h')).toEqual(['new', 'v']);
      });

      it('HSTRLEN answers the value length or 0', async () => {
        await r('HSET', 'h', 'a', 'hello');
        expect(await r('HSTRLEN', 'h', 'a')).toBe(5);
        expect(await r('HSTRLEN', 'h', 'b')).toBe(0);
        expect(await r('HSTRLEN', 'nokey', 'b')).toBe(0);
      });
    });

    describe('HKEYS, HVALS, HGETALL', () => {
      it('list fields in field order; an absent key is empty', async () => {
        await r('HSET', 'h', 'b', '2', 'a', '1', 'c', '3');
        expect(await r('HKEYS', 'h')).toEqual(['a', 'b', 'c']);
        expect(await r('HVALS', 'h')).toEqual(['1', '2', '3']);
        expect(await r('HGETALL', 'h')).toEqual(['a', '1', 'b', '2', 'c', '3']);
        expect(await r('HKEYS', 'nokey')).toEqual([]);
        expect(await r('HGETALL', 'nokey')).toEqual([]);
        const reply = await h.raw('HGETALL', 'h');
        expect(reply).toBeInstanceOf(MapReply); // a RESP3 map, flat in RESP2
        // Synchronous on LsmEngine; through a Promise on LevelEngine, whose iterators are asynchronous.
        const direct = table.get('hgetall')!.handler(h.ctx, [Buffer.from('HGETALL'), Buffer.from('h')]);
        expect(direct instanceof Promise).toBe(!engineHarness.filters);
        await direct;
      });
    });

    describe('HINCRBY, HINCRBYFLOAT', () => {
      it('HINCRBY adds within 64 bits and words its errors as Redis', async () => {
        expect(await r('HINCRBY', 'h', 'n', '5')).toBe(5);
        expect(await r('HINCRBY', 'h', 'n', '-7')).toBe(-2);
        expect(await r('HGET', 'h', 'n')).toBe('-2');
        expect(await r('HINCRBY', 'h', 'n', 'x')).toBe(notInteger);
        expect(await r('HINCRBY', 'h', 'n', '1.5')).toBe(notInteger);
        await r('HSET', 'h', 's', 'abc', 'big', '9223372036854775806', 'spaced', ' 1');
        expect(await r('HINCRBY', 'h', 's', '1')).toBe('-ERR hash value is not an integer');
        expect(await r('HINCRBY', 'h', 'spaced', '1')).toBe('-ERR hash value is not an integer');
        expect(await r('HINCRBY', 'h', 'big', '1')).toBe(':9223372036854775807');
        expect(await r('HINCRBY', 'h', 'big', '1')).toBe('-ERR increment or decrement would overflow');
        expect(await r('HINCRBY', 'h', 'low', '-9223372036854775808')).toBe(':-9223372036854775808');
        expect(await r('HINCRBY', 'h', 'low', '-1')).toBe('-ERR increment or decrement would overflow');
        expect(await r('HGET', 'h', 'big')).toBe('9223372036854775807');
      });

      it('HINCRBYFLOAT stores human-friendly text and words its errors as Redis', async () => {
        expect(await r('HINCRBYFLOAT', 'h', 'f', '10.5')).toBe('10.5');
        expect(await r('HINCRBYFLOAT', 'h', 'f', '0.1')).toBe('10.6');
        expect(await r('HINCRBYFLOAT', 'h', 'f', '-5.0e0')).toBe('5.6');
        expect(await r('HINCRBYFLOAT', 'h', 'g', '5.0e3')).toBe('5000');
        expect(await r('HINCRBYFLOAT', 'h', 'i', '10')).toBe('10');
        expect(await r('HINCRBYFLOAT', 'h', 'i', '1e-17')).toBe('10.00000000000000001');
        expect(await r('HINCRBYFLOAT', 'h', 'i', '-10.00000000000000001')).toBe('0');
        expect(await r('HINCRBYFLOAT', 'h', 'f', 'abc')).toBe('-ERR value is not a valid float');
        expect(await r('HINCRBYFLOAT', 'h', 'f', 'nan')).toBe('-ERR value is not a valid float');
        expect(await r('HINCRBYFLOAT', 'h', 'f', 'inf')).toBe('-ERR value is NaN or Infinity');
        expect(await r('HINCRBYFLOAT', 'h', 'f', '1e5000')).toBe('-ERR value is not a valid float');
        await r('HSET', 'h', 's', 'abc');
        expect(await r('HINCRBYFLOAT', 'h', 's', '1')).toBe('-ERR hash value is not a float');
        // A sum past the long double range (LDBL_MAX is about 1.19e4932; long-double.ts).
        await r('HSET', 'h', 'huge', '1.1e4932');
        expect(await r('HINCRBYFLOAT', 'h', 'huge', '1.1e4932')).toBe('-ERR increment would produce NaN or Infinity');
        expect(await r('HGET', 'h', 'huge')).toBe('1.1e4932');
        expect(await r('HGET', 'h', 'f')).toBe('5.6');
      });
    });

    describe('HRANDFIELD', () => {
      beforeEach(async () => {
        await r('HSET', 'h', 'a', '1', 'b', '2', 'c', '3');
      });

      it('picks one field, or nil for an absent key', async () => {
        expect(['a', 'b', 'c']).toContain(await r('HRANDFIELD', 'h'));
        expect(await r('HRANDFIELD', 'nokey')).toBeNull();
      });

      it('picks distinct fields for a positive count, at most all of them', async () => {
        const two = (await r('HRANDFIELD', 'h', '2')) as string[];
        expect(two).toHaveLength(2);
        expect(new Set(two).size).toBe(2);
        expect(sorted(await r('HRANDFIELD', 'h', '10'))).toEqual(['a', 'b', 'c']);
        expect(sorted(await r('HRANDFIELD', 'h', '3', 'WITHVALUES'))).toEqual(['1', '2', '3', 'a', 'b', 'c']);
        const pairs = (await r('HRANDFIELD', 'h', '2', 'withvalues')) as string[];
        expect(pairs).toHaveLength(4);
        const values: Record<string, string> = { a: '1', b: '2', c: '3' };
        for (let index = 0; index < 4; index += 2) expect(pairs[index + 1]).toBe(values[pairs[index]!]);
      });

      it('picks with repetition for a negative count', async () => {
        const picks = (await r('HRANDFIELD', 'h', '-20')) as string[];
        expect(picks).toHaveLength(20);
        for (const pick of picks) expect(['a', 'b', 'c']).toContain(pick);
        const pairs = (await r('HRANDFIELD', 'h', '-5', 'WITHVALUES')) as string[];
        expect(pairs).toHaveLength(10);
        const values: Record<string, string> = { a: '1', b: '2', c: '3' };
        for (let index = 0; index < 10; index += 2) expect(pairs[index + 1]).toBe(values[pairs[index]!]);
      });

      it('answers an empty array for count 0 or an absent key, and WITHVALUES pairs as arrays in RESP3', async () => {
        expect(await r('HRANDFIELD', 'h', '0')).toEqual([]);
        expect(await r('HRANDFIELD', 'nokey', '5')).toEqual([]);
        expect(await r('HRANDFIELD', 'nokey', '-5', 'WITHVALUES')).toEqual([]);
        h.ctx.protocol = 3;
        const pairs = (await r('HRANDFIELD', 'h', '-2', 'WITHVALUES')) as string[][];
        expect(pairs).toHaveLength(2);
        for (const pair of pairs) expect(pair).toHaveLength(2);
        expect(await r('HRANDFIELD', 'h', '2')).toHaveLength(2);
      });

      it('words its errors as Redis 7.0 and checks them in its order', async () => {
        expect(await r('HRANDFIELD', 'h', 'x')).toBe(notInteger);
        expect(await r('HRANDFIELD', 'h', '1', 'withvalue')).toBe(syntax);
        expect(await r('HRANDFIELD', 'h', '1', 'withvalues', 'x')).toBe(syntax);
        expect(await r('HRANDFIELD', 'h', 'x', 'withvalue')).toBe(notInteger);
        expect(await r('HRANDFIELD', 'h', '-9223372036854775808')).toBe('-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
        expect(await r('HRANDFIELD', 'h', '9223372036854775807', 'WITHVALUES')).toBe('-ERR value is out of range');
        expect(await r('HRANDFIELD', 'h', '-4611686018427387904', 'WITHVALUES')).toBe('-ERR value is out of range');
        // Past silt's bound on picks with repetition (Redis would run out of memory).
        expect(await r('HRANDFIELD', 'h', '-1048577')).toBe('-ERR value is out of range');
        expect(await r('HRANDFIELD', 'h', '9223372036854775807')).toHaveLength(3);
        await r('SET', 's', 'x');
        expect(await r('HRANDFIELD', 's')).toBe(wrongType);
        expect(await r('HRANDFIELD', 's', '0')).toBe(wrongType);
        expect(await r('HRANDFIELD', 's', 'x')).toBe(notInteger);
      });
    });

    describe('HSCAN', () => {
      it('iterates every field once with COUNT, MATCH and NOVALUES', async () => {
        const fields = Array.from({ length: 40 }, (_, index) => `field:${index}`);
        await r('HSET', 'h', ...fields.flatMap((field) => [field, `v${field}`]), 'other', 'x');
        const seen: string[] = [];
        let cursor = '0';
        let calls = 0;
        do {
          const [next, items] = (await r('HSCAN', 'h', cursor, 'MATCH', 'field:*', 'COUNT', '7')) as [string, string[]];
          for (let index = 0; index < items.length; index += 2) {
            expect(items[index + 1]).toBe(`v${items[index]}`);
            seen.push(items[index]!);
          }
          cursor = next;
          calls++;
        } while (cursor !== '0' && calls < 100);
        expect(seen.sort()).toEqual(fields.sort());
        expect(calls).toBeGreaterThan(5);
        const [done, all] = (await r('HSCAN', 'h', '0', 'COUNT', '100', 'NOVALUES')) as [string, string[]];
        expect(done).toBe('0');
        expect(all).toHaveLength(41);
        expect(await r('HSCAN', 'h', '0', 'MATCH', 'oth?r')).toEqual(['0', ['other', 'x']]);
      });

      it('checks the cursor, then the key, then the options, as Redis', async () => {
        await r('HSET', 'h', 'a', '1');
        await r('SET', 's', 'x');
        expect(await r('HSCAN', 'h', 'x')).toBe('-ERR invalid cursor');
        expect(await r('HSCAN', 'nokey', 'x')).toBe('-ERR invalid cursor');
        expect(await r('HSCAN', 'nokey', '0', 'COUNT', '0')).toEqual(['0', []]);
        expect(await r('HSCAN', 's', '0', 'COUNT', '0')).toBe(wrongType);
        expect(await r('HSCAN', 'h', '0', 'COUNT', '0')).toBe(syntax);
        expect(await r('HSCAN', 'h', '0', 'COUNT', 'x')).toBe(notInteger);
        expect(await r('HSCAN', 'h', '0', 'MATCH')).toBe(syntax);
        expect(await r('HSCAN', 'h', '0', 'BOGUS')).toBe(syntax);
        expect(await r('HSCAN', 'h', '18446744073709551616')).toBe('-ERR invalid cursor');
        expect(await r('HSCAN', 'h', '12345')).toEqual(['0', ['a', '1']]); // an unknown cursor starts over
      });
    });

    describe('types and TTLs', () => {
      it('answers WRONGTYPE for every command on a string, and hash commands leave it alone', async () => {
        await r('SET', 's', 'x');
        const commands = [
          ['HSET', 's', 'a', '1'],
          ['HSETNX', 's', 'a', '1'],
          ['HMSET', 's', 'a', '1'],
          ['HGET', 's', 'a'],
          ['HMGET', 's', 'a'],
          ['HDEL', 's', 'a'],
          ['HEXISTS', 's', 'a'],
          ['HLEN', 's'],
          ['HSTRLEN', 's', 'a'],
          ['HKEYS', 's'],
          ['HVALS', 's'],
          ['HGETALL', 's'],
          ['HINCRBY', 's', 'a', '1'],
          ['HINCRBYFLOAT', 's', 'a', '1'],
          ['HRANDFIELD', 's', '1'],
          ['HSCAN', 's', '0'],
        ];
        for (const command of commands) expect(await r(...command), command.join(' ')).toBe(wrongType);
        expect(await r('GET', 's')).toBe('x');
        await r('HSET', 'h', 'a', '1');
        expect(await r('GET', 'h')).toBe(wrongType);
      });

      it('keeps a live hash\'s TTL on writes; an expired hash is absent and a write starts a new one', async () => {
        await r('HSET', 'h', 'a', '1', 'b', '2');
        expect(await r('EXPIRE', 'h', '10')).toBe(1);
        await r('HSET', 'h', 'c', '3');
        await r('HDEL', 'h', 'a');
        await r('HINCRBY', 'h', 'n', '1');
        expect(await r('TTL', 'h')).toBe(10);
        h.ctx.nowMs += 10_001;
        expect(await r('HLEN', 'h')).toBe(0);
        expect(await r('HGET', 'h', 'b')).toBeNull();
        expect(await r('HGETALL', 'h')).toEqual([]);
        expect(await r('HDEL', 'h', 'b')).toBe(0);
        expect(await r('HSET', 'h', 'z', '26')).toBe(1);
        expect(await r('HGETALL', 'h')).toEqual(['z', '26']);
        expect(await r('TTL', 'h')).toBe(-1);
        expect(await r('HLEN', 'h')).toBe(1);
        expect(await subkeyCount(h, 'h')).toBe(1);
      });

      it('RENAME and COPY carry the fields to a new version; DEL and SET replace the hash at once', async () => {
        await r('HSET', 'h', 'a', '1', 'b', '2');
        expect(await r('RENAME', 'h', 'h2')).toBe('+OK');
        expect(await r('COPY', 'h2', 'h3')).toBe(1);
        expect(await r('HDEL', 'h2', 'a')).toBe(1);
        expect(await r('HGETALL', 'h3')).toEqual(['a', '1', 'b', '2']);
        expect(await r('HGETALL', 'h2')).toEqual(['b', '2']);
        expect(await r('DEL', 'h3')).toBe(1);
        expect(await r('HSET', 'h3', 'c', '3')).toBe(1);
        expect(await r('HGETALL', 'h3')).toEqual(['c', '3']);
        expect(await r('SET', 'h2', 'now a string')).toBe('+OK');
        expect(await r('HSET', 'h2', 'b', '2')).toBe(wrongType);
      });
    });

    it('writes each command as one batch holding the metadata and the subkeys', async () => {
      const batches: WriteBatch[] = [];
      const write = h.ctx.write;
      h.ctx.write = (batch) => {
        batches.push(batch);
        write(batch);
      };
      await r('HSET', 'h', 'a', '1', 'b', '2');
      await r('HDEL', 'h', 'a', 'b');
      await r('HDEL', 'h', 'a');
      expect(batches).toHaveLength(2); // nothing written when nothing changes
      expect(batches[0]!.ops.map((op) => String.fromCharCode(op.key[0]!))).toEqual(['S', 'S', 'M', 'C']);
      expect(batches[1]!.ops.map((op) => `${op.type}:${String.fromCharCode(op.key[0]!)}`)).toEqual(['del:S', 'del:S', 'del:M', 'put:C']);
      h.ctx.write = write;
    });

    it('every spec has a summary, complexity and key positions that fit its arity', () => {
      expect(hashCommands.map((spec) => spec.name).sort()).toEqual(
        ['hset', 'hsetnx', 'hget', 'hmget', 'hmset', 'hdel', 'hexists', 'hlen', 'hstrlen', 'hkeys', 'hvals', 'hgetall', 'hincrby', 'hincrbyfloat', 'hrandfield', 'hscan'].sort(),
      );
      for (const spec of hashCommands) {
        expect(spec.summary.length, spec.name).toBeGreaterThan(0);
        expect(spec.complexity.length, spec.name).toBeGreaterThan(0);
        expect([spec.firstKey, spec.lastKey, spec.keyStep], spec.name).toEqual([1, 1, 1]);
      }
      expect(table.get('hget')!.arity).toBe(3);
    });

    it('answers wrong-arity requests through the table specs', async () => {
      expect(await r('HGET', 'h')).toBe(arity('hget'));
      expect(await r('HDEL', 'h')).toBe(arity('hdel'));
      expect(await r('HSCAN', 'h')).toBe(arity('hscan'));
      expect(await r('HRANDFIELD')).toBe(arity('hrandfield'));
    });

    describe('random command sequences against a model', () => {
      type Model = Map<string, { fields: Map<string, string>; expireMs: number }>;
      const keys = ['h1', 'h2'];
      const fieldNames = ['a', 'b', 'c', 'd', 'e', 'f'];
      type Step =
        | { kind: 'hset'; key: string; pairs: [string, string][] }
        | { kind: 'hdel'; key: string; fields: string[] }
        | { kind: 'hincrby'; key: string; field: string; by: number }
        | CommonStep;
      const key = fc.constantFrom(...keys);
      const field = fc.constantFrom(...fieldNames);
      const step: fc.Arbitrary<Step> = fc.oneof(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant('hset' as const), key, pairs: fc.array(fc.tuple(field, fc.constantFrom('x', 'y', '7')), { minLength: 1, maxLength: 4 }) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('hdel' as const), key, fields: fc.array(field, { minLength: 1, maxLength: 4 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('hincrby' as const), key, field, by: fc.integer({ min: -5, max: 5 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('del' as const), key }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('pexpire' as const), key, ms: fc.integer({ min: 1, max: 50 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 40 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('flush' as const, 'compact' as const, 'reopen' as const) }) },
      );

      function live(model: Model, name: string, nowMs: number): Map<string, string> | undefined {
        const entry = model.get(name);
        if (entry === undefined) return undefined;
        if (entry.expireMs !== 0 && nowMs > entry.expireMs) {
          model.delete(name);
          return undefined;
        }
        return entry.fields;
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
                case 'hset': {
                  const fields = live(model, current.key, now) ?? new Map<string, string>();
                  let added = 0;
                  for (const [name, value] of current.pairs) {
                    if (!fields.has(name)) added++;
                    fields.set(name, value);
                  }
                  if (!model.has(current.key)) model.set(current.key, { fields, expireMs: 0 });
                  expect(await h.r('HSET', current.key, ...current.pairs.flat())).toBe(added);
                  break;
                }
                case 'hdel': {
                  const fields = live(model, current.key, now);
                  let removed = 0;
                  for (const name of current.fields) if (fields?.delete(name)) removed++;
                  if (fields?.size === 0) model.delete(current.key);
                  expect(await h.r('HDEL', current.key, ...current.fields)).toBe(removed);
                  break;
                }
                case 'hincrby': {
                  const fields = live(model, current.key, now) ?? new Map<string, string>();
                  const old = fields.get(current.field) ?? '0';
                  const expected = /^-?\d+$/.test(old) ? Number(old) + current.by : '-ERR hash value is not an integer';
                  if (typeof expected === 'number') {
                    fields.set(current.field, String(expected));
                    if (!model.has(current.key)) model.set(current.key, { fields, expireMs: 0 });
                  }
                  expect(await h.r('HINCRBY', current.key, current.field, String(current.by))).toBe(expected);
                  break;
                }
                default:
                  h = await runCommonStep(current, h, model, async () => harness(await engineHarness.open()));
              }
              for (const name of keys) {
                const fields = live(model, name, h.ctx.nowMs);
                const expected = fields === undefined ? [] : [...fields.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).flat();
                expect(await h.r('HGETALL', name), name).toEqual(expected);
                expect(await h.r('HLEN', name)).toBe(fields?.size ?? 0);
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
