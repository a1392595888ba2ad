// wal-archive: moving flushed WAL files into archive/, listing them with
// their ranges, pruning by age and size, and the archive's overall range.
// Strategy: small WAL files with known sequences and times on MemFileSystem;
// crash clones check that a move is durable once archiveWalFile returns.

import { describe, expect, test } from 'vitest';
import { IoError } from '../../../lib/errors.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { encodeRecord } from '../../../lib/format/record-framing.js';
import { WalRecordType, archiveFilePath, encodeBatch, walFilePath } from '../../../lib/wal/wal-format.js';
import { archiveRange, archiveSpan, archiveWalFile, listArchive, pruneArchive, type ArchivedWalFile } from '../../../lib/wal/wal-archive.js';
import { WalWriter } from '../../../lib/wal/wal-writer.js';
import { put } from './wal-test-support.js';

const dataDir = 'data';

/** Writes wal/NNNNNN.log with `batches` batches of one op each, sequences from `firstSequence`, times from `firstTimeMs` (1 s apart). */
async function writeWal(fs: MemFileSystem, fileNumber: number, firstSequence: number, firstTimeMs: number, batches: number): Promise<number> {
  const wal = WalWriter.create(fs, walFilePath(dataDir, fileNumber), fileNumber, { syncPolicy: 'no' });
  for (let index = 0; index < batches; index++) void wal.appendBatch(firstSequence + index, firstTimeMs + index * 1000, [put(`k${index}`, 'v'.repeat(100))]);
  await wal.close();
  return fs.stat(walFilePath(dataDir, fileNumber)).size;
}

function newFs(): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir('data/wal');
  fs.syncDir('data');
  return fs;
}

/** Three archived files: 1 (seq 1-3, t 10 000-12 000), 2 (seq 4-5, t 20 000-21 000), 3 (seq 6-9, t 30 000-33 000). */
async function threeArchived(): Promise<{ fs: MemFileSystem; sizes: number[] }> {
  const fs = newFs();
  const sizes = [await writeWal(fs, 1, 1, 10_000, 3), await writeWal(fs, 2, 4, 20_000, 2), await writeWal(fs, 3, 6, 30_000, 4)];
  for (const fileNumber of [1, 2, 3]) archiveWalFile(fs, dataDir, fileNumber);
  return { fs, sizes };
}

describe('archiveWalFile', () => {
  test('moves the file into archive/ and makes the move durable', async () => {
    const fs = newFs();
    const size = await writeWal(fs, 7, 1, 1000, 2);
    const to = archiveWalFile(fs, dataDir, 7);
    expect(to).toBe(archiveFilePath(dataDir, 7));
    expect(fs.exists(walFilePath(dataDir, 7))).toBe(false);
    const crashed = fs.crashClone();
    expect(crashed.exists(walFilePath(dataDir, 7))).toBe(false);
    expect(crashed.stat(archiveFilePath(dataDir, 7)).size).toBe(size);
  });

  test('refuses a file number the archive already holds', async () => {
    const fs = newFs();
    await writeWal(fs, 7, 1, 1000, 1);
    archiveWalFile(fs, dataDir, 7);
    await writeWal(fs, 7, 5, 1000, 1);
    expect(() => archiveWalFile(fs, dataDir, 7)).toThrow(/already exists/);
    expect(fs.exists(walFilePath(dataDir, 7))).toBe(true);
  });

  test('a missing file is an IoError naming it', () => {
    const fs = newFs();
    expect(() => archiveWalFile(fs, dataDir, 9)).toThrow(IoError);
    expect(() => archiveWalFile(fs, dataDir, 9)).toThrow(/^Cannot archive WAL file "data\/wal\/000009\.log": ENOENT/);
  });
});

describe('listArchive and archiveRange', () => {
  test('an absent or empty archive lists nothing and has no range', async () => {
    const fs = newFs();
    expect(listArchive(fs, dataDir)).toEqual([]);
    expect(archiveRange(fs, dataDir)).toBeUndefined();
    await writeWal(fs, 1, 1, 1000, 0);
    archiveWalFile(fs, dataDir, 1);
    expect(listArchive(fs, dataDir)).toMatchObject([{ fileNumber: 1, batches: 0, firstSequence: undefined }]);
    expect(archiveRange(fs, dataDir)).toBeUndefined();
  });

  test('lists files oldest first with sequence and time ranges read from their records', async () => {
    const { fs, sizes } = await threeArchived();
    fs.writeFileSync('data/archive/notes.txt', Buffer.from('ignored'));
    const files = listArchive(fs, dataDir);
    expect(files.map((file) => file.fileNumber)).toEqual([1, 2, 3]);
    expect(files[0]).toMatchObject({ path: 'data/archive/000001.log', bytes: sizes[0], batches: 3, firstSequence: 1, lastSequence: 3, firstTimeMs: 10_000, lastTimeMs: 12_000, damage: undefined });
    expect(files[2]).toMatchObject({ firstSequence: 6, lastSequence: 9, firstTimeMs: 30_000, lastTimeMs: 33_000 });
    expect(archiveRange(fs, dataDir)).toEqual({ fromMs: 10_000, toMs: 33_000, fromSequence: 1, toSequence: 9 });
  });

  test('a damaged archived file is listed with its damage and the records before it', async () => {
    const { fs } = await threeArchived();
    const path = archiveFilePath(dataDir, 3);
    const bytes = fs.readFile(path);
    fs.writeFileSync(path, Buffer.concat([bytes.subarray(0, bytes.length - 5), encodeRecord(WalRecordType.batch, encodeBatch(99, 1, []))]));
    const file = listArchive(fs, dataDir)[2]!;
    expect(file.batches).toBe(3);
    expect(file.lastSequence).toBe(8);
    expect(file.damage?.offset).toBeGreaterThan(0);
  });
});

describe('archiveSpan', () => {
  /** A described file: [fileNumber, first, last] sequences, times 1000x the sequence; damaged when `damage`. */
  const file = (fileNumber: number, first?: number, last?: number, damage = false): ArchivedWalFile => ({
    fileNumber,
    path: `archive/${fileNumber}`,
    bytes: 100,
    mtimeMs: 0,
    batches: first === undefined ? 0 : 1,
    firstSequence: first,
    lastSequence: last,
    firstTimeMs: first === undefined ? undefined : first * 1000,
    lastTimeMs: last === undefined ? undefined : last * 1000,
    damage: damage ? { offset: 10, bytes: 1, reason: 'bad' } : undefined,
  });

  test('contiguous files make one span; an empty archive none', () => {
    expect(archiveSpan([])).toEqual({ range: undefined, breaks: [] });
    expect(archiveSpan([file(3), file(5)])).toEqual({ range: undefined, breaks: [] });
    expect(archiveSpan([file(3, 1, 4), file(5, 5, 9), file(8), file(9, 10, 12)])).toEqual({ range: { fromMs: 1000, toMs: 12_000, fromSequence: 1, toSequence: 12 }, breaks: [] });
  });

  test('a jump between files is a gap only when a file number lies between them', () => {
    // 4 -> 5: adjacent numbers, the jump is a refused batch. 5 -> 9: file numbers 6..8 between, one of them a WAL file.
    const span = archiveSpan([file(4, 1, 4), file(5, 8, 9), file(9, 20, 25)]);
    expect(span.breaks).toEqual([{ kind: 'gap', fileNumber: 9, missing: { first: 10, last: 19 } }]);
    expect(span.range).toEqual({ fromMs: 20_000, toMs: 25_000, fromSequence: 20, toSequence: 25 });
    // An empty file in between still counts for adjacency.
    expect(archiveSpan([file(4, 1, 4), file(5), file(6, 9, 9)]).breaks).toEqual([]);
  });

  test('a damaged file ends the span after its last good record; the next file starts a new one', () => {
    const span = archiveSpan([file(1, 1, 4), file(2, 5, 6, true), file(3, 7, 9)]);
    expect(span.breaks).toEqual([{ kind: 'damage', fileNumber: 2, missing: undefined }]);
    expect(span.range).toMatchObject({ fromSequence: 7, toSequence: 9 });
    // The newest file damaged: the span runs to its last good record, and the break is named.
    const newest = archiveSpan([file(1, 1, 4), file(2, 5, 6, true)]);
    expect(newest.range).toMatchObject({ fromSequence: 1, toSequence: 6 });
    expect(newest.breaks).toHaveLength(1);
  });
});

describe('pruneArchive', () => {
  test('does nothing without limits', async () => {
    const { fs } = await threeArchived();
    expect(pruneArchive(fs, dataDir, {})).toMatchObject({ removedFileNumbers: [], removedBytes: 0, keptFiles: 3 });
  });

  test('removes files whose newest record is older than the age limit, oldest first', async () => {
    const { fs, sizes } = await threeArchived();
    // File 1's newest record is at 12 000, file 2's at 21 000: at 30 000 with a 10 s limit only file 1 is too old.
    const result = pruneArchive(fs, dataDir, { ageMs: 10_000, nowMs: 30_000 });
    expect(result).toEqual({ removedFileNumbers: [1], removedBytes: sizes[0], keptFiles: 2, keptBytes: sizes[1]! + sizes[2]! });
    expect(listArchive(fs, dataDir).map((file) => file.fileNumber)).toEqual([2, 3]);
    expect(fs.crashClone().exists(archiveFilePath(dataDir, 1))).toBe(false);
    expect(archiveRange(fs, dataDir)).toEqual({ fromMs: 20_000, toMs: 33_000, fromSequence: 4, toSequence: 9 });
  });

  test('an empty file is aged by its mtime', async () => {
    const fs = newFs();
    await writeWal(fs, 1, 1, 0, 0);
    archiveWalFile(fs, dataDir, 1);
    const mtimeMs = fs.stat(archiveFilePath(dataDir, 1)).mtimeMs;
    expect(pruneArchive(fs, dataDir, { ageMs: 1000, nowMs: mtimeMs + 500 }).removedFileNumbers).toEqual([]);
    expect(pruneArchive(fs, dataDir, { ageMs: 1000, nowMs: mtimeMs + 1500 }).removedFileNumbers).toEqual([1]);
  });

  test('with newestTimeMs, reads no file: a file it does not know stops pruning by age', async () => {
    const { fs } = await threeArchived();
    fs.injectFault((operation, path) => (operation === 'open' || operation === 'read' ? new Error(`read ${path}`) : undefined));
    const known = new Map([[1, 12_000]]);
    expect(pruneArchive(fs, dataDir, { ageMs: 1000, nowMs: 100_000, newestTimeMs: (n) => known.get(n) }).removedFileNumbers).toEqual([1]);
    fs.injectFault(undefined);
    expect(listArchive(fs, dataDir).map((file) => file.fileNumber)).toEqual([2, 3]);
  });

  test('trims to the size limit, oldest first', async () => {
    const { fs, sizes } = await threeArchived();
    const result = pruneArchive(fs, dataDir, { bytesMax: sizes[2]! + 1 });
    expect(result.removedFileNumbers).toEqual([1, 2]);
    expect(result.keptBytes).toBe(sizes[2]);
    expect(pruneArchive(fs, dataDir, { bytesMax: sizes[2]! }).removedFileNumbers).toEqual([]);
  });

  test('stops at the first file it keeps, so the archive stays contiguous', async () => {
    const { fs } = await threeArchived();
    // Files 2 and 3 are old enough, but file 1 (rewritten with a recent record) comes first and is kept.
    const path = archiveFilePath(dataDir, 1);
    fs.unlink(path);
    await writeWal(fs, 1, 1, 100_000, 1);
    archiveWalFile(fs, dataDir, 1);
    expect(pruneArchive(fs, dataDir, { ageMs: 10_000, nowMs: 100_500 }).removedFileNumbers).toEqual([]);
  });
});
