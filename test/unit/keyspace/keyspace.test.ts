// Keyspace operations on both engines (LsmEngine over MemFileSystem, with the
// keyspace compaction filter; LevelEngine in a temp dir): the database table,
// exact counters (checked against the engine after every step and after
// reopening), expiry and the sweep, FLUSHDB/SWAPDB in O(1) and their data
// reclaimed by compaction, collections moved with new versions, SCAN cursors,
// KEYS, RANDOMKEY, and the WATCH hooks.

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { Keyspace, type DbChange, type KeyState, type StoredKey } from '../../../lib/keyspace/keyspace.js';
import { KeyTag, metadataKey, subkey, subkeyPrefix, prefixEnd, scoreKey, scorePrefix, decodeSubkey } from '../../../lib/keyspace/key-encoding.js';
import { KeyType, collectionRecord, recordExpireMs, recordVersion, stringRecord, stringValue, withExpire } from '../../../lib/keyspace/metadata.js';
import { allKeys, checkInvariants, entries, levelHarness, lsmHarness, testContext, type EngineHarness, type TestContext } from './keyspace-harness.js';
import { walkSlice } from '../../../lib/keyspace/walk.js';
import { batchOpsMax } from '../../../lib/limits.js';

const t0 = 1_700_000_000_000;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

for (const harness of [lsmHarness(), levelHarness()] satisfies EngineHarness[]) {
  describe(`Keyspace on ${harness.name}`, () => {
    let engine: Engine;
    let keyspace: Keyspace;
    let ctx: TestContext;

    beforeEach(async () => {
      harness.reset();
      engine = await harness.open();
      keyspace = await Keyspace.open(engine, { databases: 4 });
      ctx = testContext(engine, t0);
    });

    afterEach(async () => {
      await ctx.settle();
      await engine.close();
    });

    afterAll(() => harness.cleanup());

    /** Sets a string through the staging API, as SET does. */
    function set(key: string, value: string, expireMs = 0, db = ctx.db): void {
      const target = keyspace.load(db, b(key), ctx.nowMs);
      keyspace.put(ctx, target, stringRecord(b(value), expireMs, keyspace.newVersion(ctx.nowMs, target.stored)));
    }

    function get(key: string, db = ctx.db): string | undefined {
      const record = keyspace.lookup(db, b(key), ctx.nowMs);
      return record === undefined ? undefined : stringValue(record).toString('latin1');
    }

    /** Creates a hash-typed collection with raw subkeys, as the next issue's HSET will. */
    function createCollection(key: string, fields: string[], db = ctx.db): StoredKey {
      const target = keyspace.load(db, b(key), ctx.nowMs);
      const version = keyspace.newVersion(ctx.nowMs, target.stored);
      const batch = keyspace.begin();
      keyspace.stagePut(batch, target, collectionRecord(KeyType.hash, 0, version, fields.length));
      for (const field of fields) batch.put(subkey(keyspace.physicalDb(db), b(key), version, b(field)), b(`v-${field}`));
      keyspace.commit(ctx, batch);
      return keyspace.load(db, b(key), ctx.nowMs);
    }

    async function subkeysOf(key: string, db = ctx.db): Promise<string[]> {
      const record = keyspace.lookup(db, b(key), ctx.nowMs);
      if (record === undefined) return [];
      const prefix = subkeyPrefix(keyspace.physicalDb(db), b(key), recordVersion(record));
      return (await entries(engine, prefix, prefixEnd(prefix))).map(([engineKey]) => decodeSubkey(engineKey).field.toString('latin1'));
    }

    async function expectConsistent(): Promise<void> {
      await ctx.settle();
      expect(await checkInvariants(engine, keyspace)).toBe('');
    }

    async function reopen(): Promise<void> {
      await ctx.settle();
      await engine.close();
      engine = await harness.open();
      keyspace = await Keyspace.open(engine, { databases: 4 });
      ctx = testContext(engine, ctx.nowMs, ctx.db);
    }

    it('creates the database table on a fresh engine: each logical db its own physical id, all empty', async () => {
      expect(keyspace.databases).toBe(4);
      expect([0, 1, 2, 3].map((db) => keyspace.physicalDb(db))).toEqual([0, 1, 2, 3]);
      expect([0, 1, 2, 3].map((db) => keyspace.dbSize(db))).toEqual([0, 0, 0, 0]);
      expect(engine.get(Buffer.from([KeyTag.dbTable]))).toBeDefined();
      await expectConsistent();
    });

    it('reads a string back, counts it once however often it is overwritten, and keeps dbs apart', async () => {
      set('a', '1');
      set('a', '2');
      set('b', 'x', 0, 1);
      expect(get('a')).toBe('2');
      expect(get('a', 1)).toBeUndefined();
      expect(get('b', 1)).toBe('x');
      expect(keyspace.dbSize(0)).toBe(1);
      expect(keyspace.dbSize(1)).toBe(1);
      expect(keyspace.info()).toEqual([
        { db: 0, keys: 1, expires: 0 },
        { db: 1, keys: 1, expires: 0 },
      ]);
      await expectConsistent();
    });

    it('reads an expired key as absent at once, yet counts it until the sweep deletes it', async () => {
      set('gone', 'v', t0 + 100);
      set('stays', 'v', t0 + 10_000);
      set('plain', 'v');
      expect(keyspace.expiresCount(0)).toBe(2);
      ctx.nowMs = t0 + 100;
      expect(get('gone')).toBe('v'); // expired only once the clock is strictly past the time, as in Redis
      ctx.nowMs = t0 + 101;
      expect(get('gone')).toBeUndefined();
      expect(keyspace.keyState(0, b('gone'), ctx.nowMs)).toBe('expired');
      expect(keyspace.keyState(0, b('stays'), ctx.nowMs)).toBe('live');
      expect(keyspace.keyState(0, b('never'), ctx.nowMs)).toBe('absent');
      expect(keyspace.dbSize(0)).toBe(3);
      await expectConsistent();

      const result = await keyspace.sweepExpired(ctx, 100);
      expect(result).toEqual({ expired: 1, stale: 0, more: false });
      expect(keyspace.dbSize(0)).toBe(2);
      expect(keyspace.expiresCount(0)).toBe(1);
      expect(keyspace.keyState(0, b('gone'), ctx.nowMs)).toBe('absent');
      await expectConsistent();
    });

    it('sweeps at most `limit` keys per call, oldest first, and says when more are due', async () => {
      for (let index = 0; index < 10; index++) set(`k${index}`, 'v', t0 + 10 + index);
      ctx.nowMs = t0 + 1_000;
      await ctx.settle();
      expect(await keyspace.sweepExpired(ctx, 4)).toEqual({ expired: 4, stale: 0, more: true });
      await ctx.settle();
      expect(keyspace.keyState(0, b('k0'), ctx.nowMs)).toBe('absent');
      expect(keyspace.keyState(0, b('k4'), ctx.nowMs)).toBe('expired');
      expect(await keyspace.sweepExpired(ctx, 4)).toEqual({ expired: 4, stale: 0, more: true });
      await ctx.settle();
      expect(await keyspace.sweepExpired(ctx, 4)).toEqual({ expired: 2, stale: 0, more: false });
      expect(keyspace.dbSize(0)).toBe(0);
      await expectConsistent();
    });

    it('goes on after the last key it swept, not again over the tombstones of those before', async () => {
      for (let index = 0; index < 2000; index++) set(`k${String(index).padStart(4, '0')}`, 'v', t0 + 10 + index);
      ctx.nowMs = t0 + 10_000;
      await ctx.settle();
      // 50 keys a sweep, and at most 500 tombstones passed (sweepHiddenPerKey): a sweep that started over at the
      // first entry would stop short among the tombstones of the earlier sweeps (on LsmEngine).
      for (let round = 0; round < 40; round++) {
        expect(await keyspace.sweepExpired(ctx, 50), `round ${round}`).toEqual({ expired: 50, stale: 0, more: true });
        await ctx.settle();
      }
      expect(await keyspace.sweepExpired(ctx, 50)).toEqual({ expired: 0, stale: 0, more: false });
      expect(keyspace.dbSize(0)).toBe(0);
      // A clock that went back: an expiry time before the last one swept is still found.
      ctx.nowMs = t0;
      set('early', 'v', t0 + 5);
      ctx.nowMs = t0 + 10_000;
      // It sweeps from the start again: `more` until it has passed the tombstones (LsmEngine).
      expect(await keyspace.sweepExpired(ctx, 50)).toMatchObject({ expired: 1, stale: 0 });
      expect(keyspace.dbSize(0)).toBe(0);
      let sweeps = 1;
      while ((await keyspace.sweepExpired(ctx, 50)).more && sweeps < 100) sweeps++;
      expect(sweeps).toBeLessThan(100);
      await expectConsistent();
    });

    it('keeps the expiry index in step when a TTL is changed, removed, or the key is overwritten or deleted', async () => {
      set('k', 'v', t0 + 500);
      let target = keyspace.load(0, b('k'), ctx.nowMs);
      keyspace.put(ctx, target, withExpire(target.live!, t0 + 900));
      await expectConsistent();
      target = keyspace.load(0, b('k'), ctx.nowMs);
      keyspace.put(ctx, target, withExpire(target.live!, 0));
      expect(keyspace.expiresCount(0)).toBe(0);
      await expectConsistent();
      set('k', 'w', t0 + 50);
      set('k', 'x'); // overwrite drops the TTL and its E entry
      expect(keyspace.expiresCount(0)).toBe(0);
      set('k', 'y', t0 + 50);
      keyspace.remove(ctx, keyspace.load(0, b('k'), ctx.nowMs));
      expect(keyspace.dbSize(0)).toBe(0);
      await expectConsistent();
    });

    it('replaces an expired record in place: counted once, its stale expiry entry removed', async () => {
      set('k', 'old', t0 + 10);
      ctx.nowMs = t0 + 20;
      const target = keyspace.load(0, b('k'), ctx.nowMs);
      expect(target.live).toBeUndefined();
      expect(target.stored).toBeDefined();
      keyspace.put(ctx, target, stringRecord(b('new'), 0, keyspace.newVersion(ctx.nowMs, target.stored)));
      expect(get('k')).toBe('new');
      expect(keyspace.dbSize(0)).toBe(1);
      expect(keyspace.expiresCount(0)).toBe(0);
      await expectConsistent();
    });

    it('keeps counters exact through a random mix of operations and after reopening', async () => {
      let seed = 12345;
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let step = 0; step < 400; step++) {
        ctx.nowMs = t0 + step * 10;
        ctx.db = random(2);
        const key = `key-${random(40)}`;
        const op = random(6);
        if (op <= 1) set(key, `v${step}`);
        else if (op === 2) set(key, `e${step}`, ctx.nowMs + 1 + random(200));
        else if (op === 3) keyspace.remove(ctx, keyspace.load(ctx.db, b(key), ctx.nowMs));
        else if (op === 4) {
          const target = keyspace.load(ctx.db, b(key), ctx.nowMs);
          if (target.live !== undefined) keyspace.put(ctx, target, withExpire(target.live, random(2) === 0 ? 0 : ctx.nowMs + 50));
        } else await keyspace.sweepExpired(ctx, 1 + random(5));
        if (step % 50 === 0) await expectConsistent();
      }
      await expectConsistent();
      const sizes = [keyspace.dbSize(0), keyspace.dbSize(1)];
      const expires = [keyspace.expiresCount(0), keyspace.expiresCount(1)];
      await reopen();
      expect([keyspace.dbSize(0), keyspace.dbSize(1)]).toEqual(sizes);
      expect([keyspace.expiresCount(0), keyspace.expiresCount(1)]).toEqual(expires);
      await expectConsistent();
    });

    it('FLUSHDB points the db at a fresh physical id in one small batch, whatever it holds', async () => {
      for (let index = 0; index < 50; index++) set(`k${index}`, 'v', index % 2 === 0 ? t0 + 1_000 : 0);
      set('other', 'v', 0, 1);
      await ctx.settle();
      const before = ctx.batches.length;
      keyspace.flushDb(ctx, 0);
      expect(ctx.batches.length).toBe(before + 1);
      expect(ctx.batches.at(-1)!.length).toBeLessThanOrEqual(2);
      expect(keyspace.physicalDb(0)).toBe(4);
      expect(keyspace.dbSize(0)).toBe(0);
      expect(get('k1')).toBeUndefined();
      expect(get('other', 1)).toBe('v');
      set('k1', 'fresh');
      expect(get('k1')).toBe('fresh');
      await expectConsistent();
      await reopen();
      expect(keyspace.physicalDb(0)).toBe(4);
      expect(get('k1')).toBe('fresh');
      expect(keyspace.dbSize(0)).toBe(1);
      await expectConsistent();
    });

    it('SWAPDB exchanges two dbs in one one-key batch; counters follow their data', async () => {
      set('a', 'in-0');
      set('b', 'in-1', t0 + 5_000, 1);
      set('c', 'in-1', 0, 1);
      const before = ctx.batches.length;
      keyspace.swapDb(ctx, 0, 1);
      expect(ctx.batches.length).toBe(before + 1);
      expect(ctx.batches.at(-1)!.length).toBe(1);
      expect(get('a')).toBeUndefined();
      expect(get('b')).toBe('in-1');
      expect(get('a', 1)).toBe('in-0');
      expect(keyspace.dbSize(0)).toBe(2);
      expect(keyspace.expiresCount(0)).toBe(1);
      expect(keyspace.dbSize(1)).toBe(1);
      await expectConsistent();
      await reopen();
      expect(get('b')).toBe('in-1');
      expect(keyspace.dbSize(0)).toBe(2);
      await expectConsistent();
    });

    it('FLUSHALL empties every db; the sweep drops expiry entries of flushed dbs as stale', async () => {
      set('a', 'v', t0 + 10);
      set('b', 'v', t0 + 10, 2);
      keyspace.flushAll(ctx);
      expect([0, 1, 2, 3].map((db) => keyspace.dbSize(db))).toEqual([0, 0, 0, 0]);
      expect(new Set([0, 1, 2, 3].map((db) => keyspace.physicalDb(db)))).toEqual(new Set([4, 5, 6, 7]));
      await ctx.settle();
      ctx.nowMs = t0 + 100;
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 2, more: false });
      await expectConsistent();
    });

    it('skips the sweep walk while no key can be due, and walks again once one can', async () => {
      const walks = (): number => iteratorCalls;
      let iteratorCalls = 0;
      for (const method of ['iterator', 'iteratorSync'] as const) {
        const original = (engine as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>)[method];
        if (original === undefined) continue;
        (engine as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
          iteratorCalls++;
          return original.apply(engine, args);
        };
      }
      // Right after open the index could hold anything: the first sweep looks, finds it empty, and stops looking.
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 0, more: false });
      expect(walks()).toBeGreaterThan(0);
      let before = walks();
      set('plain', 'v');
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 0, more: false });
      expect(walks()).toBe(before);
      // An expiring key: the sweep walks (and deletes it once due).
      set('ttl', 'v', t0 + 10);
      ctx.nowMs = t0 + 100;
      await ctx.settle();
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 1, stale: 0, more: false });
      expect(walks()).toBeGreaterThan(before);
      await ctx.settle();
      before = walks();
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 0, more: false });
      expect(walks()).toBe(before);
      // FLUSHALL over an expiring key leaves its index entry: the sweep looks again until it is gone.
      set('later', 'v', t0 + 1_000);
      keyspace.flushAll(ctx);
      await ctx.settle();
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 0, more: false }); // not due yet
      before = walks();
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 0, more: false });
      expect(walks()).toBeGreaterThan(before);
      ctx.nowMs = t0 + 2_000;
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 1, more: false });
      await ctx.settle();
      before = walks();
      expect(await keyspace.sweepExpired(ctx, 10)).toEqual({ expired: 0, stale: 0, more: false });
      expect(walks()).toBe(before);
      await expectConsistent();
    });

    it('extends the table when more databases are configured, and never forgets extra ones', async () => {
      set('x', 'v', 0, 3);
      await reopen();
      await engine.close();
      engine = await harness.open();
      const bigger = await Keyspace.open(engine, { databases: 6 });
      expect(bigger.physicalDb(4)).toBe(4);
      expect(bigger.physicalDb(5)).toBe(5);
      await engine.close();
      engine = await harness.open();
      const smaller = await Keyspace.open(engine, { databases: 2 });
      expect(() => smaller.dbSize(3)).toThrow(/Cannot use database 3/);
      await engine.close();
      engine = await harness.open();
      keyspace = await Keyspace.open(engine, { databases: 4 });
      ctx = testContext(engine, ctx.nowMs);
      expect(get('x', 3)).toBe('v');
    });

    it('hands out versions that only grow, and always above the record being replaced', () => {
      const first = keyspace.newVersion(t0);
      const second = keyspace.newVersion(t0);
      expect(second).toBeGreaterThan(first);
      const ahead = stringRecord(b('v'), 0, first + 1e9);
      expect(keyspace.newVersion(t0, ahead)).toBeGreaterThan(first + 1e9);
      expect(keyspace.newVersion(t0 - 1_000_000)).toBeGreaterThan(first + 1e9); // a clock stepping back does not matter
    });

    it('renames a collection with a new version and copies of its subkeys', async () => {
      const source = createCollection('h', ['f1', 'f2', 'f3']);
      const target = keyspace.load(0, b('h2'), ctx.nowMs);
      const { record, build } = await keyspace.copyForTransfer(ctx, source, target);
      const batch = keyspace.begin(build.finish());
      keyspace.stagePut(batch, target, record);
      keyspace.stageDelete(batch, source);
      keyspace.commit(ctx, batch);
      await ctx.settle();
      expect(keyspace.lookup(0, b('h'), ctx.nowMs)).toBeUndefined();
      const moved = keyspace.lookup(0, b('h2'), ctx.nowMs)!;
      expect(recordVersion(moved)).toBeGreaterThan(recordVersion(source.live!));
      expect(await subkeysOf('h2')).toEqual(['f1', 'f2', 'f3']);
      expect(keyspace.dbSize(0)).toBe(1);
      await expectConsistent();
    });

    it('moves a collection with a score index to another db', async () => {
      const source = createCollection('z', []);
      const version = recordVersion(source.live!);
      await engine.write(new WriteBatch().put(scoreKey(keyspace.physicalDb(0), b('z'), version, 1.5, b('m')), Buffer.alloc(0)));
      const target = keyspace.load(2, b('z'), ctx.nowMs);
      const { record, build } = await keyspace.copyForTransfer(ctx, source, target);
      const batch = keyspace.begin(build.finish());
      keyspace.stagePut(batch, target, record);
      keyspace.stageDelete(batch, source);
      keyspace.commit(ctx, batch);
      await ctx.settle();
      const moved = keyspace.lookup(2, b('z'), ctx.nowMs)!;
      const prefix = scorePrefix(keyspace.physicalDb(2), b('z'), recordVersion(moved));
      expect(await entries(engine, prefix, prefixEnd(prefix))).toHaveLength(1);
      expect([keyspace.dbSize(0), keyspace.dbSize(2)]).toEqual([0, 1]);
      await expectConsistent();
    });

    it('SCAN visits every live key exactly once across calls, with MATCH, TYPE and small COUNTs', async () => {
      const expected: string[] = [];
      for (let index = 0; index < 57; index++) {
        set(`user:${String(index).padStart(3, '0')}`, 'v');
        expected.push(`user:${String(index).padStart(3, '0')}`);
      }
      set('other', 'v');
      set('user:expired', 'v', t0 - 1);
      createCollection('user:hash', ['f']);
      await ctx.settle();
      const scanAll = async (options: { count: number; match?: Buffer; type?: string }): Promise<string[]> => {
        const seen: string[] = [];
        let cursor = 0;
        let calls = 0;
        do {
          const result = await keyspace.scan(0, cursor, options, ctx.nowMs);
          seen.push(...result.keys.map((key) => key.toString('latin1')));
          cursor = result.cursor;
          calls++;
        } while (cursor !== 0 && calls < 1000);
        return seen;
      };
      expect((await scanAll({ count: 7, match: b('user:*'), type: 'string' })).sort()).toEqual(expected);
      expect((await scanAll({ count: 1000 })).sort()).toEqual(['other', ...expected, 'user:hash'].sort());
      expect(await scanAll({ count: 3, type: 'hash' })).toEqual(['user:hash']);
      expect(await scanAll({ count: 5, match: b('*[0-9]0') })).toEqual(['user:000', 'user:010', 'user:020', 'user:030', 'user:040', 'user:050']);
    });

    it('SCAN restarts from the beginning on a cursor it does not know', async () => {
      set('a', '1');
      set('b', '2');
      set('c', '3');
      await ctx.settle();
      const first = await keyspace.scan(0, 0, { count: 2 }, ctx.nowMs);
      expect(first.keys.map(String)).toEqual(['a', 'b']);
      expect(first.cursor).not.toBe(0);
      const unknown = await keyspace.scan(0, first.cursor + 12345, { count: 2 }, ctx.nowMs);
      expect(unknown.keys.map(String)).toEqual(['a', 'b']);
      const resumed = await keyspace.scan(0, first.cursor, { count: 2 }, ctx.nowMs);
      expect(resumed).toEqual({ cursor: 0, keys: [b('c')] });
      expect((await keyspace.scan(1, first.cursor, { count: 5 }, ctx.nowMs)).keys).toEqual([]); // another db's cursor restarts there
    });

    it('SCAN over many deleted keys passes a bounded number of tombstones per call and still finds every live key', async () => {
      const deleted = 2500;
      for (let index = 0; index < deleted; index++) set(`d:${String(index).padStart(5, '0')}`, 'x');
      set('live:1', 'v');
      set('z:live', 'v');
      await ctx.settle();
      for (let index = 0; index < deleted; index++) {
        const batch = keyspace.begin();
        keyspace.stageDelete(batch, keyspace.load(0, b(`d:${String(index).padStart(5, '0')}`), ctx.nowMs));
        keyspace.commit(ctx, batch);
      }
      await ctx.settle();
      const found: string[] = [];
      let cursor = 0;
      let calls = 0;
      do {
        const result = await keyspace.scan(0, cursor, { count: 1 }, ctx.nowMs);
        found.push(...result.keys.map(String));
        cursor = result.cursor;
        calls++;
      } while (cursor !== 0 && calls < 1000);
      expect(found).toEqual(['live:1', 'z:live']);
      // COUNT 1 passes at most 100 tombstones a call on LsmEngine; LevelDB skips them inside its iterator.
      if (harness.name.startsWith('LsmEngine')) expect(calls).toBeGreaterThanOrEqual(25);
    });

    it('KEYS lists live keys matching a pattern, narrowing the range to its literal prefix', async () => {
      for (const key of ['alpha', 'alps', 'beta', 'al', 'a*b']) set(key, 'v');
      set('alpine', 'v', t0 - 5);
      await ctx.settle();
      const keys = async (pattern: string): Promise<string[]> => (await keyspace.keys(0, b(pattern), ctx.nowMs)).map(String);
      expect(await keys('al*')).toEqual(['al', 'alpha', 'alps']);
      expect(await keys('*')).toEqual(['a*b', 'al', 'alpha', 'alps', 'beta']);
      expect(await keys('a\\*b')).toEqual(['a*b']);
      expect(await keys('?l')).toEqual(['al']);
    });

    it('RANDOMKEY returns live keys only, and nothing from an empty or all-expired db', async () => {
      expect(await keyspace.randomKey(0, ctx.nowMs)).toBeUndefined();
      for (let index = 0; index < 20; index++) set(`k${index}`, 'v');
      set('dead', 'v', t0 - 1);
      await ctx.settle();
      const seen = new Set<string>();
      for (let round = 0; round < 60; round++) seen.add(String(await keyspace.randomKey(0, ctx.nowMs)));
      expect(seen.has('dead')).toBe(false);
      expect(seen.size).toBeGreaterThan(3);
      set('only', 'v', t0 + 10, 1);
      ctx.nowMs = t0 + 20;
      expect(await keyspace.randomKey(1, ctx.nowMs)).toBeUndefined();
      // A position that lands on expired keys wraps around to the live one before it.
      set('a-live', 'v', 0, 2);
      for (let index = 0; index < 10; index++) set(`z-dead-${index}`, 'v', t0 + 1, 2);
      await ctx.settle();
      for (let round = 0; round < 20; round++) expect(String(await keyspace.randomKey(2, ctx.nowMs))).toBe('a-live');
      // Behind more expired keys than any probe budget (the sweep has not removed them yet): still found.
      for (let index = 0; index < 3000; index++) set(`x-dead-${String(index).padStart(4, '0')}`, 'v', t0 + 1, 3);
      set('y-live', 'v', 0, 3);
      await ctx.settle();
      for (let round = 0; round < 5; round++) expect(String(await keyspace.randomKey(3, ctx.nowMs))).toBe('y-live');
    });

    it('KEYS and RANDOMKEY across many deleted keys walk in slices, charging the tombstones they pass', async () => {
      // Deleted keys before, between and after the live ones: the first-key, last-key and forward walks all cross them.
      const deleted = (index: number): string[] => [`a:${String(index).padStart(5, '0')}`, `m:${String(index).padStart(5, '0')}`, `z:${String(index).padStart(5, '0')}`];
      for (let index = 0; index < 1500; index++) for (const key of deleted(index)) set(key, 'x');
      for (let index = 0; index < 1100; index++) set(`k:${String(index).padStart(5, '0')}`, 'v'); // more than randomKeyWalkMax
      set('n:live', 'v', 0, 1);
      await ctx.settle();
      for (let index = 0; index < 1500; index++) {
        const batch = keyspace.begin();
        for (const key of deleted(index)) keyspace.stageDelete(batch, keyspace.load(0, b(key), ctx.nowMs));
        keyspace.commit(ctx, batch);
        // db 1 holds one live key among 1,500 deleted ones: the uniform walk of a small db crosses them.
        set(`m:${String(index).padStart(5, '0')}`, 'x', 0, 1);
      }
      for (let index = 0; index < 1500; index++) {
        const batch = keyspace.begin();
        keyspace.stageDelete(batch, keyspace.load(1, b(`m:${String(index).padStart(5, '0')}`), ctx.nowMs));
        keyspace.commit(ctx, batch);
      }
      await ctx.settle();
      const saved = { ...walkSlice };
      let pauses = 0;
      Object.assign(walkSlice, { entriesMin: 1, entriesMax: 200, hiddenPerIterator: 100, pause: () => (pauses++, saved.pause()) });
      try {
        const found = keyspace.keys(0, b('*'), ctx.nowMs);
        const lsm = harness.name.startsWith('LsmEngine');
        // LevelDB skips tombstones inside its iterator: only LsmEngine's walk can charge them.
        if (lsm) expect(found).toBeInstanceOf(Promise);
        const keys = (await found).map(String);
        expect(keys).toHaveLength(1100);
        expect(keys.every((key) => key.startsWith('k:'))).toBe(true);
        if (lsm) expect(pauses).toBeGreaterThanOrEqual(20);
        expect((await keyspace.keys(0, b('m:*'), ctx.nowMs)).length).toBe(0);
        for (let round = 0; round < 20; round++) expect(String(await keyspace.randomKey(0, ctx.nowMs))).toMatch(/^k:/);
        pauses = 0;
        for (let round = 0; round < 5; round++) expect(String(await keyspace.randomKey(1, ctx.nowMs))).toBe('n:live');
        if (lsm) expect(pauses).toBeGreaterThanOrEqual(5);
      } finally {
        Object.assign(walkSlice, saved);
      }
    });

    it('refuses at once to copy a collection larger than one batch holds', async () => {
      // A metadata record that claims batchOpsMax - 5 fields (no subkeys): with the target's and the source's
      // metadata, expiry and counter writes they pass what a batch holds; refused before any is read.
      const huge = metadataKey(keyspace.physicalDb(0), b('huge'));
      await engine.write(new WriteBatch().put(huge, collectionRecord(KeyType.hash, 0, 7, batchOpsMax - 5)));
      const source = keyspace.load(0, b('huge'), ctx.nowMs);
      const target = keyspace.load(0, b('copy'), ctx.nowMs);
      expect(() => keyspace.copyForTransfer(ctx, source, target)).toThrow(`"huge": its ${batchOpsMax - 5} elements need ${batchOpsMax - 5} writes in one batch, which holds at most ${batchOpsMax}`);
      await engine.write(new WriteBatch().del(huge));
    });

    it('fires onKeyModified for every staged key and onDbModified with before/after states', async () => {
      const modified: string[] = [];
      const dbChanges: string[] = [];
      keyspace.hooks = {
        onKeyModified: (db, key) => modified.push(`${db}:${key.toString('latin1')}`),
        onDbModified: (db: number, change: DbChange) => {
          const state = (probe: (key: Buffer) => KeyState, key: string): string => probe(b(key));
          dbChanges.push(`${db}:${state(change.before, 'a')}->${state(change.after, 'a')}`);
        },
      };
      set('a', '1');
      set('b', '2', t0 + 10, 1);
      keyspace.remove(ctx, keyspace.load(0, b('missing'), ctx.nowMs));
      expect(modified).toEqual(['0:a', '1:b']);
      ctx.nowMs = t0 + 50;
      await ctx.settle();
      await keyspace.sweepExpired(ctx, 10);
      expect(modified).toEqual(['0:a', '1:b', '1:b']);
      keyspace.swapDb(ctx, 0, 1);
      expect(dbChanges).toEqual(['0:live->absent', '1:absent->live']);
      keyspace.flushDb(ctx, 1);
      expect(dbChanges.at(-1)).toBe('1:live->absent');
    });

    it('reload() puts the counters back in step after a batch the engine never applied', async () => {
      set('kept', 'v');
      await ctx.settle();
      const lost = { db: 0, nowMs: ctx.nowMs, write: () => {} }; // as if the engine had taken the batch back
      const target = keyspace.load(0, b('lost'), ctx.nowMs);
      keyspace.put(lost, target, stringRecord(b('v'), 0, keyspace.newVersion(ctx.nowMs)));
      expect(keyspace.dbSize(0)).toBe(2);
      keyspace.reload();
      expect(keyspace.dbSize(0)).toBe(1);
      await expectConsistent();
    });

    it('stages nothing when a record is over the engine limit, so counters stay exact', async () => {
      const small = await Keyspace.open(engine, { databases: 4, stringBytesMax: 16 });
      expect(small.stringBytesMax).toBe(16);
      const target = keyspace.load(0, Buffer.alloc(70 * 1024, 0x61), ctx.nowMs);
      expect(() => keyspace.put(ctx, target, stringRecord(b('v'), 0, 1))).toThrow(/limit/);
      set('next', 'v');
      expect(keyspace.dbSize(0)).toBe(1);
      await expectConsistent();
    });

    it.runIf(harness.filters)('compaction reclaims flushed dbs, deleted collections and replaced versions, and nothing live', async () => {
      for (let index = 0; index < 30; index++) set(`flushed-${index}`, 'v', index % 3 === 0 ? t0 + 60_000 : 0);
      createCollection('deleted', ['a', 'b', 'c'], 1);
      createCollection('replaced', ['x', 'y'], 1);
      createCollection('live', ['p', 'q'], 1);
      set('expired-string', 'v', t0 + 5, 1);
      await ctx.settle();
      await engine.flush();
      keyspace.flushDb(ctx, 0);
      keyspace.remove(ctx, keyspace.load(1, b('deleted'), ctx.nowMs));
      const replaced = createCollection('replaced', ['z'], 1);
      expect(recordVersion(replaced.live!)).toBeGreaterThan(0);
      ctx.nowMs = t0 + 10;
      await ctx.settle();
      await engine.flush();
      await engine.compactRange();

      const keys = await allKeys(engine);
      const oldPhys = 0;
      const leftovers = keys.filter((key) => (key[0] === KeyTag.metadata || key[0] === KeyTag.expiry || key[0] === KeyTag.counters || key[0] === KeyTag.subkey) && physOf(key) === oldPhys);
      expect(leftovers.map((key) => key.toString('latin1'))).toEqual([]);
      expect(await subkeysOf('live', 1)).toEqual(['p', 'q']);
      expect(await subkeysOf('replaced', 1)).toEqual(['z']);
      const allSubkeys = keys.filter((key) => key[0] === KeyTag.subkey).map((key) => decodeSubkey(key).field.toString('latin1'));
      expect(allSubkeys.sort()).toEqual(['p', 'q', 'z']);
      // Expired metadata is left to the sweep, which keeps the counters exact.
      expect(engine.get(metadataKey(keyspace.physicalDb(1), b('expired-string')))).toBeDefined();
      expect(keyspace.dbSize(1)).toBe(3);
      await expectConsistent();
      expect(recordExpireMs(engine.get(metadataKey(keyspace.physicalDb(1), b('expired-string')))!)).toBe(t0 + 5);
    });
  });
}

function physOf(key: Buffer): number {
  return key[0] === KeyTag.expiry ? key.readUInt32BE(9) : key.readUInt32BE(1);
}
