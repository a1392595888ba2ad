// The shared Engine contract suite: one set of vitest cases that every Engine
// implementation must pass (LsmEngine on both file systems, LevelEngine), as
// abstract-level's test/index.js is run by every abstract-level database.
//
// Usage, in a test file:
//   defineEngineSuite('LevelEngine', (dir, options) => LevelEngine.open(dir, options), {
//     makeDir: () => path.join(root, `db-${++count}`),
//     cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
//   });
//
// Capabilities: cases that need one (checkpoint, walArchive, compactionFilter,
// snapshots, checksumVerification) read the engine's own `capabilities` (from
// one probe open before the cases run) and are reported as skipped, with the
// capability named, when it is false. Exactly those cases are skipped.
//
// The suite reads and writes files only through the FileSystem of
// `setup.options.fs` (NodeFileSystem when absent), so it runs on MemFileSystem
// too. The one exception is the compaction filter module, which the engine
// imports and so must be a real file.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import type { Engine, EngineCapabilities, EngineOptions, Entry, IteratorOptions, SyncPolicy } from '../../lib/engine/engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import {
  ClosedError,
  InvalidArgumentError,
  isCorruption,
  LimitExceededError,
  LockedError,
  NotSupportedError,
} from '../../lib/errors.js';
import { joinPath, type FileSystem } from '../../lib/fs/file-system.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { keyBytesMax, valueBytesMax } from '../../lib/limits.js';

/** Opens an engine of the implementation under test. */
export type OpenEngine = (dir: string, options: EngineOptions) => Promise<Engine>;

/** Where the suite's engines live. */
export interface EngineSuiteSetup {
  /** A fresh path for a data directory that does not exist yet; unique per call. */
  makeDir(): string;
  /** Options every open starts from (e.g. `{ fs: memFs }`); cases add their own on top. */
  options?: EngineOptions;
  /** Called once after every case, to remove what makeDir made. */
  cleanup?(): void;
}

type Capability = keyof EngineCapabilities;

/** Bytes of a string (latin1, so every char is one byte). */
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Entries as [key, value] strings (latin1), for readable comparisons. */
const text = (entries: Entry[]): [string, string][] => entries.map(([key, value]) => [key.toString('latin1'), value.toString('latin1')]);

/**
 * Registers the Engine contract cases under `describe(name)`.
 * @param name suite title, e.g. 'LevelEngine'
 * @param open opens the implementation under test
 * @param setup where data directories go: a setup object, or just a makeDir function
 */
export function defineEngineSuite(name: string, open: OpenEngine, setup: EngineSuiteSetup | (() => string)): void {
  const config: EngineSuiteSetup = typeof setup === 'function' ? { makeDir: setup } : setup;
  const fileSystem: FileSystem = config.options?.fs ?? new NodeFileSystem();
  const opened = new Set<Engine>();
  let capabilities: EngineCapabilities | undefined;

  /** Opens an engine that afterEach closes if the case did not. */
  async function openEngine(dir: string, options: EngineOptions = {}): Promise<Engine> {
    const engine = await open(dir, { ...config.options, ...options });
    opened.add(engine);
    return engine;
  }

  async function closeEngine(engine: Engine): Promise<void> {
    opened.delete(engine);
    await engine.close();
  }

  /** Opens a fresh engine on a new directory. */
  async function fresh(options: EngineOptions = {}): Promise<{ engine: Engine; dir: string }> {
    const dir = config.makeDir();
    return { engine: await openEngine(dir, options), dir };
  }

  /** A case that needs `capability`; reported as skipped when the engine lacks it. */
  function itWith(capability: Capability, title: string, body: () => Promise<void>): void {
    it(`${title} [needs ${capability}]`, async (context: TestContext) => {
      assertProbed(capabilities);
      context.skip(!capabilities[capability], `the engine has no ${capability}`);
      await body();
    });
  }

  describe(name, () => {
    beforeAll(async () => {
      const probe = await openEngine(config.makeDir());
      capabilities = { ...probe.capabilities };
      await closeEngine(probe);
    });

    afterEach(async () => {
      const leftovers = [...opened];
      opened.clear();
      // Engines a failed case left open; their close errors would only hide the case's own failure.
      await Promise.allSettled(leftovers.map((engine) => engine.close()));
    });

    afterAll(() => {
      config.cleanup?.();
    });

    describe('point reads and writes', () => {
      it('get returns what put wrote and undefined for a missing key', async () => {
        const { engine } = await fresh();
        await put(engine, 'k', 'v');
        expect(engine.get(b('k'))).toEqual(b('v'));
        expect(engine.get(b('missing'))).toBeUndefined();
      });

      it('a write is visible to get before its promise resolves', async () => {
        const { engine } = await fresh();
        const pending = engine.write(new WriteBatch().put(b('k'), b('v')));
        expect(engine.get(b('k'))).toEqual(b('v'));
        const deleting = engine.write(new WriteBatch().del(b('k')));
        expect(engine.get(b('k'))).toBeUndefined();
        await Promise.all([pending, deleting]);
        expect(engine.get(b('k'))).toBeUndefined();
      });

      it('delete removes a key, and deleting a missing key is harmless', async () => {
        const { engine } = await fresh();
        await put(engine, 'k', 'v');
        await del(engine, 'k');
        await del(engine, 'never-written');
        expect(engine.get(b('k'))).toBeUndefined();
        expect(engine.get(b('never-written'))).toBeUndefined();
      });

      it('overwrite returns the newest value', async () => {
        const { engine } = await fresh();
        await put(engine, 'k', 'one');
        await put(engine, 'k', 'two');
        await put(engine, 'k', 'three');
        expect(engine.get(b('k'))).toEqual(b('three'));
      });

      it('an empty value is stored and differs from a missing key', async () => {
        const { engine } = await fresh();
        await put(engine, 'empty', '');
        expect(engine.get(b('empty'))).toEqual(Buffer.alloc(0));
        expect(await drain(engine.iterator())).toEqual([[b('empty'), Buffer.alloc(0)]]);
      });

      it('binary keys with 0x00 and 0xff bytes round-trip and sort bytewise', async () => {
        const { engine } = await fresh();
        const keys = [
          Buffer.from([]),
          Buffer.from([0x00]),
          Buffer.from([0x00, 0x00]),
          Buffer.from([0x00, 0xff]),
          Buffer.from([0x7f]),
          Buffer.from([0x80]),
          Buffer.from([0xff]),
          Buffer.from([0xff, 0x00]),
          Buffer.from([0xff, 0xff]),
          b('a'),
          b('a\x00'),
          b('ab'),
        ];
        const batch = new WriteBatch();
        keys.forEach((key, index) => batch.put(key, Buffer.from([index, 0x00, 0xff])));
        await engine.write(batch);
        keys.forEach((key, index) => expect(engine.get(key)).toEqual(Buffer.from([index, 0x00, 0xff])));
        const sorted = [...keys].sort(Buffer.compare);
        expect((await drain(engine.iterator())).map(([key]) => key)).toEqual(sorted);
        expect((await drain(engine.iterator({ reverse: true }))).map(([key]) => key)).toEqual([...sorted].reverse());
        const afterZero = await drain(engine.iterator({ gt: Buffer.from([0x00]), lt: Buffer.from([0xff]) }));
        expect(afterZero.map(([key]) => key)).toEqual(sorted.filter((key) => inRange(key, { gt: Buffer.from([0x00]), lt: Buffer.from([0xff]) })));
      });

      it('a 1 MiB value round-trips through get, iterator, flush and reopen', async () => {
        const { engine, dir } = await fresh({ syncPolicy: 'always' });
        const value = pattern(1024 * 1024, 7);
        await engine.write(new WriteBatch().put(b('big'), value).put(b('small'), b('s')));
        expectBytes(engine.get(b('big')), value);
        const entries = await drain(engine.iterator({ lte: b('big') }));
        expect(entries).toHaveLength(1);
        expectBytes(entries[0]?.[1], value);
        await engine.flush();
        expectBytes(engine.get(b('big')), value);
        await closeEngine(engine);
        const reopened = await openEngine(dir);
        expectBytes(reopened.get(b('big')), value);
        expect(reopened.get(b('small'))).toEqual(b('s'));
      });

      it('iterator entries belong to the caller', async () => {
        const { engine } = await fresh();
        await put(engine, 'k', 'value');
        const [entry] = await drain(engine.iterator());
        assertDefined(entry);
        entry[0].fill(0);
        entry[1].fill(0);
        expect(engine.get(b('k'))).toEqual(b('value'));
        expect(text(await drain(engine.iterator()))).toEqual([['k', 'value']]);
      });
    });

    describe('batches', () => {
      it('a batch applies every operation, later operations on a key winning', async () => {
        const { engine } = await fresh();
        await put(engine, 'c', 'old');
        await engine.write(
          new WriteBatch()
            .put(b('a'), b('1'))
            .put(b('a'), b('2'))
            .put(b('b'), b('1'))
            .del(b('b'))
            .del(b('c'))
            .put(b('c'), b('3')),
        );
        expect(engine.get(b('a'))).toEqual(b('2'));
        expect(engine.get(b('b'))).toBeUndefined();
        expect(engine.get(b('c'))).toEqual(b('3'));
        expect(text(await drain(engine.iterator()))).toEqual([
          ['a', '2'],
          ['c', '3'],
        ]);
      });

      it('a batch is visible all at once', async () => {
        const { engine } = await fresh();
        const batch = new WriteBatch();
        for (let index = 0; index < 100; index++) batch.put(b(`key-${pad(index)}`), b(`value-${index}`));
        const writing = engine.write(batch);
        expect(engine.get(b('key-000'))).toEqual(b('value-0'));
        expect(engine.get(b('key-099'))).toEqual(b('value-99'));
        await writing;
        expect(await drain(engine.iterator())).toHaveLength(100);
      });

      it('writes issued without waiting apply in call order', async () => {
        const { engine } = await fresh();
        const writes: Promise<unknown>[] = [];
        for (let index = 0; index < 100; index++) {
          writes.push(engine.write(new WriteBatch().put(b('k'), b(`v${index}`)).put(b(`k${pad(index)}`), b('x'))));
        }
        writes.push(engine.write(new WriteBatch().del(b('k000'))));
        expect(engine.get(b('k'))).toEqual(b('v99'));
        await Promise.all(writes);
        expect(engine.get(b('k'))).toEqual(b('v99'));
        expect(engine.get(b('k000'))).toBeUndefined();
        expect(engine.get(b('k001'))).toEqual(b('x'));
      });

      it('an empty batch resolves and changes nothing', async () => {
        const { engine } = await fresh();
        await engine.write(new WriteBatch());
        expect(await drain(engine.iterator())).toEqual([]);
      });

      it('a refused batch writes none of its operations', async () => {
        const { engine } = await fresh();
        const batch = new WriteBatch().put(b('first'), b('1'));
        // Bypass WriteBatch's own check: the engine must check again.
        batch.ops.push({ type: 'put', key: Buffer.alloc(keyBytesMax + 1), value: b('x') });
        await expect(engine.write(batch)).rejects.toBeInstanceOf(LimitExceededError);
        expect(engine.get(b('first'))).toBeUndefined();
        expect(await drain(engine.iterator())).toEqual([]);
      });
    });

    describe('limits', () => {
      it('accepts a key at the limit and refuses one byte more', async () => {
        const { engine } = await fresh();
        const atLimit = Buffer.alloc(keyBytesMax, 0x61);
        await engine.write(new WriteBatch().put(atLimit, b('v')));
        expect(engine.get(atLimit)).toEqual(b('v'));
        const overLimit = Buffer.alloc(keyBytesMax + 1, 0x61);
        expect(() => new WriteBatch().put(overLimit, b('v'))).toThrow(LimitExceededError);
        expect(() => new WriteBatch().del(overLimit)).toThrow(LimitExceededError);
        const batch = new WriteBatch();
        batch.ops.push({ type: 'del', key: overLimit });
        await expect(engine.write(batch)).rejects.toBeInstanceOf(LimitExceededError);
      });

      it('refuses a value over the limit without allocating one', () => {
        // Only the length is read before refusing, so a stand-in does. Not
        // passed to write(): an engine that failed to check would allocate it.
        const overLimit = { length: valueBytesMax + 1 } as unknown as Buffer;
        expect(() => new WriteBatch().put(b('k'), overLimit)).toThrow(LimitExceededError);
      });
    });

    describe('iterators', () => {
      const keys = ['a', 'c', 'e', 'g', 'i'];
      const lowers = [undefined, 'gt', 'gte'] as const;
      const uppers = [undefined, 'lt', 'lte'] as const;

      for (const lower of lowers) {
        for (const upper of uppers) {
          it(`range ${lower ?? 'unbounded'} / ${upper ?? 'unbounded'} matches the model forwards, in reverse and with limits`, async () => {
            const { engine } = await fresh();
            await putAll(engine, keys);
            // Bounds on existing keys, between keys and beyond both ends.
            const lowerBounds = lower === undefined ? [undefined] : ['c', 'd', '', 'z'];
            const upperBounds = upper === undefined ? [undefined] : ['g', 'f', 'z', ''];
            for (const lowerKey of lowerBounds) {
              for (const upperKey of upperBounds) {
                const range: IteratorOptions = {};
                if (lower !== undefined && lowerKey !== undefined) range[lower] = b(lowerKey);
                if (upper !== undefined && upperKey !== undefined) range[upper] = b(upperKey);
                for (const reverse of [false, true]) {
                  for (const limit of [undefined, -1, 0, 1, 2, 10]) {
                    const options: IteratorOptions = { ...range, reverse };
                    if (limit !== undefined) options.limit = limit;
                    const expected = model(keys, options);
                    const label = JSON.stringify({ lowerKey, upperKey, reverse, limit });
                    expect(text(await drain(engine.iterator(options))), label).toEqual(expected);
                  }
                }
              }
            }
          });
        }
      }

      it('nextv returns batches of the asked size, fewer only at the end, then []', async () => {
        const { engine } = await fresh();
        await putAll(engine, keys);
        const iterator = engine.iterator();
        expect(text(await iterator.nextv(2)).map(([key]) => key)).toEqual(['a', 'c']);
        expect(text(await iterator.nextv(2)).map(([key]) => key)).toEqual(['e', 'g']);
        expect(text(await iterator.nextv(2)).map(([key]) => key)).toEqual(['i']);
        expect(await iterator.nextv(2)).toEqual([]);
        await iterator.close();
      });

      it('nextv honours limit and reverse', async () => {
        const { engine } = await fresh();
        await putAll(engine, keys);
        const iterator = engine.iterator({ reverse: true, limit: 3 });
        expect(text(await iterator.nextv(2)).map(([key]) => key)).toEqual(['i', 'g']);
        expect(text(await iterator.nextv(2)).map(([key]) => key)).toEqual(['e']);
        expect(await iterator.nextv(2)).toEqual([]);
        await iterator.close();
      });

      it('nextv fills a large batch across many entries', async () => {
        const { engine } = await fresh();
        const batch = new WriteBatch();
        for (let index = 0; index < 1500; index++) batch.put(b(`key-${pad(index, 4)}`), pattern(100, index));
        await engine.write(batch);
        const iterator = engine.iterator();
        expect(await iterator.nextv(1000)).toHaveLength(1000);
        expect(await iterator.nextv(1000)).toHaveLength(500);
        expect(await iterator.nextv(1000)).toEqual([]);
        await iterator.close();
      });

      it('next and nextv can be mixed', async () => {
        const { engine } = await fresh();
        await putAll(engine, keys);
        const iterator = engine.iterator();
        expect(text([await nextEntry(iterator.next())])).toEqual([['a', 'A']]);
        expect(text(await iterator.nextv(3)).map(([key]) => key)).toEqual(['c', 'e', 'g']);
        expect(text([await nextEntry(iterator.next())])).toEqual([['i', 'I']]);
        expect(await iterator.next()).toBeUndefined();
        await iterator.close();
      });

      it('for await iterates every entry and closes the iterator', async () => {
        const { engine } = await fresh();
        await putAll(engine, keys);
        const seen: string[] = [];
        for await (const [key] of engine.iterator({ gte: b('c') })) seen.push(key.toString('latin1'));
        expect(seen).toEqual(['c', 'e', 'g', 'i']);
      });

      it('an iterator reads the state at its creation, not later writes', async () => {
        const { engine } = await fresh();
        await putAll(engine, keys);
        const iterator = engine.iterator();
        await engine.write(new WriteBatch().put(b('b'), b('new')).del(b('e')).put(b('g'), b('changed')));
        expect(text(await drainOpen(iterator))).toEqual(model(keys, {}));
      });

      it('writes not yet resolved are visible to a new iterator, merged in order', async () => {
        const { engine } = await fresh();
        await putAll(engine, keys);
        const writing = engine.write(new WriteBatch().put(b('b'), b('B')).del(b('c')).put(b('i'), b('I2')).put(b('j'), b('J')));
        const expected = [
          ['a', 'A'],
          ['b', 'B'],
          ['e', 'E'],
          ['g', 'G'],
          ['i', 'I2'],
          ['j', 'J'],
        ];
        expect(text(await drain(engine.iterator()))).toEqual(expected);
        expect(text(await drain(engine.iterator({ reverse: true, limit: 3 })))).toEqual(expected.slice().reverse().slice(0, 3));
        expect(text(await drain(engine.iterator({ gt: b('a'), lte: b('e'), limit: 2 })))).toEqual(expected.slice(1, 3));
        await writing;
        expect(text(await drain(engine.iterator()))).toEqual(expected);
      });

      it('an empty engine iterates nothing', async () => {
        const { engine } = await fresh();
        expect(await drain(engine.iterator())).toEqual([]);
        expect(await drain(engine.iterator({ reverse: true }))).toEqual([]);
      });

      it('reading a closed iterator throws ClosedError; close is idempotent', async () => {
        const { engine } = await fresh();
        await putAll(engine, keys);
        const iterator = engine.iterator();
        await iterator.next();
        await iterator.close();
        await iterator.close();
        await expect(iterator.next()).rejects.toBeInstanceOf(ClosedError);
        await expect(iterator.nextv(1)).rejects.toBeInstanceOf(ClosedError);
      });
    });

    describe('snapshots', () => {
      itWith('snapshots', 'get at a snapshot ignores later puts and deletes', async () => {
        const { engine } = await fresh();
        await put(engine, 'changed', 'before');
        await put(engine, 'deleted', 'before');
        const snapshot = engine.snapshot();
        await put(engine, 'changed', 'after');
        await del(engine, 'deleted');
        await put(engine, 'added', 'after');
        expect(engine.get(b('changed'), { snapshot })).toEqual(b('before'));
        expect(engine.get(b('deleted'), { snapshot })).toEqual(b('before'));
        expect(engine.get(b('added'), { snapshot })).toBeUndefined();
        expect(engine.get(b('changed'))).toEqual(b('after'));
        expect(engine.get(b('deleted'))).toBeUndefined();
        snapshot.release();
      });

      itWith('snapshots', 'refuses a snapshot it did not hand out, and one released', async () => {
        const { engine } = await fresh();
        await put(engine, 'k', 'v');
        const forged = { sequence: 0, release: () => undefined };
        expect(() => engine.get(b('k'), { snapshot: forged })).toThrow(InvalidArgumentError);
        // At iterator() or at its first read, as the engine chooses.
        await expect((async () => drain(engine.iterator({ snapshot: forged })))()).rejects.toBeInstanceOf(InvalidArgumentError);
        const snapshot = engine.snapshot();
        snapshot.release();
        expect(() => engine.get(b('k'), { snapshot })).toThrow(ClosedError);
      });

      itWith('snapshots', 'a snapshot includes writes issued before it, resolved or not', async () => {
        const { engine } = await fresh();
        const writing = engine.write(new WriteBatch().put(b('k'), b('pending')));
        const snapshot = engine.snapshot();
        await writing;
        await put(engine, 'k', 'later');
        expect(engine.get(b('k'), { snapshot })).toEqual(b('pending'));
        expect(text(await drain(engine.iterator({ snapshot })))).toEqual([['k', 'pending']]);
        snapshot.release();
      });

      itWith('snapshots', 'iteration at a snapshot ignores later writes and deletes, in every direction', async () => {
        const { engine } = await fresh();
        await putAll(engine, ['a', 'c', 'e', 'g']);
        const snapshot = engine.snapshot();
        await engine.write(new WriteBatch().put(b('b'), b('new')).del(b('c')).put(b('e'), b('changed')).put(b('z'), b('new')));
        const expected = model(['a', 'c', 'e', 'g'], {});
        expect(text(await drain(engine.iterator({ snapshot })))).toEqual(expected);
        expect(text(await drain(engine.iterator({ snapshot, reverse: true })))).toEqual(expected.slice().reverse());
        expect(text(await drain(engine.iterator({ snapshot, gt: b('a'), lt: b('g') })))).toEqual(expected.slice(1, 3));
        expect(text(await drain(engine.iterator({ snapshot, limit: 1, reverse: true })))).toEqual([['g', 'G']]);
        snapshot.release();
      });

      itWith('snapshots', 'a snapshot survives flush and compaction', async () => {
        const { engine } = await fresh();
        await putAll(engine, ['a', 'b', 'c']);
        const snapshot = engine.snapshot();
        await engine.write(new WriteBatch().put(b('a'), b('new')).del(b('b')));
        await engine.flush();
        await engine.compactRange();
        expect(engine.get(b('a'), { snapshot })).toEqual(b('A'));
        expect(engine.get(b('b'), { snapshot })).toEqual(b('B'));
        expect(text(await drain(engine.iterator({ snapshot })))).toEqual(model(['a', 'b', 'c'], {}));
        expect(text(await drain(engine.iterator()))).toEqual([
          ['a', 'new'],
          ['c', 'C'],
        ]);
        snapshot.release();
      });

      itWith('snapshots', 'many snapshots each keep their own value', async () => {
        const { engine } = await fresh();
        const snapshots = [];
        for (let index = 0; index < 20; index++) {
          await put(engine, 'counter', String(index));
          snapshots.push(engine.snapshot());
        }
        snapshots.forEach((snapshot, index) => expect(engine.get(b('counter'), { snapshot })).toEqual(b(String(index))));
        for (const snapshot of snapshots) snapshot.release();
      });

      itWith('snapshots', 'release is counted in stats, idempotent, and ends reads at the snapshot', async () => {
        const { engine } = await fresh();
        await put(engine, 'k', 'v');
        const before = engine.stats().liveSnapshots;
        const snapshot = engine.snapshot();
        expect(engine.stats().liveSnapshots).toBe(before + 1);
        snapshot.release();
        snapshot.release();
        expect(engine.stats().liveSnapshots).toBe(before);
        expect(() => engine.get(b('k'), { snapshot })).toThrow(ClosedError);
        expect(() => engine.iterator({ snapshot })).toThrow(ClosedError);
        expect(engine.get(b('k'))).toEqual(b('v'));
      });

      itWith('snapshots', 'an iterator opened at a snapshot keeps reading it after release', async () => {
        const { engine } = await fresh();
        await putAll(engine, ['a', 'b']);
        const snapshot = engine.snapshot();
        await del(engine, 'b');
        const iterator = engine.iterator({ snapshot });
        snapshot.release();
        await engine.flush();
        expect(text(await drainOpen(iterator))).toEqual(model(['a', 'b'], {}));
      });
    });

    describe('flush and compaction', () => {
      it('reads after flush see every put, overwrite and delete', async () => {
        const { engine } = await fresh();
        await putAll(engine, ['a', 'b', 'c', 'd']);
        await engine.write(new WriteBatch().put(b('b'), b('new')).del(b('c')));
        await engine.flush();
        expect(engine.get(b('a'))).toEqual(b('A'));
        expect(engine.get(b('b'))).toEqual(b('new'));
        expect(engine.get(b('c'))).toBeUndefined();
        expect(text(await drain(engine.iterator()))).toEqual([
          ['a', 'A'],
          ['b', 'new'],
          ['d', 'D'],
        ]);
        await put(engine, 'e', 'E');
        expect(engine.get(b('e'))).toEqual(b('E'));
      });

      it('flush of an empty engine resolves', async () => {
        const { engine } = await fresh();
        await engine.flush();
        expect(await drain(engine.iterator())).toEqual([]);
      });

      it('flush waits for writes issued before it', async () => {
        const { engine, dir } = await fresh();
        const writing = engine.write(new WriteBatch().put(b('k'), b('v')));
        await engine.flush();
        await writing;
        await closeEngine(engine);
        const reopened = await openEngine(dir);
        expect(reopened.get(b('k'))).toEqual(b('v'));
      });

      it('after compactRange deleted keys stay deleted and overwritten keys show the newest value', async () => {
        const { engine } = await fresh();
        const all = Array.from({ length: 200 }, (_, index) => `key-${pad(index)}`);
        await putAll(engine, all);
        await engine.flush();
        const batch = new WriteBatch();
        all.forEach((key, index) => {
          if (index % 3 === 0) batch.del(b(key));
          else if (index % 3 === 1) batch.put(b(key), b(`new-${index}`));
        });
        await engine.write(batch);
        await engine.flush();
        await del(engine, 'key-001');
        await engine.compactRange();
        const expected = all
          .map((key, index): [string, string] | undefined => {
            if (index % 3 === 0 || key === 'key-001') return undefined;
            return [key, index % 3 === 1 ? `new-${index}` : key.toUpperCase()];
          })
          .filter((entry): entry is [string, string] => entry !== undefined);
        expect(text(await drain(engine.iterator()))).toEqual(expected);
        expect(engine.get(b('key-000'))).toBeUndefined();
        expect(engine.get(b('key-001'))).toBeUndefined();
        expect(engine.get(b('key-004'))).toEqual(b('new-4'));
        expect(engine.get(b('key-002'))).toEqual(b('KEY-002'));
      });

      it('compactRange over part of the key space keeps every key readable', async () => {
        const { engine, dir } = await fresh();
        const all = Array.from({ length: 50 }, (_, index) => `key-${pad(index)}`);
        await putAll(engine, all);
        await engine.flush();
        await engine.write(new WriteBatch().del(b('key-010')).put(b('key-020'), b('new')));
        await engine.compactRange(b('key-005'), b('key-025'));
        expect(engine.get(b('key-010'))).toBeUndefined();
        expect(engine.get(b('key-020'))).toEqual(b('new'));
        expect(await drain(engine.iterator())).toHaveLength(49);
        await closeEngine(engine);
        const reopened = await openEngine(dir);
        expect(reopened.get(b('key-010'))).toBeUndefined();
        expect(reopened.get(b('key-020'))).toEqual(b('new'));
        expect(await drain(reopened.iterator())).toHaveLength(49);
      });
    });

    describe('close and reopen', () => {
      const policies: SyncPolicy[] = ['always', 'everysec', 'no'];
      for (const syncPolicy of policies) {
        it(`close and reopen keep every write under "${syncPolicy}"`, async () => {
          const { engine, dir } = await fresh({ syncPolicy });
          await putAll(engine, ['a', 'b', 'c']);
          await engine.flush();
          await engine.write(new WriteBatch().put(b('b'), b('new')).del(b('c')).put(b('d'), b('D')));
          await closeEngine(engine);
          const reopened = await openEngine(dir, { syncPolicy });
          expect(text(await drain(reopened.iterator()))).toEqual([
            ['a', 'A'],
            ['b', 'new'],
            ['d', 'D'],
          ]);
        });
      }

      it('close waits for writes still in flight', async () => {
        const { engine, dir } = await fresh({ syncPolicy: 'everysec' });
        const writes = Array.from({ length: 20 }, (_, index) => engine.write(new WriteBatch().put(b(`k${pad(index)}`), b('v'))));
        await closeEngine(engine);
        await Promise.all(writes);
        const reopened = await openEngine(dir);
        expect(await drain(reopened.iterator())).toHaveLength(20);
      });

      it('after close, writes, reads and iterators throw ClosedError, and close again resolves', async () => {
        const { engine } = await fresh();
        await put(engine, 'k', 'v');
        await closeEngine(engine);
        await expect(engine.write(new WriteBatch().put(b('k'), b('v2')))).rejects.toBeInstanceOf(ClosedError);
        expect(() => engine.get(b('k'))).toThrow(ClosedError);
        expect(() => engine.iterator()).toThrow(ClosedError);
        await engine.close();
      });

      it('an iterator left open is closed with the engine', async () => {
        const { engine } = await fresh();
        await putAll(engine, ['a', 'b']);
        const iterator = engine.iterator();
        await iterator.next();
        await closeEngine(engine);
        await expect(iterator.next()).rejects.toBeInstanceOf(ClosedError);
      });

      it('a second engine on the same directory is refused with LockedError', async () => {
        const { dir } = await fresh();
        await expect(openEngine(dir)).rejects.toBeInstanceOf(LockedError);
      });

      it('createIfMissing false refuses a missing directory and does not create it', async () => {
        const dir = config.makeDir();
        await expect(openEngine(dir, { createIfMissing: false })).rejects.toThrow();
        expect(fileSystem.exists(dir)).toBe(false);
      });

      it('recovery info has its documented shape', async () => {
        const { engine, dir } = await fresh();
        await putAll(engine, ['a', 'b']);
        await closeEngine(engine);
        const reopened = await openEngine(dir);
        const recovery = reopened.recovery;
        for (const count of [recovery.walFilesReplayed, recovery.walRecordsReplayed, recovery.walBytesTruncated, recovery.durationMs]) {
          expect(count).toBeGreaterThanOrEqual(0);
        }
        expect(recovery.walTruncatedFile === undefined || typeof recovery.walTruncatedFile === 'string').toBe(true);
      });
    });

    describe('read-only', () => {
      it('a read-only open reads, refuses writes and leaves the directory as it was', async () => {
        const { engine, dir } = await fresh({ syncPolicy: 'always' });
        await putAll(engine, ['a', 'b', 'c']);
        await engine.flush();
        await engine.write(new WriteBatch().put(b('b'), b('new')).del(b('c')));
        await closeEngine(engine);
        const before = treeDigest(fileSystem, dir);

        const readOnly = await openEngine(dir, { readOnly: true });
        expect(readOnly.readOnly).toBe(true);
        expect(readOnly.get(b('b'))).toEqual(b('new'));
        expect(text(await drain(readOnly.iterator()))).toEqual([
          ['a', 'A'],
          ['b', 'new'],
        ]);
        await expect(readOnly.write(new WriteBatch().put(b('x'), b('y')))).rejects.toBeInstanceOf(NotSupportedError);
        expect(readOnly.get(b('x'))).toBeUndefined();
        await closeEngine(readOnly);

        expect(treeDigest(fileSystem, dir)).toEqual(before);
      });

      it('a read-only open of a missing directory fails and creates nothing', async () => {
        const dir = config.makeDir();
        await expect(openEngine(dir, { readOnly: true })).rejects.toThrow();
        expect(fileSystem.exists(dir)).toBe(false);
      });
    });

    describe('stats and sync policy', () => {
      it('stats() has its documented shape', async () => {
        const { engine } = await fresh();
        await putAll(engine, ['a', 'b']);
        await engine.flush();
        const stats = engine.stats();
        expect(stats.kind).toBe(engine.kind);
        const counts = [
          stats.sequence,
          stats.memtableBytes,
          stats.immutableMemtables,
          stats.walFiles,
          stats.walBytes,
          stats.archiveFiles,
          stats.archiveBytes,
          stats.archiveBreaks,
          stats.archiveUnreadFiles,
          stats.pendingCompactionBytes,
          stats.flushes,
          stats.compactions,
          stats.compactionsRunning,
          stats.bytesFlushed,
          stats.bytesCompacted,
          stats.blockCache.bytes,
          stats.blockCache.capacityBytes,
          stats.blockCache.hits,
          stats.blockCache.misses,
          stats.writeStalls,
          stats.liveSnapshots,
        ];
        for (const count of counts) {
          expect(Number.isFinite(count)).toBe(true);
          expect(count).toBeGreaterThanOrEqual(0);
        }
        expect(stats.levels.length).toBeGreaterThan(0);
        stats.levels.forEach((level, index) => {
          expect(level.level).toBe(index);
          expect(level.segments).toBeGreaterThanOrEqual(0);
          expect(level.bytes).toBeGreaterThanOrEqual(0);
        });
        expect(stats.levels.reduce((sum, level) => sum + level.segments, 0)).toBeGreaterThan(0);
        expect(stats.archiveRange === undefined || stats.archiveRange.fromMs <= stats.archiveRange.toMs).toBe(true);
        expect(stats.writeError).toBeUndefined();
        expect(stats.backgroundError).toBeUndefined();
      });

      it('setSyncPolicy switches live between every policy, and sync() resolves under each', async () => {
        const { engine, dir } = await fresh({ syncPolicy: 'no' });
        for (const policy of ['always', 'everysec', 'no', 'always'] as const) {
          engine.setSyncPolicy(policy);
          const writing = engine.write(new WriteBatch().put(b(policy), b('v')));
          await engine.sync();
          await writing;
          expect(engine.get(b(policy))).toEqual(b('v'));
        }
        expect(() => engine.setSyncPolicy('sometimes' as SyncPolicy)).toThrow(InvalidArgumentError);
        await closeEngine(engine);
        const reopened = await openEngine(dir);
        expect(await drain(reopened.iterator())).toHaveLength(3);
      });

      it('capabilities are booleans and checkpoint refuses when it is not one', async () => {
        const { engine } = await fresh();
        for (const value of Object.values(engine.capabilities)) expect(typeof value).toBe('boolean');
        if (!engine.capabilities.checkpoint) {
          await expect(engine.checkpoint(config.makeDir())).rejects.toBeInstanceOf(NotSupportedError);
        }
      });
    });

    describe('capabilities', () => {
      itWith('checkpoint', 'a checkpoint opens as an independent copy with the same data', async () => {
        const { engine } = await fresh();
        await putAll(engine, ['a', 'b']);
        await engine.flush();
        await engine.write(new WriteBatch().put(b('c'), b('C')).del(b('a')));
        const target = config.makeDir();
        const info = await engine.checkpoint(target);
        expect(info.dir).toBe(target);
        expect(info.linkedFiles + info.copiedFiles).toBeGreaterThan(0);
        await engine.write(new WriteBatch().put(b('after'), b('x')).del(b('b')));

        const copy = await openEngine(target);
        expect(text(await drain(copy.iterator()))).toEqual([
          ['b', 'B'],
          ['c', 'C'],
        ]);
        await copy.write(new WriteBatch().put(b('only-in-copy'), b('y')));
        expect(engine.get(b('only-in-copy'))).toBeUndefined();
        expect(copy.get(b('after'))).toBeUndefined();
        await expect(engine.checkpoint(target)).rejects.toThrow();
      });

      itWith('walArchive', 'with walArchive on, flushed WAL files move to the archive', async () => {
        const { engine } = await fresh({ walArchive: { ageMs: 0, bytesMax: 0 } });
        await putAll(engine, ['a', 'b', 'c']);
        await engine.flush();
        // Archived files are read in the background: until then stats() counts them as unread.
        let stats = engine.stats();
        for (let attempt = 0; attempt < 1000 && stats.archiveUnreadFiles > 0; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          stats = engine.stats();
        }
        expect(stats.archiveFiles).toBeGreaterThan(0);
        expect(stats.archiveBytes).toBeGreaterThan(0);
        expect(stats.archiveUnreadFiles).toBe(0);
        expect(stats.archiveBreaks).toBe(0);
        expect(stats.archiveRange).toBeDefined();
      });

      itWith('compactionFilter', 'a compaction filter drops the keys it names during compactRange', async () => {
        const moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-filter-'));
        try {
          const modulePath = path.join(moduleDir, 'drop-prefix-filter.mjs');
          fs.writeFileSync(
            modulePath,
            [
              'export function createCompactionFilter(options) {',
              '  const prefix = Buffer.from(options.prefix);',
              '  return { drop: (userKey) => Buffer.from(userKey).subarray(0, prefix.length).equals(prefix) };',
              '}',
              '',
            ].join('\n'),
          );
          const { engine } = await fresh({
            compactionFilter: { module: pathToFileURL(modulePath).href, options: { prefix: 'drop:' } },
          });
          await engine.write(new WriteBatch().put(b('drop:1'), b('x')).put(b('keep:1'), b('y')).put(b('drop:2'), b('z')));
          await engine.flush();
          await engine.compactRange();
          expect(engine.get(b('drop:1'))).toBeUndefined();
          expect(engine.get(b('drop:2'))).toBeUndefined();
          expect(text(await drain(engine.iterator()))).toEqual([['keep:1', 'y']]);
        } finally {
          fs.rmSync(moduleDir, { recursive: true, force: true });
        }
      });

      itWith('checksumVerification', 'a flipped byte in a segment is reported as corruption', async () => {
        const { engine, dir } = await fresh({ syncPolicy: 'always' });
        const all = Array.from({ length: 300 }, (_, index) => `key-${pad(index)}`);
        const batch = new WriteBatch();
        all.forEach((key, index) => batch.put(b(key), pattern(200, index)));
        await engine.write(batch);
        await engine.flush();
        await closeEngine(engine);

        const segmentDir = joinPath(dir, 'seg');
        const segments = fileSystem.exists(segmentDir) ? fileSystem.list(segmentDir).filter((name) => name.endsWith('.sst')) : [];
        expect(segments.length, 'flush wrote seg/*.sst files').toBeGreaterThan(0);
        for (const name of segments) {
          const file = joinPath(segmentDir, name);
          const bytes = Buffer.from(fileSystem.readFile(file));
          // Inside the first data block: 300 values of 200 random bytes do not compress.
          bytes[64] = (bytes[64] ?? 0) ^ 0xff;
          fileSystem.writeFileSync(file, bytes);
        }

        let reopened: Engine;
        try {
          reopened = await openEngine(dir);
        } catch (error) {
          expect(isCorruption(error), String(error)).toBe(true);
          return;
        }
        const errors: unknown[] = [];
        for (const key of all) {
          try {
            reopened.get(b(key));
          } catch (error) {
            errors.push(error);
          }
        }
        expect(errors.length).toBeGreaterThan(0);
        for (const error of errors) expect(isCorruption(error), String(error)).toBe(true);
        const iterating = drain(reopened.iterator());
        await expect(iterating).rejects.toSatisfy(isCorruption);
      });
    });
  });
}

async function put(engine: Engine, key: string, value: string): Promise<void> {
  await engine.write(new WriteBatch().put(b(key), b(value)));
}

async function del(engine: Engine, key: string): Promise<void> {
  await engine.write(new WriteBatch().del(b(key)));
}

/** Puts every key with its upper-case self as value. */
async function putAll(engine: Engine, keys: string[]): Promise<void> {
  const batch = new WriteBatch();
  for (const key of keys) batch.put(b(key), b(key.toUpperCase()));
  await engine.write(batch);
}

/** Reads an iterator to the end and closes it. */
async function drain(iterator: ReturnType<Engine['iterator']>): Promise<Entry[]> {
  try {
    return await drainOpen(iterator);
  } finally {
    await iterator.close();
  }
}

async function drainOpen(iterator: ReturnType<Engine['iterator']>): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) entries.push(entry);
  await iterator.close();
  return entries;
}

async function nextEntry(promise: Promise<Entry | undefined>): Promise<Entry> {
  const entry = await promise;
  assertDefined(entry);
  return entry;
}

/** What an iterator over putAll(keys) must yield for `options`. */
function model(keys: string[], options: IteratorOptions): [string, string][] {
  const selected = keys
    .map((key) => b(key))
    .sort(Buffer.compare)
    .filter((key) => inRange(key, options));
  if (options.reverse === true) selected.reverse();
  const limit = options.limit === undefined || options.limit < 0 ? Infinity : options.limit;
  return selected.slice(0, limit).map((key) => [key.toString('latin1'), key.toString('latin1').toUpperCase()]);
}

function inRange(key: Buffer, range: IteratorOptions): boolean {
  if (range.gt !== undefined && Buffer.compare(key, range.gt) <= 0) return false;
  if (range.gte !== undefined && Buffer.compare(key, range.gte) < 0) return false;
  if (range.lt !== undefined && Buffer.compare(key, range.lt) >= 0) return false;
  if (range.lte !== undefined && Buffer.compare(key, range.lte) > 0) return false;
  return true;
}

/** Deterministic, incompressible-looking bytes (xorshift32), so runs repeat exactly. */
function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

function pad(value: number, width = 3): string {
  return String(value).padStart(width, '0');
}

/** Every file under `dir` with its size and SHA-256, to show a directory did not change. */
function treeDigest(fileSystem: FileSystem, dir: string): Record<string, string> {
  const digest: Record<string, string> = {};
  const visit = (current: string, prefix: string): void => {
    for (const name of fileSystem.list(current)) {
      const file = joinPath(current, name);
      const stat = fileSystem.stat(file);
      if (stat.isDirectory) {
        visit(file, `${prefix}${name}/`);
      } else {
        digest[`${prefix}${name}`] = `${stat.size}:${createHash('sha256').update(fileSystem.readFile(file)).digest('hex')}`;
      }
    }
  };
  visit(dir, '');
  return digest;
}

/** Compares large buffers without vitest's element-by-element diff. */
function expectBytes(actual: Buffer | undefined, expected: Buffer): void {
  expect(actual?.length).toBe(expected.length);
  expect(actual !== undefined && actual.equals(expected)).toBe(true);
}

function assertDefined<T>(value: T | undefined): asserts value is T {
  expect(value).toBeDefined();
}

function assertProbed(capabilities: EngineCapabilities | undefined): asserts capabilities is EngineCapabilities {
  expect(capabilities, 'the capability probe ran in beforeAll').toBeDefined();
}
