// Fault tests: LsmEngine under injected I/O errors (DESIGN.md, "Limits": a
// full disk or an I/O error refuses writes with a clear error, keeps serving
// reads, says why, and recovers when space returns; nothing acknowledged is
// ever lost).
//
// Strategy: MemFileSystem.injectFault makes chosen operations on chosen paths
// throw ENOSPC or EIO; the inline executor runs flush and compaction on the
// same file system. One WAL case runs on real files through FaultFileSystem
// (test/support/fault-file-system.ts) wrapping NodeFileSystem.
//
// Invariants checked in every case:
// - a write is either acknowledged, or rejected (WAL failures:
//   WriteStoppedError, code WRITE_STOPPED, naming the cause), or stalled
//   (flush/compaction failures: the promise stays pending, never rejects);
// - reads (get and iterator) show exactly the acknowledged and stalled
//   writes, never a rejected batch;
// - stats() says why (writeError / backgroundError) while the fault lasts and
//   clears it after the fault heals and the 1 s retry timer has run;
// - close + reopen, and a crash clone + reopen, hold every acknowledged write
//   and no rejected one.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineLogger, EngineOptions, SyncPolicy } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteStoppedError } from '../../lib/errors.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { MemFileSystem, systemError, type FaultInjector } from '../../lib/fs/mem-file-system.js';
import { FaultFileSystem } from '../support/fault-file-system.js';
import {
  batch,
  compareWithModel,
  crashCloneOf,
  expectLsmReopenHolds,
  switchWithHeldWalClose,
  getString,
  put,
  sleep,
  track,
  waitFor,
  type Model,
  type Tracked,
} from '../support/engine-test-helpers.js';

const dir = '/db';
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Retry interval of the engine (lsm-engine.ts) plus scheduling slack, ms. */
const healWithinMs = 2500;

function key(index: number): string {
  return `key${String(index).padStart(5, '0')}`;
}

/** A value of about `bytes` bytes that names its key and version. */
function value(k: string, version: number | string, bytes = 32): string {
  const head = `${k}@${version}:`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

function memOptions(fs: MemFileSystem, extra: EngineOptions = {}): EngineOptions {
  return { fs, backgroundExecutor: 'inline', ...extra };
}

/** What a machine crash would leave; this process's LOCK would look live, so it goes. */


/** Lets promise reactions run without giving the WAL writer's setImmediate a turn. */
async function microtasks(): Promise<void> {
  for (let index = 0; index < 5; index++) await Promise.resolve();
}

function expectWriteStopped(error: unknown, cause: RegExp): void {
  expect(error).toBeInstanceOf(WriteStoppedError);
  expect((error as WriteStoppedError).code).toBe('WRITE_STOPPED');
  expect((error as Error).message).toMatch(cause);
}

const walFault =
  (operation: 'append' | 'sync', code: string): FaultInjector =>
  (op, path) =>
    op === operation && path.startsWith(`${dir}/wal/`) ? systemError(code, op === 'append' ? 'write' : 'fdatasync', path) : undefined;

/**
 * The shared WAL-failure scenario: acknowledged writes, a fault, a rejected
 * batch that reads never show afterwards, refusals, healing, recovery.
 */
async function walFailureScenario(fs: MemFileSystem, policy: SyncPolicy, fault: FaultInjector, cause: RegExp, shared = false): Promise<void> {
  const errorLogs: string[] = [];
  const logger: EngineLogger = {
    info() {},
    warn() {},
    error(object) {
      const err = (object as { err?: unknown }).err;
      errorLogs.push(err instanceof Error ? err.message : String(err));
    },
  };
  const options = memOptions(fs, { syncPolicy: policy, logger });
  const engine = await LsmEngine.open(dir, options);
  const model: Model = new Map();
  try {
    for (let index = 0; index < 20; index++) {
      await put(engine, key(index), value(key(index), 1));
      model.set(key(index), value(key(index), 1));
    }
    const snapshot = engine.snapshot();
    const heldIterator = engine.iterator({ gte: Buffer.from(key(10)) });

    fs.injectFault(fault);
    // One multi-op batch and one single put in the same event-loop turn: both fail.
    const first = batch([[key(0), 'bad-0'], ['new-key', 'bad-new'], [key(1), undefined]]);
    const second = batch([[key(2), 'bad-2']]);
    let failing: Tracked<unknown>[];
    if (shared) {
      // writeShared(): the turn's writes get one promise, and a failure takes every batch of the turn back.
      const promises = [engine.writeShared(first), engine.writeShared(second)];
      expect(promises[0]).toBe(promises[1]);
      failing = promises.map((promise) => track(promise));
    } else {
      failing = [track(engine.write(first)), track(engine.write(second))];
    }
    // Effects are visible at once (engine.ts: write), before the WAL answers.
    expect(getString(engine, key(0))).toBe('bad-0');
    await Promise.allSettled(failing.map((write) => write.promise));
    for (const write of failing) {
      expect(write.state).toBe('rejected');
      expectWriteStopped(write.error, cause);
    }

    // Reads show exactly the acknowledged data: the failed batches were taken back.
    expect(await compareWithModel(engine, model)).toBe('');
    expect(getString(engine, 'new-key')).toBeUndefined();
    expect(getString(engine, key(1))).toBe(value(key(1), 1));
    expect(getString(engine, key(0), { snapshot })).toBe(value(key(0), 1));
    const held: string[] = [];
    for (let entry = await heldIterator.next(); entry !== undefined; entry = await heldIterator.next()) held.push(entry[0].toString());
    await heldIterator.close();
    expect(held).toEqual([...model.keys()].filter((k) => k >= key(10)));
    snapshot.release();

    const stats = engine.stats();
    expect(stats.writeError).toMatch(cause);
    expect(errorLogs.some((message) => cause.test(message)), 'the log says why writes stopped').toBe(true);

    // Later writes are refused at once, with the reason.
    const refused = track(put(engine, 'later', 'x'));
    await microtasks();
    expect(refused.state).toBe('rejected');
    expectWriteStopped(refused.error, cause);

    // While the disk stays full the retry timer keeps failing: still refused.
    await sleep(1300);
    expect(engine.stats().writeError).toBeDefined();
    await expect(put(engine, 'still-later', 'x')).rejects.toBeInstanceOf(WriteStoppedError);
    expect(getString(engine, 'still-later')).toBeUndefined();

    // Heal: within the retry interval writes work again.
    fs.injectFault(undefined);
    const healedAt = Date.now();
    expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs), 'writeError clears after healing').toBe(true);
    expect(Date.now() - healedAt).toBeLessThan(healWithinMs);
    for (let index = 15; index < 30; index++) {
      await put(engine, key(index), value(key(index), 2));
      model.set(key(index), value(key(index), 2));
    }
    expect(await compareWithModel(engine, model)).toBe('');

    // A crash now keeps every acknowledged write (sync first: everysec promises write(2) only).
    if (policy !== 'always') await engine.sync();
    await expectLsmReopenHolds(dir, crashCloneOf(fs, dir), options, model, 'crash clone after recovery');
  } finally {
    fs.injectFault(undefined);
    await engine.close();
  }
  await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
}

describe('WAL failures stop writes, keep reads and recover', () => {
  for (const policy of ['always', 'everysec'] as const) {
    it(`a full disk (ENOSPC on WAL append) rejects the batch with WriteStoppedError under ${policy}`, async () => {
      await walFailureScenario(new MemFileSystem(), policy, walFault('append', 'ENOSPC'), /ENOSPC/);
    });
  }

  it('an fdatasync failure (EIO on WAL sync) under always rejects the batch with WriteStoppedError', async () => {
    await walFailureScenario(new MemFileSystem(), 'always', walFault('sync', 'EIO'), /EIO/);
  });

  for (const [policy, fault, cause] of [
    ['everysec', walFault('append', 'ENOSPC'), /ENOSPC/],
    ['always', walFault('sync', 'EIO'), /EIO/],
  ] as const) {
    it(`writeShared(): a WAL failure under ${policy} rejects the turn's shared promise and takes back all its batches`, async () => {
      await walFailureScenario(new MemFileSystem(), policy, fault, cause, true);
    });
  }

  it('a background fdatasync failure under everysec stops writes until the disk works again', async () => {
    const fs = new MemFileSystem();
    const options = memOptions(fs, { syncPolicy: 'everysec' });
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    try {
      fs.injectFault(walFault('sync', 'EIO'));
      // Written with write(2) only: acknowledged although the timer's fdatasync will fail.
      for (let index = 0; index < 10; index++) {
        await put(engine, key(index), value(key(index), 1));
        model.set(key(index), value(key(index), 1));
      }
      expect(await waitFor(() => engine.stats().writeError !== undefined, 2500), 'the everysec timer reports its failure').toBe(true);
      expect(engine.stats().writeError).toMatch(/EIO/);
      await expect(put(engine, 'refused', 'x')).rejects.toBeInstanceOf(WriteStoppedError);
      expect(await compareWithModel(engine, model)).toBe('');

      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
      await put(engine, 'after', 'heal');
      model.set('after', 'heal');
      await engine.sync();
      await expectLsmReopenHolds(dir, crashCloneOf(fs, dir), options, model, 'crash clone after recovery');
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
  });

  it('on the real file system, a full disk on the WAL rejects the batch and writes resume after healing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'silt-faults-'));
    roots.push(root);
    const dataDir = join(root, 'db');
    const fs = new FaultFileSystem(new NodeFileSystem());
    const options: EngineOptions = { fs, backgroundExecutor: 'inline', syncPolicy: 'always' };
    const engine = await LsmEngine.open(dataDir, options);
    const model: Model = new Map();
    try {
      for (let index = 0; index < 10; index++) {
        await put(engine, key(index), value(key(index), 1));
        model.set(key(index), value(key(index), 1));
      }
      fs.injectFault((op, path) => (op === 'append' && path.startsWith(`${dataDir}/wal/`) ? systemError('ENOSPC', 'write', path) : undefined));
      const failed = track(engine.write(batch([[key(0), 'bad'], ['new-key', 'bad']])));
      await Promise.allSettled([failed.promise]);
      expect(failed.state).toBe('rejected');
      expectWriteStopped(failed.error, /ENOSPC/);
      expect(await compareWithModel(engine, model)).toBe('');
      expect(engine.stats().writeError).toMatch(/ENOSPC/);
      await expect(put(engine, 'refused', 'x')).rejects.toBeInstanceOf(WriteStoppedError);

      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
      await put(engine, key(0), value(key(0), 2));
      model.set(key(0), value(key(0), 2));
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
    const reopened = await LsmEngine.open(dataDir, { backgroundExecutor: 'inline' });
    try {
      expect(await compareWithModel(reopened, model)).toBe('');
    } finally {
      await reopened.close();
    }
  });
});

describe('WAL cut-back after a failure', () => {
  // After a failed write or fdatasync, WalWriter cuts the rejected records off
  // the file. These cases make that cut (truncate) fail too while the fault
  // lasts; when the disk heals the engine must not let the rejected bytes
  // come back: not as replayed data, not as mid-file damage.
  const cases = [
    { name: 'a short write (ENOSPC after half the bytes)', policy: 'everysec' as const, operation: 'append' as const, partialAppend: true },
    { name: 'an fdatasync failure (EIO)', policy: 'always' as const, operation: 'sync' as const, partialAppend: false },
  ];
  for (const { name, policy, operation, partialAppend } of cases) {
    it(`after ${name} the rejected batch stays absent after reopen`, async () => {
      const fs = new FaultFileSystem(new MemFileSystem());
      const options: EngineOptions = { fs, backgroundExecutor: 'inline', syncPolicy: policy };
      const engine = await LsmEngine.open(dir, options);
      const model: Model = new Map();
      try {
        for (let index = 0; index < 5; index++) {
          await put(engine, key(index), value(key(index), 1));
          model.set(key(index), value(key(index), 1));
        }
        await engine.sync();
        fs.injectFault(
          (op, path) => {
            if (!path.startsWith(`${dir}/wal/`)) return undefined;
            if (op === operation) return systemError(operation === 'append' ? 'ENOSPC' : 'EIO', op, path);
            if (op === 'truncate') return systemError('EIO', 'ftruncate', path);
            return undefined;
          },
          { partialAppend },
        );
        const failed = track(engine.write(batch([[key(0), 'rejected-0'], ['rejected-key', 'rejected']])));
        await Promise.allSettled([failed.promise]);
        expect(failed.state).toBe('rejected');
        expect(failed.error).toBeInstanceOf(WriteStoppedError);
        expect(await compareWithModel(engine, model)).toBe('');

        fs.injectFault(undefined);
        expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
        await put(engine, key(9), value(key(9), 2));
        model.set(key(9), value(key(9), 2));
        expect(await compareWithModel(engine, model)).toBe('');
      } finally {
        fs.injectFault(undefined);
        await engine.close();
      }
      await expectLsmReopenHolds(dir, fs, { backgroundExecutor: 'inline' }, model, 'reopen holds the acknowledged writes and not the rejected batch');
    });
  }
});

describe('a failed WAL write at a memtable switch stops the writes after it', () => {
  // Batch A waits in the WAL's turn buffer; batch B fills the memtable, and
  // the switch writes the old file's pending records (A, B) first. When that
  // write fails, A and B are refused, but their promises reject only
  // microtasks later. Batch C, made in the same synchronous run (another
  // client's command in the same socket callback), could read A: it must be
  // refused too, not logged in the new WAL file and acknowledged (a list
  // whose length counts an element that was refused).
  for (const policy of ['no', 'everysec', 'always'] as const) {
    it(`under ${policy}, a write made after the switch's failed write is refused, not logged in the new file`, async () => {
      const fs = new MemFileSystem();
      const options = memOptions(fs, { memtableBytes: 4096, syncPolicy: policy });
      const engine = await LsmEngine.open(dir, options);
      const model: Model = new Map();
      try {
        await put(engine, 'counter', '1');
        model.set('counter', '1');
        const oldWal = fs.list(`${dir}/wal`).sort().at(-1)!;
        fs.injectFault((op, path) => (op === 'append' && path === `${dir}/wal/${oldWal}` ? systemError('ENOSPC', 'write', path) : undefined));
        const a = track(engine.writeShared(batch([['counter', '2']])));
        expect(getString(engine, 'counter')).toBe('2');
        // B fills the memtable: the switch writes A and B to the old file, which fails.
        const filler = 'f'.repeat(5000);
        const b = track(engine.writeShared(batch([['filler', filler]])));
        // C read A's counter (2) and writes what depends on it.
        const c = track(engine.writeShared(batch([['derived', `from ${getString(engine, 'counter') ?? 'nothing'}`]])));
        await Promise.allSettled([a.promise, b.promise, c.promise]);
        expect([a.state, b.state], 'A and B were in the failed write').toEqual(['rejected', 'rejected']);
        expect(c.state, 'C, made after the failed write, is refused too').toBe('rejected');
        expectWriteStopped(c.error, /ENOSPC/);
        expect(getString(engine, 'derived')).toBeUndefined();
        expect(await compareWithModel(engine, model)).toBe('');

        fs.injectFault(undefined);
        expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
        await put(engine, 'after', 'x');
        model.set('after', 'x');
        expect(await compareWithModel(engine, model)).toBe('');
        await engine.sync(); // under no and everysec, 'after' is acknowledged before it is synced
        await expectLsmReopenHolds(dir, crashCloneOf(fs, dir), options, model, 'crash clone: neither A, B nor C');
      } finally {
        fs.injectFault(undefined);
        await engine.close();
      }
      await expectLsmReopenHolds(dir, fs, options, model, 'reopen: neither A, B nor C');
    });
  }
});

describe('flush() when the switch cannot write the old WAL file', () => {
  it('rejects with WriteStoppedError instead of resolving with nothing flushed', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open(dir, memOptions(fs, { syncPolicy: 'no' }));
    try {
      await put(engine, 'a', '1');
      const wal = fs.list(`${dir}/wal`).sort().at(-1)!;
      fs.injectFault((op, path) => (op === 'append' && path === `${dir}/wal/${wal}` ? systemError('ENOSPC', 'write', path) : undefined));
      const pending = track(put(engine, 'b', '2'));
      const flushed = await engine.flush().then(() => undefined, (error: unknown) => error);
      expectWriteStopped(flushed, /ENOSPC/);
      await Promise.allSettled([pending.promise]);
      expect(pending.state).toBe('rejected');
      expect(engine.stats().flushes).toBe(0);
      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
      await engine.flush();
      expect(engine.stats().flushes).toBe(1);
      expect(getString(engine, 'a')).toBe('1');
      expect(getString(engine, 'b')).toBeUndefined();
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
  });
});

describe('a compaction whose manifest sync fails', () => {
  // An older version pinned by an iterator is released after the failure: its unref runs
  // #deleteObsoleteFiles before the retry has written a manifest without the edit.
  it('keeps its outputs until a manifest without them is current: a killed process reopens on the edit', async () => {
    const fs = new MemFileSystem();
    const options = memOptions(fs, { memtableBytes: 4096, disableAutoCompaction: true, syncPolicy: 'always' });
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    let iterator: { close(): void } | undefined;
    try {
      for (let round = 0; round < 3; round++) {
        for (let index = 0; index < 50; index++) {
          const k = key(index);
          model.set(k, value(k, round));
          await put(engine, k, value(k, round));
        }
        await engine.flush();
        if (round === 1) iterator = engine.iteratorSync(); // pins the version of rounds 0-1
      }
      const segmentsBefore = new Set(fs.list(`${dir}/seg`));
      fs.injectFault((op, path) => (op === 'sync' && path.includes('/MANIFEST-') ? systemError('EIO', 'fdatasync', path) : undefined));
      await expect(engine.compactRange()).rejects.toThrow(); // EIO, or the manifest writer refusing after it
      const outputs = fs.list(`${dir}/seg`).filter((name) => !segmentsBefore.has(name));
      expect(outputs.length, 'the failed compaction wrote outputs').toBeGreaterThan(0);
      iterator!.close();
      iterator = undefined;
      await sleep(20); // removals run in the background
      // The process dies before the retry replaces the manifest: its page cache (the edit) survives.
      const killed = fs.killClone();
      killed.unlink(`${dir}/LOCK`);
      expect(outputs.filter((name) => !killed.exists(`${dir}/seg/${name}`)), 'outputs deleted while the manifest may name them').toEqual([]);
      await expectLsmReopenHolds(dir, killed, options, model, 'reopened on the manifest holding the compaction edit');
      const manifests = (): string[] => fs.list(dir).filter((name) => name.startsWith('MANIFEST-'));
      const failed = manifests();
      fs.injectFault(undefined);
      // The retry (1 s) starts a new manifest from the version, without the edit: the outputs are debris
      // then, and go; the compaction then runs again.
      expect(await waitFor(() => manifests().some((name) => !failed.includes(name)), healWithinMs)).toBe(true);
      expect(await waitFor(() => outputs.every((name) => !fs.exists(`${dir}/seg/${name}`)), healWithinMs), 'outputs deleted after the retry').toBe(true);
      await engine.compactRange();
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      iterator?.close();
      fs.injectFault(undefined);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
  });
});

describe('a failed fdatasync takes back what was made after it', () => {
  // Under always, batch A is written and its fdatasync is in flight; batch B
  // is made meanwhile (it could have read A: an INCR of an INCR's result) and
  // waits in the WAL's turn buffer. When A's fdatasync fails, A is cut off
  // and taken back; B must go too, even though the disk works again by the
  // time B would be written: otherwise B is acknowledged and, after a
  // reopen, stands on a write its client was told had failed.
  it('a batch still in the turn buffer is rejected with the batch whose fdatasync failed', async () => {
    const fs = new FaultFileSystem(new MemFileSystem());
    const options: EngineOptions = { fs, backgroundExecutor: 'inline', syncPolicy: 'always' };
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map([[key(0), 'v1']]);
    try {
      await put(engine, key(0), 'v1');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      fs.beforeSync(() => gate);
      const a = track(put(engine, key(0), 'v2'));
      await new Promise((resolve) => setImmediate(resolve)); // A is written; its fdatasync waits at the gate
      const b = track(put(engine, key(0), 'v3'));
      let failures = 0;
      fs.injectFault((op, path) => (op === 'sync' && path.startsWith(`${dir}/wal/`) && failures++ === 0 ? systemError('EIO', 'fdatasync', path) : undefined));
      fs.beforeSync(undefined);
      release();
      await Promise.allSettled([a.promise, b.promise]);
      expect(a.state).toBe('rejected');
      expect(b.state, 'the batch made after the failed one').toBe('rejected');
      expect(getString(engine, key(0))).toBe('v1');
      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, { backgroundExecutor: 'inline' }, model, 'neither A nor B after reopen');
  });
});

describe('a failed close of the older WAL file takes back the newer file', () => {
  // At a memtable switch the old WAL file's close runs one last fdatasync.
  // Under always it covers batch A, which waits for it. Batch B is made after
  // the switch, into the new file (it could have read A), and the new file's
  // own fdatasync succeeds; B's acknowledgement waits for the old file's
  // close. When that fails, A is cut off and taken back, and B must go too:
  // out of the memtable and out of the new file, synced bytes and all, or it
  // is acknowledged, or comes back on reopen, standing on a write its client
  // was told had failed. Under everysec A was acknowledged when written: the
  // old file's close refuses nothing, and B does not wait for it.
  for (const policy of ['always', 'everysec'] as const) {
    const held = policy === 'always';
    it(`under ${policy}, ${held ? 'a batch logged in the new file is rejected and cut' : 'nothing is refused'} when the old file's last fdatasync fails`, async () => {
      const fs = new FaultFileSystem(new MemFileSystem());
      const options: EngineOptions = { fs, backgroundExecutor: 'inline', syncPolicy: policy };
      const engine = await LsmEngine.open(dir, options);
      const model: Model = new Map([[key(0), held ? 'v1' : 'v3']]);
      let flushed: Promise<unknown> = Promise.resolve();
      let release = (): void => undefined;
      try {
        await put(engine, key(0), 'v1');
        const switched = await switchWithHeldWalClose(engine, fs, dir, key(0), 'v2'); // the old file's close waits at the gate
        const { oldWal, a } = switched;
        release = switched.release;
        flushed = switched.flushed;
        const b = track(put(engine, key(0), 'v3'));
        await sleep(20); // B is written and synced in the new file
        expect(b.state, held ? 'B waits for the old file to close' : 'B does not wait').toBe(held ? 'pending' : 'fulfilled');
        fs.injectFault((op, path) => (op === 'sync' && path.endsWith(`/${oldWal}`) ? systemError('EIO', 'fdatasync', path) : undefined));
        release();
        await Promise.allSettled([a.promise, b.promise, flushed]);
        expect(a.state).toBe(held ? 'rejected' : 'fulfilled');
        expect(b.state, 'the batch logged in the newer file').toBe(held ? 'rejected' : 'fulfilled');
        if (held) expect(b.error).toBeInstanceOf(WriteStoppedError);
        expect(getString(engine, key(0))).toBe(model.get(key(0)));
        fs.injectFault(undefined);
        expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
        await put(engine, key(1), 'after');
        model.set(key(1), 'after');
        expect(await compareWithModel(engine, model)).toBe('');
      } finally {
        fs.injectFault(undefined);
        fs.beforeSync(undefined);
        release();
        await flushed;
        await engine.close();
      }
      await expectLsmReopenHolds(dir, fs, { backgroundExecutor: 'inline' }, model, held ? 'neither A nor B after reopen' : 'A and B after reopen');
    });
  }
});

describe('a failed WAL close passes down the chain of newer files', () => {
  it('two switches while the oldest close hangs: when it fails, both newer files are taken back', async () => {
    const fs = new FaultFileSystem(new MemFileSystem());
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', syncPolicy: 'always' });
    const model: Model = new Map([[key(0), 'v1']]);
    const flushes: Promise<unknown>[] = [];
    let release = (): void => undefined;
    try {
      await put(engine, key(0), 'v1');
      const held = await switchWithHeldWalClose(engine, fs, dir, key(0), 'v2'); // switch 1: the oldest file's close hangs
      const { oldWal: oldest, a } = held;
      release = held.release;
      flushes.push(held.flushed);
      const b = track(put(engine, key(0), 'v3'));
      await sleep(10);
      flushes.push(engine.flush().catch(() => undefined)); // switch 2: the middle file's close waits for the oldest
      expect(fs.list(`${dir}/wal`).length).toBe(3);
      const c = track(put(engine, key(0), 'v4'));
      await sleep(10);
      expect([a.state, b.state, c.state]).toEqual(['pending', 'pending', 'pending']);
      fs.injectFault((op, path) => (op === 'sync' && path.endsWith(`/${oldest}`) ? systemError('EIO', 'fdatasync', path) : undefined));
      release();
      await Promise.allSettled([a.promise, b.promise, c.promise]);
      expect([a.state, b.state, c.state]).toEqual(['rejected', 'rejected', 'rejected']);
      expect(getString(engine, key(0))).toBe('v1');
      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      fs.injectFault(undefined);
      fs.beforeSync(undefined);
      release();
      await Promise.all(flushes);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, { backgroundExecutor: 'inline' }, model, 'none of A, B, C after reopen');
  });
});

/**
 * Writes `count` puts one after another without waiting for acknowledgements
 * (each write's effects are visible at once); returns the tracked promises.
 */
function writeMany(engine: LsmEngine, model: Model, from: number, count: number, version: number, bytes: number): Tracked<unknown>[] {
  const writes: Tracked<unknown>[] = [];
  for (let index = from; index < from + count; index++) {
    const v = value(key(index), version, bytes);
    writes.push(track(put(engine, key(index), v)));
    model.set(key(index), v);
  }
  return writes;
}

/**
 * Writes one at a time, each awaited, until one is refused; returns the
 * acknowledged count, the refusal and the refused key (taken out of `model`).
 */
async function writeUntilRefused(engine: LsmEngine, model: Model, limit: number): Promise<{ acknowledged: number; refused: unknown; refusedKey: string }> {
  for (let index = 0; index < limit; index++) {
    const [write] = writeMany(engine, model, index, 1, 1, 400);
    await write!.promise.catch(() => undefined);
    if (write!.state === 'rejected') {
      model.delete(key(index));
      return { acknowledged: index, refused: write!.error, refusedKey: key(index) };
    }
  }
  throw new Error(`no write was refused in ${limit}`);
}

describe('flush and compaction failures: writes go on while there is room, then are refused', () => {
  it('a full disk for segments (flush fails) refuses writes once the memtables are full, until it heals', async () => {
    const fs = new MemFileSystem();
    const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const record =
      (level: string) =>
      (fields: object, message: string): void => {
        logs.push({ level, message, fields: fields as Record<string, unknown> });
      };
    const logger: EngineLogger = { info: record('info'), warn: record('warn'), error: record('error') };
    const options = memOptions(fs, { memtableBytes: 4096, syncPolicy: 'always', logger });
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    try {
      fs.injectFault((op, path) => ((op === 'open' || op === 'append') && path.startsWith(`${dir}/seg/`) ? systemError('ENOSPC', op, path) : undefined));
      // Writes are accepted while the immutable memtables have room (two 4 KiB memtables' worth).
      const { acknowledged, refused, refusedKey } = await writeUntilRefused(engine, model, 200);
      expect(acknowledged).toBeGreaterThan(8);
      expectWriteStopped(refused, /memtables are full and flushing them fails \(.*ENOSPC/);
      expect(getString(engine, refusedKey), 'a refused write is not applied').toBeUndefined();
      const stats = engine.stats();
      expect(stats.backgroundError).toMatch(/ENOSPC/);
      expect(stats.writeError).toMatch(/memtables are full and flushing them fails/);
      expect(stats.immutableMemtables).toBe(2);
      expect(stats.flushes).toBe(0);

      // Every later write is refused, writeShared() and atomic groups too, and none is applied.
      const shared = await engine.writeShared(batch([[key(900), 'shared']])).then(() => undefined, (error: unknown) => error);
      expectWriteStopped(shared, /flushing them fails/);
      expect(() => engine.beginAtomic()).toThrow(WriteStoppedError);
      expect(getString(engine, key(900))).toBeUndefined();
      // Reads keep working and show every acknowledged write.
      expect(await compareWithModel(engine, model)).toBe('');
      // Across a retry (1 s) that fails again, writes stay refused: none is accepted to stall meanwhile.
      for (const until = Date.now() + 1300; Date.now() < until; ) {
        expectWriteStopped(await put(engine, key(950), 'during the retry').then(() => undefined, (error: unknown) => error), /flushing them fails/);
        expect(engine.stats().backgroundError).toMatch(/ENOSPC/);
        await sleep(10);
      }
      expect(engine.stats().flushes).toBe(0);

      // The flush was retried at least once and failed the same way: logged once, not once a second.
      const flushFailures = logs.filter((log) => log.level === 'error' && /^flush (failed|still fails)/.test(log.message));
      expect(flushFailures.map((log) => log.message)).toEqual(['flush failed; retrying every 1000 ms']);

      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs), 'writes resume once a flush succeeds').toBe(true);
      expect(engine.stats().flushes).toBeGreaterThan(0);
      const healed = logs.filter((log) => log.message === 'flush and compaction work again');
      expect(healed).toHaveLength(1);
      expect(healed[0]!.fields.failedRetries).toBeGreaterThanOrEqual(1);
      await Promise.all(writeMany(engine, model, 1000, 20, 1, 400).map((write) => write.promise));
      await engine.flush();
      expect(engine.stats().backgroundError).toBeUndefined();
      expect(await compareWithModel(engine, model)).toBe('');
      await expectLsmReopenHolds(dir, crashCloneOf(fs, dir), options, model, 'crash clone after the flush recovered');
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
  });

  it('a failing compaction refuses writes once level 0 is full, and they resume when it succeeds', async () => {
    const fs = new MemFileSystem();
    const options = memOptions(fs, { memtableBytes: 4096, level0CompactionTrigger: 2, syncPolicy: 'always' });
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    try {
      // Only compaction outputs fail (the compactor's frames on the stack tell them from flushes).
      fs.injectFault((op, path) => (op === 'open' && path.startsWith(`${dir}/seg/`) && /compactInputs|OutputSet/.test(new Error().stack ?? '') ? systemError('ENOSPC', 'open', path) : undefined));
      const { acknowledged, refused } = await writeUntilRefused(engine, model, 5000);
      expectWriteStopped(refused, /level 0 is full and compacting it fails \(.*ENOSPC/);
      expect(acknowledged).toBeGreaterThan(20);
      expect(engine.stats().levels[0]!.segments).toBeGreaterThanOrEqual(20);
      expect(await compareWithModel(engine, model)).toBe('');
      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs), 'writes resume once a compaction succeeds').toBe(true);
      await put(engine, key(9999), 'after');
      model.set(key(9999), 'after');
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
  });

  it('a failing compaction reports backgroundError, keeps reads correct and clears after healing', async () => {
    const fs = new MemFileSystem();
    const options = memOptions(fs, { memtableBytes: 4096, level0CompactionTrigger: 2, syncPolicy: 'always' });
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    let compactionOpens = 0;
    try {
      // Only compaction outputs fail: flushes use the same directory, so the
      // compactor's frames on the stack tell them apart.
      fs.injectFault((op, path) => {
        if (op !== 'open' || !path.startsWith(`${dir}/seg/`)) return undefined;
        if (!/compactInputs|OutputSet/.test(new Error().stack ?? '')) return undefined;
        compactionOpens++;
        return systemError('ENOSPC', 'open', path);
      });
      const writes: Tracked<unknown>[] = [];
      let next = 0;
      // Keep writing (overwrites too) until a compaction has failed.
      const failedInTime = await waitFor(
        () => {
          writes.push(...writeMany(engine, model, next % 150, 5, next, 300));
          next += 5;
          return engine.stats().backgroundError !== undefined;
        },
        5000,
        5,
      );
      expect(failedInTime, 'a compaction ran and failed').toBe(true);
      expect(compactionOpens).toBeGreaterThan(0);
      expect(engine.stats().backgroundError).toMatch(/ENOSPC/);
      expect(engine.stats().compactions).toBe(0);
      expect(engine.stats().writeError).toBeUndefined();
      for (const write of writes) expect(write.state).not.toBe('rejected');
      expect(await compareWithModel(engine, model)).toBe('');

      // Across a retry (1 s) that fails again, reads stay correct.
      writes.push(...writeMany(engine, model, 200, 30, 1, 300));
      await sleep(1200);
      for (const write of writes) expect(write.state).not.toBe('rejected');
      expect(await compareWithModel(engine, model)).toBe('');
      expect(engine.stats().compactions).toBe(0);

      fs.injectFault(undefined);
      expect(
        await waitFor(() => engine.stats().backgroundError === undefined && engine.stats().compactions > 0, healWithinMs + 1000),
        'compaction succeeds after healing',
      ).toBe(true);
      await Promise.all(writes.map((write) => write.promise));
      await engine.compactRange();
      expect(engine.stats().backgroundError).toBeUndefined();
      expect(await compareWithModel(engine, model)).toBe('');
      await expectLsmReopenHolds(dir, crashCloneOf(fs, dir), options, model, 'crash clone after compaction recovered');
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
  });
});

describe('manifest failures', () => {
  for (const operation of ['append', 'sync'] as const) {
    it(`a failed manifest ${operation} is retried on a new manifest and loses nothing`, async () => {
      const fs = new MemFileSystem();
      const options = memOptions(fs, { memtableBytes: 4096, syncPolicy: 'always' });
      const engine = await LsmEngine.open(dir, options);
      const model: Model = new Map();
      const manifests = (): string[] => fs.list(dir).filter((name) => name.startsWith('MANIFEST-'));
      try {
        for (let index = 0; index < 10; index++) {
          await put(engine, key(index), value(key(index), 1));
          model.set(key(index), value(key(index), 1));
        }
        const manifestBefore = manifests();
        expect(manifestBefore).toHaveLength(1);
        fs.injectFault((op, path) => (op === operation && path.startsWith(`${dir}/MANIFEST-`) ? systemError('EIO', op, path) : undefined));
        const writes: Tracked<unknown>[] = [];
        let next = 0;
        const failedInTime = await waitFor(
          () => {
            writes.push(...writeMany(engine, model, next % 100, 3, next, 300));
            next += 3;
            return engine.stats().backgroundError !== undefined;
          },
          5000,
          5,
        );
        expect(failedInTime, 'a flush reached the manifest and failed').toBe(true);
        expect(engine.stats().backgroundError).toMatch(/EIO|manifest/i);
        expect(engine.stats().writeError).toBeUndefined();
        expect(engine.stats().flushes).toBe(0);
        for (const write of writes) expect(write.state).not.toBe('rejected');
        expect(await compareWithModel(engine, model)).toBe('');

        // A retry while the fault lasts fails to start a new manifest; reads stay correct.
        await sleep(1200);
        expect(engine.stats().backgroundError).toBeDefined();
        expect(await compareWithModel(engine, model)).toBe('');

        fs.injectFault(undefined);
        expect(
          await waitFor(() => engine.stats().backgroundError === undefined && engine.stats().flushes > 0, healWithinMs + 1000),
          'flush succeeds on a new manifest after healing',
        ).toBe(true);
        await Promise.all(writes.map((write) => write.promise));
        expect(manifests()).not.toContain(manifestBefore[0]);
        await engine.flush();
        expect(await compareWithModel(engine, model)).toBe('');
        await expectLsmReopenHolds(dir, crashCloneOf(fs, dir), options, model, 'crash clone after the manifest recovered');
      } finally {
        fs.injectFault(undefined);
        await engine.close();
      }
      await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
    });
  }
});

describe('a flush whose sync of the segment directory fails', () => {
  it('fails with that I/O error, leaves no file behind, and flushes once the disk heals', async () => {
    const fs = new MemFileSystem();
    const options = memOptions(fs, { disableAutoCompaction: true });
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map([['k', 'v']]);
    try {
      await put(engine, 'k', 'v');
      fs.injectFault((op, path) => (op === 'sync' && path === `${dir}/seg` ? systemError('EIO', 'fsync', path) : undefined));
      const failure = await engine.flush().then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failure?.name).not.toBe('AssertionError');
      expect(failure?.message).toMatch(/EIO/);
      expect(engine.get(Buffer.from('k'))?.toString()).toBe('v');
      fs.injectFault(undefined);
      // The retry (1 s) flushes the memtable again.
      expect(await waitFor(() => engine.stats().backgroundError === undefined, healWithinMs)).toBe(true);
      await engine.flush();
      expect(fs.list(`${dir}/seg`)).toHaveLength(1);
      expect(await compareWithModel(engine, model)).toBe('');
    } finally {
      fs.injectFault(undefined);
      await engine.close();
    }
    await expectLsmReopenHolds(dir, fs, options, model, 'reopen after close');
  });
});

// A flush whose manifest sync fails keeps its segment until a manifest that
// does not name it is current, even when an older version pinned by an
// iterator is released in between (as a compaction's outputs, above).
describe('a flush whose manifest sync fails, with an older version pinned', () => {
  it('keeps its segment until a manifest without it is current', async () => {
    const fs = new MemFileSystem();
    const options = memOptions(fs, { memtableBytes: 1 << 20, disableAutoCompaction: true, syncPolicy: 'always' });
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    let iterator: { close(): void } | undefined;
    try {
      for (let round = 0; round < 2; round++) {
        for (let index = 0; index < 50; index++) {
          const k = key(index);
          model.set(k, value(k, round));
          await put(engine, k, value(k, round));
        }
        if (round === 0) {
          await engine.flush();
          iterator = engine.iteratorSync(); // pins the version after round 0
          await put(engine, 'other', 'x');
          model.set('other', 'x');
          await engine.flush(); // a newer version: the pinned one is no longer current
        }
      }
      const segmentsBefore = new Set(fs.list(`${dir}/seg`));
      fs.injectFault((op, path) => (op === 'sync' && path.includes('/MANIFEST-') ? systemError('EIO', 'fdatasync', path) : undefined));
      await expect(engine.flush()).rejects.toThrow();
      const outputs = fs.list(`${dir}/seg`).filter((name) => !segmentsBefore.has(name));
      expect(outputs.length, 'the failed flush wrote its segment').toBeGreaterThan(0);
      iterator!.close();
      iterator = undefined;
      await sleep(20);
      const killed = fs.killClone();
      killed.unlink(`${dir}/LOCK`);
      expect.soft(outputs.filter((name) => !killed.exists(`${dir}/seg/${name}`)), 'segment deleted while the manifest may name it').toEqual([]);
      await expectLsmReopenHolds(dir, killed, options, model, 'reopened on the manifest holding the flush edit');
    } finally {
      iterator?.close();
      fs.injectFault(undefined);
      await engine.close().catch(() => undefined);
    }
  });
});

describe('a checkpoint that fails half-way', () => {
  it('leaves no directory behind, and the next one succeeds', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open(dir, memOptions(fs, { syncPolicy: 'always' }));
    try {
      await put(engine, key(0), value(key(0), 1));
      await engine.flush();
      await put(engine, key(1), value(key(1), 1));
      // The copy of the live WAL file fails (a full disk): segments are linked, CHECKPOINT not written.
      fs.injectFault((op, path) => (op === 'write' && path.startsWith('/checkpoint/wal/') ? systemError('ENOSPC', 'write', path) : undefined));
      await expect(engine.checkpoint('/checkpoint')).rejects.toThrow(/ENOSPC/);
      expect(fs.exists('/checkpoint'), 'a half-made checkpoint is removed').toBe(false);
      fs.injectFault(undefined);
      const info = await engine.checkpoint('/checkpoint');
      expect(info.dir).toBe('/checkpoint');
      expect(fs.exists('/checkpoint/CHECKPOINT')).toBe(true);
      const copy = await LsmEngine.open('/checkpoint', { fs, backgroundExecutor: 'inline', readOnly: true });
      try {
        expect(getString(copy, key(0))).toBe(value(key(0), 1));
        expect(getString(copy, key(1))).toBe(value(key(1), 1));
      } finally {
        await copy.close();
      }
    } finally {
      fs.injectFault(undefined);
      await engine.close().catch(() => undefined);
    }
  });
});

describe('a new WAL file that cannot be created', () => {
  it('stops writes with an error that names the file once', async () => {
    const fs = new MemFileSystem();
    const engine = await LsmEngine.open(dir, memOptions(fs, { memtableBytes: 4096, syncPolicy: 'always' }));
    try {
      const walsBefore = new Set(fs.list(`${dir}/wal`));
      fs.injectFault((op, path) => (op === 'open' && path.startsWith(`${dir}/wal/`) && !walsBefore.has(path.slice(`${dir}/wal/`.length)) ? systemError('ENOSPC', 'open', path) : undefined));
      // Fill the memtable until it switches to a new WAL file, which fails.
      let refused: unknown;
      for (let index = 0; index < 500 && refused === undefined; index++) {
        refused = await put(engine, key(index), value(key(index), 1, 100)).then(() => undefined, (error: unknown) => error);
      }
      expect(refused).toBeInstanceOf(WriteStoppedError);
      const reason = engine.stats().writeError ?? '';
      expect(reason).toMatch(/Cannot create WAL file "\/db\/wal\/\d{6}\.log": ENOSPC/);
      expect(reason.match(/Cannot create WAL file/g)).toHaveLength(1);
    } finally {
      fs.injectFault(undefined);
      await engine.close().catch(() => undefined);
    }
  });
});
