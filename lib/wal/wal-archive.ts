// The WAL archive (docs/format.md, "Write-ahead log", "Archive"): WAL files
// kept after their memtable was flushed, so that a checkpoint plus the
// archive replays to any moment in between (point-in-time restore).
//
// Layout: `<dataDir>/archive/NNNNNN.log`, byte for byte the file that was
// `<dataDir>/wal/NNNNNN.log` (moved by rename, never rewritten; the header
// still names its file number). Invariants:
//
// - Only a fully flushed WAL file is archived: the caller has recorded in the
//   manifest that its records are in segments.
// - The archive is a contiguous run of file numbers: pruning removes the
//   oldest files first and stops at the first one it keeps.
// - Nothing about the archive is cached on disk: sequence and time ranges are
//   read from the records each time they are asked for.

import { IoError, messageOf } from '../errors.js';
import { joinPath, type FileSystem } from '../fs/file-system.js';
import { archiveDirName, archiveFilePath, parseWalFileName, walDirName, walFilePath } from './wal-format.js';
import { readWalFile, type WalDamage } from './wal-reader.js';

/** One archived WAL file, described from its records. */
export interface ArchivedWalFile {
  fileNumber: number;
  path: string;
  bytes: number;
  mtimeMs: number;
  batches: number;
  /** Sequence of the first op in the file; undefined when it holds no batch. */
  firstSequence: number | undefined;
  /** Sequence of the last op in the file. */
  lastSequence: number | undefined;
  firstTimeMs: number | undefined;
  lastTimeMs: number | undefined;
  /** Where reading stopped at damage (the ranges above cover the records before it); undefined when whole. */
  damage: WalDamage | undefined;
}

export interface WalArchivePruneOptions {
  /** Remove files whose newest record (else mtime) is older than this, ms; 0 or undefined: no age limit. */
  ageMs?: number;
  /** Trim the archive to at most this many bytes, oldest first; 0 or undefined: no size limit. */
  bytesMax?: number;
  /** The current time, ms (default Date.now()). */
  nowMs?: number;
}

export interface WalArchivePruneResult {
  removedFileNumbers: number[];
  removedBytes: number;
  keptFiles: number;
  keptBytes: number;
}

/** What the archive can replay: the span of its records. */
export interface WalArchiveRange {
  fromMs: number;
  toMs: number;
  fromSequence: number;
  toSequence: number;
}

/**
 * Moves `<dataDir>/wal/NNNNNN.log` to `<dataDir>/archive/NNNNNN.log`: rename,
 * then sync the archive directory (the new entry) and the wal directory (the
 * removed one), in that order, so that a crash leaves the file in at least one.
 * @returns the archived file's path
 * @throws IoError when the move fails or the archive already holds that file number
 */
export function archiveWalFile(fs: FileSystem, dataDir: string, fileNumber: number): string {
  const from = walFilePath(dataDir, fileNumber);
  const to = archiveFilePath(dataDir, fileNumber);
  const archiveDir = joinPath(dataDir, archiveDirName);
  try {
    fs.mkdir(archiveDir);
    if (fs.exists(to)) throw new IoError(`Cannot archive WAL file "${from}": "${to}" already exists`);
    fs.rename(from, to);
    fs.syncDir(archiveDir);
    fs.syncDir(joinPath(dataDir, walDirName));
  } catch (error) {
    if (error instanceof IoError) throw error;
    throw new IoError(`Cannot archive WAL file "${from}": ${messageOf(error)}`, { cause: error });
  }
  return to;
}

/**
 * Lists archived WAL files, oldest (lowest file number) first, each with the
 * sequence and time range of its records. Reads every file (batch headers
 * only); damage does not throw but is reported per file.
 * @throws UnsupportedVersionError when a file has an unknown format version
 */
export function listArchive(fs: FileSystem, dataDir: string): ArchivedWalFile[] {
  return archivedFileNumbers(fs, dataDir).map((fileNumber) => describeArchivedFile(fs, dataDir, fileNumber));
}

/**
 * Removes the oldest archived files: first every file older than `ageMs`
 * (by its newest record's time, else its mtime), then more until the archive
 * fits in `bytesMax`. Stops at the first file it keeps, so the archive stays
 * a contiguous run. Syncs the archive directory when it removed anything.
 * @throws IoError when a file cannot be removed (the ones before it are gone)
 */
export function pruneArchive(fs: FileSystem, dataDir: string, options: WalArchivePruneOptions): WalArchivePruneResult {
  const nowMs = options.nowMs ?? Date.now();
  const ageMs = options.ageMs ?? 0;
  const bytesMax = options.bytesMax ?? 0;
  const files = archivedFileNumbers(fs, dataDir).map((fileNumber) => {
    const path = archiveFilePath(dataDir, fileNumber);
    const stat = fs.stat(path);
    return { fileNumber, path, bytes: stat.size, mtimeMs: stat.mtimeMs };
  });
  let keptBytes = files.reduce((sum, file) => sum + file.bytes, 0);
  const removed: number[] = [];
  let removedBytes = 0;
  let index = 0;
  for (; index < files.length; index++) {
    const file = files[index]!;
    const tooBig = bytesMax > 0 && keptBytes > bytesMax;
    // Reading the file for its newest record is only needed when size alone does not decide.
    const tooOld = !tooBig && ageMs > 0 && nowMs - newestTimeMs(fs, dataDir, file) > ageMs;
    if (!tooBig && !tooOld) break;
    try {
      fs.unlink(file.path);
    } catch (error) {
      throw new IoError(`Cannot remove archived WAL file "${file.path}": ${messageOf(error)}`, { cause: error });
    }
    removed.push(file.fileNumber);
    removedBytes += file.bytes;
    keptBytes -= file.bytes;
  }
  if (removed.length > 0) {
    const archiveDir = joinPath(dataDir, archiveDirName);
    try {
      fs.syncDir(archiveDir);
    } catch (error) {
      throw new IoError(`Cannot sync directory "${archiveDir}": ${messageOf(error)}`, { cause: error });
    }
  }
  return { removedFileNumbers: removed, removedBytes, keptFiles: files.length - index, keptBytes };
}

/**
 * The span of sequence numbers and wall-clock times the archive holds,
 * read from its records; undefined when it holds no batch.
 * @throws UnsupportedVersionError when a file has an unknown format version
 */
export function archiveRange(fs: FileSystem, dataDir: string): WalArchiveRange | undefined {
  let range: WalArchiveRange | undefined;
  for (const file of listArchive(fs, dataDir)) {
    if (file.firstSequence === undefined || file.lastSequence === undefined) continue;
    if (file.firstTimeMs === undefined || file.lastTimeMs === undefined) continue;
    if (range === undefined) {
      range = { fromMs: file.firstTimeMs, toMs: file.lastTimeMs, fromSequence: file.firstSequence, toSequence: file.lastSequence };
      continue;
    }
    // min/max rather than first/last: a wall clock may step back between files.
    range.fromMs = Math.min(range.fromMs, file.firstTimeMs);
    range.toMs = Math.max(range.toMs, file.lastTimeMs);
    range.fromSequence = Math.min(range.fromSequence, file.firstSequence);
    range.toSequence = Math.max(range.toSequence, file.lastSequence);
  }
  return range;
}

// ---------------------------------------------------------------------------

function archivedFileNumbers(fs: FileSystem, dataDir: string): number[] {
  const dir = joinPath(dataDir, archiveDirName);
  if (!fs.exists(dir)) return [];
  const numbers: number[] = [];
  for (const name of fs.list(dir)) {
    const fileNumber = parseWalFileName(name);
    if (fileNumber !== undefined) numbers.push(fileNumber);
  }
  return numbers.sort((a, b) => a - b);
}

function describeArchivedFile(fs: FileSystem, dataDir: string, fileNumber: number): ArchivedWalFile {
  const path = archiveFilePath(dataDir, fileNumber);
  const stat = fs.stat(path);
  const result = readWalFile(fs, path, { mode: 'salvage', isNewest: false, decodeOps: false, fileNumber });
  return {
    fileNumber,
    path,
    bytes: stat.size,
    mtimeMs: stat.mtimeMs,
    batches: result.batches,
    firstSequence: result.firstSequence,
    lastSequence: result.lastSequence,
    firstTimeMs: result.firstTimeMs,
    lastTimeMs: result.lastTimeMs,
    damage: result.damage,
  };
}

function newestTimeMs(fs: FileSystem, dataDir: string, file: { fileNumber: number; mtimeMs: number }): number {
  return describeArchivedFile(fs, dataDir, file.fileNumber).lastTimeMs ?? file.mtimeMs;
}
