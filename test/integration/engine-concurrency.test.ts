// Concurrency test: LsmEngine on the real file system with worker-thread
// flush and compaction, a tiny memtable and low compaction triggers, so that
// flushes and compactions run all the time under concurrent writers and
// readers.
//
// Strategy: writer loops (some awaiting each batch, some keeping several in
// flight) write random puts and deletes over a small key space and record
// each op in a model at the moment write() is called. Reader loops run
// random point gets, full and ranged iterations (both directions), and one
// iterator held open for the whole run and read slowly.
//
// Invariants:
// - a get returns exactly the value of the key's newest issued write (a
//   write's effects are visible at once, engine.ts); in particular a value the
//   key never had, or one older than its last acknowledged write, is an error;
// - an iteration is strictly ordered, duplicate-free and equals the model as
//   it was when the iterator was created, as do gets at a snapshot taken at
//   the same moment; this holds for an iterator kept open across many
//   flushes and compactions (its files must not go away under it);
// - no write is rejected; at the end, after flush and compactRange, and again
//   after close and reopen, the engine equals the model.
//
// Duration: SILT_CONCURRENCY_MS (default 3000). Randomness: a seeded PRNG,
// seed printed (SILT_CONCURRENCY_SEED replays the choices, not the timing).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineOptions, IteratorOptions } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { MemFileSystem } from '../../lib/fs/mem-file-system.js';
import { FaultFileSystem } from '../support/fault-file-system.js';
import { compareWithModel, readAll, diffModels, type Model } from '../support/engine-test-helpers.js';
import { mulberry32 } from '../support/crash-workload.js';

const durationMs = Number(process.env.SILT_CONCURRENCY_MS ?? 3000);
const seed = Number(process.env.SILT_CONCURRENCY_SEED ?? Date.now() % 1_000_000);
const keyCount = 2000;
const writerCount = 4;
const pipelinedWriterCount = 2;
const getterCount = 2;
const scannerCount = 2;

const root = mkdtempSync(join(tmpdir(), 'silt-concurrency-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const options: EngineOptions = {
  memtableBytes: 16 * 1024,
  level0CompactionTrigger: 2,
  level1BytesTarget: 64 * 1024,
  segmentBytesTarget: 16 * 1024,
  blockCacheBytes: 256 * 1024,
  backgroundExecutor: 'worker',
};

function keyName(index: number): string {
  return `k${String(index).padStart(5, '0')}`;
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The model restricted to an iterator's bounds, in the iterator's order. */
function expectedEntries(model: Model, range: IteratorOptions): [string, string][] {
  const inRange = (key: string): boolean =>
    (range.gte === undefined || key >= range.gte.toString()) &&
    (range.gt === undefined || key > range.gt.toString()) &&
    (range.lte === undefined || key <= range.lte.toString()) &&
    (range.lt === undefined || key < range.lt.toString());
  const entries = [...model].filter(([key]) => inRange(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (range.reverse === true) entries.reverse();
  return range.limit !== undefined && range.limit >= 0 ? entries.slice(0, range.limit) : entries;
}

// The same run with a table cache far smaller than the segments the run makes (table-cache.ts):
// files closed and reopened, readers dropped and opened again, while compactions delete files
// and the long-lived iterator walks readers the cache has let go.
const tableCaches: [name: string, extra: EngineOptions][] = [
  ['default table cache', {}],
  ['a table cache of 3 files and 24 KiB', { maxOpenFiles: 3, tableCacheBytes: 24 * 1024 }],
];

describe.each(tableCaches)(`engine under concurrent writers, readers, flushes and compactions (${durationMs} ms, seed ${seed}), %s`, (name, extra) => {
  it('reads stay consistent with acknowledged writes, iterators with their snapshot, and nothing is lost', async () => {
    const dir = join(root, `db-${name.replace(/\W+/g, '-')}`);
    const engine = await LsmEngine.open(dir, { ...options, ...extra });
    const random = mulberry32(seed);
    const model: Model = new Map();
    const failures: string[] = [];
    const fail = (message: string): void => {
      if (failures.length < 20) failures.push(message);
    };
    const deadline = Date.now() + durationMs;
    // On a loaded machine the held iterator may open late: writers go on past the deadline (at most 20 s)
    // until a flush has run beneath it, which the test asserts.
    const hardDeadline = deadline + 20_000;
    let heldAwaitsFlush = true;
    const writing = (): boolean => Date.now() < deadline || (heldAwaitsFlush && Date.now() < hardDeadline);
    const counts = { batches: 0, gets: 0, scans: 0, scannedEntries: 0, heldEntries: 0 };
    let valueCounter = 0;

    const makeBatch = (writer: number): WriteBatch => {
      const batch = new WriteBatch();
      const size = 1 + Math.floor(random() * 5);
      for (let op = 0; op < size; op++) {
        const key = keyName(Math.floor(random() * keyCount));
        if (random() < 0.1) {
          batch.del(Buffer.from(key));
          model.delete(key);
        } else {
          const head = `${key}|w${writer}|${++valueCounter}|`;
          const value = head + 'v'.repeat(Math.floor(random() * 200));
          batch.put(Buffer.from(key), Buffer.from(value));
          model.set(key, value);
        }
      }
      return batch;
    };

    const writer = async (id: number): Promise<void> => {
      while (writing()) {
        await engine.write(makeBatch(id));
        counts.batches++;
      }
    };

    const pipelinedWriter = async (id: number): Promise<void> => {
      const inFlight = new Set<Promise<unknown>>();
      while (writing()) {
        while (inFlight.size < 8) {
          const write: Promise<unknown> = engine.write(makeBatch(id)).then(() => {
            counts.batches++;
            inFlight.delete(write);
          });
          inFlight.add(write);
        }
        await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    };

    const getter = async (): Promise<void> => {
      while (Date.now() < deadline) {
        for (let index = 0; index < 50; index++) {
          const key = keyName(Math.floor(random() * keyCount));
          const got = engine.get(Buffer.from(key))?.toString();
          counts.gets++;
          if (got !== model.get(key)) fail(`get(${key}) returned ${got?.slice(0, 30)}; its newest write is ${model.get(key)?.slice(0, 30)}`);
        }
        await yieldTurn();
      }
    };

    /** Iterates `range` in chunks, yielding between them, and checks against the model as it was at the start. */
    const checkedIteration = async (range: IteratorOptions, pace: () => Promise<void>, label: string): Promise<number> => {
      // Snapshot, model copy and iterator are taken in one synchronous step: the same instant.
      const snapshot = engine.snapshot();
      const expected = expectedEntries(new Map(model), range);
      const iterator = engine.iterator(range);
      const got: [string, string][] = [];
      try {
        for (;;) {
          const chunk = await iterator.nextv(1 + Math.floor(random() * 40));
          for (const [key, value] of chunk) got.push([key.toString(), value.toString()]);
          if (chunk.length === 0) break;
          await pace();
        }
      } finally {
        await iterator.close();
      }
      for (let index = 1; index < got.length; index++) {
        const [a, b] = [got[index - 1]![0], got[index]![0]];
        if (range.reverse === true ? !(a > b) : !(a < b)) {
          fail(`${label}: keys out of order or duplicated at ${index}: ${a} then ${b}`);
          break;
        }
      }
      if (got.length !== expected.length) fail(`${label}: ${got.length} entries, the model at its start had ${expected.length}`);
      for (let index = 0; index < Math.min(got.length, expected.length); index++) {
        const [key, value] = got[index]!;
        const [wantKey, wantValue] = expected[index]!;
        if (key !== wantKey || value !== wantValue) {
          fail(`${label}: entry ${index} is ${key}=${value.slice(0, 30)}, expected ${wantKey}=${wantValue.slice(0, 30)}`);
          break;
        }
      }
      // Gets at the snapshot agree with what the iterator saw.
      const atStart = new Map(expected);
      for (let probe = 0; probe < 20; probe++) {
        const key = keyName(Math.floor(random() * keyCount));
        const inRange = expectedEntries(new Map([[key, 'x']]), { ...range, limit: -1 }).length === 1;
        if (!inRange || (range.limit !== undefined && range.limit >= 0)) continue;
        const got = engine.get(Buffer.from(key), { snapshot })?.toString();
        if (got !== atStart.get(key)) fail(`${label}: get(${key}) at the iterator's snapshot is ${got?.slice(0, 30)}, the iterator saw ${atStart.get(key)?.slice(0, 30)}`);
      }
      snapshot.release();
      return got.length;
    };

    const scanner = async (): Promise<void> => {
      while (Date.now() < deadline) {
        const range: IteratorOptions = {};
        if (random() < 0.6) {
          const a = keyName(Math.floor(random() * keyCount));
          const b = keyName(Math.floor(random() * keyCount));
          const [low, high] = a < b ? [a, b] : [b, a];
          if (random() < 0.5) range.gte = Buffer.from(low);
          else range.gt = Buffer.from(low);
          if (random() < 0.5) range.lt = Buffer.from(high);
          else range.lte = Buffer.from(high);
        }
        if (random() < 0.3) range.reverse = true;
        if (random() < 0.2) range.limit = Math.floor(random() * 100);
        counts.scannedEntries += await checkedIteration(range, yieldTurn, `scan ${JSON.stringify({ ...range, gte: range.gte?.toString(), gt: range.gt?.toString(), lt: range.lt?.toString(), lte: range.lte?.toString() })}`);
        counts.scans++;
      }
    };

    // Opened after some data exists, read slowly while files come and go.
    const heldIterator = async (): Promise<{ flushes: number; compactions: number }> => {
      while (model.size < keyCount / 2 && Date.now() < deadline) await sleep(5);
      const before = engine.stats();
      let during = { flushes: 0, compactions: 0 };
      counts.heldEntries = await checkedIteration(
        {},
        async () => {
          const observe = (): void => {
            const now = engine.stats();
            during = { flushes: now.flushes - before.flushes, compactions: now.compactions - before.compactions };
            if (during.flushes > 0) heldAwaitsFlush = false;
          };
          observe();
          // Held here until one flush ran beneath it (writers go on for it), then slow until several
          // flushes and compactions did (or time is nearly up).
          while (heldAwaitsFlush && Date.now() < hardDeadline) {
            await sleep(15);
            observe();
          }
          if ((during.flushes < 4 || during.compactions < 3) && Date.now() < deadline - 200) await sleep(15);
          else await yieldTurn();
        },
        'held iterator',
      );
      heldAwaitsFlush = false;
      return during;
    };

    const loops: Promise<unknown>[] = [];
    for (let id = 0; id < writerCount; id++) loops.push(writer(id));
    for (let id = 0; id < pipelinedWriterCount; id++) loops.push(pipelinedWriter(writerCount + id));
    for (let id = 0; id < getterCount; id++) loops.push(getter());
    for (let id = 0; id < scannerCount; id++) loops.push(scanner());
    const held = heldIterator();
    loops.push(held);
    try {
      const results = await Promise.allSettled(loops);
      for (const result of results) if (result.status === 'rejected') fail(`a loop failed: ${String((result.reason as Error)?.stack ?? result.reason)}`);
      const heldDuring = await held.catch(() => ({ flushes: -1, compactions: -1 }));
      const stats = engine.stats();
      console.log(
        `[engine-concurrency] seed ${seed}: ${counts.batches} batches, ${counts.gets} gets, ${counts.scans} scans (${counts.scannedEntries} entries), ` +
          `flushes ${stats.flushes}, compactions ${stats.compactions}, write stalls ${stats.writeStalls}, ` +
          `held iterator read ${counts.heldEntries} entries across ${heldDuring.flushes} flushes and ${heldDuring.compactions} compactions, ` +
          `levels ${stats.levels.map((level) => level.segments).join('/')}, table cache ${JSON.stringify(stats.tableCache)}`,
      );
      if (extra.maxOpenFiles !== undefined) {
        expect(stats.tableCache!.evictions, 'readers dropped for the byte budget').toBeGreaterThan(0);
        expect(stats.tableCache!.fileReopens, 'files reopened for the descriptor bound').toBeGreaterThan(0);
      }
      expect(failures, failures.join('\n')).toEqual([]);
      expect(stats.flushes, 'flushes ran during the test').toBeGreaterThan(3);
      expect(stats.compactions, 'compactions ran during the test').toBeGreaterThan(1);
      expect(heldDuring.flushes, 'flushes ran under the held iterator').toBeGreaterThan(0);
      expect(stats.backgroundError).toBeUndefined();
      expect(stats.writeError).toBeUndefined();

      await engine.flush();
      await engine.compactRange();
      expect(await compareWithModel(engine, model), 'after flush and compactRange').toBe('');
    } finally {
      await engine.close();
    }
    const reopened = await LsmEngine.open(dir, { ...options, ...extra });
    try {
      expect(await compareWithModel(reopened, model), 'after reopen').toBe('');
    } finally {
      await reopened.close();
    }
  });
});

describe('reads while a flush installs its segment', () => {
  // A flush ends with a manifest edit (append + fdatasync). On a real disk
  // that fdatasync takes milliseconds, during which the event loop serves
  // reads; here a hook makes every manifest sync take 30 ms. The flushed
  // memtable's data must stay readable throughout: from the immutable
  // memtable until the new version names the segment, from the segment after.
  it('get and iterator see every acknowledged write while the manifest edit is being synced', async () => {
    const fs = new FaultFileSystem(new MemFileSystem());
    fs.beforeSync((path) => (path.includes('/MANIFEST-') ? sleep(30) : Promise.resolve()));
    const engine = await LsmEngine.open('/db', { fs, backgroundExecutor: 'inline', memtableBytes: 4096, disableAutoCompaction: true });
    const model: Model = new Map();
    const problems: string[] = [];
    try {
      for (let index = 0; index < 300 && problems.length === 0; index++) {
        const key = keyName(index);
        const value = `${key}@${index}:${'v'.repeat(100)}`;
        await engine.write(new WriteBatch().put(Buffer.from(key), Buffer.from(value)));
        model.set(key, value);
        const stats = engine.stats();
        for (const [k, v] of model) {
          const got = engine.get(Buffer.from(k))?.toString();
          if (got !== v) {
            problems.push(
              `after write ${index}: get(${k}) is ${got?.slice(0, 20)} (immutable memtables ${stats.immutableMemtables}, flushes ${stats.flushes}, L0 segments ${stats.levels[0]!.segments})`,
            );
            break;
          }
        }
        const diff = diffModels(await readAll(engine), model, 3);
        if (diff !== '') problems.push(`after write ${index}: iteration differs:\n${diff}`);
      }
      expect(problems, problems.join('\n')).toEqual([]);
      expect(engine.stats().flushes, 'flushes happened').toBeGreaterThan(2);
    } finally {
      await engine.close();
    }
  });
});
