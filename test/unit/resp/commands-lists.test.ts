// The list command handlers (service/resp/commands/lists.ts), called through
// a small fake CommandContext on both engines (LsmEngine over MemFileSystem
// with the keyspace compaction filter, and LevelEngine in a temp dir, where
// LRANGE, LREM, LINSERT and LPOS answer through a Promise): replies, Redis's
// exact error wording and checking order, TTL, emptied lists disappearing,
// one batch per command, the blocking commands' non-blocking half (what
// BlockedReply carries and what its retry does), 100k-element lists, and a
// property test of random command sequences against a model of Redis's list
// semantics across flush, compactRange and reopen.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import type { WriteBatch } from '../../../lib/engine/write-batch.js';
import { LevelEngine } from '../../../lib/engine/level-engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { Keyspace, keyspaceCompactionFilter } from '../../../lib/keyspace/keyspace.js';
import { listElementPrefix, listBounds, listFreedDeletesMax } from '../../../lib/keyspace/list.js';
import { metadataKey, prefixEnd } from '../../../lib/keyspace/key-encoding.js';
import { KeyType, recordSize, recordType, recordVersion } from '../../../lib/keyspace/metadata.js';
import type { CommandContext } from '../../../service/resp/command.js';
import { BlockedReply, ErrorReply, type Reply } from '../../../service/resp/reply.js';
import { listCommands, timeoutArgument } from '../../../service/resp/commands/lists.js';
import { keyCommands } from '../../../service/resp/commands/keys.js';
import { stringCommands } from '../../../service/resp/commands/strings.js';
import { checkInvariants } from '../keyspace/keyspace-harness.js';
import { commandTable, dispatch, notInteger, plain as plainReply, syntax, t0, wrongType } from './command-test-support.js';

const table = commandTable(stringCommands, keyCommands, listCommands);
const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 40);

/** A reply as plain data: bulk -> string, nil -> null, nil array -> '*-1', +status -> '+text', -error -> '-text'. */
type Plain = string | number | null | Plain[] | { blocked: Blocked };

interface Blocked {
  db: number;
  keys: string[];
  timeoutMs: number;
  timeoutReply: Plain;
  reply: BlockedReply;
}

function plain(reply: Reply): Plain {
  if (reply instanceof BlockedReply) {
    return { blocked: { db: reply.db, keys: reply.keys.map((key) => key.toString('latin1')), timeoutMs: reply.timeoutMs, timeoutReply: plain(reply.timeoutReply), reply } };
  }
  return plainReply(reply);
}

// ---------------------------------------------------------------- harness

interface EngineKind {
  name: string;
  /** Whether compaction runs the keyspace filter (LsmEngine). */
  filters: boolean;
  open(dir: string): Promise<Engine>;
  newDir(): string;
  cleanup(): void;
}

function lsmKind(): EngineKind {
  const memFs = new MemFileSystem();
  let count = 0;
  return {
    name: 'LsmEngine',
    filters: true,
    open: (dir) => LsmEngine.open(dir, { fs: memFs, syncPolicy: 'no', compactionFilter: keyspaceCompactionFilter(), disableAutoCompaction: true }),
    newDir: () => `/lists/db-${++count}`,
    cleanup: () => {},
  };
}

function levelKind(): EngineKind {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-lists-'));
  let count = 0;
  return {
    name: 'LevelEngine',
    filters: false,
    open: (dir) => LevelEngine.open(dir, { syncPolicy: 'no' }),
    newDir: () => path.join(root, `db-${++count}`),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

type Context = CommandContext & { db: number; nowMs: number; batches: WriteBatch[] };

interface Harness {
  engine: Engine;
  keyspace: Keyspace;
  ctx: Context;
  /** Runs a command as the dispatcher would (arity) and returns its reply as plain data. */
  r(...args: (string | Buffer)[]): Promise<Plain>;
  settle(): Promise<void>;
  /** Closes and reopens the engine and the keyspace on the same directory. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

async function harness(kind: EngineKind): Promise<Harness> {
  const dir = kind.newDir();
  const pending: Promise<unknown>[] = [];
  const h = {} as Harness;
  const ctx: Context = {
    db: 0,
    nowMs: t0,
    protocol: 2,
    keyspace: undefined as unknown as Keyspace,
    server: {},
    client: {},
    batches: [],
    write(batch: WriteBatch): void {
      ctx.batches.push(batch);
      pending.push(h.engine.write(batch));
    },
  };
  const open = async (): Promise<void> => {
    h.engine = await kind.open(dir);
    h.keyspace = await Keyspace.open(h.engine, { databases: 4 });
    (ctx as { keyspace: Keyspace }).keyspace = h.keyspace;
  };
  await open();
  h.ctx = ctx;
  h.settle = async () => void (await Promise.all(pending.splice(0)));
  h.r = async (...args) => plain(await dispatch(table, ctx, args));
  h.reopen = async () => {
    await h.settle();
    await h.engine.close();
    await open();
  };
  h.close = async () => {
    await h.settle();
    await h.engine.close();
  };
  return h;
}

/** Every subkey of a list's current version, as [index, value] pairs (raw engine view). */
async function rawElements(h: Harness, key: string, db = 0): Promise<number[]> {
  const record = h.engine.get(metadataKey(h.keyspace.physicalDb(db), Buffer.from(key)));
  if (record === undefined) return [];
  const range = listElementPrefix(h.keyspace.physicalDb(db), Buffer.from(key), recordVersion(record));
  const out: number[] = [];
  const iterator = h.engine.iterator(range);
  try {
    for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) out.push(entry[0].readUInt32BE(entry[0].length - 4));
  } finally {
    await iterator.close();
  }
  return out;
}

/** Checks a list's metadata against its subkeys: size = tail - head, and every index in [head, tail) present. */
async function checkList(h: Harness, key: string, db = 0): Promise<void> {
  const record = h.engine.get(metadataKey(h.keyspace.physicalDb(db), Buffer.from(key)));
  if (record === undefined || recordType(record) !== KeyType.list) return;
  const bounds = listBounds(record)!;
  expect(recordSize(record)).toBe(bounds.tail - bounds.head);
  const range = listElementPrefix(h.keyspace.physicalDb(db), Buffer.from(key), recordVersion(record));
  let inside = 0;
  const iterator = h.engine.iterator(range);
  try {
    for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) {
      const index = entry[0].readUInt32BE(entry[0].length - 8) * 2 ** 32 + entry[0].readUInt32BE(entry[0].length - 4);
      if (index >= bounds.head && index < bounds.tail) inside++;
    }
  } finally {
    await iterator.close();
  }
  expect(inside).toBe(recordSize(record));
}

const longMin = '-9223372036854775808';

// ---------------------------------------------------------------- per-engine suite

const kinds = [lsmKind(), levelKind()];
afterAll(() => {
  for (const kind of kinds) kind.cleanup();
});

describe.each(kinds)('list commands ($name)', (kind) => {
  let h: Harness;
  let r: Harness['r'];

  beforeEach(async () => {
    h = await harness(kind);
    r = h.r;
  });

  afterEach(async () => {
    expect(await checkInvariants(h.engine, h.keyspace)).toBe('');
    await h.close();
  });

  describe('LPUSH, RPUSH, LPUSHX, RPUSHX, LLEN', () => {
    it('pushes at either end, answers the new length, and keeps list order', async () => {
      expect(await r('RPUSH', 'l', 'b', 'c')).toBe(2);
      expect(await r('LPUSH', 'l', 'a', 'z')).toBe(4); // z a b c: each element goes to the head in turn
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['z', 'a', 'b', 'c']);
      expect(await r('LLEN', 'l')).toBe(4);
      expect(await r('TYPE', 'l')).toBe('+list');
      expect(await r('OBJECT', 'ENCODING', 'l')).toBe('quicklist');
      await checkList(h, 'l');
    });

    it('accepts empty and binary elements, and duplicates', async () => {
      const binary = Buffer.from([0, 255, 10, 13]);
      expect(await r('RPUSH', 'l', '', binary, 'x', 'x')).toBe(4);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['', binary.toString('latin1'), 'x', 'x']);
    });

    it('LPUSHX and RPUSHX push only onto an existing list, creating nothing otherwise', async () => {
      expect(await r('LPUSHX', 'l', 'a')).toBe(0);
      expect(await r('RPUSHX', 'l', 'a', 'b')).toBe(0);
      expect(await r('EXISTS', 'l')).toBe(0);
      await r('RPUSH', 'l', 'm');
      expect(await r('LPUSHX', 'l', 'a', 'b')).toBe(3);
      expect(await r('RPUSHX', 'l', 'y', 'z')).toBe(5);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['b', 'a', 'm', 'y', 'z']);
    });

    it('answers WRONGTYPE on another type and leaves it alone; arity errors', async () => {
      await r('SET', 's', 'v');
      for (const command of [['LPUSH', 's', 'a'], ['RPUSH', 's', 'a'], ['LPUSHX', 's', 'a'], ['RPUSHX', 's', 'a'], ['LLEN', 's']]) {
        expect(await r(...command), command.join(' ')).toBe(wrongType);
      }
      expect(await r('GET', 's')).toBe('v');
      expect(await r('LPUSH', 'l')).toBe("-ERR wrong number of arguments for 'lpush' command");
      expect(await r('LLEN', 'nokey')).toBe(0);
    });

    it('writes one batch per command, with the metadata and the elements together', async () => {
      h.ctx.batches.length = 0;
      await r('RPUSH', 'l', 'a', 'b', 'c');
      expect(h.ctx.batches.length).toBe(1);
      await r('LPOP', 'l', '2');
      expect(h.ctx.batches.length).toBe(2);
      await r('LLEN', 'l');
      await r('LPUSHX', 'none', 'a');
      expect(h.ctx.batches.length).toBe(2);
    });
  });

  describe('LPOP, RPOP', () => {
    beforeEach(async () => {
      await r('RPUSH', 'l', 'a', 'b', 'c', 'd', 'e');
    });

    it('pops one element, or COUNT elements in pop order', async () => {
      expect(await r('LPOP', 'l')).toBe('a');
      expect(await r('RPOP', 'l')).toBe('e');
      expect(await r('RPOP', 'l', '2')).toEqual(['d', 'c']);
      expect(await r('LPOP', 'l', '5')).toEqual(['b']);
      expect(await r('EXISTS', 'l')).toBe(0);
      expect(await r('DBSIZE')).toBe(0);
    });

    it('answers nil for a missing key, a nil array with COUNT, an empty array for COUNT 0', async () => {
      expect(await r('LPOP', 'nokey')).toBeNull();
      expect(await r('RPOP', 'nokey', '2')).toBe('*-1');
      expect(await r('LPOP', 'nokey', '0')).toBe('*-1');
      expect(await r('LPOP', 'l', '0')).toEqual([]);
      expect(await r('LLEN', 'l')).toBe(5);
    });

    it('checks COUNT before the key, and the type before COUNT 0', async () => {
      await r('SET', 's', 'v');
      expect(await r('LPOP', 's', 'abc')).toBe('-ERR value is out of range, must be positive');
      expect(await r('LPOP', 'l', '-1')).toBe('-ERR value is out of range, must be positive');
      expect(await r('LPOP', 'l', '9223372036854775808')).toBe('-ERR value is out of range, must be positive');
      expect(await r('LPOP', 's', '0')).toBe(wrongType);
      expect(await r('RPOP', 's')).toBe(wrongType);
      expect(await r('LPOP', 'l', '1', '2')).toBe("-ERR wrong number of arguments for 'lpop' command");
    });

    it('pops a count larger than the list (and than the explicit-delete bound), deleting the list', async () => {
      await r('DEL', 'l');
      const elements = Array.from({ length: listFreedDeletesMax + 10 }, (_, index) => `e${index}`);
      await r('RPUSH', 'big', ...elements);
      expect(await r('LPOP', 'big', String(listFreedDeletesMax + 5))).toEqual(elements.slice(0, listFreedDeletesMax + 5));
      expect(await r('LRANGE', 'big', '0', '-1')).toEqual(elements.slice(listFreedDeletesMax + 5));
      await checkList(h, 'big');
      expect(await r('RPOP', 'big', '100')).toEqual(elements.slice(listFreedDeletesMax + 5).reverse());
      expect(await r('EXISTS', 'big')).toBe(0);
    });

    it('deletes popped elements (small pops) so that no dead subkey stays behind', async () => {
      expect(await rawElements(h, 'l')).toHaveLength(5);
      await r('LPOP', 'l');
      await r('RPOP', 'l', '2');
      expect(await rawElements(h, 'l')).toHaveLength(2);
    });
  });

  describe('LINDEX, LSET, LRANGE', () => {
    beforeEach(async () => {
      await r('RPUSH', 'l', 'a', 'b', 'c');
    });

    it('LINDEX reads by index from either end; nil out of range or for a missing key', async () => {
      expect(await r('LINDEX', 'l', '0')).toBe('a');
      expect(await r('LINDEX', 'l', '2')).toBe('c');
      expect(await r('LINDEX', 'l', '-1')).toBe('c');
      expect(await r('LINDEX', 'l', '-3')).toBe('a');
      expect(await r('LINDEX', 'l', '3')).toBeNull();
      expect(await r('LINDEX', 'l', '-4')).toBeNull();
      expect(await r('LINDEX', 'l', '9223372036854775807')).toBeNull();
      expect(await r('LINDEX', 'l', longMin)).toBeNull();
      expect(await r('LINDEX', 'nokey', '0')).toBeNull();
    });

    it('LINDEX looks the key up before parsing the index', async () => {
      await r('SET', 's', 'v');
      expect(await r('LINDEX', 'nokey', 'abc')).toBeNull();
      expect(await r('LINDEX', 's', 'abc')).toBe(wrongType);
      expect(await r('LINDEX', 'l', 'abc')).toBe(notInteger);
      expect(await r('LINDEX', 'l', '9223372036854775808')).toBe(notInteger);
    });

    it('LSET replaces by index; no such key, index out of range, not an integer', async () => {
      expect(await r('LSET', 'l', '1', 'B')).toBe('+OK');
      expect(await r('LSET', 'l', '-1', 'C')).toBe('+OK');
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['a', 'B', 'C']);
      expect(await r('LSET', 'l', '3', 'x')).toBe('-ERR index out of range');
      expect(await r('LSET', 'l', '-4', 'x')).toBe('-ERR index out of range');
      expect(await r('LSET', 'nokey', 'abc', 'x')).toBe('-ERR no such key');
      expect(await r('LSET', 'l', 'abc', 'x')).toBe(notInteger);
      await r('SET', 's', 'v');
      expect(await r('LSET', 's', '0', 'x')).toBe(wrongType);
      await checkList(h, 'l');
    });

    it('LRANGE normalises negative and out-of-range indexes as Redis does', async () => {
      expect(await r('LRANGE', 'l', '0', '0')).toEqual(['a']);
      expect(await r('LRANGE', 'l', '1', '-1')).toEqual(['b', 'c']);
      expect(await r('LRANGE', 'l', '-2', '100')).toEqual(['b', 'c']);
      expect(await r('LRANGE', 'l', '-100', '1')).toEqual(['a', 'b']);
      expect(await r('LRANGE', 'l', '2', '1')).toEqual([]);
      expect(await r('LRANGE', 'l', '3', '5')).toEqual([]);
      expect(await r('LRANGE', 'l', '0', '-4')).toEqual([]);
      expect(await r('LRANGE', 'l', longMin, '9223372036854775807')).toEqual(['a', 'b', 'c']);
      expect(await r('LRANGE', 'nokey', '0', '-1')).toEqual([]);
    });

    it('LRANGE parses the indexes before looking the key up', async () => {
      await r('SET', 's', 'v');
      expect(await r('LRANGE', 's', 'x', '1')).toBe(notInteger);
      expect(await r('LRANGE', 'nokey', '0', 'y')).toBe(notInteger);
      expect(await r('LRANGE', 's', '0', '1')).toBe(wrongType);
    });

    it('LRANGE reads long ranges (iterator) the same as short ones (point reads)', async () => {
      const elements = Array.from({ length: 300 }, (_, index) => `v${index}`);
      await r('RPUSH', 'long', ...elements);
      expect(await r('LRANGE', 'long', '0', '-1')).toEqual(elements);
      expect(await r('LRANGE', 'long', '17', '250')).toEqual(elements.slice(17, 251));
      expect(await r('LRANGE', 'long', '-20', '-5')).toEqual(elements.slice(-20, -4));
    });
  });

  describe('LTRIM', () => {
    it('keeps the range, moving head and tail', async () => {
      await r('RPUSH', 'l', 'a', 'b', 'c', 'd', 'e');
      expect(await r('LTRIM', 'l', '1', '-2')).toBe('+OK');
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['b', 'c', 'd']);
      expect(await r('LTRIM', 'l', '-100', '100')).toBe('+OK');
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['b', 'c', 'd']);
      expect(await rawElements(h, 'l')).toHaveLength(3); // small trims delete what they remove
      await r('LPUSH', 'l', 'x');
      await r('RPUSH', 'l', 'y');
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['x', 'b', 'c', 'd', 'y']);
      await checkList(h, 'l');
    });

    it('deletes the list when the range is empty; OK for a missing key; errors in Redis order', async () => {
      await r('RPUSH', 'l', 'a', 'b');
      expect(await r('LTRIM', 'l', '2', '5')).toBe('+OK');
      expect(await r('EXISTS', 'l')).toBe(0);
      await r('RPUSH', 'l', 'a', 'b');
      expect(await r('LTRIM', 'l', '1', '0')).toBe('+OK');
      expect(await r('EXISTS', 'l')).toBe(0);
      expect(await r('LTRIM', 'nokey', '0', '1')).toBe('+OK');
      await r('SET', 's', 'v');
      expect(await r('LTRIM', 's', 'x', '1')).toBe(notInteger);
      expect(await r('LTRIM', 's', '0', '1')).toBe(wrongType);
    });

    it('trims more than the explicit-delete bound in O(1) writes, leaving the dead elements to compaction', async () => {
      const count = listFreedDeletesMax * 2;
      await r('RPUSH', 'l', ...Array.from({ length: count }, (_, index) => `e${index}`));
      h.ctx.batches.length = 0;
      expect(await r('LTRIM', 'l', '10', '19')).toBe('+OK');
      expect(h.ctx.batches[0]!.length).toBeLessThan(5);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(Array.from({ length: 10 }, (_, index) => `e${index + 10}`));
      await checkList(h, 'l');
      if (kind.filters) {
        await h.settle();
        await h.engine.flush();
        await h.engine.compactRange();
        expect(await rawElements(h, 'l')).toHaveLength(10);
      }
    });
  });

  describe('LREM', () => {
    beforeEach(async () => {
      await r('RPUSH', 'l', 'a', 'b', 'a', 'c', 'a', 'd');
    });

    it('removes from the head for count > 0', async () => {
      expect(await r('LREM', 'l', '2', 'a')).toBe(2);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['b', 'c', 'a', 'd']);
      await checkList(h, 'l');
    });

    it('removes from the tail for count < 0', async () => {
      expect(await r('LREM', 'l', '-2', 'a')).toBe(2);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['a', 'b', 'c', 'd']);
      await checkList(h, 'l');
    });

    it('removes every match for count 0, and nothing when there is none', async () => {
      expect(await r('LREM', 'l', '0', 'a')).toBe(3);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['b', 'c', 'd']);
      expect(await r('LREM', 'l', '0', 'zz')).toBe(0);
      expect(await r('LREM', 'l', '5', 'd')).toBe(1);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['b', 'c']);
      await checkList(h, 'l');
      expect(await rawElements(h, 'l')).toHaveLength(2);
    });

    it('deletes the list when every element goes; 0 for a missing key; errors in Redis order', async () => {
      await r('RPUSH', 'same', 'x', 'x', 'x');
      expect(await r('LREM', 'same', '0', 'x')).toBe(3);
      expect(await r('EXISTS', 'same')).toBe(0);
      expect(await r('LREM', 'nokey', '1', 'x')).toBe(0);
      await r('SET', 's', 'v');
      expect(await r('LREM', 's', 'x', 'a')).toBe(notInteger);
      expect(await r('LREM', 's', '1', 'a')).toBe(wrongType);
      expect(await r('LREM', 'l', longMin, 'a')).toBe('-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
    });
  });

  describe('LREM and LINSERT rewrite the side where fewer elements move', () => {
    const elements = Array.from({ length: 40 }, (_, index) => `e${index}`);
    /** Head and tail indexes: which of them moved says which side was rewritten. */
    const bounds = (): { head: number; tail: number } => listBounds(h.engine.get(metadataKey(h.keyspace.physicalDb(0), Buffer.from('l')))!)!;

    beforeEach(async () => {
      await r('RPUSH', 'l', ...elements);
    });

    it('LREM from the head of an element near the tail moves the few after it, read past the scan', async () => {
      const before = bounds();
      expect(await r('LREM', 'l', '1', 'e37')).toBe(1);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(elements.filter((element) => element !== 'e37'));
      expect(bounds()).toEqual({ head: before.head, tail: before.tail - 1 });
      await checkList(h, 'l');
    });

    it('LREM from the tail of an element near the head moves the few before it, read past the scan', async () => {
      const before = bounds();
      expect(await r('LREM', 'l', '-1', 'e2')).toBe(1);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(elements.filter((element) => element !== 'e2'));
      expect(bounds()).toEqual({ head: before.head + 1, tail: before.tail });
      // Matches at both ends: the side scanned (from the tail) moves fewer.
      await r('RPUSH', 'l', 'e5');
      const next = bounds();
      expect(await r('LREM', 'l', '-2', 'e5')).toBe(2);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(elements.filter((element) => element !== 'e2' && element !== 'e5'));
      expect(bounds()).toEqual({ head: next.head, tail: next.tail - 2 });
      await checkList(h, 'l');
    });

    it('LINSERT before a pivot near the tail moves the elements after the insertion point towards the tail', async () => {
      const before = bounds();
      expect(await r('LINSERT', 'l', 'BEFORE', 'e36', 'x')).toBe(41);
      expect(await r('LINSERT', 'l', 'AFTER', 'e38', 'y')).toBe(42);
      expect(await r('LINSERT', 'l', 'AFTER', 'e1', 'z')).toBe(43);
      const expected = [...elements];
      expected.splice(36, 0, 'x');
      expected.splice(expected.indexOf('e38') + 1, 0, 'y');
      expected.splice(2, 0, 'z');
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(expected);
      expect(bounds()).toEqual({ head: before.head - 1, tail: before.tail + 2 });
      await checkList(h, 'l');
    });
  });

  describe('LINSERT', () => {
    beforeEach(async () => {
      await r('RPUSH', 'l', 'a', 'b', 'c');
    });

    it('inserts before or after the first pivot from the head', async () => {
      expect(await r('LINSERT', 'l', 'BEFORE', 'b', 'x')).toBe(4);
      expect(await r('LINSERT', 'l', 'after', 'b', 'y')).toBe(5);
      expect(await r('LINSERT', 'l', 'before', 'a', 'first')).toBe(6);
      expect(await r('LINSERT', 'l', 'AFTER', 'c', 'last')).toBe(7);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['first', 'a', 'x', 'b', 'y', 'c', 'last']);
      await r('RPUSH', 'l', 'b');
      expect(await r('LINSERT', 'l', 'after', 'b', 'z')).toBe(9);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['first', 'a', 'x', 'b', 'z', 'y', 'c', 'last', 'b']);
      await checkList(h, 'l');
    });

    it('answers -1 without the pivot, 0 for a missing key; syntax error first', async () => {
      expect(await r('LINSERT', 'l', 'before', 'zz', 'x')).toBe(-1);
      expect(await r('LINSERT', 'nokey', 'before', 'a', 'x')).toBe(0);
      expect(await r('EXISTS', 'nokey')).toBe(0);
      await r('SET', 's', 'v');
      expect(await r('LINSERT', 's', 'middle', 'a', 'x')).toBe(syntax);
      expect(await r('LINSERT', 's', 'before', 'a', 'x')).toBe(wrongType);
      expect(await r('LLEN', 'l')).toBe(3);
    });
  });

  describe('LPOS', () => {
    beforeEach(async () => {
      await r('RPUSH', 'l', 'a', 'b', 'c', 'a', 'b', 'c', 'a');
    });

    it('finds the first match, the rank-th, from the tail with a negative rank', async () => {
      expect(await r('LPOS', 'l', 'b')).toBe(1);
      expect(await r('LPOS', 'l', 'a', 'RANK', '2')).toBe(3);
      expect(await r('LPOS', 'l', 'a', 'RANK', '-1')).toBe(6);
      expect(await r('LPOS', 'l', 'a', 'RANK', '-3')).toBe(0);
      expect(await r('LPOS', 'l', 'a', 'RANK', '4')).toBeNull();
      expect(await r('LPOS', 'l', 'zz')).toBeNull();
    });

    it('returns COUNT matches (0 = all) and honours MAXLEN', async () => {
      expect(await r('LPOS', 'l', 'a', 'COUNT', '0')).toEqual([0, 3, 6]);
      expect(await r('LPOS', 'l', 'a', 'COUNT', '2')).toEqual([0, 3]);
      expect(await r('LPOS', 'l', 'a', 'COUNT', '0', 'RANK', '-1')).toEqual([6, 3, 0]);
      expect(await r('LPOS', 'l', 'a', 'RANK', '2', 'COUNT', '5')).toEqual([3, 6]);
      expect(await r('LPOS', 'l', 'a', 'COUNT', '0', 'MAXLEN', '4')).toEqual([0, 3]);
      expect(await r('LPOS', 'l', 'a', 'RANK', '2', 'MAXLEN', '3')).toBeNull();
      expect(await r('LPOS', 'l', 'c', 'RANK', '-1', 'MAXLEN', '2')).toBe(5);
      expect(await r('LPOS', 'l', 'zz', 'COUNT', '1')).toEqual([]);
      expect(await r('LPOS', 'nokey', 'a')).toBeNull();
      expect(await r('LPOS', 'nokey', 'a', 'COUNT', '0')).toEqual([]);
    });

    it('words option errors as Redis, before looking the key up', async () => {
      await r('SET', 's', 'v');
      expect(await r('LPOS', 's', 'a', 'RANK', '0')).toBe(
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
      );
      expect(await r('LPOS', 's', 'a', 'COUNT', '-1')).toBe("-ERR COUNT can't be negative");
      expect(await r('LPOS', 's', 'a', 'MAXLEN', '1.5')).toBe("-ERR MAXLEN can't be negative");
      expect(await r('LPOS', 's', 'a', 'RANK', 'abc')).toBe(notInteger);
      expect(await r('LPOS', 's', 'a', 'RANK', longMin)).toBe('-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
      expect(await r('LPOS', 's', 'a', 'RANK')).toBe(syntax);
      expect(await r('LPOS', 's', 'a', 'FOO', '1')).toBe(syntax);
      expect(await r('LPOS', 's', 'a')).toBe(wrongType);
    });
  });

  describe('LMOVE, RPOPLPUSH', () => {
    beforeEach(async () => {
      await r('RPUSH', 'src', 'a', 'b', 'c');
    });

    it('moves between the four end combinations', async () => {
      expect(await r('LMOVE', 'src', 'dst', 'LEFT', 'RIGHT')).toBe('a');
      expect(await r('LMOVE', 'src', 'dst', 'right', 'left')).toBe('c');
      expect(await r('LRANGE', 'dst', '0', '-1')).toEqual(['c', 'a']);
      expect(await r('LMOVE', 'dst', 'src', 'LEFT', 'LEFT')).toBe('c');
      expect(await r('LMOVE', 'dst', 'src', 'RIGHT', 'RIGHT')).toBe('a');
      expect(await r('EXISTS', 'dst')).toBe(0);
      expect(await r('LRANGE', 'src', '0', '-1')).toEqual(['c', 'b', 'a']);
      expect(await r('RPOPLPUSH', 'src', 'other')).toBe('a');
      expect(await r('LRANGE', 'other', '0', '-1')).toEqual(['a']);
      await checkList(h, 'src');
    });

    it('rotates a list onto itself, also a one-element list', async () => {
      expect(await r('LMOVE', 'src', 'src', 'LEFT', 'RIGHT')).toBe('a');
      expect(await r('LRANGE', 'src', '0', '-1')).toEqual(['b', 'c', 'a']);
      expect(await r('RPOPLPUSH', 'src', 'src')).toBe('a');
      expect(await r('LRANGE', 'src', '0', '-1')).toEqual(['a', 'b', 'c']);
      expect(await r('LMOVE', 'src', 'src', 'LEFT', 'LEFT')).toBe('a');
      expect(await r('LRANGE', 'src', '0', '-1')).toEqual(['a', 'b', 'c']);
      await r('RPUSH', 'one', 'x');
      expect(await r('LMOVE', 'one', 'one', 'LEFT', 'RIGHT')).toBe('x');
      expect(await r('LMOVE', 'one', 'one', 'RIGHT', 'LEFT')).toBe('x');
      expect(await r('LRANGE', 'one', '0', '-1')).toEqual(['x']);
      await checkList(h, 'src');
      await checkList(h, 'one');
      expect(await rawElements(h, 'one')).toHaveLength(1);
    });

    it('answers nil for a missing source (whatever the destination), WRONGTYPE for either key, syntax first', async () => {
      await r('SET', 's', 'v');
      expect(await r('LMOVE', 'nokey', 's', 'LEFT', 'LEFT')).toBeNull();
      expect(await r('RPOPLPUSH', 'nokey', 'dst')).toBeNull();
      expect(await r('EXISTS', 'dst')).toBe(0);
      expect(await r('LMOVE', 'src', 's', 'LEFT', 'LEFT')).toBe(wrongType);
      expect(await r('LMOVE', 's', 'dst', 'LEFT', 'LEFT')).toBe(wrongType);
      expect(await r('LLEN', 'src')).toBe(3);
      expect(await r('LMOVE', 's', 's', 'UP', 'LEFT')).toBe(syntax);
      expect(await r('LMOVE', 's', 's', 'LEFT', 'DOWN')).toBe(syntax);
    });
  });

  describe('LMPOP', () => {
    it('pops from the first non-empty list, COUNT elements at most', async () => {
      await r('RPUSH', 'b', '1', '2', '3');
      await r('RPUSH', 'c', 'x');
      expect(await r('LMPOP', '3', 'a', 'b', 'c', 'LEFT')).toEqual(['b', ['1']]);
      expect(await r('LMPOP', '2', 'b', 'c', 'right', 'COUNT', '5')).toEqual(['b', ['3', '2']]);
      expect(await r('EXISTS', 'b')).toBe(0);
      expect(await r('LMPOP', '2', 'a', 'b', 'LEFT')).toBe('*-1');
    });

    it('words errors as Redis: numkeys, syntax, count, WRONGTYPE on a key before the first list', async () => {
      await r('RPUSH', 'l', 'a');
      await r('SET', 's', 'v');
      expect(await r('LMPOP', '0', 'l', 'LEFT')).toBe('-ERR numkeys should be greater than 0');
      expect(await r('LMPOP', 'abc', 'l', 'LEFT')).toBe('-ERR numkeys should be greater than 0');
      expect(await r('LMPOP', '2', 'l', 'LEFT')).toBe(syntax);
      expect(await r('LMPOP', '9223372036854775807', 'l', 'LEFT')).toBe(syntax);
      expect(await r('LMPOP', '1', 'l', 'MIDDLE')).toBe(syntax);
      expect(await r('LMPOP', '1', 'l', 'LEFT', 'COUNT', '0')).toBe('-ERR count should be greater than 0');
      expect(await r('LMPOP', '1', 'l', 'LEFT', 'COUNT', 'abc')).toBe('-ERR count should be greater than 0');
      expect(await r('LMPOP', '1', 'l', 'LEFT', 'COUNT', '1', 'COUNT', '2')).toBe(syntax);
      expect(await r('LMPOP', '1', 'l', 'LEFT', 'COUNT')).toBe(syntax);
      expect(await r('LMPOP', '2', 's', 'l', 'LEFT')).toBe(wrongType);
      expect(await r('LMPOP', '2', 'l', 's', 'LEFT')).toEqual(['l', ['a']]);
      expect(await r('LMPOP', '1', 'l')).toBe("-ERR wrong number of arguments for 'lmpop' command");
    });
  });

  describe('blocking commands: the non-blocking half', () => {
    it('BLPOP and BRPOP pop at once from the first non-empty list', async () => {
      await r('RPUSH', 'b', '1', '2');
      expect(await r('BLPOP', 'a', 'b', '0')).toEqual(['b', '1']);
      expect(await r('BRPOP', 'a', 'b', '0.5')).toEqual(['b', '2']);
      expect(await r('EXISTS', 'b')).toBe(0);
    });

    it('returns a BlockedReply with copied keys, the timeout in ms and a nil-array timeout reply', async () => {
      const key = Buffer.from('a');
      const reply = (await r('BLPOP', key, 'b', '1.5')) as { blocked: Blocked };
      expect(reply.blocked).toMatchObject({ db: 0, keys: ['a', 'b'], timeoutMs: 1500, timeoutReply: '*-1' });
      expect(reply.blocked.reply.keys[0]).not.toBe(key);
      expect(((await r('BLMPOP', '0', '2', 'a', 'b', 'LEFT', 'COUNT', '2')) as { blocked: Blocked }).blocked).toMatchObject({ keys: ['a', 'b'], timeoutMs: 0, timeoutReply: '*-1' });
      // BLMOVE and BRPOPLPUSH time out with a null array but answer a null bulk inside MULTI, as Redis does.
      const blmove = ((await r('BLMOVE', 'a', 'd', 'LEFT', 'RIGHT', '2')) as { blocked: Blocked }).blocked;
      expect(blmove).toMatchObject({ keys: ['a'], timeoutMs: 2000, timeoutReply: '*-1' });
      expect(blmove.reply.deniedReply).toBeNull();
      const brpoplpush = ((await r('BRPOPLPUSH', 'a', 'd', '0')) as { blocked: Blocked }).blocked;
      expect(brpoplpush).toMatchObject({ keys: ['a'], timeoutReply: '*-1' });
      expect(brpoplpush.reply.deniedReply).toBeNull();
      expect(reply.blocked.reply.deniedReply).toBeUndefined();
      expect(reply.blocked.reply.kind).toBe('list');
    });

    it('retries: undefined while empty, the pop once a list has elements, skipping keys of another type', async () => {
      const blocked = ((await r('BRPOP', 'a', 'b', 'c', '0')) as { blocked: Blocked }).blocked.reply;
      expect(blocked.retry(h.ctx)).toBeUndefined();
      await r('SET', 'a', 'string now');
      await r('RPUSH', 'c', 'x', 'y');
      expect(plain((await blocked.retry(h.ctx))!)).toEqual(['c', 'y']);
      expect(await r('BLMPOP', '0', '2', 'a', 'c', 'LEFT', 'COUNT', '3')).toBe(wrongType); // the command itself checks types in order
      expect(await r('BLMPOP', '0', '2', 'c', 'a', 'LEFT', 'COUNT', '3')).toEqual(['c', ['x']]);
      const again = ((await r('BLMPOP', '0', '1', 'c', 'RIGHT', 'COUNT', '3')) as { blocked: Blocked }).blocked.reply;
      await r('RPUSH', 'c', '1', '2', '3', '4');
      expect(plain((await again.retry(h.ctx))!)).toEqual(['c', ['4', '3', '2']]);
    });

    it('BLMOVE moves at once, or retries the move; a wrong-typed destination answers WRONGTYPE', async () => {
      await r('RPUSH', 'src', 'a');
      expect(await r('BLMOVE', 'src', 'dst', 'LEFT', 'LEFT', '0')).toBe('a');
      expect(await r('LRANGE', 'dst', '0', '-1')).toEqual(['a']);
      const blocked = ((await r('BLMOVE', 'src', 'dst', 'RIGHT', 'LEFT', '0')) as { blocked: Blocked }).blocked.reply;
      expect(blocked.retry(h.ctx)).toBeUndefined();
      await r('RPUSH', 'src', 'b');
      expect(plain((await blocked.retry(h.ctx))!)).toBe('b');
      expect(await r('LRANGE', 'dst', '0', '-1')).toEqual(['b', 'a']);
      const second = ((await r('BRPOPLPUSH', 'src', 'str', '0')) as { blocked: Blocked }).blocked.reply;
      await r('SET', 'str', 'v');
      await r('RPUSH', 'src', 'c');
      expect(plain((await second.retry(h.ctx))!)).toBe(wrongType);
      expect(await r('LLEN', 'src')).toBe(1);
    });

    it('answers WRONGTYPE at once for a key of another type before any list', async () => {
      await r('SET', 's', 'v');
      await r('RPUSH', 'l', 'x');
      expect(await r('BLPOP', 'nokey', 's', 'l', '0')).toBe(wrongType);
      expect(await r('BLMOVE', 's', 'l', 'LEFT', 'LEFT', '0')).toBe(wrongType);
      expect(await r('BLMOVE', 'l', 's', 'LEFT', 'LEFT', '0')).toBe(wrongType);
      expect(await r('BLMPOP', '0', '2', 's', 'l', 'LEFT')).toBe(wrongType);
      expect(await r('LLEN', 'l')).toBe(1);
    });

    it('words timeout errors as Redis, after the other arguments of BLMPOP and BLMOVE', async () => {
      expect(await r('BLPOP', 'l', '-1')).toBe('-ERR timeout is negative');
      expect(await r('BLPOP', 'l', 'abc')).toBe('-ERR timeout is not a float or out of range');
      expect(await r('BLPOP', 'l', ' 1')).toBe('-ERR timeout is not a float or out of range');
      expect(await r('BLPOP', 'l', 'inf')).toBe('-ERR timeout is negative');
      expect(await r('BLPOP', 'l', '1e100')).toBe('-ERR timeout is negative');
      expect(await r('BRPOP', 'l', '9223372036854776')).toBe('-ERR timeout is negative');
      expect(await r('BLMPOP', '0', '0', 'l', 'LEFT')).toBe('-ERR numkeys should be greater than 0');
      expect(await r('BLMPOP', '-1', '1', 'l', 'LEFT')).toBe('-ERR timeout is negative');
      expect(await r('BLMPOP', '-1', '1', 'l', 'UP')).toBe(syntax);
      expect(await r('BLMOVE', 'l', 'd', 'UP', 'LEFT', '-1')).toBe(syntax);
      expect(await r('BLMOVE', 'l', 'd', 'LEFT', 'LEFT', '-1')).toBe('-ERR timeout is negative');
      expect(await r('BRPOPLPUSH', 'l', 'd', 'x')).toBe('-ERR timeout is not a float or out of range');
      expect(await r('BLPOP', 'l')).toBe("-ERR wrong number of arguments for 'blpop' command");
      expect(await r('BLMPOP', '0', '1', 'l')).toBe("-ERR wrong number of arguments for 'blmpop' command");
    });
  });

  describe('TTL and other key commands', () => {
    it('an expired list reads as absent; a push starts a new list under a new version', async () => {
      await r('RPUSH', 'l', 'old1', 'old2');
      expect(await r('PEXPIRE', 'l', '100')).toBe(1);
      expect(await r('LPUSH', 'l', 'x')).toBe(3); // pushing keeps the TTL, as in Redis
      expect(await r('PTTL', 'l')).toBe(100);
      h.ctx.nowMs = t0 + 101;
      expect(await r('LLEN', 'l')).toBe(0);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual([]);
      expect(await r('LPOP', 'l')).toBeNull();
      expect(await r('LINDEX', 'l', '0')).toBeNull();
      expect(await r('RPUSH', 'l', 'new')).toBe(1);
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['new']);
      expect(await r('TTL', 'l')).toBe(-1);
      await checkList(h, 'l');
    });

    it('an emptied list keeps no TTL: a new list at that name starts without one', async () => {
      await r('RPUSH', 'l', 'a');
      await r('EXPIRE', 'l', '100');
      expect(await r('RPOP', 'l')).toBe('a');
      expect(await r('RPUSH', 'l', 'b')).toBe(1);
      expect(await r('TTL', 'l')).toBe(-1);
    });

    it('RENAME and COPY carry the elements; DEL and overwriting with SET drop them', async () => {
      await r('RPUSH', 'l', 'a', 'b', 'c');
      await r('LTRIM', 'l', '1', '-1');
      expect(await r('RENAME', 'l', 'm')).toBe('+OK');
      expect(await r('LRANGE', 'm', '0', '-1')).toEqual(['b', 'c']);
      expect(await r('COPY', 'm', 'n')).toBe(1);
      await r('RPUSH', 'n', 'd');
      expect(await r('LRANGE', 'n', '0', '-1')).toEqual(['b', 'c', 'd']);
      expect(await r('LRANGE', 'm', '0', '-1')).toEqual(['b', 'c']);
      await checkList(h, 'n');
      expect(await r('SET', 'm', 'v')).toBe('+OK');
      expect(await r('LPUSH', 'm', 'x')).toBe(wrongType);
      expect(await r('DEL', 'n')).toBe(1);
      expect(await r('LPUSH', 'n', 'x')).toBe(1);
      expect(await r('LRANGE', 'n', '0', '-1')).toEqual(['x']);
    });

    it('keeps databases apart', async () => {
      await r('RPUSH', 'l', 'db0');
      h.ctx.db = 1;
      expect(await r('LLEN', 'l')).toBe(0);
      await r('RPUSH', 'l', 'db1');
      h.ctx.db = 0;
      expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['db0']);
    });
  });

  describe('large lists (100k elements)', () => {
    it('point operations stay correct; DEL returns at once and compaction reclaims the elements', async () => {
      const count = 100_000;
      for (let start = 0; start < count; start += 10_000) {
        const chunk = Array.from({ length: 10_000 }, (_, index) => `e${start + index}`);
        await r('RPUSH', 'big', ...chunk);
      }
      await h.settle();
      await h.engine.flush();
      expect(await r('LLEN', 'big')).toBe(count);
      expect(await r('LINDEX', 'big', '54321')).toBe('e54321');
      expect(await r('LINDEX', 'big', '-1')).toBe('e99999');
      expect(await r('LSET', 'big', '70000', 'changed')).toBe('+OK');
      expect(await r('LRANGE', 'big', '69999', '70001')).toEqual(['e69999', 'changed', 'e70001']);
      expect(await r('LPOP', 'big')).toBe('e0');
      expect(await r('RPOP', 'big')).toBe('e99999');
      expect(await r('LPUSH', 'big', 'head')).toBe(count - 1);
      expect(await r('LINDEX', 'big', '1')).toBe('e1');
      expect(await r('LPOS', 'big', 'e99998', 'RANK', '-1')).toBe(count - 2);
      h.ctx.batches.length = 0;
      expect(await r('DEL', 'big')).toBe(1);
      expect(h.ctx.batches).toHaveLength(1);
      expect(h.ctx.batches[0]!.length).toBeLessThan(5);
      expect(await r('EXISTS', 'big')).toBe(0);
      if (kind.filters) {
        const physDb = h.keyspace.physicalDb(0);
        const record = await r('RPUSH', 'probe', 'x'); // an unrelated key so the db is not empty
        expect(record).toBe(1);
        await h.settle();
        await h.engine.flush();
        await h.engine.compactRange();
        const prefix = Buffer.concat([Buffer.from([0x53, 0, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('big')]);
        prefix.writeUInt32BE(physDb, 1);
        const iterator = h.engine.iterator({ gte: prefix, lt: prefixEnd(prefix)! });
        const left = [];
        for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) left.push(entry);
        await iterator.close();
        expect(left).toHaveLength(0);
      }
    });
  });

  it('survives flush, compaction and reopen', async () => {
    await r('RPUSH', 'l', 'a', 'b', 'c', 'd');
    await r('LTRIM', 'l', '1', '-1');
    await r('LINSERT', 'l', 'before', 'c', 'x');
    await h.settle();
    await h.engine.flush();
    await h.engine.compactRange();
    await h.reopen();
    r = h.r;
    expect(await r('LRANGE', 'l', '0', '-1')).toEqual(['b', 'x', 'c', 'd']);
    await checkList(h, 'l');
  });
});

// ---------------------------------------------------------------- timeout parsing

describe('timeoutArgument', () => {
  const parse = (text: string): number | string => {
    const result = timeoutArgument(Buffer.from(text));
    return result instanceof ErrorReply ? result.text : result;
  };

  it('reads seconds as a float and rounds up to whole ms; 0 is forever', () => {
    expect(parse('0')).toBe(0);
    expect(parse('1')).toBe(1000);
    expect(parse('0.0001')).toBe(1);
    expect(parse('0.001')).toBe(1);
    expect(parse('0.0015')).toBe(2);
    expect(parse('1e3')).toBe(1_000_000);
    expect(parse('0x10')).toBe(16_000);
    expect(parse('-0.0001')).toBe(0); // as Redis: the ceiling of -0.1 ms is 0, so it waits forever
    expect(parse('9223372036854775')).toBe(9223372036854775000);
  });

  it('refuses what Redis refuses', () => {
    expect(parse('-1')).toBe('ERR timeout is negative');
    expect(parse('-0.002')).toBe('ERR timeout is negative');
    expect(parse('inf')).toBe('ERR timeout is negative');
    expect(parse('-inf')).toBe('ERR timeout is negative');
    expect(parse('9223372036854776')).toBe('ERR timeout is negative');
    expect(parse('abc')).toBe('ERR timeout is not a float or out of range');
    expect(parse('')).toBe('ERR timeout is not a float or out of range');
    expect(parse('nan')).toBe('ERR timeout is not a float or out of range');
  });
});

// ---------------------------------------------------------------- property test

// Strategy: fast-check generates sequences of list commands (and SET, DEL,
// EXPIRE for other types and TTLs) on a few keys with a small alphabet, so
// that duplicates, pivots and matches are common, with now and then a bulk
// push of over listFreedDeletesMax elements (so that trims leave dead
// elements to the compaction filter), interleaved with flush,
// compactRange, reopen and clock steps. Each sequence runs on both engines.
// Invariants: every reply equals the model's (Redis's list semantics on
// plain arrays); after the sequence every list reads back whole, each list's
// metadata size equals its live subkeys, and the keyspace counters agree.

type Model = Map<string, { kind: 'list'; items: string[]; expireMs: number } | { kind: 'string'; value: string; expireMs: number }>;

type Op =
  | { kind: 'cmd'; args: string[] }
  | { kind: 'flush' }
  | { kind: 'compact' }
  | { kind: 'reopen' }
  | { kind: 'tick'; ms: number };

const keyArb = fc.constantFrom('a', 'b', 'c');
const elementArb = fc.constantFrom('x', 'y', 'z', '');
const indexArb = fc.integer({ min: -6, max: 6 }).map(String);
const endArb = fc.constantFrom('LEFT', 'RIGHT');

const cmdArb: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('LPUSH', 'RPUSH', 'LPUSHX', 'RPUSHX'), keyArb, fc.array(elementArb, { minLength: 1, maxLength: 4 })).map(([c, k, e]) => [c, k, ...e]) },
  // Bulk pushes make LTRIM and LREM free more than listFreedDeletesMax elements, which only moves head and tail.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('LPUSH', 'RPUSH'), keyArb, fc.integer({ min: listFreedDeletesMax + 1, max: listFreedDeletesMax + 300 })).map(([c, k, n]) => [c, k, ...Array.from({ length: n }, (_, index) => ['x', 'y', 'z'][index % 3]!)]) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('LPOP', 'RPOP'), keyArb, fc.option(fc.integer({ min: 0, max: 4 }).map(String))).map(([c, k, n]) => (n === null ? [c, k] : [c, k, n])) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('LINDEX'), keyArb, indexArb).map((t) => [...t]) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('LSET'), keyArb, indexArb, elementArb).map((t) => [...t]) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('LRANGE'), keyArb, indexArb, indexArb).map((t) => [...t]) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('LTRIM'), keyArb, indexArb, indexArb).map((t) => [...t]) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('LREM'), keyArb, fc.integer({ min: -3, max: 3 }).map(String), elementArb).map((t) => [...t]) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('LINSERT'), keyArb, fc.constantFrom('BEFORE', 'AFTER'), elementArb, elementArb).map((t) => [...t]) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('LPOS'), keyArb, elementArb, fc.integer({ min: -3, max: 3 }).filter((n) => n !== 0), fc.option(fc.integer({ min: 0, max: 3 })), fc.integer({ min: 0, max: 5 })).map(([c, k, e, rank, count, maxlen]) => [c, k, e, 'RANK', String(rank), ...(count === null ? [] : ['COUNT', String(count)]), 'MAXLEN', String(maxlen)]) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('LMOVE'), keyArb, keyArb, endArb, endArb).map((t) => [...t]) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('LMPOP'), fc.uniqueArray(keyArb, { minLength: 1, maxLength: 3 }), endArb, fc.integer({ min: 1, max: 3 })).map(([c, keys, end, count]) => [c, String(keys.length), ...keys, end, 'COUNT', String(count)]) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('LLEN'), keyArb).map((t) => [...t]) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('SET'), keyArb, elementArb).map((t) => [...t]) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('DEL'), keyArb).map((t) => [...t]) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('PEXPIRE'), keyArb, fc.integer({ min: 1, max: 50 }).map(String)).map((t) => [...t]) },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: cmdArb.map((args) => ({ kind: 'cmd' as const, args })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 }).map((ms) => ({ kind: 'tick' as const, ms })) },
);

/** Redis's answer for `args` on the model at `nowMs` (and the model updated). */
function modelReply(model: Model, args: string[], nowMs: number): Plain {
  const live = (key: string): ReturnType<Model['get']> => {
    const entry = model.get(key);
    if (entry === undefined) return undefined;
    if (entry.expireMs !== 0 && nowMs > entry.expireMs) {
      model.delete(key);
      return undefined;
    }
    return entry;
  };
  const list = (key: string): string[] | 'wrongtype' | undefined => {
    const entry = live(key);
    if (entry === undefined) return undefined;
    return entry.kind === 'list' ? entry.items : 'wrongtype';
  };
  const store = (key: string, items: string[]): void => {
    const entry = live(key);
    if (items.length === 0) model.delete(key);
    else model.set(key, { kind: 'list', items, expireMs: entry?.kind === 'list' ? entry.expireMs : 0 });
  };
  const normalize = (start: number, stop: number, length: number): [number, number] => {
    if (start < 0) start += length;
    if (stop < 0) stop += length;
    if (start < 0) start = 0;
    if (start > stop || start >= length) return [0, 0];
    if (stop >= length) stop = length - 1;
    return [start, stop - start + 1];
  };
  const [command, key = '', ...rest] = args;
  const items = list(key);
  if (items === 'wrongtype' && !['SET', 'DEL', 'PEXPIRE', 'LMPOP', 'LMOVE', 'LPOS'].includes(command!)) return wrongType;
  switch (command) {
    case 'LPUSH':
    case 'RPUSH':
    case 'LPUSHX':
    case 'RPUSHX': {
      if (items === undefined && command.endsWith('X')) return 0;
      const next = [...((items as string[] | undefined) ?? [])];
      for (const element of rest) {
        if (command.startsWith('L')) next.unshift(element);
        else next.push(element);
      }
      store(key, next);
      return next.length;
    }
    case 'LPOP':
    case 'RPOP': {
      if (items === undefined) return rest.length > 0 ? '*-1' : null;
      const current = [...(items as string[])];
      if (rest.length === 0) {
        const value = command === 'LPOP' ? current.shift()! : current.pop()!;
        store(key, current);
        return value;
      }
      const count = Number(rest[0]);
      const out: string[] = [];
      for (let index = 0; index < count && current.length > 0; index++) out.push(command === 'LPOP' ? current.shift()! : current.pop()!);
      store(key, current);
      return out;
    }
    case 'LINDEX': {
      if (items === undefined) return null;
      const current = items as string[];
      const index = Number(rest[0]);
      const at = index < 0 ? current.length + index : index;
      return at >= 0 && at < current.length ? current[at]! : null;
    }
    case 'LSET': {
      if (items === undefined) return '-ERR no such key';
      const current = [...(items as string[])];
      const index = Number(rest[0]);
      const at = index < 0 ? current.length + index : index;
      if (at < 0 || at >= current.length) return '-ERR index out of range';
      current[at] = rest[1]!;
      store(key, current);
      return '+OK';
    }
    case 'LRANGE': {
      if (items === undefined) return [];
      const current = items as string[];
      const [first, count] = normalize(Number(rest[0]), Number(rest[1]), current.length);
      return current.slice(first, first + count);
    }
    case 'LTRIM': {
      if (items === undefined) return '+OK';
      const current = items as string[];
      const [first, count] = normalize(Number(rest[0]), Number(rest[1]), current.length);
      store(key, current.slice(first, first + count));
      return '+OK';
    }
    case 'LREM': {
      if (items === undefined) return 0;
      const current = [...(items as string[])];
      const count = Number(rest[0]);
      const element = rest[1]!;
      let removed = 0;
      if (count >= 0) {
        for (let index = 0; index < current.length; index++) {
          if (current[index] === element && (count === 0 || removed < count)) {
            current.splice(index--, 1);
            removed++;
          }
        }
      } else {
        for (let index = current.length - 1; index >= 0; index--) {
          if (current[index] === element && removed < -count) {
            current.splice(index, 1);
            removed++;
          }
        }
      }
      store(key, current);
      return removed;
    }
    case 'LINSERT': {
      if (items === undefined) return 0;
      const current = [...(items as string[])];
      const at = current.indexOf(rest[1]!);
      if (at === -1) return -1;
      current.splice(rest[0] === 'AFTER' ? at + 1 : at, 0, rest[2]!);
      store(key, current);
      return current.length;
    }
    case 'LPOS': {
      const element = rest[0]!;
      const rank = Number(rest[2]);
      const countIndex = rest.indexOf('COUNT');
      const count = countIndex === -1 ? -1 : Number(rest[countIndex + 1]);
      const maxlen = Number(rest[rest.indexOf('MAXLEN') + 1]);
      if (items === 'wrongtype') return wrongType;
      if (items === undefined) return count === -1 ? null : [];
      const current = items;
      const found: number[] = [];
      let matches = 0;
      for (let step = 0; step < current.length && (maxlen === 0 || step < maxlen); step++) {
        const at = rank > 0 ? step : current.length - 1 - step;
        if (current[at] !== element) continue;
        matches++;
        if (matches >= Math.abs(rank)) {
          found.push(at);
          if (count === -1 || (count !== 0 && found.length >= count)) break;
        }
      }
      return count === -1 ? (found[0] ?? null) : found;
    }
    case 'LMOVE': {
      const destination = rest[0]!;
      if (items === undefined) return null;
      if (items === 'wrongtype') return wrongType;
      const target = destination === key ? items : list(destination);
      if (target === 'wrongtype') return wrongType;
      const source = [...items];
      const value = rest[1] === 'LEFT' ? source.shift()! : source.pop()!;
      const next = destination === key ? source : [...(target ?? [])];
      if (rest[2] === 'LEFT') next.unshift(value);
      else next.push(value);
      store(key, source);
      store(destination, next);
      return value;
    }
    case 'LMPOP': {
      const numkeys = Number(key);
      const keys = rest.slice(0, numkeys);
      const end = rest[numkeys];
      const count = Number(rest[numkeys + 2]);
      for (const candidate of keys) {
        const current = list(candidate);
        if (current === undefined) continue;
        if (current === 'wrongtype') return wrongType;
        const copy = [...current];
        const out: string[] = [];
        for (let index = 0; index < count && copy.length > 0; index++) out.push(end === 'LEFT' ? copy.shift()! : copy.pop()!);
        store(candidate, copy);
        return [candidate, out];
      }
      return '*-1';
    }
    case 'LLEN':
      return items === undefined ? 0 : (items as string[]).length;
    case 'SET':
      model.set(key, { kind: 'string', value: rest[0]!, expireMs: 0 });
      return '+OK';
    case 'DEL': {
      const existed = live(key) !== undefined;
      model.delete(key);
      return existed ? 1 : 0;
    }
    case 'PEXPIRE': {
      const entry = live(key);
      if (entry === undefined) return 0;
      entry.expireMs = nowMs + Number(rest[0]);
      return 1;
    }
    default:
      throw new Error(`model has no ${command}`);
  }
}

describe.each(kinds)('list commands against a model ($name)', (kind) => {
  it('random command sequences agree with Redis semantics across flush, compaction and reopen', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        const h = await harness(kind);
        const model: Model = new Map();
        try {
          for (const op of ops) {
            if (op.kind === 'cmd') {
              const expected = modelReply(model, op.args, h.ctx.nowMs);
              expect(await h.r(...op.args), op.args.join(' ')).toEqual(expected);
            } else if (op.kind === 'tick') {
              h.ctx.nowMs += op.ms;
            } else {
              await h.settle();
              if (op.kind === 'flush') await h.engine.flush();
              else if (op.kind === 'compact') await h.engine.compactRange();
              else await h.reopen();
            }
          }
          for (const key of ['a', 'b', 'c']) {
            const entry = model.get(key);
            const live = entry !== undefined && (entry.expireMs === 0 || h.ctx.nowMs <= entry.expireMs) ? entry : undefined;
            if (live?.kind === 'list') expect(await h.r('LRANGE', key, '0', '-1')).toEqual(live.items);
            else if (live === undefined) expect(await h.r('EXISTS', key)).toBe(0);
            await checkList(h, key);
          }
          await h.settle();
          expect(await checkInvariants(h.engine, h.keyspace)).toBe('');
        } finally {
          await h.close();
        }
      }),
      { numRuns: runs },
    );
  });
});
