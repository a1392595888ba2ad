// WalWriter: group commit, sync policies, failure handling, crash safety.
// Strategy: a ControlledFileSystem over MemFileSystem counts FileHandle.append
// and sync calls and can hold fdatasyncs, so each test observes exactly
// which promise resolves before and after which system call. Invariants:
// one append call per event-loop turn; under 'always' no promise resolves
// before an fdatasync covering it and at most one fdatasync is in flight;
// a failure rejects exactly the unacknowledged appends and cuts their
// bytes; every resolved 'always' append survives a crash.

import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ClosedError, IoError, LimitExceededError } from '../../../lib/errors.js';
import { batchOpsMax } from '../../../lib/limits.js';
import { MemFileSystem, systemError } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import type { FileSystem } from '../../../lib/fs/file-system.js';
import { encodeRecord } from '../../../lib/format/record-framing.js';
import { WalRecordType, encodeBatch, encodeHeader, walFilePath, type WalBatch } from '../../../lib/wal/wal-format.js';
import { readWalFile } from '../../../lib/wal/wal-reader.js';
import { WalWriter, spliceValueBytesMin, type WalWriterOptions } from '../../../lib/wal/wal-writer.js';
import { ControlledFileSystem, del, nextTurn, put, track, turns } from './wal-test-support.js';

const walPath = walFilePath('data', 12);
const headerBytes = 25;

function setUp(options: Partial<WalWriterOptions> = {}): { fs: ControlledFileSystem; wal: WalWriter } {
  const fs = new ControlledFileSystem();
  fs.mkdir('data/wal');
  const wal = WalWriter.create(fs, walPath, 12, { syncPolicy: 'always', ...options });
  return { fs, wal };
}

function payload(sequence: number, key = `key-${sequence}`): Buffer {
  return encodeBatch(sequence, 1_700_000_000_000 + sequence, [put(key, `value-${sequence}`)]);
}

function readBatches(fs: FileSystem, file = walPath): WalBatch[] {
  const batches: WalBatch[] = [];
  readWalFile(fs, file, { mode: 'strict', isNewest: true, onBatch: (batch) => batches.push(batch) });
  return batches;
}

function sequences(fs: FileSystem, file = walPath): number[] {
  return readBatches(fs, file).map((batch) => batch.sequence);
}

describe('WalWriter.create', () => {
  test('writes a header record and makes it durable with its directory entry', () => {
    const { fs, wal } = setUp();
    expect(wal.path).toBe(walPath);
    expect(wal.fileNumber).toBe(12);
    expect(wal.writtenBytes).toBe(headerBytes);
    expect(wal.syncedBytes).toBe(headerBytes);
    expect(fs.inner.readFile(walPath)).toEqual(encodeRecord(WalRecordType.header, encodeHeader(12)));
    const crashed = fs.inner.crashClone();
    const result = readWalFile(crashed, walPath, { mode: 'strict', isNewest: true });
    expect(result.header).toEqual({ formatVersion: 2, fileNumber: 12 });
    expect(result.kind).toBe('clean');
    void wal.close();
  });

  test('refuses an existing file with IoError', () => {
    const { fs, wal } = setUp();
    expect(() => WalWriter.create(fs, walPath, 12, { syncPolicy: 'no' })).toThrow(IoError);
    void wal.close();
  });

  test('a failed header write leaves no file behind and throws IoError naming it', () => {
    const fs = new MemFileSystem();
    fs.mkdir('data/wal');
    fs.injectFault((operation) => (operation === 'append' ? systemError('ENOSPC', 'write', walPath) : undefined));
    expect(() => WalWriter.create(fs, walPath, 12, { syncPolicy: 'always' })).toThrow(/^Cannot create WAL file "data\/wal\/000012\.log": ENOSPC/);
    fs.injectFault(undefined);
    expect(fs.exists(walPath)).toBe(false);
  });
});

describe('WalWriter group commit', () => {
  test('appends of one turn share one append call and, under always, one fdatasync', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    const appendsBefore = fs.appendCount(walPath);
    const syncsBefore = fs.syncCount(walPath);
    const pending = Array.from({ length: 100 }, (_, index) => wal.append(payload(index + 1)));
    expect(fs.appendCount(walPath)).toBe(appendsBefore);
    await Promise.all(pending);
    expect(fs.appendCount(walPath) - appendsBefore).toBe(1);
    expect(fs.syncCount(walPath) - syncsBefore).toBe(1);
    expect(wal.stats).toMatchObject({ groupWrites: 1, syncs: 1 });
    expect(sequences(fs.inner)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    await wal.close();
  });

  test('appends of different turns are written separately, in order', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    const first = wal.append(payload(1));
    await nextTurn();
    const second = wal.append(payload(2));
    const third = wal.append(payload(3));
    await Promise.all([first, second, third]);
    expect(fs.appendCount(walPath)).toBe(1 + 2);
    expect(fs.syncCount(walPath)).toBe(0);
    expect(sequences(fs.inner)).toEqual([1, 2, 3]);
    await wal.close();
  });

  test('appendBatch writes the same record as append(encodeBatch())', async () => {
    const a = setUp({ syncPolicy: 'no' });
    const b = setUp({ syncPolicy: 'no' });
    const ops = [put('k', 'v'), del('d'), put('', '')];
    await Promise.all([a.wal.append(encodeBatch(5, 6, ops)), a.wal.append(payload(8))]);
    await Promise.all([b.wal.appendBatch(5, 6, ops), b.wal.appendBatch(8, 1_700_000_000_008, [put('key-8', 'value-8')])]);
    expect(b.fs.inner.readFile(walPath)).toEqual(a.fs.inner.readFile(walPath));
    await Promise.all([a.wal.close(), b.wal.close()]);
  });

  test('values of spliceValueBytesMin or more are written from the caller\'s buffer: the same bytes, fewer copies', async () => {
    const a = setUp({ syncPolicy: 'no' });
    const b = setUp({ syncPolicy: 'no' });
    const big = (fill: number, extra: number): Buffer => Buffer.alloc(spliceValueBytesMin + extra, fill);
    // Two large values in one batch, small ops around them, and records before and after in the same turn.
    const ops = [put('a', 'small'), { type: 'put' as const, key: Buffer.from('big-1'), value: big(1, 0) }, del('d'), { type: 'put' as const, key: Buffer.from('big-2'), value: big(2, 7) }, put('z', 'tail')];
    const last = [{ type: 'put' as const, key: Buffer.from('big-3'), value: big(3, 1) }];
    await Promise.all([a.wal.append(payload(1)), a.wal.append(encodeBatch(5, 6, ops)), a.wal.append(encodeBatch(10, 11, last))]);
    const appendsBefore = b.fs.appendCount(walPath);
    await Promise.all([b.wal.append(payload(1)), b.wal.appendBatch(5, 6, ops), b.wal.appendBatch(10, 11, last)]);
    expect(b.fs.inner.readFile(walPath).equals(a.fs.inner.readFile(walPath)), 'the file holds the same bytes').toBe(true);
    expect(b.fs.appendCount(walPath) - appendsBefore, 'one write per part: 3 values and the 4 parts of the buffer around them').toBe(7);
    expect(b.wal.writtenBytes).toBe(a.wal.writtenBytes);
    expect(readBatches(b.fs.inner).map((batch) => batch.ops.length)).toEqual([1, 5, 1]);
    await Promise.all([a.wal.close(), b.wal.close()]);
  });

  test('a write that fails between the parts of a spliced record is cut back, and rejects the turn', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    await wal.append(payload(1));
    const good = wal.writtenBytes;
    let appends = 0;
    // The first part (the record's head) is written, the large value is not.
    fs.inner.injectFault((operation, file) => (operation === 'append' && file === walPath && ++appends === 2 ? systemError('ENOSPC', 'write', walPath) : undefined));
    const failed = wal.appendBatch(2, 3, [{ type: 'put', key: Buffer.from('big'), value: Buffer.alloc(spliceValueBytesMin, 9) }]);
    await expect(failed).rejects.toBeInstanceOf(IoError);
    expect(wal.writtenBytes).toBe(good);
    expect(fs.inner.stat(walPath).size).toBe(good);
    fs.inner.injectFault(undefined);
    await wal.appendBatch(4, 5, [{ type: 'put', key: Buffer.from('big'), value: Buffer.alloc(spliceValueBytesMin, 8) }]);
    expect(sequences(fs.inner)).toEqual([1, 4]);
    expect(readBatches(fs.inner)[1]!.ops[0]).toMatchObject({ type: 'put', value: Buffer.alloc(spliceValueBytesMin, 8) });
    await wal.close();
  });

  test('the payload is copied at once, so the caller may reuse it', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    const buffer = payload(1);
    const done = wal.append(buffer);
    buffer.fill(0);
    await done;
    expect(sequences(fs.inner)).toEqual([1]);
    await wal.close();
  });

  test('a turn larger than the initial buffer grows it and still writes once', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    const big = encodeBatch(1, 1, [put('big', 'x'.repeat(200_000))]);
    await Promise.all([wal.append(payload(0)), wal.append(big), wal.append(payload(2))]);
    expect(fs.appendCount(walPath)).toBe(2);
    expect(sequences(fs.inner)).toEqual([0, 1, 2]);
    await Promise.all([wal.append(payload(3))]);
    expect(sequences(fs.inner)).toEqual([0, 1, 2, 3]);
    await wal.close();
  });

  test('a record over the limit is rejected with LimitExceededError and nothing is written', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no', recordBytesMax: 100 });
    await expect(wal.append(Buffer.alloc(101))).rejects.toBeInstanceOf(LimitExceededError);
    await expect(wal.appendBatch(1, 1, [put('k', 'v'.repeat(200))])).rejects.toBeInstanceOf(LimitExceededError);
    // More ops than replay reads back in one record (checkBatch): refused too, however small.
    const one = del('k');
    const tooMany = Array.from({ length: batchOpsMax + 1 }, () => one);
    await expect(wal.appendBatch(1, 1, tooMany)).rejects.toThrow(`Cannot append a batch of ${batchOpsMax + 1} operations to "${walPath}": the limit is ${batchOpsMax}`);
    expect(wal.writtenBytes).toBe(headerBytes);
    expect(fs.appendCount(walPath)).toBe(1);
    await wal.close();
  });
});

describe('WalWriter sync policy always', () => {
  test('a promise does not resolve before its fdatasync completes', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    fs.holdSyncs = true;
    const first = track(wal.append(payload(1)));
    await turns(3);
    expect(wal.writtenBytes).toBeGreaterThan(headerBytes);
    expect(fs.heldSyncs.length).toBe(1);
    expect(first.settled).toBe(false);
    fs.releaseSync();
    await first.promise;
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    fs.holdSyncs = false;
    await wal.close();
  });

  test('appends during an fdatasync are written at once and share the next one (pipelined)', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    fs.holdSyncs = true;
    const group1 = [track(wal.append(payload(1))), track(wal.append(payload(2)))];
    await nextTurn();
    expect(fs.syncCount(walPath)).toBe(1);
    const group2 = [track(wal.append(payload(3)))];
    await nextTurn();
    const group3 = [track(wal.append(payload(4))), track(wal.append(payload(5)))];
    await nextTurn();
    // Written, but still one fdatasync in flight.
    expect(fs.appendCount(walPath)).toBe(1 + 3);
    expect(fs.syncCount(walPath)).toBe(1);
    expect(sequences(fs.inner)).toEqual([1, 2, 3, 4, 5]);

    fs.releaseSync();
    await group1[1]!.promise;
    await nextTurn();
    expect(group1.every((state) => state.settled)).toBe(true);
    expect([...group2, ...group3].some((state) => state.settled)).toBe(false);
    // The next fdatasync started at once and covers groups 2 and 3.
    expect(fs.syncCount(walPath)).toBe(2);
    expect(fs.heldSyncs.length).toBe(1);
    fs.releaseSync();
    await Promise.all([...group2, ...group3].map((state) => state.promise));
    expect(fs.syncCount(walPath)).toBe(2);
    fs.holdSyncs = false;
    await wal.close();
  });

  test('writers an fdatasync releases append again in time to share the next one with the groups that waited', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    fs.holdSyncs = true;
    // Writer A appends once and, like a writer in a loop, appends again as
    // soon as its record is durable; writer B's append lands while A's
    // fdatasync runs.
    let again: ReturnType<typeof track<void>> | undefined;
    const first = track(
      wal.append(payload(1)).then(() => {
        again = track(wal.append(payload(3)));
      }),
    );
    await nextTurn();
    const waited = track(wal.append(payload(2)));
    await nextTurn();
    expect(fs.syncCount(walPath)).toBe(1);

    fs.releaseSync();
    await first.promise;
    await nextTurn();
    expect(again).toBeDefined();
    // One fdatasync for both: B's group and A's new one. Started when A's
    // first fdatasync ended, it would cover B's only, and A's would wait for
    // a third.
    expect(sequences(fs.inner)).toEqual([1, 2, 3]);
    expect(fs.heldSyncs.length).toBe(1);
    fs.releaseSync();
    await waited.promise;
    await nextTurn();
    expect(again!.settled).toBe(true);
    expect(fs.syncCount(walPath)).toBe(2);
    fs.holdSyncs = false;
    while (fs.heldSyncs.length > 0) fs.releaseSync();
    await wal.close();
  });

  test('never more than one fdatasync in flight under a stream of appends', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    fs.holdSyncs = true;
    const all: Promise<void>[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (let index = 0; index < 5; index++) all.push(wal.append(payload(turn * 5 + index)));
      await nextTurn();
      expect(fs.heldSyncs.length).toBeLessThanOrEqual(1);
      if (turn % 3 === 2 && fs.heldSyncs.length > 0) fs.releaseSync();
    }
    fs.holdSyncs = false;
    while (fs.heldSyncs.length > 0) {
      fs.releaseSync();
      await turns(2);
    }
    await Promise.all(all);
    expect(sequences(fs.inner).length).toBe(100);
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    await wal.close();
  });
});

describe('WalWriter sync policies everysec and no', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('everysec resolves on write and syncs on the timer only when bytes were written', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { fs, wal } = setUp({ syncPolicy: 'everysec', syncIntervalMs: 1000 });
    await Promise.all([wal.append(payload(1)), wal.append(payload(2))]);
    expect(fs.syncCount(walPath)).toBe(0);
    expect(wal.syncedBytes).toBe(headerBytes);
    vi.advanceTimersByTime(999);
    expect(fs.syncCount(walPath)).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fs.syncCount(walPath)).toBe(1);
    await nextTurn();
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    vi.advanceTimersByTime(5000);
    expect(fs.syncCount(walPath)).toBe(1);
    await wal.append(payload(3));
    vi.advanceTimersByTime(1000);
    expect(fs.syncCount(walPath)).toBe(2);
    await wal.close();
  });

  test('everysec timer failures go to onSyncError and cut nothing acknowledged', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const errors: IoError[] = [];
    const { fs, wal } = setUp({ syncPolicy: 'everysec', syncIntervalMs: 100, onSyncError: (error) => errors.push(error) });
    await wal.append(payload(1));
    const written = wal.writtenBytes;
    fs.inner.injectFault((operation, file) => (operation === 'sync' && file === walPath ? systemError('EIO', 'fdatasync', walPath) : undefined));
    vi.advanceTimersByTime(100);
    await nextTurn();
    expect(errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(IoError);
    expect(errors[0]!.errno).toBe('EIO');
    expect(errors[0]!.message).toMatch(/^Cannot sync WAL file "data\/wal\/000012\.log": EIO/);
    expect(wal.failure).toBe(errors[0]);
    expect(wal.writtenBytes).toBe(written);
    expect(sequences(fs.inner)).toEqual([1]);
    fs.inner.injectFault(undefined);
    vi.advanceTimersByTime(100);
    await nextTurn();
    expect(wal.syncedBytes).toBe(written);
    expect(wal.failure).toBeUndefined();
    await wal.close();
  });

  test('no never syncs on its own; sync() forces an fdatasync', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    await wal.append(payload(1));
    expect(fs.syncCount(walPath)).toBe(0);
    await wal.sync();
    expect(fs.syncCount(walPath)).toBe(1);
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    await wal.sync();
    expect(fs.syncCount(walPath)).toBe(1);
    await wal.close();
  });

  test('sync() covers appends of the same turn and shares their write', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    const appended = wal.append(payload(1));
    await wal.sync();
    await appended;
    expect(fs.appendCount(walPath)).toBe(2);
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    expect(wal.writtenBytes).toBeGreaterThan(headerBytes);
    await wal.close();
  });

  test('setSyncPolicy switches between policies live', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    await wal.append(payload(1));
    expect(fs.syncCount(walPath)).toBe(0);
    wal.setSyncPolicy('always');
    expect(wal.syncPolicy).toBe('always');
    await wal.append(payload(2));
    expect(fs.syncCount(walPath)).toBe(1);
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    wal.setSyncPolicy('no');
    await wal.append(payload(3));
    expect(fs.syncCount(walPath)).toBe(1);
    await wal.close();
  });
});

describe('WalWriter failures', () => {
  const enospc = (fs: ControlledFileSystem) =>
    fs.inner.injectFault((operation, file) => (operation === 'append' && file === walPath ? systemError('ENOSPC', 'write', walPath) : undefined));

  test('ENOSPC on write rejects the turn with IoError; healing lets later appends succeed', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    await wal.append(payload(1));
    const good = wal.writtenBytes;
    enospc(fs);
    const failed = [wal.append(payload(2)), wal.append(payload(3))];
    for (const promise of failed) {
      const error = await promise.then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(IoError);
      expect((error as IoError).errno).toBe('ENOSPC');
      expect((error as IoError).message).toMatch(/^Cannot write WAL file "data\/wal\/000012\.log": ENOSPC/);
      expect((error as IoError).cause).toMatchObject({ code: 'ENOSPC' });
    }
    expect(wal.failure).toBeInstanceOf(IoError);
    expect(wal.writtenBytes).toBe(good);
    expect(fs.inner.stat(walPath).size).toBe(good);
    // Still failing: still rejected.
    await expect(wal.append(payload(4))).rejects.toBeInstanceOf(IoError);
    fs.inner.injectFault(undefined);
    await Promise.all([wal.append(payload(5)), wal.append(payload(6))]);
    expect(wal.failure).toBeUndefined();
    expect(sequences(fs.inner)).toEqual([1, 5, 6]);
    await wal.close();
  });

  test('a short write is cut back to the last good size', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    await wal.append(payload(1));
    const good = wal.writtenBytes;
    fs.shortWrite = { path: walPath, bytes: 20 };
    await expect(wal.append(payload(2))).rejects.toBeInstanceOf(IoError);
    expect(fs.inner.stat(walPath).size).toBe(good);
    await wal.append(payload(3));
    expect(sequences(fs.inner)).toEqual([1, 3]);
    await wal.close();
  });

  test('when the cut back fails too, it is repeated before the next write', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    await wal.append(payload(1));
    const good = wal.writtenBytes;
    fs.inner.injectFault((operation) => (operation === 'truncate' ? systemError('EIO', 'ftruncate', walPath) : undefined));
    fs.shortWrite = { path: walPath, bytes: 20 };
    await expect(wal.append(payload(2))).rejects.toBeInstanceOf(IoError);
    expect(fs.inner.stat(walPath).size).toBe(good + 20);
    // The cut still fails: the next append is refused rather than written after garbage.
    await expect(wal.append(payload(3))).rejects.toThrow(/EIO/);
    expect(fs.inner.stat(walPath).size).toBe(good + 20);
    fs.inner.injectFault(undefined);
    await wal.append(payload(4));
    expect(sequences(fs.inner)).toEqual([1, 4]);
    await wal.close();
  });

  test('a failed fdatasync under always rejects everything written after the last good one and cuts it', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    await wal.append(payload(1));
    const synced = wal.syncedBytes;
    fs.holdSyncs = true;
    const inFlight = [track(wal.append(payload(2))), track(wal.append(payload(3)))];
    await nextTurn();
    const waitingForNext = track(wal.append(payload(4)));
    await nextTurn();
    expect(sequences(fs.inner)).toEqual([1, 2, 3, 4]);
    fs.failSync(systemError('EIO', 'fdatasync', walPath));
    await turns(2);
    for (const state of [...inFlight, waitingForNext]) {
      expect(state.settled).toBe(true);
      expect(state.error).toBeInstanceOf(IoError);
      expect((state.error as IoError).message).toMatch(/^Cannot sync WAL file "data\/wal\/000012\.log": EIO/);
    }
    expect(wal.writtenBytes).toBe(synced);
    expect(fs.inner.stat(walPath).size).toBe(synced);
    expect(fs.heldSyncs.length).toBe(0);
    fs.holdSyncs = false;
    await wal.append(payload(5));
    expect(wal.failure).toBeUndefined();
    expect(sequences(fs.inner)).toEqual([1, 5]);
    await wal.close();
  });

  test('a failed sync() under no rejects it but keeps the acknowledged records', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    await wal.append(payload(1));
    fs.inner.injectFault((operation, file) => (operation === 'sync' && file === walPath ? systemError('EIO', 'fdatasync', walPath) : undefined));
    await expect(wal.sync()).rejects.toBeInstanceOf(IoError);
    expect(sequences(fs.inner)).toEqual([1]);
    fs.inner.injectFault(undefined);
    await wal.sync();
    expect(wal.syncedBytes).toBe(wal.writtenBytes);
    await wal.close();
  });
});

describe('WalWriter takeBackAll', () => {
  // LsmEngine takes a newer WAL file back whole when an older file's close
  // refused records (lsm-engine.ts, #retireWal): every record and sync()
  // caller is rejected, the file is cut back to its header even where it was
  // synced, and an fdatasync makes that cut durable.
  test('rejects records synced, in flight and in the turn buffer, cuts to the header, and syncs the cut', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    const synced = track(wal.append(payload(1))); // resolves at the writer: the engine would still hold it back
    await turns(2);
    expect(synced.settled).toBe(true);
    fs.holdSyncs = true;
    const inFlight = track(wal.append(payload(2)));
    await nextTurn();
    expect(fs.heldSyncs.length).toBe(1);
    const waitingForNext = track(wal.append(payload(3)));
    await nextTurn();
    const inTurn = track(wal.append(payload(4)));
    const syncCaller = track(wal.sync());
    const failure = new IoError('an older WAL file failed');
    wal.takeBackAll(failure);
    await nextTurn();
    for (const state of [inFlight, waitingForNext, inTurn, syncCaller]) expect(state.error).toBe(failure);
    expect(wal.writtenBytes).toBe(headerBytes);
    expect(fs.inner.stat(walPath).size).toBe(headerBytes);
    expect(sequences(fs.inner)).toEqual([]);
    // Records 1 and 2 were synced (ControlledFileSystem makes a held sync's bytes durable when it
    // starts): until an fdatasync after the cut, a crash brings them back.
    expect(sequences(fs.inner.crashClone())).toEqual([1, 2]);
    fs.releaseSync(); // the fdatasync that was in flight covers the old size, not the cut
    await turns(2);
    expect(fs.heldSyncs.length, 'a new fdatasync for the cut').toBe(1);
    fs.releaseSync();
    await turns(2);
    expect(sequences(fs.inner.crashClone())).toEqual([]);
    fs.holdSyncs = false;
    await wal.append(payload(5));
    expect(sequences(fs.inner.crashClone())).toEqual([5]);
    await wal.close();
  });

  test('with no fdatasync in flight it starts one for the cut; close() waits for the cut to be durable', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'everysec' });
    await wal.append(payload(1));
    await wal.sync();
    const syncsBefore = fs.syncCount(walPath);
    wal.takeBackAll(new IoError('an older WAL file failed'));
    expect(fs.syncCount(walPath)).toBe(syncsBefore + 1);
    await wal.close();
    expect(sequences(fs.inner.crashClone())).toEqual([]);
  });
});

describe('WalWriter takeBackAll when its cut (truncate) fails', () => {
  for (const policy of ['always', 'everysec'] as const) {
    test(`under ${policy}: the cut, repeated by close(), is fdatasynced, so a crash does not bring the taken-back record back`, async () => {
      const { fs, wal } = setUp({ syncPolicy: policy });
      await wal.append(payload(1));
      await wal.sync(); // record 1 is durable
      fs.inner.injectFault((operation) => (operation === 'truncate' ? systemError('EIO', 'ftruncate', walPath) : undefined));
      const syncsBefore = fs.syncCount(walPath);
      wal.takeBackAll(new IoError('an older WAL file failed'));
      await turns(3);
      expect(fs.syncCount(walPath), 'no fdatasync of the uncut file').toBe(syncsBefore);
      fs.inner.injectFault(undefined);
      await wal.close(); // #repairTail cuts now
      expect(fs.inner.stat(walPath).size, 'the file is cut back').toBe(headerBytes);
      expect(sequences(fs.inner.crashClone()), 'a crash must not bring back the taken-back record 1').toEqual([]);
    });
  }
});

describe('WalWriter close', () => {
  test('writes and syncs what is pending, then refuses appends with ClosedError', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    const pending = [wal.append(payload(1)), wal.append(payload(2))];
    await wal.close();
    await Promise.all(pending);
    expect(fs.appendCount(walPath)).toBe(2);
    expect(sequences(fs.inner.crashClone())).toEqual([1, 2]);
    await expect(wal.append(payload(3))).rejects.toBeInstanceOf(ClosedError);
    await expect(wal.sync()).rejects.toBeInstanceOf(ClosedError);
    await wal.close();
  });

  test('under no, close makes acknowledged records durable', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'no' });
    await wal.append(payload(1));
    const late = wal.append(payload(2));
    await wal.close();
    await late;
    expect(sequences(fs.inner.crashClone())).toEqual([1, 2]);
  });

  test('close waits for the fdatasync in flight', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always' });
    fs.holdSyncs = true;
    const appended = track(wal.append(payload(1)));
    await nextTurn();
    const closed = track(wal.close());
    await turns(2);
    expect(closed.settled).toBe(false);
    fs.holdSyncs = false;
    fs.releaseSync();
    await closed.promise;
    expect(appended.settled).toBe(true);
    expect(appended.error).toBeUndefined();
  });
});

describe('WalWriter crash safety', () => {
  // Strategy: random turns of appends under 'always'; at a random moment take a
  // crash clone that keeps a random prefix of unsynced bytes; every append
  // resolved before the clone must be read back, in order, from the clone.
  // Preallocation chunks from none to one record's worth (so that groups land
  // on synced zeros, unsynced zeros and past the end) to the default.
  test('property: every resolved append under always survives a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom(0, 100, 1024, 1024 * 1024),
        async (turnSizes, crashTurn, seed, preallocateBytes) => {
          const { fs, wal } = setUp({ syncPolicy: 'always', preallocateBytes });
          const resolved = new Set<number>();
          const all: Promise<void>[] = [];
          let sequence = 1;
          let clone: MemFileSystem | undefined;
          let required: number[] = [];
          const crashAt = crashTurn % (turnSizes.length + 1);
          let random = seed;
          const nextRandom = (): number => {
            random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
            return random / 2 ** 31;
          };
          for (let turn = 0; turn < turnSizes.length; turn++) {
            if (turn === crashAt) {
              clone = fs.inner.crashClone({ keepUnsyncedPrefix: true, random: nextRandom });
              required = [...resolved];
            }
            for (let index = 0; index < turnSizes[turn]!; index++) {
              const mine = sequence++;
              all.push(wal.append(payload(mine)).then(() => void resolved.add(mine)));
            }
            await nextTurn();
          }
          await Promise.all(all);
          if (clone === undefined) {
            clone = fs.inner.crashClone({ keepUnsyncedPrefix: true, random: nextRandom });
            required = [...resolved];
          }
          const read: number[] = [];
          readWalFile(clone, walPath, { mode: 'recover', isNewest: true, onBatch: (batch) => read.push(batch.sequence) });
          for (const mine of required) expect(read).toContain(mine);
          expect(read).toEqual([...read].sort((a, b) => a - b));
          await wal.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('WalWriter preallocation', () => {
  // Strategy: small chunks so that every few groups cross one; observe the
  // file's length on the MemFileSystem beneath, and read it back.
  const chunk = 1000;

  async function appendTurns(wal: WalWriter, turns: number, perTurn: number, first = 1): Promise<void> {
    const pending: Promise<void>[] = [];
    for (let turn = 0; turn < turns; turn++) {
      for (let index = 0; index < perTurn; index++) pending.push(wal.append(payload(first + turn * perTurn + index)));
      await nextTurn();
    }
    await Promise.all(pending);
  }

  test('under always, zeros stay written ahead of the records: at least half a chunk, at most a chunk and a half', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always', preallocateBytes: chunk });
    let lengths = 0;
    for (let turn = 0; turn < 40; turn++) {
      await appendTurns(wal, 1, 3, 1 + turn * 3);
      const length = fs.inner.stat(walPath).size;
      const ahead = length - wal.writtenBytes;
      expect(ahead).toBeGreaterThanOrEqual(chunk / 2);
      expect(ahead).toBeLessThanOrEqual(chunk * 1.5);
      expect(wal.stats.preallocatedBytes).toBe(ahead);
      expect(fs.inner.readFile(walPath).subarray(wal.writtenBytes).every((byte) => byte === 0)).toBe(true);
      lengths = length;
    }
    expect(lengths).toBeGreaterThan(3 * chunk); // it grew several times
    // Readers see the records, then preallocated space; the writer's bytes are synced.
    const result = readWalFile(fs.inner, walPath, { mode: 'strict', isNewest: false });
    expect(result).toMatchObject({ kind: 'clean', batches: 120, validBytes: wal.writtenBytes, preallocatedBytes: lengths - wal.writtenBytes });
    expect(readWalFile(fs.inner.crashClone(), walPath, { mode: 'strict', isNewest: false }).batches).toBe(120);
    await wal.close();
    // close() cuts the zeros off.
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes);
    expect(sequences(fs.inner)).toEqual(Array.from({ length: 120 }, (_, index) => index + 1));
  });

  test('everysec and no preallocate nothing; switching to always starts, and a cut back drops the zeros', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'everysec', preallocateBytes: chunk });
    await appendTurns(wal, 5, 4);
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes);
    wal.setSyncPolicy('no');
    await appendTurns(wal, 5, 4, 21);
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes);
    wal.setSyncPolicy('always');
    await appendTurns(wal, 1, 1, 41);
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes + chunk);
    // A failed fdatasync cuts back the unacknowledged record and the zeros with it.
    fs.inner.injectFault((operation) => (operation === 'sync' ? systemError('EIO', 'fdatasync', walPath) : undefined));
    await expect(wal.append(payload(42))).rejects.toThrow(IoError);
    fs.inner.injectFault(undefined);
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes);
    await wal.append(payload(43));
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes + chunk);
    await wal.close();
    expect(sequences(fs.inner)).toEqual([...Array.from({ length: 41 }, (_, index) => index + 1), 43]);
  });

  test('a failed preallocation fails no append: the file keeps its records, loses its zeros, and stops preallocating', async () => {
    const { fs, wal } = setUp({ syncPolicy: 'always', preallocateBytes: chunk });
    await appendTurns(wal, 1, 2);
    let refused = 0;
    fs.inner.injectFault((operation) => (operation === 'preallocate' ? (refused++, systemError('ENOSPC', 'write', walPath)) : undefined));
    await appendTurns(wal, 30, 2, 3); // crosses the preallocated zeros
    expect(refused).toBe(1);
    expect(wal.failure).toBeUndefined();
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes);
    await appendTurns(wal, 5, 2, 63);
    expect(refused).toBe(1);
    expect(fs.inner.stat(walPath).size).toBe(wal.writtenBytes);
    fs.inner.injectFault(undefined);
    await wal.close();
    expect(sequences(fs.inner)).toEqual(Array.from({ length: 72 }, (_, index) => index + 1));
  });

  test('on disk: the zeros are written, the records read back, close cuts them', async () => {
    const dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'silt-wal-prealloc-'));
    try {
      const nodeFs = new NodeFileSystem();
      nodeFs.mkdir(path.join(dir, 'wal'));
      const file = walFilePath(dir, 5);
      const wal = WalWriter.create(nodeFs, file, 5, { syncPolicy: 'always', preallocateBytes: 64 * 1024 });
      await appendTurns(wal, 20, 5);
      expect(fsSync.statSync(file).size).toBeGreaterThanOrEqual(wal.writtenBytes + 32 * 1024);
      expect(readWalFile(nodeFs, file, { mode: 'readOnly', isNewest: true })).toMatchObject({ kind: 'clean', batches: 100, validBytes: wal.writtenBytes });
      await wal.close();
      expect(fsSync.statSync(file).size).toBe(wal.writtenBytes);
      expect(sequences(nodeFs, file)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    } finally {
      fsSync.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('WalWriter on NodeFileSystem', () => {
  let dir: string;
  beforeEach(() => {
    dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'silt-wal-writer-'));
  });
  afterEach(() => {
    fsSync.rmSync(dir, { recursive: true, force: true });
  });

  test('writer and reader round trip on disk under each policy', async () => {
    const nodeFs = new NodeFileSystem();
    nodeFs.mkdir(path.join(dir, 'wal'));
    let fileNumber = 1;
    for (const syncPolicy of ['always', 'everysec', 'no'] as const) {
      const file = walFilePath(dir, fileNumber);
      const wal = WalWriter.create(nodeFs, file, fileNumber++, { syncPolicy });
      const pending: Promise<void>[] = [];
      for (let turn = 0; turn < 10; turn++) {
        for (let index = 0; index < 10; index++) pending.push(wal.append(payload(turn * 10 + index)));
        await nextTurn();
      }
      await Promise.all(pending);
      await wal.close();
      expect(sequences(nodeFs, file)).toEqual(Array.from({ length: 100 }, (_, index) => index));
    }
  });
});
