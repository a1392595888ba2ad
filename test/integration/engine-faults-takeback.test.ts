// LsmEngine's take-back of newer WAL files when an older file's close fails
// (#retireWal, WalWriter.takeBackAll), at its edges: an engine close, a
// write made in the microtasks right after the failure, a cut (truncate)
// that fails too, a checkpoint. Each case once let a refused write survive,
// or let a write that read a refused one be acknowledged (a review of the
// first version of the take-back); engine-faults.test.ts has the plain cases.
//
// Known limit, not tested: when a file already retired behind the failed one
// cannot be cut either (ftruncate fails too), its close gives up and the file
// keeps the refused records; they replay if the process stops before that
// memtable is flushed (the flush retires the file). Two failures of the disk
// in a row; docs/format.md says so.

import { describe, expect, it } from 'vitest';
import type { EngineOptions } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { MemFileSystem, systemError } from '../../lib/fs/mem-file-system.js';
import { FaultFileSystem } from '../support/fault-file-system.js';
import { compareWithModel, crashCloneOf, expectLsmReopenHolds, getString, put, sleep, switchWithHeldWalClose, track, waitFor, type Model } from '../support/engine-test-helpers.js';

const dir = '/db';
const healWithinMs = 2500;

function key(index: number): string {
  return `key${String(index).padStart(5, '0')}`;
}



const eio = (path: string, call: string): Error => systemError('EIO', call, path);

describe('engine close while an older WAL close hangs', () => {
  it('writes and switches are refused once close() begins, so nothing lands in a file that closes before it could be taken back', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', syncPolicy: 'always' });
    const model: Model = new Map([[key(0), 'v1']]);
    let release = (): void => undefined;
    const pending: Promise<unknown>[] = [];
    try {
      await put(engine, key(0), 'v1');
      const held = await switchWithHeldWalClose(engine, fs, dir, key(0), 'v2'); // switch 1: A's close hangs
      const { oldWal: oldest, a } = held;
      release = held.release;
      pending.push(held.flushed);
      const b = track(put(engine, key(0), 'v3'));
      await sleep(10);
      const closing = track(engine.close()); // awaits #walPredecessor before closing #wal
      pending.push(engine.flush().catch(() => undefined)); // refused: no switch during close()
      const c = track(put(engine, key(0), 'v4')); // refused: the engine is closing
      await sleep(10);
      fs.injectFault((op, path) => (op === 'sync' && path.endsWith(`/${oldest}`) ? eio(path, 'fdatasync') : undefined));
      release();
      await Promise.allSettled([a.promise, b.promise, c.promise, closing.promise]);
      await sleep(50);
      expect([a.state, b.state, c.state]).toEqual(['rejected', 'rejected', 'rejected']);
      expect.soft(unhandled.map(String), 'no unhandled rejection (Node exits on one)').toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      fs.injectFault(undefined);
      fs.beforeSync(undefined);
      release();
      await Promise.all(pending);
      await engine.close().catch(() => undefined);
    }
    await expectLsmReopenHolds(dir, mem, { backgroundExecutor: 'inline' }, model, 'C (v4) was refused: it must not come back');
  });
});

describe('a write made in the microtasks right after a take-back', () => {
  it('a write made when engine.sync() rejects (B taken back) is refused: it may have read B', async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const options: EngineOptions = { fs, backgroundExecutor: 'inline', syncPolicy: 'always' };
    const engine = await LsmEngine.open(dir, options);
    let releaseA = (): void => undefined;
    let releaseB = (): void => undefined;
    const pending: Promise<unknown>[] = [];
    let seen: string | undefined;
    let dependent: ReturnType<typeof track<unknown>> | undefined;
    try {
      await put(engine, key(0), 'v1');
      await engine.sync();
      const [oldWal] = fs.list(`${dir}/wal`);
      const gateA = new Promise<void>((resolve) => (releaseA = resolve));
      const gateB = new Promise<void>((resolve) => (releaseB = resolve));
      fs.beforeSync((path) => (path.endsWith(`/${oldWal}`) ? gateA : path.startsWith(`${dir}/wal/`) ? gateB : Promise.resolve()));
      const a = track(put(engine, key(0), 'v2')); // its fdatasync hangs
      await new Promise((resolve) => setImmediate(resolve));
      pending.push(engine.flush().catch(() => undefined)); // the switch: A's close hangs
      const b = track(put(engine, key(0), 'v3')); // into B, held back by A's close
      await sleep(10);
      // A client syncs; when that fails, it reads key0 and writes what it read (a read-modify-write).
      const synced = engine.sync().catch(() => {
        seen = getString(engine, key(0));
        dependent = track(put(engine, key(1), `copy of ${seen}`));
      });
      await sleep(10);
      fs.injectFault((op, path) => (op === 'sync' && path.endsWith(`/${oldWal}`) ? eio(path, 'fdatasync') : undefined));
      releaseA();
      await sleep(20);
      releaseB();
      await synced;
      await Promise.allSettled([a.promise, b.promise, dependent?.promise]);
      expect([a.state, b.state], 'A and B are refused').toEqual(['rejected', 'rejected']);
      expect(dependent, 'the client wrote after sync() failed').toBeDefined();
      if (dependent!.state === 'fulfilled') {
        expect.soft(seen, 'an acknowledged write read the refused B').not.toBe('v3');
      }
    } finally {
      fs.injectFault(undefined);
      fs.beforeSync(undefined);
      releaseA();
      releaseB();
      await Promise.all(pending);
      await engine.close();
    }
    const reopened = await LsmEngine.open(dir, { fs: mem, backgroundExecutor: 'inline' });
    try {
      expect(getString(reopened, key(0))).toBe('v1');
      expect(getString(reopened, key(1)), 'an acknowledged write that copied the refused B survives a reopen').not.toBe('copy of v3');
    } finally {
      await reopened.close();
    }
  });
});

describe('a take-back whose cut (truncate) fails', () => {
  it('the newer file is #wal: its cut, repeated by the retry, is fdatasynced, so a crash does not replay the refused batch', async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const options: EngineOptions = { fs, backgroundExecutor: 'inline', syncPolicy: 'always' };
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map([[key(0), 'v1']]);
    let release = (): void => undefined;
    const pending: Promise<unknown>[] = [];
    try {
      await put(engine, key(0), 'v1');
      const held = await switchWithHeldWalClose(engine, fs, dir, key(0), 'v2'); // A's close hangs
      const { oldWal, a } = held;
      release = held.release;
      pending.push(held.flushed);
      const newWal = fs.list(`${dir}/wal`).find((name) => name !== oldWal)!;
      const b = track(put(engine, key(0), 'v3'));
      await sleep(10); // B is written and fdatasynced in the new file
      fs.injectFault((op, path) =>
        op === 'sync' && path.endsWith(`/${oldWal}`) ? eio(path, 'fdatasync') : op === 'truncate' && path.endsWith(`/${newWal}`) ? eio(path, 'ftruncate') : undefined,
      );
      release();
      await Promise.allSettled([a.promise, b.promise]);
      expect([a.state, b.state]).toEqual(['rejected', 'rejected']);
      await sleep(20); // the take-back's fdatasync (of the uncut file) ends
      fs.injectFault(undefined);
      expect(await waitFor(() => engine.stats().writeError === undefined, healWithinMs)).toBe(true);
      await put(engine, key(1), 'after');
      model.set(key(1), 'after');
      expect(await compareWithModel(engine, model)).toBe('');
      await expectLsmReopenHolds(dir, crashCloneOf(mem, dir), options, model, 'a crash now must not bring back the refused B');
    } finally {
      fs.injectFault(undefined);
      fs.beforeSync(undefined);
      release();
      await Promise.all(pending);
      await engine.close();
    }
  });
});

describe('a checkpoint taken while an older WAL close hangs', () => {
  it('waits for that close, and fails with it: it never holds batch B, which is refused', async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const options: EngineOptions = { fs, backgroundExecutor: 'inline', syncPolicy: 'always' };
    const engine = await LsmEngine.open(dir, options);
    let release = (): void => undefined;
    const pending: Promise<unknown>[] = [];
    let made = false;
    try {
      await put(engine, key(0), 'v1');
      const held = await switchWithHeldWalClose(engine, fs, dir, key(0), 'v2'); // A's close hangs
      const { oldWal, a } = held;
      release = held.release;
      pending.push(held.flushed);
      const b = track(put(engine, key(0), 'v3'));
      await sleep(10);
      const checkpoint = track(engine.checkpoint('/checkpoint'));
      await sleep(10);
      fs.injectFault((op, path) => (op === 'sync' && path.endsWith(`/${oldWal}`) ? eio(path, 'fdatasync') : undefined));
      release();
      await Promise.allSettled([a.promise, b.promise, checkpoint.promise]);
      expect([a.state, b.state], 'A and B are refused').toEqual(['rejected', 'rejected']);
      expect(checkpoint.state, 'the checkpoint fails with the older file').toBe('rejected');
      made = checkpoint.state === 'fulfilled';
    } finally {
      fs.injectFault(undefined);
      fs.beforeSync(undefined);
      release();
      await Promise.all(pending);
      await engine.close();
    }
    if (!made) return;
    const copy = await LsmEngine.open('/checkpoint', { fs: mem, backgroundExecutor: 'inline', readOnly: true });
    try {
      expect(getString(copy, key(0)), 'the checkpoint must not hold the refused B').toBe('v1');
    } finally {
      await copy.close();
    }
  });
});
