// The string and generic key command handlers, called through a small fake
// CommandContext (no sockets): replies, Redis's exact error wording and
// checking order, TTL handling, and what each command leaves in the keyspace.
// Most cases run on LsmEngine over MemFileSystem; a few run on LevelEngine
// too, where KEYS, SCAN, RANDOMKEY and RENAME answer through a Promise.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import { LevelEngine } from '../../../lib/engine/level-engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { subkey } from '../../../lib/keyspace/key-encoding.js';
import { KeyType, collectionRecord } from '../../../lib/keyspace/metadata.js';
import { stringCommands } from '../../../service/resp/commands/strings.js';
import { keyCommands } from '../../../service/resp/commands/keys.js';
import { commandHarness, commandTable, notInteger, syntax, t0, wrongType, type CommandHarness as Harness } from './command-test-support.js';

const table = commandTable(stringCommands, keyCommands);
const harness = (engine: Engine, options: { stringBytesMax?: number } = {}): Promise<Harness> => commandHarness(engine, table, options);

/** Makes `key` a hash (with raw subkeys), as the next issue's HSET will. */
function makeHash(h: Harness, key: string, fields: string[] = ['f']): void {
  const target = h.keyspace.load(h.ctx.db, Buffer.from(key), h.ctx.nowMs);
  const version = h.keyspace.newVersion(h.ctx.nowMs, target.stored);
  const batch = h.keyspace.begin();
  h.keyspace.stagePut(batch, target, collectionRecord(KeyType.hash, 0, version, fields.length));
  for (const field of fields) batch.put(subkey(h.keyspace.physicalDb(h.ctx.db), Buffer.from(key), version, Buffer.from(field)), Buffer.from('v'));
  h.keyspace.commit(h.ctx, batch);
}


describe('string and key commands (LsmEngine)', () => {
  const memFs = new MemFileSystem();
  let count = 0;
  let h: Harness;
  let r: Harness['r'];

  beforeEach(async () => {
    const engine = await LsmEngine.open(`/commands/db-${++count}`, { fs: memFs, syncPolicy: 'no' });
    h = await harness(engine);
    r = h.r;
  });

  afterEach(async () => {
    await h.settle();
    await h.engine.close();
  });

  describe('GET and SET', () => {
    it('sets and gets, answers nil for a missing key, WRONGTYPE for another type', async () => {
      expect(await r('GET', 'k')).toBeNull();
      expect(await r('SET', 'k', 'v')).toBe('+OK');
      expect(await r('GET', 'k')).toBe('v');
      makeHash(h, 'h');
      expect(await r('GET', 'h')).toBe(wrongType);
      expect(await r('SET', 'h', 'now-a-string')).toBe('+OK');
      expect(await r('GET', 'h')).toBe('now-a-string');
      expect(await r('DBSIZE')).toBe(2);
    });

    it('honours NX and XX, and GET returns the old value (also with NX, as Redis 7 allows)', async () => {
      expect(await r('SET', 'k', 'a', 'XX')).toBeNull();
      expect(await r('SET', 'k', 'a', 'NX')).toBe('+OK');
      expect(await r('SET', 'k', 'b', 'NX')).toBeNull();
      expect(await r('SET', 'k', 'b', 'XX', 'GET')).toBe('a');
      expect(await r('SET', 'k', 'c', 'NX', 'GET')).toBe('b');
      expect(await r('GET', 'k')).toBe('b');
      expect(await r('SET', 'new', 'x', 'GET')).toBeNull();
      expect(await r('GET', 'new')).toBe('x');
      makeHash(h, 'h');
      expect(await r('SET', 'h', 'x', 'GET')).toBe(wrongType);
      expect(await r('TYPE', 'h')).toBe('+hash');
    });

    it('refuses conflicting or malformed options with a syntax error, as parseExtendedStringArguments does', async () => {
      for (const options of [['NX', 'XX'], ['XX', 'NX'], ['EX', '10', 'PX', '100'], ['KEEPTTL', 'EX', '10'], ['EX', '10', 'KEEPTTL'], ['EX'], ['PERSIST'], ['FOO'], ['EXAT', '1', 'PXAT', '2']]) {
        expect(await r('SET', 'k', 'v', ...options), options.join(' ')).toBe(syntax);
      }
      expect(await r('SET', 'k', 'v', 'EX', '10', 'EX', '20')).toBe('+OK'); // repeating the same option is allowed, the last wins
      expect(await r('TTL', 'k')).toBe(20);
      expect(await r('SET', 'k', 'v', 'nx', 'get')).toBe('v');
    });

    it('words expire errors as Redis: not an integer, or invalid expire time naming the command', async () => {
      expect(await r('SET', 'k', 'v', 'EX', 'abc')).toBe(notInteger);
      expect(await r('SET', 'k', 'v', 'EX', '0')).toBe("-ERR invalid expire time in 'set' command");
      expect(await r('SET', 'k', 'v', 'PX', '-5')).toBe("-ERR invalid expire time in 'set' command");
      expect(await r('SET', 'k', 'v', 'EX', '9223372036854775807')).toBe("-ERR invalid expire time in 'set' command");
      expect(await r('SET', 'k', 'v', 'PX', '9223372036854775807')).toBe("-ERR invalid expire time in 'set' command");
      expect(await r('SET', 'k', 'v', 'EX', '9223372036854775808')).toBe(notInteger);
      expect(await r('SETEX', 'k', '0', 'v')).toBe("-ERR invalid expire time in 'setex' command");
      expect(await r('PSETEX', 'k', '-1', 'v')).toBe("-ERR invalid expire time in 'psetex' command");
      expect(await r('SET', 'k', 'v', 'EX', '0', 'NX', 'GET')).toBe("-ERR invalid expire time in 'set' command");
      expect(await r('EXISTS', 'k')).toBe(0);
    });

    it('sets expiry with EX, PX, EXAT and PXAT; KEEPTTL keeps it; a plain SET drops it', async () => {
      await r('SET', 'k', 'v', 'EX', '100');
      expect(await r('PTTL', 'k')).toBe(100_000);
      await r('SET', 'k', 'v', 'PX', '1500');
      expect(await r('TTL', 'k')).toBe(2); // 1.5 s rounds to 2, as Redis rounds
      await r('SET', 'k', 'v', 'EXAT', String(t0 / 1000 + 60));
      expect(await r('PEXPIRETIME', 'k')).toBe(t0 + 60_000);
      await r('SET', 'k', 'w', 'KEEPTTL');
      expect(await r('PEXPIRETIME', 'k')).toBe(t0 + 60_000);
      await r('SET', 'k', 'x');
      expect(await r('TTL', 'k')).toBe(-1);
      await r('SET', 'k', 'y', 'PXAT', String(t0 - 1));
      expect(await r('GET', 'k')).toBeNull(); // set with a time already past: absent at once
      expect(await r('DBSIZE')).toBe(1); // until the sweep or a write reclaims it, as Redis counts it
    });

    it('SETNX, SETEX, PSETEX and GETSET behave as their SET equivalents', async () => {
      expect(await r('SETNX', 'k', 'a')).toBe(1);
      expect(await r('SETNX', 'k', 'b')).toBe(0);
      expect(await r('SETEX', 'e', '10', 'v')).toBe('+OK');
      expect(await r('TTL', 'e')).toBe(10);
      expect(await r('PSETEX', 'p', '2500', 'v')).toBe('+OK');
      expect(await r('PTTL', 'p')).toBe(2500);
      expect(await r('GETSET', 'e', 'new')).toBe('v');
      expect(await r('TTL', 'e')).toBe(-1);
      expect(await r('GETSET', 'missing', 'x')).toBeNull();
      makeHash(h, 'h');
      expect(await r('GETSET', 'h', 'x')).toBe(wrongType);
      expect(await r('SETEX', 'k', 'ten', 'v')).toBe(notInteger);
    });

    it('GETDEL returns and deletes; GETEX changes or removes the TTL', async () => {
      await r('SET', 'k', 'v');
      expect(await r('GETDEL', 'k')).toBe('v');
      expect(await r('GETDEL', 'k')).toBeNull();
      expect(await r('DBSIZE')).toBe(0);
      await r('SET', 'k', 'v');
      expect(await r('GETEX', 'k')).toBe('v');
      expect(await r('GETEX', 'k', 'EX', '50')).toBe('v');
      expect(await r('TTL', 'k')).toBe(50);
      expect(await r('GETEX', 'k', 'PERSIST')).toBe('v');
      expect(await r('TTL', 'k')).toBe(-1);
      expect(await r('GETEX', 'k', 'PXAT', String(t0 - 10))).toBe('v');
      expect(await r('EXISTS', 'k')).toBe(0);
      expect(await r('DBSIZE')).toBe(0);
      expect(await r('GETEX', 'missing', 'EX', '-1')).toBeNull(); // the key is looked up before the time is checked
      await r('SET', 'k', 'v');
      expect(await r('GETEX', 'k', 'EX', '-1')).toBe("-ERR invalid expire time in 'getex' command");
      expect(await r('GETEX', 'k', 'PERSIST', 'EX', '10')).toBe(syntax);
      expect(await r('GETEX', 'k', 'KEEPTTL')).toBe(syntax);
      makeHash(h, 'h');
      expect(await r('GETEX', 'h')).toBe(wrongType);
      expect(await r('GETDEL', 'h')).toBe(wrongType);
    });

    it('MGET answers nil for missing and non-string keys; MSET and MSETNX set atomically', async () => {
      makeHash(h, 'h');
      expect(await r('MSET', 'a', '1', 'b', '2', 'a', '3')).toBe('+OK');
      expect(await r('MGET', 'a', 'b', 'h', 'missing')).toEqual(['3', '2', null, null]);
      expect(await r('DBSIZE')).toBe(3);
      expect(await r('MSET', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'mset' command");
      expect(await r('MSETNX', 'a', 'x', 'c', 'y')).toBe(0);
      expect(await r('EXISTS', 'c')).toBe(0);
      expect(await r('MSETNX', 'c', 'x', 'd', 'y', 'c', 'z')).toBe(1);
      expect(await r('MGET', 'c', 'd')).toEqual(['z', 'y']);
      await r('SET', 'ttl', 'v', 'EX', '100');
      await r('MSET', 'ttl', 'w');
      expect(await r('TTL', 'ttl')).toBe(-1);
    });
  });

  describe('in-place edits', () => {
    it('APPEND creates or extends (also with an empty value), keeps the TTL; STRLEN measures', async () => {
      expect(await r('APPEND', 'k', '')).toBe(0);
      expect(await r('EXISTS', 'k')).toBe(1);
      expect(await r('APPEND', 'k', 'Hello')).toBe(5);
      await r('EXPIRE', 'k', '100');
      expect(await r('APPEND', 'k', ' World')).toBe(11);
      expect(await r('GET', 'k')).toBe('Hello World');
      expect(await r('TTL', 'k')).toBe(100);
      expect(await r('STRLEN', 'k')).toBe(11);
      expect(await r('STRLEN', 'missing')).toBe(0);
      makeHash(h, 'h');
      expect(await r('APPEND', 'h', 'x')).toBe(wrongType);
      expect(await r('STRLEN', 'h')).toBe(wrongType);
    });

    it('GETRANGE follows Redis index rules', async () => {
      await r('SET', 'k', 'Hello World');
      const cases: [string, string, string][] = [
        ['0', '3', 'Hell'],
        ['0', '-1', 'Hello World'],
        ['-4', '-1', 'orld'],
        ['5', '3', ''],
        ['5', '5000', ' World'],
        ['-5000', '10000', 'Hello World'],
        ['-1', '-100', ''],
        ['-100', '-99', 'H'],
        ['0', '-100', 'H'],
      ];
      for (const [start, end, expected] of cases) expect(await r('GETRANGE', 'k', start, end), `${start} ${end}`).toBe(expected);
      expect(await r('GETRANGE', 'missing', '0', '-1')).toBe('');
      expect(await r('GETRANGE', 'k', 'a', '1')).toBe(notInteger);
      await r('SET', 'empty', '');
      expect(await r('GETRANGE', 'empty', '0', '-1')).toBe('');
    });

    it('SETRANGE pads with zero bytes, keeps the TTL, and checks its arguments in Redis order', async () => {
      expect(await r('SETRANGE', 'k', '5', 'ab')).toBe(7);
      expect(await r('GET', 'k')).toBe('\0\0\0\0\0ab');
      await r('SET', 'k', 'Hello World');
      await r('EXPIRE', 'k', '100');
      expect(await r('SETRANGE', 'k', '6', 'Redis')).toBe(11);
      expect(await r('GET', 'k')).toBe('Hello Redis');
      expect(await r('TTL', 'k')).toBe(100);
      expect(await r('SETRANGE', 'k', '1', '')).toBe(11);
      expect(await r('SETRANGE', 'missing', '100', '')).toBe(0);
      expect(await r('EXISTS', 'missing')).toBe(0);
      expect(await r('SETRANGE', 'k', '-1', 'x')).toBe('-ERR offset is out of range');
      expect(await r('SETRANGE', 'k', 'x', 'x')).toBe(notInteger);
      makeHash(h, 'h');
      expect(await r('SETRANGE', 'h', '0', 'x')).toBe(wrongType);
    });

    it('INCR family: integers as string2ll reads them, 64-bit overflow refused, TTL kept', async () => {
      expect(await r('INCR', 'n')).toBe(1);
      expect(await r('INCRBY', 'n', '41')).toBe(42);
      expect(await r('DECR', 'n')).toBe(41);
      expect(await r('DECRBY', 'n', '-9')).toBe(50);
      await r('EXPIRE', 'n', '100');
      expect(await r('INCR', 'n')).toBe(51);
      expect(await r('TTL', 'n')).toBe(100);
      for (const bad of ['abc', ' 1', '1 ', '+1', '01', '1.5', '', '-0']) {
        await r('SET', 'bad', bad);
        expect(await r('INCR', 'bad'), JSON.stringify(bad)).toBe(notInteger);
      }
      await r('SET', 'max', '9223372036854775806');
      expect(await r('INCR', 'max')).toBe(':9223372036854775807'); // exact: a bigint integer reply
      expect(await r('GET', 'max')).toBe('9223372036854775807');
      expect(await r('INCR', 'max')).toBe('-ERR increment or decrement would overflow');
      await r('SET', 'min', '-9223372036854775808');
      expect(await r('DECR', 'min')).toBe('-ERR increment or decrement would overflow');
      expect(await r('DECRBY', 'n', '-9223372036854775808')).toBe('-ERR decrement would overflow');
      expect(await r('INCRBY', 'n', '9223372036854775808')).toBe(notInteger);
      expect(await r('INCRBY', 'n', 'x')).toBe(notInteger);
      makeHash(h, 'h');
      expect(await r('INCR', 'h')).toBe(wrongType);
    });

    it('INCRBYFLOAT stores human-friendly decimals and refuses NaN or infinite results', async () => {
      await r('SET', 'f', '10.50');
      expect(await r('INCRBYFLOAT', 'f', '0.1')).toBe('10.6');
      expect(await r('INCRBYFLOAT', 'missing', '1')).toBe('1');
      await r('SET', 'g', '0.1');
      expect(await r('INCRBYFLOAT', 'g', '0.2')).toBe('0.3');
      await r('SET', 'e', '5.0e3');
      expect(await r('INCRBYFLOAT', 'e', '2.0e2')).toBe('5200');
      expect(await r('INCRBYFLOAT', 'e', '-5200')).toBe('0');
      expect(await r('INCRBYFLOAT', 'e', '0.000001')).toBe('0.000001');
      expect(await r('INCRBYFLOAT', 'e', 'abc')).toBe('-ERR value is not a valid float');
      await r('SET', 'text', 'x');
      expect(await r('INCRBYFLOAT', 'text', '1')).toBe('-ERR value is not a valid float');
      expect(await r('INCRBYFLOAT', 'f', 'inf')).toBe('-ERR increment would produce NaN or Infinity');
      await r('EXPIRE', 'f', '100');
      await r('INCRBYFLOAT', 'f', '1');
      expect(await r('TTL', 'f')).toBe(100);
      await r('SET', 'i', '3');
      expect(await r('OBJECT', 'ENCODING', 'i')).toBe('int');
      await r('INCRBYFLOAT', 'i', '1');
      expect(await r('GET', 'i')).toBe('4');
      expect(await r('OBJECT', 'ENCODING', 'i')).toBe('embstr');
    });

    it('SETBIT, GETBIT and BITCOUNT (BYTE and BIT ranges)', async () => {
      expect(await r('SETBIT', 'b', '7', '1')).toBe(0);
      expect(await r('GET', 'b')).toBe('\x01');
      expect(await r('SETBIT', 'b', '7', '0')).toBe(1);
      expect(await r('SETBIT', 'b', '0', '1')).toBe(0);
      expect(await r('GETBIT', 'b', '0')).toBe(1);
      expect(await r('GETBIT', 'b', '1000')).toBe(0);
      expect(await r('GETBIT', 'missing', '3')).toBe(0);
      expect(await r('SETBIT', 'b', '-1', '1')).toBe('-ERR bit offset is not an integer or out of range');
      expect(await r('SETBIT', 'b', 'x', '1')).toBe('-ERR bit offset is not an integer or out of range');
      expect(await r('SETBIT', 'b', '1', '2')).toBe('-ERR bit is not an integer or out of range');
      expect(await r('GETBIT', 'b', '-1')).toBe('-ERR bit offset is not an integer or out of range');
      await r('SET', 'foo', 'foobar');
      expect(await r('BITCOUNT', 'foo')).toBe(26);
      expect(await r('BITCOUNT', 'foo', '0', '0')).toBe(4);
      expect(await r('BITCOUNT', 'foo', '1', '1')).toBe(6);
      expect(await r('BITCOUNT', 'foo', '1', '1', 'BYTE')).toBe(6);
      expect(await r('BITCOUNT', 'foo', '5', '30', 'BIT')).toBe(17);
      expect(await r('BITCOUNT', 'foo', '-2', '-1')).toBe(7);
      expect(await r('BITCOUNT', 'foo', '-1', '-2')).toBe(0);
      expect(await r('BITCOUNT', 'foo', '0')).toBe(syntax);
      expect(await r('BITCOUNT', 'foo', '0', '1', 'BITS')).toBe(syntax);
      expect(await r('BITCOUNT', 'foo', 'a', '1')).toBe(notInteger);
      expect(await r('BITCOUNT', 'missing', '0', '-1')).toBe(0);
      makeHash(h, 'h');
      expect(await r('BITCOUNT', 'h')).toBe(wrongType);
      expect(await r('SETBIT', 'h', '1', '1')).toBe(wrongType);
    });

    it('OBJECT ENCODING reports int, embstr and raw as Redis would have encoded the value', async () => {
      await r('SET', 'int', '12345');
      await r('SET', 'short', 'hello');
      await r('SET', 'long', 'x'.repeat(45));
      await r('SET', 'appended', 'a');
      await r('APPEND', 'appended', 'b');
      await r('SETRANGE', 'ranged', '0', 'x');
      makeHash(h, 'h');
      expect(await r('OBJECT', 'ENCODING', 'int')).toBe('int');
      expect(await r('OBJECT', 'ENCODING', 'short')).toBe('embstr');
      expect(await r('OBJECT', 'ENCODING', 'long')).toBe('raw');
      expect(await r('OBJECT', 'ENCODING', 'appended')).toBe('raw');
      expect(await r('OBJECT', 'ENCODING', 'ranged')).toBe('raw');
      expect(await r('OBJECT', 'ENCODING', 'h')).toBe('hashtable');
      expect(await r('OBJECT', 'ENCODING', 'missing')).toBeNull();
      await r('SET', 'small', '42');
      expect(await r('OBJECT', 'REFCOUNT', 'small')).toBe(2147483647);
      expect(await r('OBJECT', 'REFCOUNT', 'short')).toBe(1);
      expect(await r('OBJECT', 'IDLETIME', 'short')).toBe(0);
      expect(await r('OBJECT', 'FREQ', 'short')).toMatch(/^-ERR An LFU maxmemory policy is not selected/);
      expect(await r('OBJECT', 'FREQ', 'missing')).toBeNull();
      const help = (await r('OBJECT', 'HELP')) as string[];
      expect(help[0]).toBe('+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
      expect(help.at(-1)).toBe('+    Prints this help.');
      expect(await r('OBJECT', 'NOPE', 'k')).toBe("-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.");
    });
  });

  describe('limits', () => {
    let small: Harness;

    beforeEach(async () => {
      const engine = await LsmEngine.open(`/commands/small-${++count}`, { fs: memFs, syncPolicy: 'no' });
      small = await harness(engine, { stringBytesMax: 16 });
    });

    afterEach(async () => {
      await small.settle();
      await small.engine.close();
    });

    it('refuses strings past the limit before allocating them, at the limit and one past', async () => {
      const tooLong = '-ERR string exceeds maximum allowed size (proto-max-bulk-len)';
      expect(await small.r('SET', 'k', 'x'.repeat(16))).toBe('+OK');
      expect(await small.r('SET', 'k', 'x'.repeat(17))).toBe(tooLong);
      expect(await small.r('APPEND', 'k', 'y')).toBe(tooLong);
      expect(await small.r('SETRANGE', 'k', '15', 'z')).toBe(16);
      expect(await small.r('SETRANGE', 'k', '16', 'z')).toBe(tooLong);
      expect(await small.r('SETRANGE', 'new', '1000000000000', 'z')).toBe(tooLong);
      expect(await small.r('SETBIT', 'bits', String(16 * 8 - 1), '1')).toBe(0);
      expect(await small.r('SETBIT', 'bits', String(16 * 8), '1')).toBe('-ERR bit offset is not an integer or out of range');
      expect(await small.r('MSET', 'a', 'ok', 'b', 'x'.repeat(17))).toBe(tooLong);
      expect(await small.r('EXISTS', 'a')).toBe(0);
      expect(await small.r('GET', 'k')).toBe('x'.repeat(15) + 'z');
    });

    it('answers an error, not a crash, for a key over the engine key limit', async () => {
      const key = 'k'.repeat(70 * 1024);
      expect(await small.r('SET', key, 'v')).toMatch(/^-ERR Cannot write key of \d+ bytes: the limit is 65536$/);
      expect(await small.r('DBSIZE')).toBe(0);
      expect(await small.r('GET', key)).toBeNull();
    });
  });

  describe('DEL, EXISTS, TYPE, TOUCH', () => {
    it('counts live keys once per DEL, twice per EXISTS when named twice; removes expired ones uncounted', async () => {
      await r('MSET', 'a', '1', 'b', '2');
      await r('SET', 'dead', 'v', 'PX', '1');
      h.ctx.nowMs = t0 + 10;
      expect(await r('EXISTS', 'a', 'a', 'b', 'dead', 'nope')).toBe(3);
      expect(await r('TOUCH', 'a', 'b', 'nope')).toBe(2);
      expect(await r('DBSIZE')).toBe(3);
      expect(await r('DEL', 'a', 'a', 'dead', 'nope')).toBe(1);
      expect(await r('DBSIZE')).toBe(1);
      expect(await r('UNLINK', 'b')).toBe(1);
      expect(await r('DBSIZE')).toBe(0);
      makeHash(h, 'h');
      expect(await r('TYPE', 'h')).toBe('+hash');
      expect(await r('TYPE', 'nope')).toBe('+none');
      await r('SET', 's', 'v');
      expect(await r('TYPE', 's')).toBe('+string');
    });
  });

  describe('expiry commands', () => {
    it('EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT set times; TTL and friends report them', async () => {
      await r('SET', 'k', 'v');
      expect(await r('TTL', 'k')).toBe(-1);
      expect(await r('PTTL', 'k')).toBe(-1);
      expect(await r('EXPIRETIME', 'k')).toBe(-1);
      expect(await r('TTL', 'missing')).toBe(-2);
      expect(await r('PEXPIRETIME', 'missing')).toBe(-2);
      expect(await r('EXPIRE', 'k', '100')).toBe(1);
      expect(await r('TTL', 'k')).toBe(100);
      expect(await r('PEXPIRE', 'k', '1234')).toBe(1);
      expect(await r('PTTL', 'k')).toBe(1234);
      expect(await r('EXPIREAT', 'k', String(t0 / 1000 + 7))).toBe(1);
      expect(await r('EXPIRETIME', 'k')).toBe(t0 / 1000 + 7);
      expect(await r('PEXPIREAT', 'k', String(t0 + 999))).toBe(1);
      expect(await r('PEXPIRETIME', 'k')).toBe(t0 + 999);
      expect(await r('EXPIRE', 'missing', '10')).toBe(0);
      h.ctx.nowMs = t0 + 1000;
      expect(await r('TTL', 'k')).toBe(-2);
      expect(await r('EXPIRE', 'k', '10')).toBe(0);
    });

    it('deletes the key when the new time is already past, and answers 1', async () => {
      await r('SET', 'k', 'v');
      expect(await r('EXPIRE', 'k', '-1')).toBe(1);
      expect(await r('EXISTS', 'k')).toBe(0);
      expect(await r('DBSIZE')).toBe(0);
      await r('SET', 'k', 'v');
      expect(await r('PEXPIREAT', 'k', String(t0))).toBe(1);
      expect(await r('DBSIZE')).toBe(0);
    });

    it('applies NX, XX, GT and LT as Redis does (no expiry counts as infinite)', async () => {
      await r('SET', 'k', 'v');
      expect(await r('EXPIRE', 'k', '100', 'XX')).toBe(0);
      expect(await r('EXPIRE', 'k', '100', 'GT')).toBe(0);
      expect(await r('EXPIRE', 'k', '100', 'LT')).toBe(1);
      expect(await r('EXPIRE', 'k', '200', 'NX')).toBe(0);
      expect(await r('EXPIRE', 'k', '200', 'XX')).toBe(1);
      expect(await r('EXPIRE', 'k', '100', 'GT')).toBe(0);
      expect(await r('EXPIRE', 'k', '300', 'GT')).toBe(1);
      expect(await r('EXPIRE', 'k', '400', 'LT')).toBe(0);
      expect(await r('EXPIRE', 'k', '50', 'lt', 'xx')).toBe(1);
      expect(await r('TTL', 'k')).toBe(50);
      await r('SET', 'p', 'v');
      expect(await r('EXPIRE', 'p', '10', 'NX')).toBe(1);
    });

    it('words option and range errors as Redis', async () => {
      await r('SET', 'k', 'v');
      expect(await r('EXPIRE', 'k', '10', 'NX', 'XX')).toBe('-ERR NX and XX, GT or LT options at the same time are not compatible');
      expect(await r('EXPIRE', 'k', '10', 'GT', 'NX')).toBe('-ERR NX and XX, GT or LT options at the same time are not compatible');
      expect(await r('EXPIRE', 'k', '10', 'GT', 'LT')).toBe('-ERR GT and LT options at the same time are not compatible');
      expect(await r('EXPIRE', 'k', '10', 'FOO')).toBe('-ERR Unsupported option FOO');
      expect(await r('EXPIRE', 'k', 'soon')).toBe(notInteger);
      expect(await r('EXPIRE', 'k', '9223372036854775807')).toBe("-ERR invalid expire time in 'expire' command");
      expect(await r('PEXPIRE', 'k', '9223372036854775807')).toBe("-ERR invalid expire time in 'pexpire' command");
      expect(await r('EXPIREAT', 'k', '-9223372036854775808')).toBe("-ERR invalid expire time in 'expireat' command");
      expect(await r('PEXPIREAT', 'k', '9223372036854775807')).toBe(1); // far future, but representable
      expect(await r('TTL', 'k')).toBeGreaterThan(1e15);
    });

    it('PERSIST removes a TTL only when there is one', async () => {
      await r('SET', 'k', 'v', 'EX', '10');
      expect(await r('PERSIST', 'k')).toBe(1);
      expect(await r('PERSIST', 'k')).toBe(0);
      expect(await r('PERSIST', 'missing')).toBe(0);
      expect(await r('TTL', 'k')).toBe(-1);
    });
  });

  describe('RENAME, COPY, MOVE', () => {
    it('RENAME moves value and TTL, overwrites the target, and refuses a missing source', async () => {
      expect(await r('RENAME', 'missing', 'x')).toBe('-ERR no such key');
      expect(await r('RENAME', 'missing', 'missing')).toBe('-ERR no such key');
      await r('SET', 'a', '1', 'EX', '100');
      await r('SET', 'b', '2');
      expect(await r('RENAME', 'a', 'a')).toBe('+OK');
      expect(await r('RENAME', 'a', 'b')).toBe('+OK');
      expect(await r('GET', 'a')).toBeNull();
      expect(await r('GET', 'b')).toBe('1');
      expect(await r('TTL', 'b')).toBe(100);
      expect(await r('DBSIZE')).toBe(1);
      await r('SET', 'c', '3');
      expect(await r('RENAMENX', 'b', 'c')).toBe(0);
      expect(await r('RENAMENX', 'b', 'b')).toBe(0);
      expect(await r('RENAMENX', 'b', 'd')).toBe(1);
      expect(await r('MGET', 'b', 'c', 'd')).toEqual([null, '3', '1']);
      makeHash(h, 'h', ['x', 'y']);
      expect(await r('RENAME', 'h', 'h2')).toBe('+OK');
      expect(await r('TYPE', 'h2')).toBe('+hash');
      expect(await r('DBSIZE')).toBe(3);
    });

    it('COPY copies within or across dbs, with REPLACE, and words its errors as Redis', async () => {
      await r('SET', 'a', '1', 'EX', '100');
      expect(await r('COPY', 'a', 'a')).toBe('-ERR source and destination objects are the same');
      expect(await r('COPY', 'a', 'a', 'DB', '0')).toBe('-ERR source and destination objects are the same');
      expect(await r('COPY', 'missing', 'b')).toBe(0);
      expect(await r('COPY', 'a', 'b')).toBe(1);
      expect(await r('TTL', 'b')).toBe(100);
      await r('SET', 'c', 'x');
      expect(await r('COPY', 'a', 'c')).toBe(0);
      expect(await r('COPY', 'a', 'c', 'REPLACE')).toBe(1);
      expect(await r('GET', 'c')).toBe('1');
      expect(await r('COPY', 'a', 'a', 'DB', '2')).toBe(1);
      expect(await r('COPY', 'a', 'x', 'DB', '9')).toBe('-ERR DB index is out of range');
      expect(await r('COPY', 'a', 'x', 'DB', 'two')).toBe(notInteger);
      expect(await r('COPY', 'a', 'x', 'DB')).toBe(syntax);
      expect(await r('COPY', 'a', 'x', 'NOW')).toBe(syntax);
      h.ctx.db = 2;
      expect(await r('GET', 'a')).toBe('1');
      expect(await r('DBSIZE')).toBe(1);
      h.ctx.db = 0;
      expect(await r('DBSIZE')).toBe(3);
    });

    it('MOVE moves a key to another db unless it exists there', async () => {
      await r('SET', 'k', 'v', 'EX', '100');
      expect(await r('MOVE', 'k', '0')).toBe('-ERR source and destination objects are the same');
      expect(await r('MOVE', 'k', '4')).toBe('-ERR DB index is out of range');
      expect(await r('MOVE', 'k', '-1')).toBe('-ERR DB index is out of range');
      expect(await r('MOVE', 'k', 'one')).toBe(notInteger);
      expect(await r('MOVE', 'missing', '1')).toBe(0);
      expect(await r('MOVE', 'k', '1')).toBe(1);
      expect(await r('EXISTS', 'k')).toBe(0);
      h.ctx.db = 1;
      expect(await r('GET', 'k')).toBe('v');
      expect(await r('TTL', 'k')).toBe(100);
      await r('SET', 'other', 'x');
      h.ctx.db = 0;
      await r('SET', 'other', 'y');
      expect(await r('MOVE', 'other', '1')).toBe(0);
      expect(await r('GET', 'other')).toBe('y');
    });
  });

  describe('KEYS, SCAN, RANDOMKEY', () => {
    it('KEYS matches globs; SCAN iterates with MATCH, COUNT and TYPE and words its errors as Redis', async () => {
      for (let index = 0; index < 25; index++) await r('SET', `key:${index}`, 'v');
      await r('SET', 'other', 'v');
      makeHash(h, 'key:hash');
      expect(((await r('KEYS', 'key:1*')) as string[]).sort()).toEqual(['key:1', 'key:10', 'key:11', 'key:12', 'key:13', 'key:14', 'key:15', 'key:16', 'key:17', 'key:18', 'key:19']);
      expect(await r('KEYS', 'nothing*')).toEqual([]);
      const seen: string[] = [];
      let cursor = '0';
      let calls = 0;
      do {
        const [next, keys] = (await r('SCAN', cursor, 'MATCH', 'key:*', 'COUNT', '4', 'TYPE', 'string')) as [string, string[]];
        seen.push(...keys);
        cursor = next;
        calls++;
      } while (cursor !== '0' && calls < 100);
      expect(seen.sort()).toEqual(Array.from({ length: 25 }, (_, index) => `key:${index}`).sort());
      expect(calls).toBeGreaterThan(5);
      expect(await r('SCAN', 'abc')).toBe('-ERR invalid cursor');
      expect(await r('SCAN', '0', 'NOVALUES')).toBe('-ERR NOVALUES option can only be used in HSCAN'); // Redis 7.4, as SSCAN
      expect(await r('SCAN', ' 1')).toBe('-ERR invalid cursor');
      expect(await r('SCAN', '0', 'COUNT', '0')).toBe(syntax);
      expect(await r('SCAN', '0', 'COUNT', 'x')).toBe(notInteger);
      expect(await r('SCAN', '0', 'MATCH')).toBe(syntax);
      expect(await r('SCAN', '0', 'BOGUS', 'x')).toBe(syntax);
      expect(await r('SCAN', '0', 'TYPE', 'nosuchtype', 'COUNT', '1000')).toEqual(['0', []]); // as Redis 7: an unknown type matches nothing
      const [, all] = (await r('SCAN', '0', 'COUNT', '1000')) as [string, string[]];
      expect(all).toHaveLength(27);
      const [restart] = (await r('SCAN', '18446744073709551615', 'COUNT', '1')) as [string, string[]];
      expect(restart).not.toBe('0'); // an unknown cursor starts over
      expect(await r('SCAN', '18446744073709551616')).toBe('-ERR invalid cursor');
      expect(((await r('SCAN', '-5', 'COUNT', '1')) as [string, string[]])[1]).toHaveLength(1);
    });

    it('RANDOMKEY answers nil on an empty db and a live key otherwise', async () => {
      expect(await r('RANDOMKEY')).toBeNull();
      await r('SET', 'only', 'v');
      expect(await r('RANDOMKEY')).toBe('only');
    });
  });

  describe('databases', () => {
    it('DBSIZE, FLUSHDB and FLUSHALL with their ASYNC|SYNC forms; other arguments are a syntax error', async () => {
      await r('MSET', 'a', '1', 'b', '2');
      h.ctx.db = 1;
      await r('SET', 'c', '3');
      expect(await r('DBSIZE')).toBe(1);
      expect(await r('FLUSHDB', 'ASYNC')).toBe('+OK');
      expect(await r('DBSIZE')).toBe(0);
      h.ctx.db = 0;
      expect(await r('DBSIZE')).toBe(2);
      expect(await r('FLUSHDB', 'NOW')).toBe(syntax);
      expect(await r('FLUSHALL', 'sync', 'extra')).toBe(syntax);
      expect(await r('FLUSHALL', 'SYNC')).toBe('+OK');
      expect(await r('DBSIZE')).toBe(0);
      expect(await r('FLUSHDB')).toBe('+OK');
    });

    it('SWAPDB swaps, and words its index errors as Redis', async () => {
      await r('SET', 'a', 'in-0');
      expect(await r('SWAPDB', '0', '1')).toBe('+OK');
      expect(await r('GET', 'a')).toBeNull();
      h.ctx.db = 1;
      expect(await r('GET', 'a')).toBe('in-0');
      expect(await r('SWAPDB', '1', '1')).toBe('+OK');
      expect(await r('SWAPDB', 'x', '1')).toBe('-ERR invalid first DB index');
      expect(await r('SWAPDB', '1', 'y')).toBe('-ERR invalid second DB index');
      expect(await r('SWAPDB', '0', '4')).toBe('-ERR DB index is out of range');
      expect(await r('SWAPDB', '-1', '0')).toBe('-ERR DB index is out of range');
    });
  });

  it('answers wrong-arity requests through the table specs', async () => {
    expect(await r('GET')).toBe("-ERR wrong number of arguments for 'get' command");
    expect(await r('SET', 'k')).toBe("-ERR wrong number of arguments for 'set' command");
    expect(await r('OBJECT', 'ENCODING')).toBe("-ERR wrong number of arguments for 'object|encoding' command");
  });

  it('every spec has a summary, complexity and key positions that fit its arity', () => {
    for (const spec of [...stringCommands, ...keyCommands]) {
      expect(spec.summary.length, spec.name).toBeGreaterThan(0);
      expect(spec.complexity.length, spec.name).toBeGreaterThan(0);
      expect(spec.name).toBe(spec.name.toLowerCase());
      if (spec.firstKey > 0) expect(Math.abs(spec.arity), spec.name).toBeGreaterThan(spec.firstKey);
    }
  });
});

describe('string and key commands (LevelEngine: asynchronous iteration)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-commands-'));
  let count = 0;
  let h: Harness;

  beforeEach(async () => {
    h = await harness(await LevelEngine.open(path.join(root, `db-${++count}`), { syncPolicy: 'no' }));
  });

  afterEach(async () => {
    await h.settle();
    await h.engine.close();
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('answers KEYS, SCAN, RANDOMKEY and a collection RENAME through promises', async () => {
    const { r } = h;
    await r('MSET', 'a', '1', 'b', '2', 'c', '3');
    makeHash(h, 'h', ['x', 'y']);
    const keysReply = h.ctx.keyspace.keys(0, Buffer.from('*'), h.ctx.nowMs);
    expect(keysReply).toBeInstanceOf(Promise);
    expect(((await r('KEYS', '*')) as string[]).sort()).toEqual(['a', 'b', 'c', 'h']);
    const [cursor, first] = (await r('SCAN', '0', 'COUNT', '2')) as [string, string[]];
    expect(first).toEqual(['a', 'b']);
    expect(await r('SCAN', cursor, 'COUNT', '10')).toEqual(['0', ['c', 'h']]);
    expect(['a', 'b', 'c', 'h']).toContain(await r('RANDOMKEY'));
    expect(await r('RENAME', 'h', 'h2')).toBe('+OK');
    expect(await r('TYPE', 'h2')).toBe('+hash');
    expect(await r('SET', 'x', '1', 'GET')).toBeNull();
    expect(await r('INCR', 'x')).toBe(2);
  });
});
