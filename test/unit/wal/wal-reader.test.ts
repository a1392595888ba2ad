// readWalFile: round trips, torn tails, mid-file damage, versions, salvage.
// Strategy: build WAL files with WalWriter on MemFileSystem, then damage them
// at named offsets: cut the last record at every byte, flip every byte of a
// middle record, flip a byte of the last record, append zeros, write records
// with good checksums but bad contents. Invariants: a torn tail of the
// newest file is cut in 'recover' with the exact byte count and left
// untouched in 'readOnly'; everything else is a CorruptionError naming the
// file and the offset of the bad record; 'salvage' never throws on damage.
// Format version 2 files may end in preallocated zeros: clean in every file
// and mode, and never counted as torn bytes; version 1 files may not.

import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CorruptionError, UnsupportedVersionError } from '../../../lib/errors.js';
import { encodeRecord } from '../../../lib/format/record-framing.js';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemFileSystem, systemError } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { WalRecordType, encodeBatch, encodeHeader, walFilePath, type WalBatch } from '../../../lib/wal/wal-format.js';
import { listWalFileNumbers, readWalFile, type WalReadOptions, type WalReadResult } from '../../../lib/wal/wal-reader.js';
import { WalWriter } from '../../../lib/wal/wal-writer.js';
import { del, put } from './wal-test-support.js';

const walPath = walFilePath('data', 3);
const headerBytes = 25;

/** Writes a WAL file of `count` batches of two ops (sequence 10, 12, ...); returns the fs, the bytes and each record's offset. */
async function makeWal(count: number, valueBytes = 20): Promise<{ fs: MemFileSystem; bytes: Buffer; offsets: number[] }> {
  const fs = new MemFileSystem();
  fs.mkdir('data/wal');
  const wal = WalWriter.create(fs, walPath, 3, { syncPolicy: 'no' });
  const offsets: number[] = [];
  for (let index = 0; index < count; index++) {
    offsets.push(wal.writtenBytes + wal.pendingBytes);
    void wal.appendBatch(10 + 2 * index, 1_000 + index, [put(`key-${index}`, 'v'.repeat(valueBytes)), del(`old-${index}`)]);
  }
  await wal.close();
  return { fs, bytes: fs.readFile(walPath), offsets };
}

/** The same WAL file with a format version 1 header (which allows no preallocated zeros). */
function asVersion1(bytes: Buffer): Buffer {
  return Buffer.concat([encodeRecord(WalRecordType.header, encodeHeader(3, 1)), bytes.subarray(headerBytes)]);
}

/** Bytes from `offset` to the last non-zero byte of `bytes` (the zeros after it read as preallocated). */
function bytesToLastNonZero(bytes: Buffer, offset: number): number {
  let end = bytes.length;
  while (end > offset + 1 && bytes[end - 1] === 0) end--;
  return end - offset;
}

/** A file system holding `bytes` as the WAL file. */
function withBytes(bytes: Buffer, file = walPath): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir('data/wal');
  fs.writeFileSync(file, bytes);
  fs.syncDir('data/wal');
  return fs;
}

function read(fs: MemFileSystem, options: Partial<WalReadOptions> = {}, file = walPath): { result: WalReadResult; batches: [WalBatch, number][] } {
  const batches: [WalBatch, number][] = [];
  const result = readWalFile(fs, file, { mode: 'recover', isNewest: true, onBatch: (batch, offset) => batches.push([batch, offset]), ...options });
  return { result, batches };
}

function corruptionOf(run: () => unknown): CorruptionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptionError);
    return error as CorruptionError;
  }
  throw new Error('expected a CorruptionError');
}

function flip(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy[offset]! ^ 0x40;
  return copy;
}

describe('readWalFile on a healthy file', () => {
  test('reports every batch with its offset, the header and the ranges', async () => {
    const { fs, bytes, offsets } = await makeWal(5);
    const { result, batches } = read(fs);
    expect(result).toMatchObject({
      kind: 'clean',
      header: { formatVersion: 2, fileNumber: 3 },
      batches: 5,
      ops: 10,
      firstSequence: 10,
      lastSequence: 19,
      firstTimeMs: 1_000,
      lastTimeMs: 1_004,
      validBytes: bytes.length,
      fileBytes: bytes.length,
      preallocatedBytes: 0,
      damage: undefined,
      truncatedBytes: 0,
      truncatedAtOffset: undefined,
    });
    expect(batches.map(([, offset]) => offset)).toEqual(offsets);
    expect(offsets[0]).toBe(headerBytes);
    expect(batches[2]![0]).toEqual({ sequence: 14, timeMs: 1_002, ops: [put('key-2', 'v'.repeat(20)), del('old-2')] });
  });

  test('reads in small chunks and grows the window for records larger than a chunk', async () => {
    const { fs } = await makeWal(6, 5_000);
    const whole = read(fs);
    const chunked = read(fs, { chunkBytes: 16 });
    expect(chunked.result).toEqual(whole.result);
    expect(chunked.batches).toEqual(whole.batches);
  });

  test('batch views stay valid after the reader has moved on', async () => {
    const { fs } = await makeWal(50);
    const { batches } = read(fs, { chunkBytes: 64 });
    batches.forEach(([batch], index) => expect(batch.ops[0]).toEqual(put(`key-${index}`, 'v'.repeat(20))));
  });

  test('decodeOps false counts ops without decoding them', async () => {
    const { fs } = await makeWal(4);
    const result = readWalFile(fs, walPath, { mode: 'strict', isNewest: false, decodeOps: false });
    expect(result).toMatchObject({ kind: 'clean', batches: 4, ops: 8, firstSequence: 10, lastSequence: 17 });
  });

  test('a file with only a header is clean and empty', async () => {
    const { fs } = await makeWal(0);
    expect(read(fs).result).toMatchObject({ kind: 'clean', batches: 0, firstSequence: undefined, validBytes: headerBytes });
  });

  test('listWalFileNumbers lists canonical names in order', () => {
    const fs = new MemFileSystem();
    expect(listWalFileNumbers(fs, 'data')).toEqual([]);
    fs.mkdir('data/wal');
    for (const name of ['000010.log', '000002.log', 'junk.log', '000003.log.tmp']) fs.writeFileSync(`data/wal/${name}`, Buffer.alloc(0));
    expect(listWalFileNumbers(fs, 'data')).toEqual([2, 10]);
  });
});

describe('readWalFile torn tail', () => {
  test.each([1, 2])('the last record cut at every byte is truncated in recover mode with the exact byte count (version %i)', async (version) => {
    const made = await makeWal(4);
    const bytes = version === 1 ? asVersion1(made.bytes) : made.bytes;
    const last = made.offsets[3]!;
    let zeroEnded = 0;
    for (let cut = last + 1; cut < bytes.length; cut++) {
      const fs = withBytes(bytes.subarray(0, cut));
      const { result, batches } = read(fs);
      // Version 2: the zero bytes the torn record ends in read as preallocated, not torn.
      const torn = version === 1 ? cut - last : bytesToLastNonZero(bytes.subarray(0, cut), last);
      if (torn < cut - last) zeroEnded++;
      expect(result.kind).toBe('tornTail');
      expect(result.truncatedAtOffset).toBe(last);
      expect(result.truncatedBytes).toBe(torn);
      expect(result.preallocatedBytes).toBe(cut - last - torn);
      expect(result.damage).toMatchObject({ offset: last, bytes: torn });
      expect(result.validBytes).toBe(last);
      expect(batches.length).toBe(3);
      expect(fs.stat(walPath).size).toBe(last);
      // The cut is durable, and reading again is clean.
      expect(fs.crashClone().stat(walPath).size).toBe(last);
      expect(read(fs).result.kind).toBe('clean');
    }
    if (version === 2) expect(zeroEnded).toBeGreaterThan(0); // the record has zero bytes: both cases ran
  });

  test('readOnly reports the torn tail and leaves the file untouched', async () => {
    const { bytes, offsets } = await makeWal(4);
    const last = offsets[3]!;
    for (let cut = last + 1; cut < bytes.length; cut++) {
      const fs = withBytes(bytes.subarray(0, cut));
      // Any write would fail: readOnly must not attempt one.
      fs.injectFault((operation, file) => (['truncate', 'sync', 'append', 'write'].includes(operation) ? systemError('EROFS', operation, file) : undefined));
      const { result, batches } = read(fs, { mode: 'readOnly', chunkBytes: 16 });
      fs.injectFault(undefined);
      expect(result.kind).toBe('tornTail');
      expect(result.damage).toMatchObject({ offset: last, bytes: bytesToLastNonZero(bytes.subarray(0, cut), last) });
      expect(result.truncatedBytes).toBe(0);
      expect(result.truncatedAtOffset).toBeUndefined();
      expect(batches.length).toBe(3);
      expect(fs.readFile(walPath)).toEqual(bytes.subarray(0, cut));
    }
  });

  test('a cut tail is corruption in an older file and in strict mode', async () => {
    const { bytes, offsets } = await makeWal(4);
    const last = offsets[3]!;
    const fs = withBytes(bytes.subarray(0, bytes.length - 3));
    const older = corruptionOf(() => read(fs, { isNewest: false }));
    expect(older.offset).toBe(last);
    expect(older.file).toBe(walPath);
    expect(older.message).toMatch(/not the newest WAL file/);
    expect(corruptionOf(() => read(fs, { mode: 'strict' })).offset).toBe(last);
    expect(fs.stat(walPath).size).toBe(bytes.length - 3);
  });

  test('a flipped byte in the last record is a torn tail', async () => {
    const { bytes, offsets } = await makeWal(4);
    const last = offsets[3]!;
    for (let offset = last; offset < bytes.length; offset++) {
      const fs = withBytes(flip(bytes, offset));
      const { result } = read(fs);
      expect(result.kind).toBe('tornTail');
      expect(result.truncatedAtOffset).toBe(last);
      expect(result.truncatedBytes).toBe(bytes.length - last);
    }
  });

  test('version 1: a zero-filled tail (a file extended but never written) is a torn tail', async () => {
    const bytes = asVersion1((await makeWal(3)).bytes);
    const zeroed = Buffer.concat([bytes, Buffer.alloc(4096)]);
    expect(corruptionOf(() => read(withBytes(zeroed), { isNewest: false })).offset).toBe(bytes.length);
    const { result, batches } = read(withBytes(zeroed));
    expect(result).toMatchObject({ kind: 'tornTail', truncatedAtOffset: bytes.length, truncatedBytes: 4096, preallocatedBytes: 0 });
    expect(batches.length).toBe(3);
  });

  test('version 2: zeros from a record boundary to the end are preallocated space, clean in every file and mode', async () => {
    const { bytes } = await makeWal(3);
    for (const zeros of [1, 8, 9, 4096, 200_000]) {
      const zeroed = Buffer.concat([bytes, Buffer.alloc(zeros)]);
      for (const mode of ['recover', 'readOnly', 'strict', 'salvage'] as const) {
        for (const isNewest of [true, false]) {
          const fs = withBytes(zeroed);
          const { result, batches } = read(fs, { mode, isNewest, chunkBytes: 1024 });
          expect(result).toMatchObject({ kind: 'clean', validBytes: bytes.length, fileBytes: bytes.length + zeros, preallocatedBytes: zeros, damage: undefined, truncatedBytes: 0 });
          expect(batches.length).toBe(3);
          // 'recover' cuts the zeros off (durably; they are not counted as truncated); the others write nothing.
          expect(fs.crashClone().readFile(walPath)).toEqual(mode === 'recover' ? bytes : zeroed);
        }
      }
    }
    // A file with its header and nothing but zeros after it.
    const empty = (await makeWal(0)).bytes;
    expect(read(withBytes(Buffer.concat([empty, Buffer.alloc(100)])), { isNewest: false }).result).toMatchObject({ kind: 'clean', batches: 0, preallocatedBytes: 100 });
  });

  test('version 2: a long zero tail is read once, and the zeros end where its last non-zero byte is, wherever that is', async () => {
    const { bytes } = await makeWal(3);
    const zeros = 5 * 1024 * 1024 + 13; // more than one scan chunk (1 MiB), and not a whole number of words
    const zeroed = Buffer.concat([bytes, Buffer.alloc(zeros)]);
    const fs = withBytes(zeroed);
    let bytesRead = 0;
    const open = fs.open.bind(fs);
    fs.open = (file, mode) => {
      const handle = open(file, mode);
      const readAt = handle.read.bind(handle);
      handle.read = (target, targetOffset, length, position) => {
        const count = readAt(target, targetOffset, length, position);
        bytesRead += count;
        return count;
      };
      return handle;
    };
    expect(read(fs, { mode: 'readOnly' }).result).toMatchObject({ kind: 'clean', preallocatedBytes: zeros });
    // Read backwards through the read window, each 64 KiB step read a MiB again: about 16 times the zeros.
    expect(bytesRead).toBeLessThan(2 * zeroed.length);

    // A stray byte in the zeros: the torn region ends just after it, the rest are preallocated.
    const end = zeroed.length;
    const chunk = 1024 * 1024;
    for (const at of [bytes.length, bytes.length + 1, bytes.length + 4, end - chunk - 1, end - chunk, end - chunk + 3, end - 9, end - 5, end - 4, end - 2, end - 1]) {
      const stray = Buffer.from(zeroed);
      stray[at] = 7;
      const { result, batches } = read(withBytes(stray), { mode: 'readOnly' });
      expect(batches.length).toBe(3);
      expect(result, `stray byte at ${at}`).toMatchObject({ kind: 'tornTail', damage: { offset: bytes.length, bytes: at + 1 - bytes.length }, preallocatedBytes: end - at - 1 });
    }
  });

  test('version 2: zeros then a valid record is corruption, zeros then garbage in the newest file a torn tail', async () => {
    const { bytes, offsets } = await makeWal(4);
    const third = offsets[2]!;
    const fourth = offsets[3]!;
    // A hole of zeros where the third record was, the fourth intact after it (a write persisted out of order).
    const holed = Buffer.from(bytes);
    holed.fill(0, third, fourth);
    const error = corruptionOf(() => read(withBytes(holed)));
    expect(error.offset).toBe(third);
    expect(error.message).toMatch(new RegExp(`a valid record follows at offset ${fourth}`));
    // Zeros, a few stray bytes, zeros: nothing valid follows, so a torn tail of the newest file.
    const stray = Buffer.concat([bytes.subarray(0, fourth), Buffer.alloc(100), Buffer.from([7, 7, 7]), Buffer.alloc(1000)]);
    const fs = withBytes(stray);
    const { result, batches } = read(fs, { mode: 'readOnly' });
    expect(result).toMatchObject({ kind: 'tornTail', damage: { offset: fourth, bytes: 103 }, preallocatedBytes: 1000 });
    expect(batches.length).toBe(3);
    expect(corruptionOf(() => read(fs, { isNewest: false })).offset).toBe(fourth);
    expect(read(fs).result).toMatchObject({ kind: 'tornTail', truncatedAtOffset: fourth, truncatedBytes: 103 });
    expect(fs.stat(walPath).size).toBe(fourth);
  });

  test('a torn header in the newest file cuts it to empty', async () => {
    const { bytes } = await makeWal(0);
    const fs = withBytes(bytes.subarray(0, 10));
    const { result } = read(fs);
    expect(result).toMatchObject({ kind: 'tornTail', header: undefined, truncatedAtOffset: 0, truncatedBytes: 10 });
    expect(fs.stat(walPath).size).toBe(0);
  });

  test('an empty newest file has no header and nothing to cut; an empty older file is corruption', () => {
    const fs = withBytes(Buffer.alloc(0));
    expect(read(fs).result).toMatchObject({ kind: 'tornTail', header: undefined, truncatedBytes: 0, damage: { offset: 0, bytes: 0 } });
    expect(corruptionOf(() => read(fs, { isNewest: false })).message).toMatch(/the file is empty/);
  });

  test('a torn record whose bytes embed an older valid record is still a torn tail', async () => {
    // A user value holding a whole WAL record (sequence 1): the scan finds it,
    // but its sequence is not after the last good one, so it cannot be a real record.
    const embedded = encodeRecord(WalRecordType.batch, encodeBatch(1, 1, [put('inner', 'x')]));
    const fs = new MemFileSystem();
    fs.mkdir('data/wal');
    const wal = WalWriter.create(fs, walPath, 3, { syncPolicy: 'no' });
    void wal.appendBatch(100, 1, [put('a', 'b')]);
    const lastOffset = wal.writtenBytes + wal.pendingBytes;
    void wal.appendBatch(101, 1, [put('holder', Buffer.concat([embedded, Buffer.alloc(50)]).toString('latin1'))]);
    await wal.close();
    const bytes = fs.readFile(walPath);
    const torn = withBytes(bytes.subarray(0, bytes.length - 10));
    expect(read(torn).result).toMatchObject({ kind: 'tornTail', truncatedAtOffset: lastOffset });
  });
});

describe('readWalFile mid-file damage', () => {
  test('a flipped byte anywhere in a middle record followed by valid records is a CorruptionError at that record', async () => {
    const { bytes, offsets } = await makeWal(4);
    const start = offsets[1]!;
    const end = offsets[2]!;
    for (let offset = start; offset < end; offset++) {
      const damaged = flip(bytes, offset);
      for (const [mode, chunkBytes] of [['recover', undefined], ['readOnly', 16]] as const) {
        const fs = withBytes(damaged);
        const error = corruptionOf(() => read(fs, chunkBytes === undefined ? { mode } : { mode, chunkBytes }));
        expect(error.file).toBe(walPath);
        expect(error.offset).toBe(start);
        expect(error.message).toMatch(new RegExp(`^Cannot read WAL record in "data/wal/000003\\.log" at offset ${start}: `));
        expect(error.message).toMatch(/a valid record follows at offset \d+, so this is not a torn tail/);
        expect(fs.readFile(walPath)).toEqual(damaged);
      }
    }
  });

  test('salvage returns the batches before the damage and where it is', async () => {
    const { bytes, offsets } = await makeWal(4);
    const fs = withBytes(flip(bytes, offsets[2]! + 12));
    const { result, batches } = read(fs, { mode: 'salvage' });
    expect(result).toMatchObject({ kind: 'damaged', batches: 2, lastSequence: 13, validBytes: offsets[2], truncatedBytes: 0 });
    expect(result.damage).toMatchObject({ offset: offsets[2], bytes: bytes.length - offsets[2]!, reason: expect.stringMatching(/checksum mismatch/) });
    expect(batches.length).toBe(2);
    expect(fs.readFile(walPath).length).toBe(bytes.length);
  });

  test('a record with a good checksum but malformed contents is corruption even at the tail', async () => {
    const { bytes } = await makeWal(2);
    const payload = encodeBatch(50, 1, [put('k', 'v')]);
    const malformed = Buffer.concat([payload, Buffer.from([0xee])]);
    const fs = withBytes(Buffer.concat([bytes, encodeRecord(WalRecordType.batch, malformed)]));
    const error = corruptionOf(() => read(fs));
    expect(error.offset).toBe(bytes.length);
    expect(error.message).toMatch(/follow the last op/);
    expect(read(fs, { mode: 'salvage' }).result).toMatchObject({ kind: 'damaged', batches: 2, damage: { offset: bytes.length } });
  });

  test('a record of an unknown type with a good checksum is corruption', async () => {
    const { bytes } = await makeWal(1);
    const fs = withBytes(Buffer.concat([bytes, encodeRecord(7, Buffer.from('future'))]));
    expect(corruptionOf(() => read(fs)).message).toMatch(/unknown type 7/);
  });

  test('a second header record is corruption', async () => {
    const { bytes } = await makeWal(1);
    const fs = withBytes(Buffer.concat([bytes, encodeRecord(WalRecordType.header, encodeHeader(3))]));
    expect(corruptionOf(() => read(fs)).offset).toBe(bytes.length);
  });

  test('the scan gives up as corruption when its CRC budget runs out', async () => {
    const { bytes, offsets } = await makeWal(3);
    const last = bytes.subarray(offsets[2]!);
    // Two records with bad checksums: the second is a candidate the scan must checksum.
    const fs = withBytes(Buffer.concat([bytes.subarray(0, offsets[2]!), flip(last, 0), flip(last, 0)]));
    expect(corruptionOf(() => read(fs, { resyncScanBytesMax: 8 })).message).toMatch(/could not rule out valid records/);
    expect(read(fs).result.kind).toBe('tornTail');
  });
});

describe('readWalFile header', () => {
  test('an unknown format version is UnsupportedVersionError in every mode', () => {
    const fs = withBytes(encodeRecord(WalRecordType.header, encodeHeader(3, 3)));
    for (const mode of ['recover', 'readOnly', 'strict', 'salvage'] as const) {
      let caught: unknown;
      try {
        read(fs, { mode });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(UnsupportedVersionError);
      expect((caught as UnsupportedVersionError).file).toBe(walPath);
      expect((caught as Error).message).toBe(`Cannot read WAL file "${walPath}": format version 3 is not supported (this build reads 1, 2)`);
    }
  });

  test('a renamed file is detected by its header', async () => {
    const { bytes } = await makeWal(1);
    const fs = withBytes(bytes, walFilePath('data', 4));
    const error = corruptionOf(() => read(fs, {}, walFilePath('data', 4)));
    expect(error.offset).toBe(0);
    expect(error.message).toMatch(/the header names file number 3, expected 4/);
    expect(read(fs, { fileNumber: 3 }, walFilePath('data', 4)).result.kind).toBe('clean');
  });

  test('a file that does not start with a header record is corruption', () => {
    const fs = withBytes(encodeRecord(WalRecordType.batch, encodeBatch(1, 1, [])));
    expect(corruptionOf(() => read(fs)).message).toMatch(/expected the header record/);
  });

  test('a bad header followed by valid records is corruption, not a torn tail', async () => {
    const { bytes } = await makeWal(2);
    const fs = withBytes(flip(bytes, 12));
    const error = corruptionOf(() => read(fs));
    expect(error.offset).toBe(0);
    expect(error.message).toMatch(/a valid record follows at offset 25/);
  });
});

describe('readWalFile on NodeFileSystem', () => {
  let dir: string;
  beforeEach(() => {
    dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'silt-wal-reader-'));
  });
  afterEach(() => {
    fsSync.rmSync(dir, { recursive: true, force: true });
  });

  test('a torn tail on disk is reported read-only, then cut in recover mode', async () => {
    const { bytes, offsets } = await makeWal(3);
    const nodeFs = new NodeFileSystem();
    nodeFs.mkdir(path.join(dir, 'wal'));
    const file = walFilePath(dir, 3);
    nodeFs.writeFileSync(file, bytes.subarray(0, bytes.length - 7));
    const readOnly = readWalFile(nodeFs, file, { mode: 'readOnly', isNewest: true });
    expect(readOnly).toMatchObject({ kind: 'tornTail', batches: 2, truncatedBytes: 0 });
    expect(fsSync.statSync(file).size).toBe(bytes.length - 7);
    const recovered = readWalFile(nodeFs, file, { mode: 'recover', isNewest: true });
    expect(recovered).toMatchObject({ kind: 'tornTail', batches: 2, truncatedAtOffset: offsets[2], truncatedBytes: bytes.length - 7 - offsets[2]! });
    expect(fsSync.statSync(file).size).toBe(offsets[2]);
    expect(readWalFile(nodeFs, file, { mode: 'strict', isNewest: true })).toMatchObject({ kind: 'clean', batches: 2 });
  });
});
