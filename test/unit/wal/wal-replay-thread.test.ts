// WalReplayThread must be readWalFile() moved to another thread and nothing
// else: the same payloads, batches and offsets in the same order, the same
// result, the same cut of a torn tail, the same errors with their class, file
// and offset. Each case runs both on identical copies of a real file and
// compares. Chunks are made tiny and the worker may run only one ahead, so
// records cross chunk boundaries, outgrow a chunk, and the worker waits.

import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CorruptionError, UnsupportedVersionError } from '../../../lib/errors.js';
import { encodeRecord } from '../../../lib/format/record-framing.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { WalRecordType, encodeHeader, walFilePath } from '../../../lib/wal/wal-format.js';
import { readWalFile, type WalReadOptions, type WalReadResult } from '../../../lib/wal/wal-reader.js';
import { WalReplayThread } from '../../../lib/wal/wal-replay-thread.js';
import { WalWriter } from '../../../lib/wal/wal-writer.js';
import { del, put } from './wal-test-support.js';

interface Delivered {
  payload: Buffer;
  sequence: number;
  timeMs: number;
  count: number;
  offset: number;
}

interface Outcome {
  result: WalReadResult | undefined;
  error: unknown;
  delivered: Delivered[];
  fileAfter: Buffer;
}

/** A WAL file's bytes: `count` batches of a put and a delete; batch 5 (when there) holds a 3000-byte value, bigger than a chunk. */
async function walBytes(count: number): Promise<{ bytes: Buffer; offsets: number[] }> {
  const mem = new MemFileSystem();
  mem.mkdir('data/wal');
  const file = walFilePath('data', 3);
  const wal = WalWriter.create(mem, file, 3, { syncPolicy: 'no' });
  const offsets: number[] = [];
  for (let index = 0; index < count; index++) {
    offsets.push(wal.writtenBytes + wal.pendingBytes);
    const value = index === 5 ? 'x'.repeat(3000) : `value-${index}`;
    void wal.appendBatch(10 + 2 * index, 1_000 + index, [put(`key-${index}`, value), del(`old-${index}`)]);
  }
  await wal.close();
  return { bytes: mem.readFile(file), offsets };
}

let dir: string;
let thread: WalReplayThread;
let fileCount = 0;
const nodeFs = new NodeFileSystem();

beforeAll(() => {
  // One thread for every case: it serves file after file, as in a recovery of several WAL files.
  thread = new WalReplayThread({ chunkBytes: 256, chunksAhead: 1 });
});
afterAll(() => thread.close());
beforeEach(() => {
  dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'silt-wal-replay-thread-'));
});
afterEach(() => {
  fsSync.rmSync(dir, { recursive: true, force: true });
});

/** Writes `bytes` as WAL file 3 of a fresh data directory; returns its path. */
function walFile(bytes: Buffer): string {
  const data = path.join(dir, `data-${++fileCount}`);
  fsSync.mkdirSync(path.join(data, 'wal'), { recursive: true });
  const file = walFilePath(data, 3);
  fsSync.writeFileSync(file, bytes);
  return file;
}

function run(read: (file: string, options: WalReadOptions) => WalReadResult, file: string, options: Omit<WalReadOptions, 'onPayload'>): Outcome & { file: string } {
  const delivered: Delivered[] = [];
  let result: WalReadResult | undefined;
  let error: unknown;
  try {
    result = read(file, {
      ...options,
      onPayload: (payload, batch, offset) => delivered.push({ payload: Buffer.from(payload), ...batch, offset }),
    });
  } catch (caught) {
    error = caught;
  }
  return { result, error, delivered, fileAfter: fsSync.existsSync(file) ? fsSync.readFileSync(file) : Buffer.alloc(0), file };
}

/** Runs readWalFile() and the thread on two copies of `bytes`; expects the same outcome and returns it. */
function compare(bytes: Buffer, options: Omit<WalReadOptions, 'onPayload'>): Outcome {
  const inline = run((file, all) => readWalFile(nodeFs, file, all), walFile(bytes), options);
  const threaded = run((file, all) => thread.read(file, all), walFile(bytes), options);
  expect(threaded.delivered).toEqual(inline.delivered);
  expect(threaded.fileAfter).toEqual(inline.fileAfter);
  if (inline.error === undefined) {
    expect(threaded.error).toBeUndefined();
    expect(threaded.result).toEqual(inline.result);
  } else {
    expect(threaded.error).toBeInstanceOf((inline.error as Error).constructor);
    // The two copies differ only in their path.
    const message = (outcome: { error: unknown; file: string }): string => (outcome.error as Error).message.replaceAll(outcome.file, 'FILE');
    expect(message(threaded)).toBe(message(inline));
    expect((threaded.error as CorruptionError).offset).toBe((inline.error as CorruptionError).offset);
    expect((threaded.error as CorruptionError).file).toBe(threaded.file);
    expect((inline.error as CorruptionError).file).toBe(inline.file);
    expect((threaded.error as CorruptionError).code).toBe((inline.error as CorruptionError).code);
  }
  return threaded;
}

function flip(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy[offset]! ^ 0x40;
  return copy;
}

describe('WalReplayThread reads as readWalFile does', () => {
  test('a healthy file: every payload, batch and offset, across chunks and past a chunk', async () => {
    const { bytes, offsets } = await walBytes(40);
    const outcome = compare(bytes, { mode: 'recover', isNewest: true });
    expect(outcome.result).toMatchObject({ kind: 'clean', batches: 40, ops: 80 });
    expect(outcome.delivered.map((entry) => entry.offset)).toEqual(offsets);
    expect(outcome.delivered[5]!.payload.length).toBeGreaterThan(3000);
    expect(outcome.delivered[39]).toMatchObject({ sequence: 10 + 2 * 39, timeMs: 1_039, count: 2 });
  });

  test('readSliced() delivers what read() does, and lets the event loop run between chunks', async () => {
    const { bytes } = await walBytes(40);
    const whole = run((file, all) => thread.read(file, all), walFile(bytes), { mode: 'recover', isNewest: true });
    const delivered: Delivered[] = [];
    // Another task of the event loop, which runs only when the read lets it.
    let ticks = 0;
    let ticking = true;
    const tick = (): void => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    let result: WalReadResult;
    try {
      // A slice of 0 ms: a macrotask after every chunk (256 bytes: about one a record here).
      result = await thread.readSliced(walFile(bytes), { mode: 'recover', isNewest: true, onPayload: (payload, batch, offset) => delivered.push({ payload: Buffer.from(payload), ...batch, offset }) }, 0);
    } finally {
      ticking = false;
    }
    expect(delivered).toEqual(whole.delivered);
    expect(result).toEqual(whole.result);
    expect(ticks).toBeGreaterThan(5);
  });

  test('a torn tail: cut in recover mode, reported untouched in readOnly mode, corruption in strict mode', async () => {
    const { bytes, offsets } = await walBytes(8);
    const last = offsets[7]!;
    for (const cut of [last + 1, last + 9, bytes.length - 1]) {
      const torn = bytes.subarray(0, cut);
      const recovered = compare(torn, { mode: 'recover', isNewest: true });
      expect(recovered.result).toMatchObject({ kind: 'tornTail', batches: 7, truncatedAtOffset: last, truncatedBytes: cut - last });
      expect(recovered.fileAfter.length).toBe(last);
      const readOnly = compare(torn, { mode: 'readOnly', isNewest: true });
      expect(readOnly.result).toMatchObject({ kind: 'tornTail', truncatedBytes: 0 });
      expect(readOnly.fileAfter).toEqual(torn);
      expect(compare(torn, { mode: 'strict', isNewest: true }).error).toBeInstanceOf(CorruptionError);
    }
  });

  test('a flipped byte mid-file: the same CorruptionError after the same payloads; salvage stops there', async () => {
    const { bytes, offsets } = await walBytes(12);
    for (const offset of [offsets[4]! + 2, offsets[5]! + 40, offsets[9]! + 20]) {
      const damaged = flip(bytes, offset);
      const outcome = compare(damaged, { mode: 'recover', isNewest: true });
      expect(outcome.error).toBeInstanceOf(CorruptionError);
      const salvaged = compare(damaged, { mode: 'salvage', isNewest: true });
      expect(salvaged.result?.kind).toBe('damaged');
    }
  });

  test('a damaged older file, an unknown format version, a missing file', async () => {
    const { bytes } = await walBytes(6);
    expect(compare(bytes.subarray(0, bytes.length - 3), { mode: 'recover', isNewest: false }).error).toBeInstanceOf(CorruptionError);
    const future = compare(encodeRecord(WalRecordType.header, encodeHeader(3, 3)), { mode: 'recover', isNewest: true });
    expect(future.error).toBeInstanceOf(UnsupportedVersionError);
    const missing = path.join(dir, 'wal', '000009.log');
    expect(() => thread.read(missing, { mode: 'recover', isNewest: true })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  test('a caller that throws mid-file closes its thread, and the worker waiting for room is released', async () => {
    const { bytes } = await walBytes(40);
    const file = walFile(bytes);
    const failure = new Error('stop here');
    let calls = 0;
    const stop = (): void => {
      if (++calls === 3) throw failure;
    };
    const own = new WalReplayThread({ chunkBytes: 128, chunksAhead: 1 });
    expect(() => own.read(file, { mode: 'readOnly', isNewest: true, onPayload: stop })).toThrow(failure);
    expect(() => own.read(file, { mode: 'readOnly', isNewest: true })).toThrow(/closed/);
    own.close();
    // Errors found by the reader (the cases above) leave the shared thread serving.
    expect(compare(bytes, { mode: 'readOnly', isNewest: true }).result).toMatchObject({ kind: 'clean', batches: 40 });
  });
});
