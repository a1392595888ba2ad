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
//   read from the records. An archived file never changes, so a running
//   engine reads each one once, in its compaction worker, and keeps what it
//   read (LsmEngine's archive index): the event loop never reads the archive.
//
// Continuity (archiveSpan), as restore judges it (tools/restore.ts): sequence
// numbers are not dense (a batch refused after a failed WAL write used up its
// numbers), so a jump between two archived files is a gap only when a file
// number lies between them; damage in a file ends what replays through it.

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
  /**
   * A file's newest record time (else mtime), ms, when the caller knows it;
   * undefined: not known yet, and the file is kept (so are the ones after it).
   * Without this function each file the age limit asks about is read.
   */
  newestTimeMs?: (fileNumber: number) => number | undefined;
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

/** A span of records: sequences and wall-clock times (min/max: a clock may step back). */
export interface WalArchiveRange {
  fromMs: number;
  toMs: number;
  fromSequence: number;
  toSequence: number;
}

/** Where replay through the archive cannot go on. */
export interface WalArchiveBreak {
  /** 'gap': records missing before `fileNumber` (a file between was removed); 'damage': `fileNumber` is damaged, nothing after the damage replays. */
  kind: 'gap' | 'damage';
  fileNumber: number;
  /** For a gap, the sequence numbers missing. */
  missing: { first: number; last: number } | undefined;
}

/** What the archive can replay, read from its files (archiveSpan). */
export interface WalArchiveSpan {
  /** The newest run of records that replays without a break, through the newest archived record; undefined when no file holds a batch. */
  range: WalArchiveRange | undefined;
  /** Every break, oldest first; the range starts after the last one. */
  breaks: WalArchiveBreak[];
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
    let tooOld = false;
    if (!tooBig && ageMs > 0) {
      const newest = options.newestTimeMs === undefined ? newestTimeMs(fs, dataDir, file) : options.newestTimeMs(file.fileNumber);
      tooOld = newest !== undefined && nowMs - newest > ageMs;
    }
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
 * The newest run of the archive's records that replays without a break
 * (archiveSpan), read from its records; undefined when it holds no batch.
 * @throws UnsupportedVersionError when a file has an unknown format version
 */
export function archiveRange(fs: FileSystem, dataDir: string): WalArchiveRange | undefined {
  return archiveSpan(listArchive(fs, dataDir)).range;
}

/**
 * Walks described archived files, oldest first, for the breaks in their
 * records and the newest run without one. Two files that hold batches
 * continue when the later one's first sequence follows the earlier one's
 * last, or when their file numbers are adjacent (the jump is a refused batch:
 * no file can lie between); a file with damage ends the run after its last
 * good record. Files without batches count only for adjacency.
 */
export function archiveSpan(files: readonly ArchivedWalFile[]): WalArchiveSpan {
  const breaks: WalArchiveBreak[] = [];
  let range: WalArchiveRange | undefined;
  let previousNumber: number | undefined;
  let previousLast: number | undefined;
  let broken = false;
  for (const file of files) {
    const { firstSequence, lastSequence, firstTimeMs, lastTimeMs } = file;
    if (firstSequence !== undefined && lastSequence !== undefined && firstTimeMs !== undefined && lastTimeMs !== undefined) {
      const continues = !broken && (range === undefined || firstSequence === previousLast! + 1 || file.fileNumber === previousNumber! + 1);
      if (!continues && !broken) breaks.push({ kind: 'gap', fileNumber: file.fileNumber, missing: firstSequence > previousLast! + 1 ? { first: previousLast! + 1, last: firstSequence - 1 } : undefined });
      if (range === undefined || !continues) {
        range = { fromMs: firstTimeMs, toMs: lastTimeMs, fromSequence: firstSequence, toSequence: lastSequence };
      } else {
        range.fromMs = Math.min(range.fromMs, firstTimeMs);
        range.toMs = Math.max(range.toMs, lastTimeMs);
        range.toSequence = Math.max(range.toSequence, lastSequence);
      }
      previousLast = range.toSequence;
      broken = false;
    }
    if (file.damage !== undefined) {
      breaks.push({ kind: 'damage', fileNumber: file.fileNumber, missing: undefined });
      broken = true;
    }
    previousNumber = file.fileNumber;
  }
  return { range, breaks };
}

/** Archived file numbers, ascending (names that are not NNNNNN.log are ignored). */
export function archivedFileNumbers(fs: FileSystem, dataDir: string): number[] {
  const dir = joinPath(dataDir, archiveDirName);
  if (!fs.exists(dir)) return [];
  const numbers: number[] = [];
  for (const name of fs.list(dir)) {
    const fileNumber = parseWalFileName(name);
    if (fileNumber !== undefined) numbers.push(fileNumber);
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * One archived file, described from its records (salvage: damage is
 * reported in `damage`, the ranges cover the records before it).
 * @throws UnsupportedVersionError when the file has an unknown format version
 */
export function describeArchivedFile(fs: FileSystem, dataDir: string, fileNumber: number): ArchivedWalFile {
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

// ---------------------------------------------------------------------------

function newestTimeMs(fs: FileSystem, dataDir: string, file: { fileNumber: number; mtimeMs: number }): number {
  return describeArchivedFile(fs, dataDir, file.fileNumber).lastTimeMs ?? file.mtimeMs;
}
