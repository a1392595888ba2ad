// WAL archive, compaction filter, checkpoints and read-only opens of
// LsmEngine (DESIGN.md, "Files": archive/, checkpoints/; compactor.ts rule 3).
//
// Strategy and invariants:
// - WAL archive (MemFileSystem): with `walArchive` on, each flushed WAL file
//   moves to archive/ (renamed, not deleted) and the archive holds every
//   flushed record; stats() describe it; bytesMax prunes oldest first and
//   ageMs by age; without the option no archive/ exists.
// - Compaction filter (test/support/drop-prefix-filter.ts, compiled to dist/):
//   on the real file system with worker threads and on MemFileSystem inline,
//   compactRange drops the keys the filter names and keeps the rest; a key
//   the filter would drop is kept while its newest version is newer than a
//   live snapshot (the filter only sees versions every snapshot sees), and a
//   snapshot still reads older versions of such a key; context.get answers
//   from the segments.
// - Checkpoint: taken while writes are in flight, it opens as an independent
//   engine holding exactly the writes with sequence <= its reported sequence
//   (so every write acknowledged before the call, and every value one its key
//   really had); segments are hard links; the original keeps working.
// - Read-only open (of a live engine's checkpoint, of a live directory, of a
//   directory with a torn WAL tail): reads work, writes are refused with
//   NotSupportedError, and no file changes (hash of the tree before/after).

import { existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, EngineOptions, WriteResult } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { NotSupportedError } from '../../lib/errors.js';
import { MemFileSystem } from '../../lib/fs/mem-file-system.js';
import { listArchive } from '../../lib/wal/wal-archive.js';
import { FaultFileSystem } from '../support/fault-file-system.js';
import { compareWithModel, diffModels, getString, hashTree, put, readAll, sleep, type Model } from '../support/engine-test-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'silt-archive-filter-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
/** The engine's stats once it has read every archived file (it reads them in the background). */
async function archiveRead(engine: LsmEngine): Promise<ReturnType<LsmEngine['stats']>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = engine.stats();
    if (stats.archiveUnreadFiles === 0 || Date.now() > deadline) return stats;
    await sleep(5);
  }
}

function freshDir(): string {
  return join(root, `db-${++dirCount}`);
}

const filterModule = fileURLToPath(new URL('../../dist/test/support/drop-prefix-filter.js', import.meta.url));

function value(key: string, version: number | string, bytes = 200): string {
  const head = `${key}@${version}:`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

// ---------------------------------------------------------------------------

describe('WAL archive', () => {
  const dir = '/db';
  const archivedNames = (fs: MemFileSystem | FaultFileSystem): string[] => (fs.exists(`${dir}/archive`) ? fs.list(`${dir}/archive`).filter((name) => name.endsWith('.log')) : []);
  const walNames = (fs: MemFileSystem): string[] => fs.list(`${dir}/wal`).filter((name) => name.endsWith('.log'));

  async function writeAndFlush(engine: Engine, model: Model, rounds: number, perRound: number, tag: string): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      for (let index = 0; index < perRound; index++) {
        const key = `${tag}-${round}-${index}`;
        await put(engine, key, value(key, 1));
        model.set(key, value(key, 1));
      }
      await engine.flush();
    }
  }

  it('keeps every flushed WAL file in archive/ when ageMs and bytesMax are 0, and stats describe it', async () => {
    const fs = new MemFileSystem();
    const startMs = Date.now();
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } });
    const model: Model = new Map();
    try {
      await writeAndFlush(engine, model, 5, 10, 'a');
      const archived = archivedNames(fs);
      expect(archived.length, 'flushed WAL files were archived').toBeGreaterThanOrEqual(5);
      for (const name of archived) expect(walNames(fs), `${name} moved, not copied`).not.toContain(name);

      // The archive holds every flushed batch: sequences 1..N without a gap.
      const files = listArchive(fs, dir);
      const sequences = files.filter((file) => file.firstSequence !== undefined).map((file) => [file.firstSequence!, file.lastSequence!] as const);
      expect(sequences[0]![0]).toBe(1);
      for (let index = 1; index < sequences.length; index++) expect(sequences[index]![0], 'archived sequences are contiguous').toBe(sequences[index - 1]![1] + 1);
      expect(sequences[sequences.length - 1]![1]).toBe(engine.stats().sequence);
      for (const file of files) expect(file.damage).toBeUndefined();

      // Read in the background (the compaction worker's job, inline here): unread until then.
      const stats = await archiveRead(engine);
      expect(stats.archiveFiles).toBe(archived.length);
      expect(stats.archiveBytes).toBe(archived.reduce((sum, name) => sum + fs.stat(`${dir}/archive/${name}`).size, 0));
      expect(stats.archiveBreaks).toBe(0);
      expect(stats.archiveRange).toBeDefined();
      expect(stats.archiveRange!.fromMs).toBeGreaterThanOrEqual(startMs);
      expect(stats.archiveRange!.fromMs).toBeLessThanOrEqual(stats.archiveRange!.toMs);
      expect(stats.archiveRange!.toMs).toBeLessThanOrEqual(Date.now());
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      await engine.close();
    }
    // Reopening neither replays nor loses archived files.
    const reopened = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', walArchive: { ageMs: 0, bytesMax: 0 } });
    try {
      expect(await compareWithModel(reopened, model)).toBe('');
      expect(reopened.stats().archiveFiles).toBeGreaterThanOrEqual(5);
    } finally {
      await reopened.close();
    }
  });

  it('stats() reads no archived file: each is read once, in the background, and what was read is kept', async () => {
    const fs = new FaultFileSystem(new MemFileSystem());
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 3_600_000, bytesMax: 0 } });
    const archiveReads: string[] = [];
    fs.injectFault((operation, path) => {
      if ((operation === 'open' || operation === 'read') && path.includes('/archive/')) archiveReads.push(path);
      return undefined;
    });
    try {
      await writeAndFlush(engine, new Map(), 4, 10, 'r');
      await archiveRead(engine);
      const opened = archiveReads.filter((path) => path.endsWith('.log'));
      expect(new Set(opened).size, 'every archived file read').toBe(archivedNames(fs).length);
      archiveReads.length = 0;
      for (let round = 0; round < 5; round++) expect(engine.stats().archiveUnreadFiles).toBe(0);
      expect(archiveReads, 'reads of archived files by stats() or age pruning').toEqual([]);
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
  });

  it('stats() names breaks in the archive (a removed file, a damaged one) and gives the span after the last', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } });
    try {
      await writeAndFlush(engine, new Map(), 6, 10, 'g');
      const whole = await archiveRead(engine);
      const files = listArchive(fs, dir).filter((file) => file.batches > 0);
      expect(files.length).toBeGreaterThanOrEqual(6);
      expect(whole.archiveBreaks).toBe(0);
      // Remove the second file that holds records: the span starts after the gap.
      fs.unlink(files[1]!.path);
      const gapped = await archiveRead(engine);
      expect(gapped.archiveBreaks).toBe(1);
      expect(gapped.archiveRange!.fromMs).toBe(files[2]!.firstTimeMs);
      expect(gapped.archiveRange!.toMs).toBe(whole.archiveRange!.toMs);
      // Damage the fourth, then reopen (a new engine reads the archive anew): it ends the span too.
      const damaged = files[3]!.path;
      const bytes = fs.readFile(damaged);
      bytes[bytes.length - 3]! ^= 0xff;
      fs.writeFileSync(damaged, bytes);
      await engine.close();
      const reopened = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', walArchive: { ageMs: 0, bytesMax: 0 } });
      try {
        const stats = await archiveRead(reopened);
        expect(stats.archiveBreaks).toBe(2);
        expect(stats.archiveRange!.fromMs).toBe(files[4]!.firstTimeMs);
      } finally {
        await reopened.close();
      }
    } finally {
      await engine.close();
    }
  });

  it('on the real file system the compaction worker reads the archive, a reopen reads it again, and age pruning needs no flush', async () => {
    const realDir = mkdtempSync(join(tmpdir(), 'silt-archive-read-'));
    try {
      let engine = await LsmEngine.open(realDir, { memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } });
      await writeAndFlush(engine, new Map(), 3, 10, 'w');
      const first = await archiveRead(engine);
      expect(first.archiveFiles).toBeGreaterThanOrEqual(3);
      expect(first.archiveRange).toBeDefined();
      await engine.close();
      engine = await LsmEngine.open(realDir, { walArchive: { ageMs: 0, bytesMax: 0 } });
      try {
        const again = await archiveRead(engine);
        expect(again).toMatchObject({ archiveFiles: first.archiveFiles, archiveBytes: first.archiveBytes, archiveRange: first.archiveRange, archiveBreaks: 0 });
      } finally {
        await engine.close();
      }
      // An age limit the files are already past: pruned once read, without a flush or a write.
      engine = await LsmEngine.open(realDir, { walArchive: { ageMs: 1, bytesMax: 0 } });
      try {
        const deadline = Date.now() + 10_000;
        while (engine.stats().archiveFiles > 0 && Date.now() < deadline) await sleep(20);
        expect(engine.stats().archiveFiles).toBe(0);
      } finally {
        await engine.close();
      }
    } finally {
      rmSync(realDir, { recursive: true, force: true });
    }
  });

  it('an idle engine prunes its archive by age too (no flush needed)', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 300, bytesMax: 0 } });
    try {
      await writeAndFlush(engine, new Map(), 2, 10, 'idle');
      expect(archivedNames(fs).length, 'young files kept').toBeGreaterThan(0);
      const deadline = Date.now() + 10_000;
      while (archivedNames(fs).length > 0 && Date.now() < deadline) await sleep(50);
      expect(archivedNames(fs)).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('prunes the archive oldest first to bytesMax', async () => {
    const fs = new MemFileSystem();
    const bytesMax = 6000;
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax } });
    const model: Model = new Map();
    const everArchived = new Set<string>();
    try {
      for (let round = 0; round < 8; round++) {
        await writeAndFlush(engine, model, 1, 10, `b${round}`);
        for (const name of archivedNames(fs)) everArchived.add(name);
        expect(engine.stats().archiveBytes).toBeLessThanOrEqual(bytesMax);
      }
      const kept = archivedNames(fs);
      const all = [...everArchived].sort();
      expect(kept.length, 'something stays archived').toBeGreaterThan(0);
      expect(kept.length, 'something was pruned').toBeLessThan(all.length);
      expect(kept, 'the newest files are the ones kept').toEqual(all.slice(all.length - kept.length));
      const stats = engine.stats();
      expect(stats.archiveFiles).toBe(kept.length);
      expect(stats.archiveBytes).toBe(kept.reduce((sum, name) => sum + fs.stat(`${dir}/archive/${name}`).size, 0));
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      await engine.close();
    }
  });

  it('prunes archived files older than ageMs', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 200, bytesMax: 0 } });
    const model: Model = new Map();
    try {
      await writeAndFlush(engine, model, 2, 10, 'old');
      const old = archivedNames(fs);
      expect(old.length).toBeGreaterThan(0);
      await sleep(400);
      await writeAndFlush(engine, model, 1, 10, 'new');
      const kept = archivedNames(fs);
      for (const name of old) expect(kept, `${name} is older than ageMs`).not.toContain(name);
      expect(kept.length).toBeGreaterThan(0);
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      await engine.close();
    }
  });

  it('without walArchive, flushed WAL files are deleted and no archive/ appears', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096 });
    const model: Model = new Map();
    try {
      await writeAndFlush(engine, model, 4, 10, 'c');
      expect(fs.exists(`${dir}/archive`)).toBe(false);
      expect(walNames(fs).length, 'only live WAL files remain').toBeLessThanOrEqual(2);
      const stats = engine.stats();
      expect(stats.archiveFiles).toBe(0);
      expect(stats.archiveBytes).toBe(0);
      expect(stats.archiveRange).toBeUndefined();
    } finally {
      await engine.close();
    }
  });
});

// ---------------------------------------------------------------------------

describe('compaction filter', () => {
  it('the filter module is built (npm run build compiles test/support)', () => {
    expect(existsSync(filterModule), `${filterModule} is missing; run npm run build`).toBe(true);
  });

  /**
   * tmp:* keys are dropped unless pin:<same suffix> exists in the segments.
   * Snapshot S is taken after the "early" keys and before the "late" ones.
   */
  async function filterScenario(dir: string, base: EngineOptions): Promise<void> {
    const options: EngineOptions = {
      ...base,
      disableAutoCompaction: true,
      compactionFilter: { module: filterModule, options: { prefix: 'tmp:', keepPrefix: 'pin:' } },
    };
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    const write = async (key: string, v: string): Promise<void> => {
      await put(engine, key, v);
      model.set(key, v);
    };
    try {
      for (let index = 0; index < 20; index++) await write(`keep:${index}`, value(`keep:${index}`, 1, 50));
      for (let index = 0; index < 10; index++) await write(`tmp:early${index}`, value(`tmp:early${index}`, 1, 50));
      await write('pin:early5', 'pinned');
      await write('tmp:both', 'before-snapshot');
      await engine.flush();
      const snapshot = engine.snapshot();
      for (let index = 0; index < 5; index++) await write(`tmp:late${index}`, value(`tmp:late${index}`, 1, 50));
      await write('tmp:both', 'after-snapshot');

      await engine.compactRange();
      const state = await readAll(engine);
      // Dropped: early tmp keys (every snapshot sees them), except the pinned one.
      for (let index = 0; index < 10; index++) {
        const key = `tmp:early${index}`;
        if (index === 5) {
          expect(getString(engine, key), 'kept: context.get found pin:early5').toBe(model.get(key));
          continue;
        }
        expect(getString(engine, key), `${key} dropped`).toBeUndefined();
        expect(state.has(key), `${key} not iterated`).toBe(false);
        model.delete(key);
      }
      // Kept while the snapshot lives: their newest version is newer than it.
      for (let index = 0; index < 5; index++) expect(getString(engine, `tmp:late${index}`)).toBe(model.get(`tmp:late${index}`));
      expect(getString(engine, 'tmp:both')).toBe('after-snapshot');
      expect(getString(engine, 'tmp:both', { snapshot }), 'the snapshot still reads the version it saw').toBe('before-snapshot');
      expect(getString(engine, 'tmp:late0', { snapshot })).toBeUndefined();
      for (let index = 0; index < 20; index++) expect(getString(engine, `keep:${index}`, { snapshot })).toBe(model.get(`keep:${index}`));
      expect(diffModels(state, model)).toBe('');

      // Without the snapshot the late keys go too; the pin still holds tmp:early5.
      snapshot.release();
      await engine.compactRange();
      for (let index = 0; index < 5; index++) model.delete(`tmp:late${index}`);
      model.delete('tmp:both');
      expect(await compareWithModel(engine, model)).toBe('');

      // Remove the pin: the next compaction drops tmp:early5 (context.get sees the tombstone).
      await engine.write(new WriteBatch().del(Buffer.from('pin:early5')));
      model.delete('pin:early5');
      await engine.compactRange();
      model.delete('tmp:early5');
      expect(await compareWithModel(engine, model)).toBe('');

      // Filtered keys written again come back as ordinary writes.
      await write('tmp:early1', 'fresh');
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      await engine.close();
    }
    const reopened = await LsmEngine.open(dir, options);
    try {
      expect(await compareWithModel(reopened, model), 'after reopen').toBe('');
    } finally {
      await reopened.close();
    }
  }

  it('drops filtered keys during compactRange on the real file system with worker threads', async () => {
    await filterScenario(freshDir(), { backgroundExecutor: 'worker' });
  });

  it('drops filtered keys during compactRange on MemFileSystem inline', async () => {
    await filterScenario('/db', { fs: new MemFileSystem(), backgroundExecutor: 'inline' });
  });
});

// ---------------------------------------------------------------------------

interface LoggedWrite {
  ops: [key: string, value: string | undefined][];
  result: WriteResult | undefined;
}

/** The state after applying, in sequence order, every logged write whose sequence is <= `sequence`. */
function stateAt(writes: LoggedWrite[], sequence: number): Model {
  const state: Model = new Map();
  const applied = writes.filter((write) => write.result !== undefined && write.result.sequence <= sequence).sort((a, b) => a.result!.sequence - b.result!.sequence);
  for (const write of applied) {
    for (const [key, v] of write.ops) {
      if (v === undefined) state.delete(key);
      else state.set(key, v);
    }
  }
  return state;
}

/** Every value each key ever had in `writes`. */
function historyOf(writes: LoggedWrite[]): Map<string, Set<string>> {
  const history = new Map<string, Set<string>>();
  for (const write of writes) {
    for (const [key, v] of write.ops) {
      if (v === undefined) continue;
      let values = history.get(key);
      if (values === undefined) history.set(key, (values = new Set()));
      values.add(v);
    }
  }
  return history;
}

/** Writes batches in a setImmediate loop without awaiting them until stop() is called; logs each. */
function startWriter(engine: Engine, writes: LoggedWrite[], tag: string): { stop(): Promise<void> } {
  let stopped = false;
  let counter = 0;
  const pending: Promise<unknown>[] = [];
  const loop = (): void => {
    if (stopped) return;
    for (let burst = 0; burst < 3; burst++) {
      const n = ++counter;
      const ops: LoggedWrite['ops'] = [
        [`${tag}:${n % 300}`, value(`${tag}:${n % 300}`, n, 80)],
        [`${tag}:${(n * 7) % 300}`, n % 5 === 0 ? undefined : value(`${tag}:${(n * 7) % 300}`, `${n}b`, 80)],
      ];
      const logged: LoggedWrite = { ops, result: undefined };
      writes.push(logged);
      const batch = new WriteBatch();
      for (const [key, v] of ops) {
        if (v === undefined) batch.del(Buffer.from(key));
        else batch.put(Buffer.from(key), Buffer.from(v));
      }
      pending.push(
        engine.write(batch).then((result) => {
          logged.result = result;
        }),
      );
    }
    setImmediate(loop);
  };
  setImmediate(loop);
  return {
    async stop() {
      stopped = true;
      await Promise.all(pending);
    },
  };
}

/** Holds copyPrefix (a checkpoint's copy of the live WAL file) until `gate` resolves; `copying` names its target. */
class GatedCopyFileSystem extends FaultFileSystem {
  gate: Promise<void> | undefined;
  copying: string | undefined;

  override async copyPrefix(from: string, to: string, length: number): Promise<void> {
    this.copying = to;
    await this.gate;
    return super.copyPrefix(from, to, length);
  }
}

async function expectCheckpointConsistent(target: string, options: EngineOptions, info: { sequence: number }, writes: LoggedWrite[], ackedBefore: LoggedWrite[]): Promise<Engine> {
  const copy = await LsmEngine.open(target, options);
  expect(copy.stats().sequence, 'the checkpoint opens at its reported sequence').toBe(info.sequence);
  for (const write of ackedBefore) expect(write.result!.sequence, 'acknowledged before the call, so inside the checkpoint').toBeLessThanOrEqual(info.sequence);
  const state = await readAll(copy);
  const history = historyOf(writes);
  for (const [key, v] of state) {
    if (!history.get(key)?.has(v)) expect.fail(`checkpoint has ${key}=${v.slice(0, 30)}, a value the key never had`);
  }
  expect(diffModels(state, stateAt(writes, info.sequence)), `the checkpoint holds exactly the writes up to sequence ${info.sequence}`).toBe('');
  return copy;
}

describe('checkpoint', () => {
  it('taken while writes are in flight, opens with exactly the writes up to its sequence (real file system)', async () => {
    const dir = freshDir();
    const options: EngineOptions = { memtableBytes: 16 * 1024, level0CompactionTrigger: 2 };
    const engine = await LsmEngine.open(dir, options);
    const writes: LoggedWrite[] = [];
    let copy: Engine | undefined;
    try {
      const writers = [startWriter(engine, writes, 'x'), startWriter(engine, writes, 'y')];
      await sleep(150);
      const ackedBefore = writes.filter((write) => write.result !== undefined);
      expect(ackedBefore.length).toBeGreaterThan(0);
      const target = join(root, `checkpoint-${++dirCount}`);
      const info = await engine.checkpoint(target);
      await sleep(50);
      for (const writer of writers) await writer.stop();
      expect(info.dir).toBe(target);
      copy = await expectCheckpointConsistent(target, options, info, writes, ackedBefore);

      // Independent: the original keeps working and the two diverge.
      await put(engine, 'after', 'original');
      await put(copy, 'after', 'copy');
      expect(getString(engine, 'after')).toBe('original');
      expect(getString(copy, 'after')).toBe('copy');
      const everything = stateAt(writes, Number.MAX_SAFE_INTEGER);
      everything.set('after', 'original');
      expect(await compareWithModel(engine, everything)).toBe('');
    } finally {
      await copy?.close();
      await engine.close();
    }
  });

  it('includes no less than its reported sequence when a write arrives during its WAL sync', async () => {
    // Deterministic version of the case above: a write arrives while the
    // checkpoint's fdatasync is in flight (framed, not yet written when the
    // fdatasync completes).
    const fs = new FaultFileSystem(new MemFileSystem());
    const dir = '/db';
    const options: EngineOptions = { fs, backgroundExecutor: 'inline' };
    const engine = await LsmEngine.open(dir, options);
    const writes: LoggedWrite[] = [];
    const logWrite = (key: string, v: string): Promise<void> => {
      const logged: LoggedWrite = { ops: [[key, v]], result: undefined };
      writes.push(logged);
      return put(engine, key, v).then((result) => {
        logged.result = result;
      });
    };
    let copy: Engine | undefined;
    try {
      for (let index = 0; index < 10; index++) await logWrite(`k${index}`, `v${index}`);
      let inFlight: Promise<void> | undefined;
      fs.beforeSync(async (path) => {
        if (inFlight !== undefined || !path.startsWith(`${dir}/wal/`)) return;
        await sleep(5);
        inFlight = logWrite('during-sync', 'arrived while the checkpoint synced');
      });
      const info = await engine.checkpoint('/checkpoint');
      fs.beforeSync(undefined);
      expect(inFlight, 'a write arrived during the checkpoint\'s WAL sync').toBeDefined();
      await inFlight;
      copy = await expectCheckpointConsistent('/checkpoint', { ...options, fs: fs.inner }, info, writes, writes.slice(0, 10));
    } finally {
      await copy?.close();
      await engine.close();
    }
  });

  it('taken while a flush installs its segment, holds the flushed memtable', async () => {
    // The checkpoint runs while a flush waits for its manifest fdatasync:
    // the flushed data must be in the copy, from the WAL or from the segment.
    const fs = new FaultFileSystem(new MemFileSystem());
    const dir = '/db';
    const options: EngineOptions = { fs, backgroundExecutor: 'inline', memtableBytes: 4096, disableAutoCompaction: true };
    const engine = await LsmEngine.open(dir, options);
    const writes: LoggedWrite[] = [];
    let copy: Engine | undefined;
    try {
      let checkpoint: Promise<{ sequence: number }> | undefined;
      fs.beforeSync(async (path) => {
        if (checkpoint !== undefined || !path.includes('/MANIFEST-')) return;
        checkpoint = engine.checkpoint('/checkpoint');
        await checkpoint.catch(() => undefined);
      });
      for (let index = 0; index < 40 && checkpoint === undefined; index++) {
        const key = `k${index}`;
        const logged: LoggedWrite = { ops: [[key, value(key, 1)]], result: undefined };
        writes.push(logged);
        logged.result = await put(engine, key, value(key, 1));
      }
      expect(checkpoint, 'a flush reached its manifest edit').toBeDefined();
      const info = await checkpoint!;
      fs.beforeSync(undefined);
      copy = await expectCheckpointConsistent('/checkpoint', { ...options, fs: fs.inner }, info, writes, writes.slice(0, -1));
    } finally {
      fs.beforeSync(undefined);
      await copy?.close();
      await engine.close();
    }
  });

  it('copies the live WAL file after its instant, off the event loop: writes and a flush that deletes that file go on meanwhile', async () => {
    const fs = new GatedCopyFileSystem(new MemFileSystem());
    const dir = '/db';
    const options: EngineOptions = { fs, backgroundExecutor: 'inline', memtableBytes: 4096, disableAutoCompaction: true };
    const engine = await LsmEngine.open(dir, options);
    const writes: LoggedWrite[] = [];
    const logWrite = async (key: string, v: string): Promise<void> => {
      const logged: LoggedWrite = { ops: [[key, v]], result: undefined };
      writes.push(logged);
      logged.result = await put(engine, key, v);
    };
    let copy: Engine | undefined;
    try {
      for (let index = 0; index < 10; index++) await logWrite(`k${index}`, value(`k${index}`, 1));
      const liveWal = fs.list(`${dir}/wal`).filter((name) => name.endsWith('.log')).at(-1)!;
      let release!: () => void;
      fs.gate = new Promise<void>((resolve) => (release = resolve));
      const checkpoint = engine.checkpoint('/checkpoint');
      const deadline = Date.now() + 5000;
      while (fs.copying === undefined && Date.now() < deadline) await sleep(1);
      expect(fs.copying, 'the checkpoint copies the live WAL file').toBe(`/checkpoint/wal/${liveWal}`);
      // Meanwhile: more writes, of new values too, and a flush that retires the live WAL file.
      for (let index = 0; index < 30; index++) await logWrite(`k${index}`, value(`k${index}`, 2));
      await engine.flush();
      expect(fs.exists(`${dir}/wal/${liveWal}`), 'the live WAL file was retired during the copy').toBe(false);
      release();
      const info = await checkpoint;
      expect(fs.list('/checkpoint/wal'), 'no link left behind').not.toContain(`${liveWal}.source`);
      copy = await expectCheckpointConsistent('/checkpoint', { ...options, fs: fs.inner }, info, writes, writes.slice(0, 10));
      expect(info.sequence).toBe(writes[9]!.result!.sequence);
    } finally {
      fs.gate = undefined;
      await copy?.close();
      await engine.close();
    }
  });

  it('hard-links segments into the checkpoint', async () => {
    const dir = freshDir();
    const engine = await LsmEngine.open(dir, { memtableBytes: 4096 });
    try {
      for (let index = 0; index < 100; index++) await put(engine, `k${index}`, value(`k${index}`, 1));
      await engine.flush();
      const target = join(root, `checkpoint-${++dirCount}`);
      const info = await engine.checkpoint(target);
      const segments = readdirSync(join(target, 'seg')).filter((name) => name.endsWith('.sst'));
      expect(segments.length).toBeGreaterThan(0);
      expect(info.linkedFiles).toBe(segments.length);
      for (const name of segments) {
        expect(statSync(join(target, 'seg', name)).ino, `${name} is a hard link`).toBe(statSync(join(dir, 'seg', name)).ino);
      }
      // The original compacting its segments away leaves the checkpoint intact.
      await engine.compactRange();
      const copy = await LsmEngine.open(target, { readOnly: true });
      try {
        expect(copy.stats().sequence).toBe(info.sequence);
        expect((await readAll(copy)).size).toBe(100);
      } finally {
        await copy.close();
      }
    } finally {
      await engine.close();
    }
  });
});

// ---------------------------------------------------------------------------

describe('read-only open', () => {
  async function expectReadOnly(engine: Engine): Promise<void> {
    expect(engine.readOnly).toBe(true);
    await expect(put(engine, 'refused', 'x')).rejects.toBeInstanceOf(NotSupportedError);
    await expect(engine.write(new WriteBatch().del(Buffer.from('k1')))).rejects.toBeInstanceOf(NotSupportedError);
    await expect(engine.flush()).rejects.toBeInstanceOf(NotSupportedError);
    await expect(engine.compactRange()).rejects.toBeInstanceOf(NotSupportedError);
    expect(getString(engine, 'refused')).toBeUndefined();
  }

  it("opens a live engine's checkpoint read-only, refuses writes and changes no file", async () => {
    const dir = freshDir();
    const engine = await LsmEngine.open(dir, { memtableBytes: 4096 });
    const model: Model = new Map();
    try {
      for (let index = 0; index < 60; index++) {
        await put(engine, `k${index}`, value(`k${index}`, 1));
        model.set(`k${index}`, value(`k${index}`, 1));
      }
      // Some data in segments, some only in the WAL that the checkpoint copies.
      const target = join(root, `checkpoint-${++dirCount}`);
      await engine.checkpoint(target);
      const before = hashTree(target);
      const copy = await LsmEngine.open(target, { readOnly: true });
      try {
        expect(await compareWithModel(copy, model)).toBe('');
        await expectReadOnly(copy);
      } finally {
        await copy.close();
      }
      expect(hashTree(target), 'no file of the checkpoint changed').toBe(before);
      expect(existsSync(join(target, 'LOCK'))).toBe(false);
      await put(engine, 'still', 'writable');
    } finally {
      await engine.close();
    }
  });

  it('opens the directory of a live engine read-only without taking its LOCK or changing files', async () => {
    const dir = freshDir();
    // No automatic compaction: the live engine's own background work would change files while
    // the reader is open, and this test is about what the reader does.
    const engine = await LsmEngine.open(dir, { memtableBytes: 4096, syncPolicy: 'always', disableAutoCompaction: true });
    const model: Model = new Map();
    try {
      for (let index = 0; index < 60; index++) {
        await put(engine, `k${index}`, value(`k${index}`, 1));
        model.set(`k${index}`, value(`k${index}`, 1));
      }
      await engine.flush();
      await put(engine, 'tail', 'in the WAL only');
      model.set('tail', 'in the WAL only');
      const before = hashTree(dir);
      const reader = await LsmEngine.open(dir, { readOnly: true });
      try {
        expect(await compareWithModel(reader, model)).toBe('');
        await expectReadOnly(reader);
      } finally {
        await reader.close();
      }
      expect(hashTree(dir), 'the read-only open changed no file').toBe(before);
      await put(engine, 'after', 'reader closed');
      expect(getString(engine, 'after')).toBe('reader closed');
    } finally {
      await engine.close();
    }
  });

  it('reads a directory whose newest WAL has a torn tail without truncating it', async () => {
    const dir = freshDir();
    const engine = await LsmEngine.open(dir, { syncPolicy: 'always' });
    const model: Model = new Map();
    for (let index = 0; index < 10; index++) {
      await put(engine, `k${index}`, `v${index}`);
      model.set(`k${index}`, `v${index}`);
    }
    await engine.close();
    const walFiles = readdirSync(join(dir, 'wal')).filter((name) => name.endsWith('.log')).sort();
    const newest = join(dir, 'wal', walFiles[walFiles.length - 1]!);
    const fd = openSync(newest, 'a');
    writeSync(fd, Buffer.from([0x12, 0x34, 0x56, 0x78, 0x40, 0x00, 0x00]));
    closeSync(fd);
    const before = hashTree(dir);
    const reader = await LsmEngine.open(dir, { readOnly: true });
    try {
      expect(await compareWithModel(reader, model)).toBe('');
      await expectReadOnly(reader);
    } finally {
      await reader.close();
    }
    expect(hashTree(dir), 'the torn tail is still there').toBe(before);
  });
});
